"""`plot`: figures of schedules, spectra, costs and laws (PNG or SVG by the -o suffix).

    nsdesign plot map keller5 polar_express_modded5 out.json --min-sigma 1e-3 -o map.png
    nsdesign plot intervals keller5 cans5_eo --min-sigma 1e-3 --tol 0.1 -o intervals.png
    nsdesign plot histogram keller5 --source gaussian:1024x4096 --min-sigma 1e-3 -o hist.png
    nsdesign plot frontier --min-sigma 1e-3 --shape 1024x4096 -o frontier.svg
    nsdesign plot laws --layer final.mlp_down --quantile 0.5 -o laws.png

matplotlib is imported only inside the handlers (through nsdesign.plot).
"""

from __future__ import annotations

import argparse
import math
import re
from typing import Any

from nsdesign._files import check_output_path
from nsdesign.cli._output import warn
from nsdesign.cli._text import terminal_safe
from nsdesign.cli._vocabulary import comma_list, deprecated_alias, dtype_name
from nsdesign.cli.search_options import add_kernel_arguments, kernel_of
from nsdesign.core.cost import Shape
from nsdesign.documents import load_schedule
from nsdesign.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    plot = subparsers.add_parser("plot", help="draw maps, interval shrinkage, spectra, the cost frontier or laws")
    kinds = plot.add_subparsers(dest="kind", required=True, metavar="KIND")

    p = kinds.add_parser("map", help="the NS map F(σ) of schedules on [0, 1.05] with a log-σ zoom, band shaded")
    _schedule_args(p)
    _band(p, required=True)
    p.add_argument("--tol", type=float, help="also shade the strip 1 ± TOL")
    p.add_argument("--zoom-from", type=float, help="left end of the log-σ panel (default min-sigma/30)")
    p.add_argument("--ymax", type=float, default=1.5, help="top of the F axis (default 1.5)")
    _common(p)
    p.set_defaults(handler=_one_line_warnings(_map))

    p = kinds.add_parser("intervals", help="exact image of the band after each step, and the worst error per step")
    _schedule_args(p)
    _band(p, required=True)
    p.add_argument("--tol", type=float, help="draw the target 1 ± TOL")
    _common(p)
    p.set_defaults(handler=_one_line_warnings(_intervals))

    p = kinds.add_parser("histogram", help="singular values of a matrix before and after NS")
    _schedule_args(p)
    p.add_argument(
        "--source",
        required=True,
        help="gaussian:MxN, spectrum:logu:L:MxN (log-uniform σ on [L, 1]), or file:PATH "
        "(.npy / .npz[:KEY] / .safetensors[:KEY]); the same syntax as validate --source",
    )
    p.add_argument("--min-sigma", type=float, help="shade the band [min-sigma, max-sigma] on the input spectrum")
    p.add_argument("--max-sigma", type=float, default=1.0, help="top of the band (default 1)")
    p.add_argument("--dtype", default="fp32", type=dtype_name(("fp64", "fp32", "bf16", "fp16")), metavar="{fp64,fp32,bf16,fp16}",
                   help="fp64, fp32 (numpy or torch), bf16, fp16 (torch) (default fp32)")
    p.add_argument("--seed", type=int, default=0, help="random seed of generated sources (default 0)")
    p.add_argument("--bins", type=int, default=60, help="histogram bins (default 60)")
    _common(p)
    p.set_defaults(handler=_one_line_warnings(_histogram))

    p = kinds.add_parser("frontier", help="exact worst error vs FLOPs: presets, greedy designs, a Pareto file")
    p.add_argument("schedules", nargs="*", metavar="SCHEDULE", help="extra schedules to place (presets or files)")
    _band(p, required=False)
    p.add_argument("--shape", help="matrix shape MxN for FLOPs (default: the Pareto file's, else 1024x4096)")
    add_kernel_arguments(p, "kernel whose FLOP model the x axis counts")
    p.add_argument("--pareto", help="Pareto JSON (`nsdesign pareto -o`) to plot; its points replace the computed designs")
    p.add_argument("--presets", help="comma-separated presets to show (default: all with Frobenius scaling)")
    p.add_argument("--max-steps", type=int, default=8, help="greedy designs of 1…N steps (default 8)")
    p.add_argument("--no-labels", action="store_true", help="do not write preset names beside their points")
    _common(p)
    p.set_defaults(handler=_one_line_warnings(_frontier))

    p = kinds.add_parser("laws", help="momentum-quantile power laws (arXiv 2606.04058) with extrapolation bands")
    p.add_argument("--layer", action="append", help="depth.matrix, e.g. final.mlp_down (repeatable; default: a set)")
    p.add_argument("--quantile", type=float, default=0.5, help="descending-rank quantile (default 0.5)")
    p.add_argument("--model-sizes", dest="sizes", default="7e9,7e10,3e11,1e12",
                   help="model sizes (parameters) to mark (default 7e9,7e10,3e11,1e12)")
    deprecated_alias(p, "--sizes", "--model-sizes", dest="sizes")  # --sizes is capture's models to train
    p.add_argument("--laws", help="law file from `nsdesign fit` (default: fit the shipped data)")
    _common(p)
    p.set_defaults(handler=_one_line_warnings(_laws))


def _schedule_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("schedules", nargs="+", metavar="SCHEDULE", help="preset names or schedule JSON files")


