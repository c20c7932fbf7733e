"""`nsdesign search --target TARGET`: the cheapest certified map for a spectral-shaping target, side by side with
what people run for it today (parse → design.shaping_runs.compare → render, 80 columns)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from nsdesign._files import write_json_atomic
from nsdesign.cli._output import report_stream
from nsdesign.cli._vocabulary import BandEdge, shape_of
from nsdesign.design.shaping_practice import svd_note
from nsdesign.design.shaping_runs import Comparison, compare
from nsdesign.errors import InputError

SHAPING_DTYPES: tuple[str, ...] = ("bf16", "fp16", "fp32")  # the rounding-model runs of design.shaping_runs
# Flags of other engines: --target designs its own pipeline, so they do not apply.
CONFLICTS: tuple[tuple[str, str], ...] = (
    ("for_target", "--for"), ("exact", "--exact"), ("cushion", "--cushion"), ("safety", "--safety"),
    ("objective", "--objective"), ("trials", "--trials"), ("guard_tol", "--guard-tol"), ("normalize", "--normalize"),
)


def search_target(args: argparse.Namespace, band_from_args: Callable[[argparse.Namespace], BandEdge]) -> int:
    for dest, flag in CONFLICTS:
        if getattr(args, dest, None) not in (None, False):
            raise InputError(f"--target designs its own pipeline; drop {flag}")
    if isinstance(args.steps, (tuple, int)) and args.steps is not None:
        raise InputError("--target chooses its own steps; give --tol instead of --steps")
    edge = band_from_args(args)
    min_sigma, shape = edge.min_sigma, shape_of(edge.shape)
    given = {"tol": args.tol, "shape": None if shape is None else (shape.m, shape.n), "dtype": args.run_dtype}
    result = compare(args.target, min_sigma, args.max_sigma, **{k: v for k, v in given.items() if v is not None})
    if args.output is not None:
        write_json_atomic(args.output, result.to_dict())
    with report_stream(args.output):
        render(result, args.output)
    return 0


def render(result: Comparison, written_to: str | None = None) -> None:
    """The design (stages, certificate, guard) and a table: ours first, then current practice."""
    d = result.design
    t = d.target
    print(f"target {t.name} on [{d.lo:g}, {d.hi:g}], {t.error} error, tol {d.tol:g}")
    verdict = "meets" if d.met else "does NOT meet"
    print(f"design: {d.pipeline.name} ({d.pipeline.kind}), {verdict} the tolerance")
    for line in _wrap(d.certificate, 78):
        print(f"  {line}")
    passed, low, top = d.guard
    print(f"  guard: min F on [0, u] {low:.3g}, max F on [u, 1.02u] {top:.4g}: {'passed' if passed else 'FAILED'}")
    m, n = result.shape
    print(f"\n{'pipeline':<32} {'mm':>3} {'rect+sq':>7} {'GFLOP':>6} {'exact':>9} {result.dtype:>9}")
    print(f"{'':<32} {'':>3} {'':>7} {f'{m}x{n}':>6}")
    for r in result.rows:
        name = ("* " if r.ours else "  ") + r.name
        print(f"{name[:32]:<32} {r.matmuls:>3} {f'{r.rect}+{r.square}':>7} {r.flops / 1e9:>6.0f} "
              f"{r.exact:>9.3g} {r.model:>9.3g}")
    if len(result.rows) == 1:
        print("  (no current practice found for this target)")
    print("* ours; exact: a bound over the band (current practice at its most favorable")
    print(f"  inner normalization); {result.dtype}: a run on a 128x512 matrix, σ over the band")
    print(svd_note()[:80])
    if written_to is not None:
        print(f"wrote {written_to}")


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + ([line] if line else [])
