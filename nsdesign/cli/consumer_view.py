"""`nsdesign search --for TARGET`: parse → plans.answer (plans.design_for) → render, ending in the user's optimizer."""

from __future__ import annotations

import argparse
from typing import Any, Callable, Sequence

from nsdesign.cli.views import common as views
from nsdesign.cli._output import print_band_warnings, print_route, report_stream, write_schedule
from nsdesign.cli._vocabulary import BandEdge
from nsdesign.cli.normalize_view import search_normalized
from nsdesign.cli.search_options import with_band
from nsdesign.core.consumers import consumer_form
from nsdesign.errors import InputError
from nsdesign.plans.answer import answer
from nsdesign.plans.request import DesignRequest

# Flags that choose another engine or knob: --for designs within the consumer's form, so they conflict.
CONFLICTS: tuple[tuple[str, str], ...] = (
    ("exact", "--exact"), ("cushion", "--cushion"), ("safety", "--safety"), ("objective", "--objective"),
    ("trials", "--trials"), ("kernel", "--kernel"), ("guard_tol", "--guard-tol"),
)


def search_for(args: argparse.Namespace, request: DesignRequest, route: Sequence[str],
               band_from_args: Callable[[argparse.Namespace], BandEdge]) -> int:
    """The design for a consumer (`route`: the lines that say which engine answered and why)."""
    _refuse_conflicts(args)
    if isinstance(args.steps, tuple):
        raise InputError("--for takes one --steps N (a range LO-HI is a study); give N, or --tol")
    if request.normalizer_name not in (None, "frobenius"):
        return _with_normalizer(args, request, route)
    edge = band_from_args(args)
    source = edge.source
    result = answer(with_band(request, edge.min_sigma, source, edge.shape))
    print_band_warnings(edge.warnings)
    if args.output is not None:
        document = result.document({"band_source": source} if source else None)
        schedule = result.schedule
        if args.name:
            document["name"], schedule = args.name, schedule.with_name(args.name)
        write_schedule(args.output, args.format, document, schedule)
    with report_stream(args.output):
        print_route(route)
        render(result, args.output, source)
    return 0


def _with_normalizer(args: argparse.Namespace, request: DesignRequest, route: Sequence[str]) -> int:
    """--for TARGET --normalize NAME: the guarded design for the normalizer's band (`search --normalize`, checked
    in both bf16 kernels), when the consumer offers that normalizer; then the export that passes it on."""
    code = search_normalized(args, request, route)  # plans.answer refuses a normalizer the consumer does not offer
    path = args.output or "schedule.json"
    with report_stream(args.output):
        print("next:" if args.output else f"next: add -o {path}, then")
        target = consumer_form(request.consumer or "").target
        print(f"  nsdesign export {path} --to {target} --normalize {request.normalizer_name}")
    return code


def _refuse_conflicts(args: argparse.Namespace) -> None:
    given = [flag for dest, flag in CONFLICTS if getattr(args, dest, None) not in (None, False)]
    if args.degree not in ("5", 5):
        given.append("--degrees")
    if args.norm_div != 1.0:
        given.append("--norm-div")
    if given:
        raise InputError(f"--for {args.for_target} designs within what that optimizer takes; "
                         f"drop {', '.join(given)}")


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------


def render(result: Any, written_to: str | None, source: str | None) -> None:
    out = views.console()
    form = result.form
    title = f"For {form.target} ({form.dtype}, {form.kernel} kernel)"
    out.print(views.steps_table(result.schedule, result.metrics, title))
    say = views.lines(out)
    say(f"engine: {result.engine}")
    if source:
        say(f"band edge from {source}")
    for line in _figures(result) + _check_lines(result) + _paste_lines(result, written_to):
        say(line)


def _figures(result: Any) -> list[str]:
    m, d = result.metrics, result.default_metrics
    band = f"[{m.min_sigma:g}, {m.max_sigma:g}]"
    lines = [
        f"exact max|1−F| on {band}: {m.worst_error:.4g}; the default {result.default_name}: {d.worst_error:.4g}",
        f"  bracket: no {result.ns_steps}-step quintic design beats {result.lower_bound:.4g} (greedy optimum, "
        "certified lower bound)",
    ]
    if result.per_step_error is not None:
        lines.append(f"  a per-step list under the same guard reaches {result.per_step_error:.4g} "
                     "(what the one-triple form costs)")
    return lines


def _check_lines(result: Any) -> list[str]:
    lines = [f"checks ({'all passed' if result.passed else 'NOT passed'}):"]
    for c in result.checks:
        verdict = "ok" if c.passed else "FAILS"
        if c.shape is None:
            lines.append(f"  exact max F on [0, {c.guard_sigma:g}] = {c.value:.4g} (limit {c.limit:g}) {verdict}")
        else:
            where = "real torch" if c.kernel.startswith("torch-") else "rounding model"
            kernel = c.kernel.removeprefix("torch-")
            lines.append(f"  {where}, {c.dtype} {kernel}, {c.shape[0]}x{c.shape[1]}, σ ≤ {c.guard_sigma:g}: "
                         f"σ_max {c.value:.4g} (limit {c.limit:g}) {verdict}")
    plan = result.restarts
    if plan is not None:
        dao = plan.baselines.get("dao_default")
        lines.append(f"  restart plan {list(plan.restarts)}: {plan.dtype} Gram error {plan.error:.3g} "
                     f"(target {plan.target:.3g}{'' if plan.met else ', NOT met'})"
                     + (f"; default {list(dao[0])}: {dao[1]:.3g}" if dao else ""))
    return lines


def _paste_lines(result: Any, written_to: str | None) -> list[str]:
    target = result.form.target
    path = written_to or "schedule.json"
    lines = [f"wrote {written_to}"] if written_to else []
    if result.triple is not None:
        a, b, c = result.triple.triple
        lines += [
            "paste into your optimizer:",
            f"  torch.optim.Muon(params, ns_steps={result.ns_steps}, ns_coefficients=(",
            f"      {a!r}, {b!r}, {c!r}))",
        ]
        usage = "(writes muon_kwargs)"
    else:
        usage = "(what to paste, with usage)"
    first = "next:" if written_to else f"next: add -o {path} to save it, then"
    return lines + [first, f"  nsdesign export {path} --to {target} {usage}"]