def _band(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--min-sigma", type=float, required=required, help="smallest singular value of the band")
    parser.add_argument("--max-sigma", type=float, default=1.0, help="largest singular value of the band (default 1)")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", required=True, help="figure file: .png or .svg")
    parser.add_argument("--title", help="figure title")
    parser.add_argument("--size", help="figure size in inches, WxH (e.g. 10x4.5)")
    parser.add_argument("--dpi", type=int, default=120, help="PNG resolution (default 120)")


# --------------------------------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------------------------------


def _map(args: argparse.Namespace) -> int:
    _check_output(args.output)
    if not (math.isfinite(args.ymax) and 0 < args.ymax <= MAX_YMAX):
        raise InputError(f"--ymax must lie in (0, {MAX_YMAX:g}], got {args.ymax:g}")
    schedules = _schedules(args.schedules)
    from nsdesign.plot import map_figure

    figure = map_figure(
        schedules, args.min_sigma, args.max_sigma, _labels(args.schedules, schedules), args.tol, args.zoom_from,
        (-0.05, args.ymax), args.title, _size(args.size), args.dpi,
    )
    return _save(figure, args.output)


def _intervals(args: argparse.Namespace) -> int:
    _check_output(args.output)
    schedules = _schedules(args.schedules)
    from nsdesign.plot import intervals_figure

    figure = intervals_figure(
        schedules, args.min_sigma, args.max_sigma, _labels(args.schedules, schedules), args.tol, args.title,
        _size(args.size), args.dpi,
    )
    return _save(figure, args.output)


def _histogram(args: argparse.Namespace) -> int:
    _check_output(args.output)
    schedules = _schedules(args.schedules)
    from nsdesign.plot import histogram_figure, load_matrix, spectrum_run

    matrix, label = load_matrix(args.source, args.seed)
    numpy_name = {"fp64": "float64", "fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}[args.dtype]
    run = spectrum_run(matrix, schedules, _labels(args.schedules, schedules), numpy_name, label)
    figure = histogram_figure(run, args.min_sigma, args.max_sigma, args.bins, args.title, _size(args.size), args.dpi)
    return _save(figure, args.output)


def _frontier(args: argparse.Namespace) -> int:
    _check_output(args.output)
    from nsdesign.plot.frontier import frontier

    shape = Shape.parse(args.shape) if args.shape else None
    schedules = _schedules(args.schedules) if args.schedules else []
    presets = None if args.presets is None else list(comma_list("--presets", args.presets) or ())
    drawn = frontier(
        args.min_sigma, args.max_sigma, shape, kernel_of(args), presets, args.max_steps,
        list(zip(_labels(args.schedules, schedules), schedules)), args.pareto,
    )
    return _save(drawn.figure(not args.no_labels, args.title, _size(args.size), args.dpi), args.output)


def _laws(args: argparse.Namespace) -> int:
    _check_output(args.output)
    from nsdesign.plot.laws import laws_figure

    sizes = _numbers("--model-sizes", args.sizes)
    figure = laws_figure(args.layer, args.quantile, sizes, args.laws, args.title, _size(args.size), args.dpi)
    return _save(figure, args.output)


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _check_output(path: str) -> None:
    """Fail on a bad -o before any computation."""
    from pathlib import Path

    if Path(path).suffix.lower() not in (".png", ".svg"):
        raise InputError(f"-o takes a .png or .svg file (not stdout), got {path!r}")
    check_output_path(path)


def _schedules(references: list[str]) -> list:
    return [load_schedule(r) for r in references]


def _labels(references: list[str], schedules: list) -> list[str]:
    """Preset names as given; files by their schedule name, or the file stem; duplicates numbered."""
    from pathlib import Path

    labels = []
    for reference, schedule in zip(references, schedules):
        label = reference if not reference.lower().endswith(".json") else (Path(reference).stem or schedule.name)
        labels.append(label)
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if labels.count(label) == 1 else f"{label} #{seen[label]}")
    return out


def _size(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    match = re.fullmatch(r"\s*([0-9.]+)\s*[xX×]\s*([0-9.]+)\s*", text)
    if not match:
        raise InputError(f"--size must look like 10x4.5 (inches), got {text!r}")
    try:
        return float(match.group(1)), float(match.group(2))
    except ValueError:
        raise InputError(f"--size must look like 10x4.5 (inches), got {text!r}") from None


MAX_YMAX = 1e6  # F of a normalized input rarely exceeds a few; matplotlib's tick arithmetic overflows near 1e308
MAX_MODEL_SIZE = 1e15  # parameters: 1000× today's largest models; the fitted laws span 1e7–1e10


def _one_line_warnings(handler: Any) -> Any:
    """Run a plot handler with matplotlib's and numpy's warnings caught: each distinct one becomes a single
    `nsdesign: warning: …` line after the figure is written (or is dropped when the command fails)."""
    import functools

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        import warnings

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code = handler(args)
        seen: list[str] = []
        for w in caught:
            line = f"{w.category.__name__}: {str(w.message).strip().splitlines()[0] if str(w.message).strip() else ''}"
            if line not in seen:
                seen.append(line)
        for line in seen:
            warn(f"while drawing: {line}")
        return code

    return run


def _numbers(flag: str, text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{flag} must be a comma-separated list of numbers, got {text!r}") from None
    if not values or not all(v > 0 and v < float("inf") for v in values):
        raise InputError(f"{flag} must list positive finite numbers, got {text!r}")
    if flag == "--model-sizes" and max(values) > MAX_MODEL_SIZE:
        raise InputError(f"--model-sizes must be at most {MAX_MODEL_SIZE:g} parameters, got {max(values):g}")
    return values


def _save(figure, path: str) -> int:
    from nsdesign.plot import save_figure

    written = save_figure(figure, path)
    print(terminal_safe(f"wrote {written}"))
    return 0
