"""`search`, `evaluate`, `compare`, `presets`: the design commands."""

from __future__ import annotations

import argparse
import math
from typing import Any

from nsdesign.cli import search_options
from nsdesign.cli._output import (
    check_output,
    print_band_warnings,
    print_json,
    print_route,
    report_stream,
    write_schedule,
)
from nsdesign.cli._vocabulary import (
    BandEdge,
    add_block_arguments,
    add_guard_sigma,
    add_normalizer_arguments,
    blocks_from_args,
    deprecated_alias,
    dtype_name,
    guard_sigma_of,
    model_size,
    steps_or_range,
)
from nsdesign.cli._vocabulary import shape_of as _shape
from nsdesign.cli.consumer_view import search_for
from nsdesign.cli.normalize_view import search_normalized
from nsdesign.cli.shaping_view import SHAPING_DTYPES, search_target
from nsdesign.cli.views.schedules import comparison, comparison_next, evaluation, evaluation_next, preset, preset_table
from nsdesign.cli.views.search import recommendation
from nsdesign.core.limits import GUARD_TOL
from nsdesign.core.metrics import evaluate
from nsdesign.design.guarded import check_guard, guard_error, guard_range
from nsdesign.design.recommend import compare
from nsdesign.documents import common_design_band, load_schedule
from nsdesign.errors import InputError
from nsdesign.laws import predict_band
from nsdesign.plans.answer import answer
from nsdesign.plans.request import route
from nsdesign.presets import preset_info, preset_names


