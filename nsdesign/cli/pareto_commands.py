"""`pareto`: error versus FLOPs on one matrix shape, as a table and a JSON front.

    nsdesign pareto --min-sigma 1e-3 --shape 4096x16384 --dtype bf16 [--trials N] [-o front.json]

Each point of the front is a schedule no other trial beats on both error and FLOPs (see nsdesign.search.pareto).
"""

from __future__ import annotations

import argparse
from typing import Any

from nsdesign.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("pareto", help="Pareto front of error versus FLOPs for a matrix shape (Optuna)")
    p.add_argument("--min-sigma", type=float, required=True, help="smallest singular value to orthogonalize")
    p.add_argument("--max-sigma", type=float, default=1.0, help="largest singular value (default 1)")
    p.add_argument("--shape", required=True, help="matrix shape MxN the FLOPs are counted on")
    p.add_argument("--dtype", choices=("bf16", "fp16", "fp64", "exact"), default="bf16",
                   help="error measured in this precision (bf16/fp16: matrix runs; fp64/exact: exact worst case)")
    p.add_argument("--trials", type=int, default=60, help="complete trials the study should hold (default 60)")
    p.add_argument("--seed", type=int, default=0, help="sampler seed (default 0)")
    p.add_argument("--min-steps", type=int, default=1, help="fewest steps (default 1)")
    p.add_argument("--max-steps", type=int, default=10, help="most steps (default 10)")
    p.add_argument("--degrees", default="3,5,7", help="step degrees the trials may choose (default 3,5,7)")
    p.add_argument("--strategies", help="headroom strategies: none,safety,inflate,norm_div,cushion (default all)")
    p.add_argument("--form", choices=("standard", "gram"), default="standard", help="FLOP model (default standard)")
    p.add_argument("--proxy-shape", help="test matrix for bf16/fp16 errors (default: the shape's aspect, ≤256 rows)")
    p.add_argument("--no-guard", action="store_true", help="allow schedules that blow up for σ up to 1.02")
    p.add_argument("--storage", help="sqlite:///file.db, postgresql+psycopg2://…, or journal:PATH (default: memory)")
    p.add_argument("--study-name", help="study to create or join (default: derived from the settings)")
    p.add_argument("--jobs", type=int, default=1, help="parallel trials in this process (default 1)")
    p.add_argument("-o", "--output", help="write the front as JSON to this file")
    p.set_defaults(handler=_pareto)


def _pareto(args: argparse.Namespace) -> int:
    from nsdesign.core.cost import Shape
    from nsdesign.core.metrics import check_band
    from nsdesign.search.pareto import run_pareto
    from nsdesign.search.space import HEADROOM_STRATEGIES, SearchSpace

    check_band(args.min_sigma, args.max_sigma)
    shape = Shape.parse(args.shape)
    try:
        degrees = tuple(int(v) for v in args.degrees.split(","))
    except ValueError:
        raise InputError(f"--degrees must be a comma list of odd integers like 3,5,7; got {args.degrees!r}") from None
    strategies = tuple(s.strip() for s in args.strategies.split(",")) if args.strategies else HEADROOM_STRATEGIES
    space = SearchSpace(min_steps=args.min_steps, max_steps=args.max_steps, degrees=degrees, headroom=strategies)
    proxy = None
    if args.proxy_shape:
        p = Shape.parse(args.proxy_shape)
        proxy = (p.m, p.n)
    if args.output is not None:
        from nsdesign.cli.search_options import _check_writable

        _check_writable(args.output)
    result = run_pareto(
        args.min_sigma,
        shape,
        args.dtype,
        trials=args.trials,
        seed=args.seed,
        max_sigma=args.max_sigma,
        space=space,
        form=args.form,
        storage=args.storage,
        study_name=args.study_name,
        jobs=args.jobs,
        guard=not args.no_guard,
        proxy_shape=proxy,
        progress=_progress_enabled(),
    )
    if args.output is not None:
        from nsdesign._files import write_json_atomic

        write_json_atomic(args.output, result.document())
    from nsdesign.cli._output import report_stream

    with report_stream(args.output):
        _render(result, args.output)
    return 0


def _render(result: Any, written_to: str | None) -> None:
    from rich.table import Table

    table = Table(
        title=f"Pareto front: {result.dtype} error vs {result.form} FLOPs on {result.shape}, "
        f"band [{result.min_sigma:g}, {result.max_sigma:g}] ({result.completed} trials)"
    )
    for name, justify in (("trial", "right"), ("steps", "right"), ("degrees", "left"), ("matmuls", "right"),
                          ("GFLOPs", "right"), ("error", "right"), ("headroom", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for point in result.front:
        headroom = point.candidate.get("headroom", "none")
        size = point.candidate.get(f"{headroom}_size")
        table.add_row(
            str(point.trial),
            str(point.schedule.num_steps),
            ",".join(str(d) for d in point.schedule.degrees),
            str(point.matmuls),
            f"{point.flops / 1e9:.1f}",
            f"{point.error:.4g}",
            headroom if size is None else f"{headroom} {size:.4g}",
        )
    from nsdesign.cli.render import console as make_console

    console = make_console()
    console.print(table)
    if written_to:
        console.print(f"wrote {written_to}")


def _progress_enabled() -> bool:
    from nsdesign.cli import progress

    return progress.enabled()
