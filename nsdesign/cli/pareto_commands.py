"""`pareto`: error versus FLOPs on one matrix shape, as a table and a JSON front.

    nsdesign pareto --min-sigma 1e-3 --shape 4096x16384 --dtype bf16 [--trials N] [-o front.json]

Each point of the front is a schedule no other trial beats on both error and FLOPs (see nsdesign.search.pareto).
"""

from __future__ import annotations

import argparse

from nsdesign._files import check_output_path, write_json_atomic
from nsdesign.cli import progress
from nsdesign.cli._output import report_stream
from nsdesign.cli._vocabulary import (
    STORAGE_HELP,
    add_guard_sigma,
    comma_list,
    deprecated_alias,
    dtype_name,
    guard_sigma_of,
    int_list,
    steps_or_range,
    study_storage,
)
from nsdesign.cli.search_options import add_kernel_arguments, kernel_of
from nsdesign.cli.views.study import pareto_front
from nsdesign.core.cost import Shape
from nsdesign.core.limits import FRONT_TRIALS
from nsdesign.core.metrics import check_band
from nsdesign.plans.request import DesignRequest
from nsdesign.search.plan import StudyOptions
from nsdesign.search.run import run_front


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("pareto", help="Pareto front of error versus FLOPs for a matrix shape (Optuna)")
    p.add_argument("--min-sigma", type=float, required=True, help="smallest singular value to orthogonalize")
    p.add_argument("--max-sigma", type=float, default=1.0, help="largest singular value (default 1)")
    p.add_argument("--shape", required=True, help="matrix shape MxN the FLOPs are counted on")
    p.add_argument("--dtype", type=dtype_name(("exact", "fp64", "fp32", "bf16", "fp16", "fp8")), default="bf16",
                   metavar="{exact,fp64,fp32,bf16,fp16,fp8}",
                   help="error in this precision (fp32/bf16/fp16/fp8: matrix runs, fp8 emulated; fp64/exact: exact)")
    p.add_argument("--trials", type=int, default=FRONT_TRIALS,
                   help=f"complete trials the study should hold (default {FRONT_TRIALS})")
    p.add_argument("--seed", type=int, default=0, help="sampler seed (default 0)")
    p.add_argument("--steps", type=steps_or_range, default=(1, 10), metavar="N|LO-HI",
                   help="step counts the trials may choose (default 1-10)")
    deprecated_alias(p, "--min-steps", "--steps LO-HI", dest="min_steps", type=int)
    deprecated_alias(p, "--max-steps", "--steps LO-HI", dest="max_steps", type=int)
    p.add_argument("--degree-choices", dest="degrees", default="3,5,7",
                   help="step degrees the trials may choose (default 3,5,7)")
    deprecated_alias(p, "--degrees", "--degree-choices", dest="degrees")
    p.add_argument("--strategies", help="guard strategies, a comma list of: none, safety, inflate, norm_div, cushion, "
                   "polar_express (default all)")

    add_kernel_arguments(p, "the kernel the errors are run with and the FLOPs counted for")
    p.add_argument("--proxy-shape", help="test matrix for bf16/fp16 errors (default: the shape's aspect, ≤256 rows)")
    add_guard_sigma(p, "top G of the guard band: schedules must not blow up for σ up to G (default 1.02·max-sigma)")
    p.add_argument("--no-guard", action="store_true", help="allow schedules that blow up in the guard band")
    p.add_argument("--storage", help=STORAGE_HELP)
    p.add_argument("--study-name", help="study to create or join (default: derived from the settings)")
    p.add_argument("--jobs", type=int, default=1, help="parallel trials in this process (default 1)")
    p.add_argument("-o", "--output", help="write the front as JSON to this file")
    p.set_defaults(handler=_pareto)


def _pareto(args: argparse.Namespace) -> int:
    """The front's request and study options, built once; `search.run_front` answers them."""
    check_band(args.min_sigma, args.max_sigma)
    lo, hi = (args.steps, args.steps) if isinstance(args.steps, int) else args.steps
    lo = lo if args.min_steps is None else args.min_steps  # the old --min-steps/--max-steps spellings
    hi = hi if args.max_steps is None else args.max_steps
    request = DesignRequest(
        args.min_sigma, args.max_sigma, guard_sigma=guard_sigma_of(args, args.max_sigma), steps=(lo, hi),
        kernel=kernel_of(args), shape=Shape.parse(args.shape),
    )
    proxy = Shape.parse(args.proxy_shape) if args.proxy_shape else None
    options = StudyOptions(
        search_degrees=int_list("--degree-choices", args.degrees),
        strategies=comma_list("--strategies", args.strategies),
        proxy_shape=None if proxy is None else (proxy.m, proxy.n), guard=not args.no_guard, trials=args.trials,
        seed=args.seed, storage=study_storage(args.storage), study_name=args.study_name, jobs=args.jobs,
        progress=_progress_enabled(),
    )
    if args.output is not None:
        check_output_path(args.output)
    result = run_front(request, options, args.dtype)
    if args.output is not None:
        write_json_atomic(args.output, result.document())

    with report_stream(args.output):
        pareto_front(result, args.output)
    return 0


def _progress_enabled() -> bool:
    return progress.enabled()