def register(subparsers: argparse._SubParsersAction) -> None:
    search = subparsers.add_parser("search", help="design the optimal schedule for a band of singular values")
    _band_arguments(search, required=False)
    search.add_argument(
        "--steps", type=steps_or_range, metavar="N|LO-HI",
        help="number of steps (default 5 unless --tol is given); a range LO-HI searches step counts (a study)",
    )
    search.add_argument("--tol", type=float, help="stop at the fewest steps with worst-case error ≤ TOL")
    search.add_argument(
        "--degrees", dest="degree", default="5",
        help="odd step degree for every step (5), one per step (3,5,5,7), or 'auto' (cheapest mix for --shape)",
    )
    deprecated_alias(search, "--degree", "--degrees", dest="degree")
    search.add_argument("--cushion", type=float, help="Polar Express cushion λ (given: exactly this design, else 0)")
    search.add_argument("--safety", type=float, help="safety factor s: p(x/s) on all but the last step")
    search.add_argument(
        "--exact", action="store_true",
        help="the bare worst-case optimum (default: the best design safe just above the band, checked in bf16)",
    )
    search.add_argument(
        "--for", dest="for_target", metavar="TARGET",
        help="design what this optimizer takes (torch-muon: one triple × ns_steps; see `nsdesign export --help`)",
    )
    search.add_argument(
        "--target", metavar="MAP",
        help="shape singular values instead: sign, sigma^P, clip:TAU, soft:EPS (docs/shaping.md)",
    )
    search.add_argument("--dtype", dest="run_dtype", type=dtype_name(SHAPING_DTYPES), metavar="{bf16,fp16,fp32}",
                        help="with --target: the precision of the table's run column (bf16)")
    search.add_argument("--norm-div", type=float, default=1.0, help="runtime input divisor s and headroom: designed on [L/s, U], so σ up to s·U stays in the design (default 1.0)")
    search_options.add_kernel_arguments(search, "kernel for bf16/fp16 objectives and the --degrees auto cost model")
    search.add_argument("--max-steps", type=int, default=30, help="step limit when --tol is given (default 30)")
    search.add_argument("--model-size", type=model_size, help="predict the band from a momentum law at this size (70e9 or 70B)")
    search.add_argument("--layer", help="layer for --model-size, e.g. final.mlp_down")
    search.add_argument("--quantile", type=float, help="band edge quantile for --model-size or Marchenko–Pastur (--shape)")
    search.add_argument("--laws", help="law file from `nsdesign fit` (default: the shipped arXiv 2606.04058 laws)")
    add_block_arguments(search)
    search.add_argument("-o", "--output", help="write the schedule to this file")
    search.add_argument("--name", help="the schedule's name in the file (shown by compare/evaluate; default: greedy)")
    search.add_argument("--format", choices=("json", "python", "polar-express"), default="json")
    search_options.add_arguments(search)
    _normalize_arguments(search)
    search.set_defaults(handler=_search)

    evaluate = subparsers.add_parser("evaluate", help="exact metrics of a schedule file or preset on a band")
    evaluate.add_argument("schedule", help="preset name or schedule JSON file")
    _band_arguments(evaluate, required=False)
    evaluate.add_argument("--tol", type=float, help="also report the smallest σ captured at this tolerance")
    evaluate.add_argument("--steps", type=int, help="run this many steps (applies the schedule's extension rule)")
    evaluate.add_argument("--latex", action="store_true", help="print the exact steps and composite in LaTeX")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    _guard_arguments(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    compare = subparsers.add_parser("compare", help="compare schedules and presets side by side on a band")
    compare.add_argument("schedules", nargs="+", help="preset names or schedule JSON files")
    _band_arguments(compare, required=False)
    compare.add_argument("--tol", type=float, help="also report the smallest σ captured at this tolerance")
    compare.add_argument("--json", action="store_true", help="print the metrics as JSON")
    _guard_arguments(compare)
    compare.set_defaults(handler=_compare)

    presets = subparsers.add_parser("presets", help="list the published schedules, or show one")
    presets.add_argument("action", nargs="?", choices=("list", "show"), default="list")
    presets.add_argument("name", nargs="?", help="preset to show")
    presets.add_argument("--json", action="store_true", help="print as JSON")
    presets.set_defaults(handler=_presets)


def _guard_arguments(parser: argparse.ArgumentParser) -> None:
    """The one guard concept (docs/cli.md): the band [max-sigma, G] above the accuracy band, tolerance τ there."""
    add_guard_sigma(parser)
    parser.add_argument(
        "--guard-tol", type=float,
        help="tolerance τ on the guard band: |1 − F| ≤ τ there (default 0.3); also reports the guard band",
    )


def _normalize_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("normalizer (the band it leaves, guarded up to --guard-sigma)")
    add_normalizer_arguments(g)
    _guard_arguments(g)


def _band_arguments(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "--min-sigma", type=float, required=required,
        help="smallest singular value to orthogonalize (start with 1e-3, the published designs' band; "
             "`nsdesign predict` estimates it for a shape or model)",
    )
    parser.add_argument("--max-sigma", type=float, default=1.0, help="largest singular value (default 1)")
    parser.add_argument("--shape", help="matrix shape MxN for FLOP counts")


# --------------------------------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------------------------------


def _search(args: argparse.Namespace) -> int:
    """Build the request once, let `plans.route` pick the engine (and say why), hand over to its view."""
    check_output(args.output)
    if args.target is not None:  # a spectral-shaping target: its own engine (cli/shaping_view.py)
        return search_target(args, _band_from_args)
    if args.run_dtype is not None:
        raise InputError("--dtype goes with --target (the run column of a shaping map)")
    request = search_options.request_from_args(args)
    engine = route(request)
    lines = engine.lines()  # printed by the view once its engine succeeded
    if engine.engine == "consumer":
        return search_for(args, request, lines, _band_from_args)
    if engine.engine in ("normalized-study", "guarded", "study"):
        _shape_of_blocks(args)
    if engine.engine == "normalized-study":
        return search_options.run_normalized(args, lines)  # a study on the band the normalizer leaves
    if engine.engine == "guarded":
        # accuracy on the band, |1 − F| ≤ τ on the guard band (a bare --guard-sigma keeps the default design,
        # checked for overshoot up to it)
        return search_normalized(args, request, lines)
    if engine.engine == "study":
        given = args.min_sigma is not None or args.quantile is not None
        return search_options.run(args, lines, _band_from_args(args) if given else None)
    edge = _band_from_args(args)
    try:
        result = answer(search_options.with_band(request, edge.min_sigma, edge.source, edge.shape))
    except InputError as exc:
        if edge.source is None:
            raise
        # the warnings about the prediction are not printed on failure: the one line says where σ came from
        raise InputError(f"{exc} (the band edge {edge.min_sigma:.3g} was predicted: {edge.source})") from None
    print_band_warnings(edge.warnings)
    if args.output is not None:
        document, schedule = result.document(), result.schedule
        if args.name:
            document["name"], schedule = args.name, schedule.with_name(args.name)
        write_schedule(args.output, args.format, document, schedule)

    with report_stream(args.output):
        print_route(lines)
        recommendation(result, written_to=args.output)
    return 0


def _shape_of_blocks(args: argparse.Namespace) -> None:
    """--heads/--block on the normalizer, guard and study routes: they read --shape directly, so --shape
    becomes the block's (the plain and --for routes keep the fused shape for the band's provenance)."""
    blocks = blocks_from_args(args)
    if blocks is not None:
        args.shape, args.heads, args.block = str(blocks.shape), None, None


def _evaluate(args: argparse.Namespace) -> int:
    schedule = load_schedule(args.schedule)
    if args.steps is not None:
        schedule = schedule.extended(_positive_steps(args.steps))
    min_sigma, max_sigma = args.min_sigma, args.max_sigma
    if min_sigma is None:
        band = common_design_band([args.schedule])
        min_sigma, max_sigma = band["min_sigma"], band["max_sigma"]
        if guard_sigma_of(args, max_sigma) is None and band.get("guard_sigma") is not None:
            args.guard_sigma = band["guard_sigma"]  # a guarded design's file records its guard band
    metrics = evaluate(schedule, min_sigma, max_sigma, guard_sigma=guard_sigma_of(args, max_sigma), tol=args.tol,
                       shape=_shape(args.shape))
    guard = _guard_for(args, [schedule], max_sigma)
    if args.latex:
        from nsdesign.design.symbolic import symbolic

        print(_fit_latex(symbolic(schedule).latex()))
        return 0
    if args.json:
        data = {"schedule": schedule.to_dict(), "metrics": metrics.to_dict()}
        if guard:
            data["guard"] = guard[0]
        print_json(data)
        return 0

    evaluation(schedule, metrics)
    _print_guard([schedule.name or args.schedule], guard)
    if all(g["guard_ok"] for g in guard):  # a failed guard check is the last word: no export hint under it
        print("\n".join(evaluation_next(args.schedule, schedule, metrics)))
    return 0


def _fit_latex(text: str, width: int = 80) -> str:
    """LaTeX lines wrapped at spaces to `width`. The output is math (an aligned environment), where TeX ignores
    spaces and line breaks, so the rendering is unchanged; digit runs longer than a line (exact rationals of
    many-step composites) get spaces every 40 digits, and a fraction's two arguments a space between them (TeX
    skips spaces before an argument), so that they can wrap too."""
    import re
    import textwrap

    out = []
    for line in text.splitlines():
        line = re.sub(r"\d{41,}", lambda m: " ".join(re.findall(r"\d{1,40}", m.group(0))), line)
        line = line.replace("}{", "} {") if any(len(word) > width - 4 for word in line.split()) else line
        out.extend(textwrap.wrap(line, width, subsequent_indent="    ", break_long_words=False,
                                 break_on_hyphens=False) or [line])
    return "\n".join(out)


def _compare(args: argparse.Namespace) -> int:
    schedules = [load_schedule(s) for s in args.schedules]
    min_sigma, max_sigma, note = args.min_sigma, args.max_sigma, ""
    if min_sigma is None:  # the band they were all designed for (published for presets, recorded in files)
        band = common_design_band(args.schedules)
        min_sigma, max_sigma, note = band["min_sigma"], band["max_sigma"], " (their design band)"
    guard_sigma = guard_sigma_of(args, max_sigma)
    rows = compare(schedules, min_sigma, max_sigma, guard_sigma=guard_sigma, tol=args.tol, shape=_shape(args.shape))
    guard = _guard_for(args, schedules, max_sigma)
    if args.json:
        out = [{"name": s.name, **m.to_dict()} for s, m in zip(schedules, rows)]
        for row, g in zip(out, guard):
            row["guard"] = g
        print_json(out)
        return 0

    comparison([s.name for s in schedules], schedules, rows, note)
    _print_guard([s.name for s in schedules], guard)
    print("\n".join(comparison_next(args.schedules, schedules, rows)))
    return 0


def _guard_for(args: argparse.Namespace, schedules: list[Any], max_sigma: float) -> list[dict[str, float]]:
    """Exact guard-band figures per schedule when --guard-sigma or --guard-tol is given (else nothing)."""
    if args.guard_sigma is None and args.guard_tol is None:
        return []

    g = args.guard_sigma if args.guard_sigma is not None else 1.02 * max_sigma
    tau = GUARD_TOL if args.guard_tol is None else args.guard_tol
    check_guard(max_sigma, g, tau)
    out = []
    for s in schedules:
        lo, hi = guard_range(s, max_sigma, g)
        e = guard_error(s, max_sigma, g)
        out.append({"guard_sigma": g, "guard_tol": tau, "guard_error": e, "guard_f_min": lo, "guard_f_max": hi, "guard_ok": e <= tau})
    return out


def _print_guard(names: list[str], guard: list[dict[str, float]]) -> None:
    for name, g in zip(names, guard):
        verdict = "≤" if g["guard_ok"] else "> (FAILS)"
        print(
            f"guard up to {g['guard_sigma']:g} {name[:22]}: max|1−F| {g['guard_error']:.4g} {verdict} "
            f"{g['guard_tol']:g}, F in [{g['guard_f_min']:.4g}, {g['guard_f_max']:.4g}]"
        )


# `presets show` measures a preset on this band: the band most published schedules were designed for (Polar
# Express, modded-nanogpt and Muon all quote l = 1e-3).
REFERENCE_BAND = (1e-3, 1.0)


def _presets(args: argparse.Namespace) -> int:
    if args.action == "show" or args.name:
        if not args.name:
            raise InputError("`nsdesign presets show` needs a preset name; run `nsdesign presets` for the list")
        info = preset_info(args.name)
        if args.json:
            print_json({**info.schedule.to_dict(), "source": info.source, "note": info.note})
        else:
            preset(info, evaluate(info.schedule, REFERENCE_BAND))
        return 0
    infos = [preset_info(n) for n in preset_names()]
    if args.json:
        print_json([{**i.schedule.to_dict(), "source": i.source, "note": i.note} for i in infos])
    else:
        preset_table(infos)
    return 0


# --------------------------------------------------------------------------------------------------
# Parsing helpers
# --------------------------------------------------------------------------------------------------


def _band_from_args(args: argparse.Namespace) -> BandEdge:
    """--min-sigma, or a predicted band edge (--model-size/--layer/--quantile, or --shape/--quantile).

    Under --heads/--block the edge's shape is the block's (its band, FLOPs and --degrees auto cost)."""
    blocks = blocks_from_args(args)
    shape = args.shape if blocks is None else str(blocks.shape)
    if args.min_sigma is not None:
        if args.model_size is not None or args.quantile is not None:
            raise InputError("give either --min-sigma or --model-size/--quantile, not both")
        _finite("--min-sigma", args.min_sigma)
        return BandEdge(args.min_sigma, shape=shape)
    if args.quantile is None:
        raise InputError("give --min-sigma L, or --model-size M --layer NAME --quantile Q, or --shape MxN --quantile Q")

    if args.model_size is not None:
        if not args.layer:
            raise InputError("--model-size needs --layer (e.g. final.mlp_down)")
        prediction = predict_band(args.quantile, model_size=args.model_size, layer=args.layer, laws_path=args.laws)
    elif args.shape:
        prediction = predict_band(args.quantile, shape=args.shape, heads=args.heads, block=args.block)
    else:
        raise InputError("--quantile needs --model-size and --layer, or --shape")
    return BandEdge(prediction.min_sigma, prediction.source, tuple(prediction.warnings), shape)


def _finite(flag: str, value: float) -> None:
    if not math.isfinite(value):
        raise InputError(f"{flag} must be a finite number, got {value}")


def _positive_steps(steps: int) -> int:
    if not 1 <= steps <= 100:
        raise InputError(f"--steps must be from 1 to 100, got {steps}")
    return steps


