"""`nsdesign search --normalize NAME`: parse the band source and knobs, call one library function, print.

The library call is `nsdesign.plans.answer` on the request: `plans.normalizer.design_for_normalizer` (band under
the normalizer → guarded greedy design → presets under Frobenius on the same spectrum). Output fits 80 columns.
With study options the search is an Optuna study on that band instead (`cli.search_options.run_normalized`).
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any, Sequence

from nsdesign.cli._output import print_route, report_stream, warn, write_schedule
from nsdesign.cli._text import terminal_safe
from nsdesign.cli._vocabulary import band_source_from_args
from nsdesign.cli.export_commands import next_lines
from nsdesign.errors import InputError
from nsdesign.plans.answer import answer
from nsdesign.plans.request import DesignRequest


def search_normalized(args: argparse.Namespace, request: DesignRequest, route: Sequence[str] = ()) -> int:
    if getattr(args, "legacy_headroom", None) is not None:
        raise InputError("--headroom is the old spelling of --guard-sigma; with --normalize give --guard-sigma")
    if request.degrees == "auto":
        raise InputError("--degrees auto does not combine with --normalize; give a degree or a list per step")
    result = answer(request, band_source_from_args(args))
    if args.output is not None:
        write_schedule(args.output, args.format, result.document(), result.guarded.schedule)

    with report_stream(args.output):
        print_route(route)
        render(result, args.output)
    return 0


def render(result: Any, written_to: str | None) -> None:
    g = result.guarded
    band = result.band
    out: list[str] = []
    if band is not None:
        f_lo, f_hi = band.frobenius
        out.append(f"band under frobenius  [{f_lo:.4g}, {f_hi:.4g}]  (q = {band.quantile:g})")
        out.append(f"band under {g.normalizer.name:<9} [{g.min_sigma:.4g}, {g.max_sigma:.4g}]   σ_q ×{band.lift:.3g}")
        out.extend(textwrap.wrap(f"source: {band.source}", 80, subsequent_indent="  "))
        if band.assumption:
            out.extend(textwrap.wrap(f"assumes: {band.assumption}", 80, subsequent_indent="  "))
        for w in band.warnings:
            warn(w)
    else:
        out.append(f"band under {g.normalizer.name} [{g.min_sigma:g}, {g.max_sigma:g}] (given)")
    s = g.schedule
    out.append(
        f"{s.num_steps} steps (degrees {','.join(map(str, s.degrees))}), designed on "
        f"[{g.min_sigma / s.input_scale:.4g}, {g.design_max_sigma:.4g}], norm_div {s.input_scale:g}"
    )
    out.append(f"accuracy  max|1−F| on [{g.min_sigma:.4g}, {g.max_sigma:.4g}] = {g.error:.4g}   (exact)")
    out.append(f"guard     max|1−F| on [{g.max_sigma:.4g}, {g.guard_sigma:.4g}] = {g.guard_error:.4g}   (≤ {g.guard_tol:g}, exact)")
    out.extend(textwrap.wrap(g.status, 80, subsequent_indent="  "))
    if g.checks:
        m, n = g.checks[0].shape or (0, 0)
        values = ", ".join(f"{c.kernel} {c.value:.4g}" for c in g.checks)
        out.extend(textwrap.wrap(f"bf16      σ_max out {values} (≤ {g.checks[0].limit:.4g}, model {m}×{n})", 80,
                                 subsequent_indent="  "))
    if g.inflated is not None:
        out.extend(textwrap.wrap(
            f"inflated: the plain design overflows in that bf16 model, so this one is designed with cushion "
            f"{g.inflated[0]:g}, safety {g.inflated[1]:g} (Polar Express's knobs)", 80, subsequent_indent="  "))
    if g.design.params.get("refined"):
        out.extend(textwrap.wrap(
            "refined: a local search over all coefficients (Nelder–Mead on the exact errors) lowered the error "
            "below the greedy family's, so the steps are no longer the greedy ones on that interval", 80,
            subsequent_indent="  "))
    if tail := g.design.params.get("exact_tail_steps"):
        out.extend(textwrap.wrap(
            f"exact tail: {tail} converged step{'s' if tail != 1 else ''} run (15/8, −5/4, 3/8) exactly (a hair "
            "off it tips bf16 rounding ties one way; docs/normalizers.md)", 80, subsequent_indent="  "))
    if not g.passed:
        warn("no design of this length passes the bf16 check (output σ_max above the limit); add --steps, "
             "loosen --guard-tol, or run it in fp32")
    out.append("coefficients (row 0 first):")
    for row in s.coefficients():
        out.append("  [" + ", ".join(f"{v:.15g}" for v in row) + "]")
    if result.presets:
        out.append("presets under frobenius on the same spectrum (exact max|1−F|):")
        for name, steps, err in result.presets[:6]:
            out.append(f"  {name:<26} {steps:>2} steps  {err:.4g}")
        out.append(f"  … {len(result.presets) - 6} more" if len(result.presets) > 6 else "")
    if written_to:
        out.append(f"wrote {written_to}")
    out.extend(_next_lines(g, written_to))
    print("\n".join(terminal_safe(line) for line in out if line != ""))


def _next_lines(g: Any, written_to: str | None) -> list[str]:
    """The step after a normalized design: more steps when it failed its bf16 check (as the warning says), else
    the export that carries the normalizer (torch.optim.Muon's public API only divides by ‖X‖_F)."""
    if not g.passed:
        return [f"next: rerun with --steps {g.schedule.num_steps + 1} (this design fails its bf16 check)"]
    if g.normalizer.name == "frobenius":  # what every consumer runs: search's own export lines
        return next_lines(g.schedule, written_to)
    path = written_to if written_to and written_to != "-" else "schedule.json"
    command = f"nsdesign export {path} --to torch-muon --patch"
    carry = f"      (or --to dion; both carry the {g.normalizer.name} normalizer the file records)"
    if path == written_to:
        return [f"next: {command}", carry]
    return ["next: add -o schedule.json, then", f"      {command}", carry]
