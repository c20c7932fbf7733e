"""Study options of `nsdesign search`: Optuna objectives, trials, storage and scale-out.

`nsdesign search` (cli/design_commands.py) designs the exact greedy schedule. Any of the options below turns
it into a study (`nsdesign.search`):

    nsdesign search --min-sigma 1e-3 --steps 7 --objective bf16 --trials 60 --seed 0 -o s.json
    nsdesign search --min-sigma 1e-3 --steps 6 --objective worst=1,bf16=0.5 --trials 40
    nsdesign search --shape 4096x16384 --min-sigma 5e-3 --objective weighted --spectrum mp --trials 40
    nsdesign search --steps 5 --tol 0.1 --objective capture --trials 30
    nsdesign search … --storage sqlite:///s.db --study-name run1     # start as many of these as you like
    nsdesign search … --storage journal:study.log                    # append-only file, no server
    nsdesign search … --storage postgresql+psycopg2://user@host:5432/db

The base options keep their meaning (band, --steps N or a range LO-HI, --degrees, --cushion/--safety/--norm-div
as fixed knobs, --shape, -o/--format); --tol is the capture tolerance in a study. Completed trials count toward --trials,
so re-running the same command resumes a killed study and runs only the missing trials.
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import replace
from typing import Any, Sequence

from nsdesign._files import check_output_path
from nsdesign.cli import progress
from nsdesign.cli._output import print_band_warnings, print_route, report_stream, write_schedule
from nsdesign.cli._vocabulary import (
    STORAGE_HELP,
    BandEdge,
    band_source_from_args,
    comma_list,
    deprecated_alias,
    guard_sigma_of,
    int_list,
    normalizer_from_args,
    parse_degree,
    shape_of,
    study_storage,
)
from nsdesign.cli.views.study import study_result
from nsdesign.core.limits import DEFAULT_TRIALS, KERNELS
from nsdesign.errors import InputError
from nsdesign.laws.normalized import BandSource
from nsdesign.plans.request import DesignRequest
from nsdesign.search.plan import StudyOptions
from nsdesign.search.run import run_study

_DESTS = (
    "objective", "trials", "seed", "storage", "study_name", "jobs", "strategies", "search_degrees", "step_range",
    "max_matmuls", "spectrum", "proxy_shape", "lowp_backend", "refine", "refine_steps", "refine_evals", "guard_limit",
    "target_range",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the study options to the `search` parser (all default to None: absent means 'no study')."""
    g = parser.add_argument_group("study (Optuna search; any of these options starts one)")
    g.add_argument("--objective", help="worst | weighted | bf16 | fp16 | capture, or weighted sums like worst=1,bf16=0.5")
    g.add_argument("--trials", type=int, help=f"complete trials the study should hold (default {DEFAULT_TRIALS}); completed ones count")
    g.add_argument("--seed", type=int, help="sampler seed (default 0)")
    g.add_argument("--storage", help=STORAGE_HELP)
    g.add_argument("--study-name", help="study to create or join (default: derived from the settings)")
    g.add_argument("--jobs", type=int, help="parallel trials in this process (default 1); start more processes to scale out")
    g.add_argument("--strategies", help="guard strategies to search (how a schedule stays bounded above the band), a comma "
                   "list of: none, safety, inflate, norm_div, cushion, polar_express (default all)")
    g.add_argument(
        "--degree-choices", dest="search_degrees",
        help="step degrees the trials may choose, e.g. 3,5,7 (default: --degrees)",
    )
    deprecated_alias(g, "--search-degrees", "--degree-choices", dest="search_degrees")
    deprecated_alias(g, "--step-range", "--steps LO-HI", dest="step_range")
    g.add_argument("--max-matmuls", type=int, help="matmul budget: schedules above it are infeasible")
    g.add_argument("--spectrum", help="for the weighted objective: mp (needs --shape), law (needs --model-size, --layer), or FILE.npy")
    g.add_argument("--proxy-shape", help="test matrix for bf16/fp16 objectives and the guard (default 256x1024, or --shape's aspect)")
    g.add_argument("--lowp-backend", choices=("emulate", "torch"), help="bf16/fp16 runs: numpy rounding model (default) or real torch")
    g.add_argument("--refine", choices=("auto", "none", "slsqp", "nelder-mead", "de"), help="SciPy refinement of coefficients (default auto)")
    g.add_argument("--refine-steps", type=int, help="how many final steps the refinement may change (default 2)")
    g.add_argument("--refine-evals", type=int, help="objective evaluations per refinement (default 150)")
    g.add_argument("--target-range", help="inner target τ to search, LO-HI in [0.5, 1] (default 0.9-1 for bf16/fp16, else off)")
    # the guard band is --guard-sigma/--guard-tol (docs/cli.md); the old overshoot cap still parses, hidden
    deprecated_alias(g, "--guard-limit", "--guard-sigma/--guard-tol", dest="guard_limit", type=float)
    g.add_argument("--no-guard", action="store_true", default=None, help="allow schedules that blow up just above the band")


def add_kernel_arguments(parser: Any, what: str = "the kernel the schedule is run and checked with") -> None:
    """--kernel fused|unfused|gram (default fused) and the hidden old spelling --form standard|gram."""
    parser.add_argument(
        "--kernel", choices=KERNELS,
        help=f"{what}: fused (torch.optim.Muon), unfused (Keller Jordan's muon.py), gram (Dao-AILab); default fused",
    )
    # the old spelling, silent: a warning line would break the one-line error contract when another flag is bad
    deprecated_alias(parser, "--form", "--kernel", dest="form", choices=("standard", "fused", "unfused", "gram"))


def kernel_of(args: argparse.Namespace) -> str:
    """The kernel from --kernel, or from the hidden alias --form (standard = fused); both given must agree."""
    kernel = getattr(args, "kernel", None)
    form = getattr(args, "form", None)
    old = {"standard": "fused"}.get(form, form) if form else None
    if kernel and old and kernel != old:
        raise InputError(f"--kernel {kernel} and --form {form} disagree; give --kernel only")
    return kernel or old or "fused"


def study_options(args: argparse.Namespace, normalized: bool = False) -> tuple[str, ...]:
    """The study options given, by destination name (--steps LO-HI counts as `steps`)."""
    dests = [d for d in _DESTS if not (normalized and d == "spectrum")]
    given = [d for d in dests if getattr(args, d, None) is not None]
    if isinstance(getattr(args, "steps", None), tuple):
        given.insert(0, "steps")
    return tuple(given) + (("no_guard",) if getattr(args, "no_guard", None) else ())


def request_from_args(args: argparse.Namespace) -> DesignRequest:
    """The `plans.DesignRequest` the search flags describe: built once here, routed by `plans.route`, answered
    by `plans.answer`. A predicted band edge is added by the caller (`with_band`), once it is resolved."""
    normalized = any(getattr(args, k, None) is not None for k in ("normalize", "power_iterations", "spectral_safety"))
    return DesignRequest(
        min_sigma=args.min_sigma, max_sigma=args.max_sigma, guard_sigma=guard_sigma_of(args, args.max_sigma),
        guard_tol=args.guard_tol, steps=args.steps, tol=args.tol,
        degrees=parse_degree("5" if args.degree is None else str(args.degree)),  # '' is refused, not read as 5
        kernel=kernel_of(args), normalizer=normalizer_from_args(args) if normalized else None,
        consumer=args.for_target, exact=bool(args.exact), study=study_options(args, normalized),
        cushion=args.cushion, safety=args.safety, norm_div=args.norm_div, max_steps=args.max_steps,
    )


def with_band(request: DesignRequest, min_sigma: float, source: str | None, shape: str | None) -> DesignRequest:
    """The request on a resolved band: --min-sigma or the edge predicted from `source`, and --shape (the
    block's shape under --heads/--block) for FLOP counts."""
    return replace(request, min_sigma=min_sigma, band_source=source, shape=shape_of(shape))


# --------------------------------------------------------------------------------------------------
# Building the study from the arguments
# --------------------------------------------------------------------------------------------------


def study_request(
    args: argparse.Namespace, min_sigma: float | None = None, normalized: bool = False
) -> tuple[DesignRequest, StudyOptions]:
    """The study the arguments describe: its `DesignRequest` and `StudyOptions`, built once and handed to
    `nsdesign.search.run_study` (the rules live in `search.plan`).

    `min_sigma` is the band edge the caller resolved (from --min-sigma or a predicted edge); None leaves it
    to the library (the capture objective has its own default; under a normalizer the band comes from its
    source). `normalized`: --spectrum is the normalizer band's source, not a weighted objective's sample.
    """
    request = request_from_args(args)
    if request.degrees == "auto":
        raise InputError("--degrees auto is for the greedy design; in a study give --degree-choices 3,5,7")
    steps = request.steps
    if getattr(args, "step_range", None) is not None:
        if steps is not None:
            raise InputError("give either --steps or --step-range, not both")
        steps = _step_range(args.step_range)
    _finite("--max-sigma", request.max_sigma)
    request = replace(request, min_sigma=min_sigma, steps=steps, shape=shape_of(args.shape))
    return request, _study_options(args, spectrum=None if normalized else args.spectrum)


def _study_options(args: argparse.Namespace, spectrum: str | None) -> StudyOptions:
    """The study flags (`_DESTS`) as `StudyOptions`: the parts of a search that only a study has."""
    p = shape_of(args.proxy_shape or None)
    proxy = None if p is None else (p.m, p.n)
    return StudyOptions(
        objective="worst" if args.objective is None else args.objective,
        search_degrees=int_list("--degree-choices", args.search_degrees),
        strategies=comma_list("--strategies", args.strategies),
        max_matmuls=args.max_matmuls,
        spectrum=spectrum,
        model_size=getattr(args, "model_size", None),
        layer=getattr(args, "layer", None),
        laws=getattr(args, "laws", None),
        proxy_shape=proxy,
        backend=args.lowp_backend or "emulate",
        guard=not args.no_guard,
        guard_limit=args.guard_limit,
        target_range=_float_range("--target-range", args.target_range) if args.target_range is not None else None,
        refine=args.refine or "auto",
        refine_steps=args.refine_steps,
        refine_evals=args.refine_evals,
        trials=args.trials,
        seed=args.seed,
        storage=study_storage(args.storage),
        study_name=args.study_name,
        jobs=args.jobs,
        progress=_progress_enabled(),
    )


def run_normalized(args: argparse.Namespace, route: Sequence[str] = ()) -> int:
    """A study on the band a normalizer leaves (`--normalize NAME` with study options), from its source."""
    if getattr(args, "legacy_headroom", None) is not None:
        raise InputError("--headroom is the old spelling of --guard-sigma; with --normalize give --guard-sigma")
    if args.spectrum in ("mp", "law") or "weighted" in str(args.objective or ""):
        raise InputError(
            "with --normalize, --spectrum is the band's source (a .npy file) and the weighted objective (a "
            "Frobenius-normalized sample) does not apply; use worst, capture or a low-precision objective"
        )
    return run(args, route, band=band_source_from_args(args))


def run(args: argparse.Namespace, route: Sequence[str] = (), edge: BandEdge | None = None,
        band: BandSource | None = None) -> int:
    """Run the study the arguments describe (`search.run_study`), print the result, write the schedule (-o).

    `route`: the lines that say which engine answered and why. `band`: the source of a normalizer's band
    (`run_normalized`); else [edge, --max-sigma] is the band (no edge: the library's default, as for capture)."""
    min_sigma = None if edge is None else edge.min_sigma
    request, options = study_request(args, min_sigma, normalized=band is not None)
    output = getattr(args, "output", None)
    if output is not None:
        check_output_path(output)
    answer = run_study(request, options, band)

    print_band_warnings((() if edge is None else edge.warnings) + answer.warnings)
    if output is not None:
        write_schedule(output, getattr(args, "format", "json") or "json", answer.document(), answer.schedule)
    with report_stream(output):
        print_route(route)
        study_result(answer.result, answer.metrics, output)
    return 0


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _step_range(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*(?:-|:|\.\.)\s*(\d+)\s*", text)
    if not match:
        raise InputError(f"--step-range must look like 4-8, got {text!r}")
    lo, hi = int(match.group(1)), int(match.group(2))
    if not 1 <= lo <= hi:
        raise InputError(f"--step-range needs 1 ≤ LO ≤ HI, got {text!r}")
    return lo, hi


def _float_range(flag: str, text: str) -> tuple[float, float]:
    match = re.fullmatch(r"\s*([0-9.eE+]+)\s*(?:-|:)\s*([0-9.eE+]+)\s*", text)
    try:
        if not match:
            raise ValueError
        return float(match.group(1)), float(match.group(2))
    except ValueError:
        raise InputError(f"{flag} must look like 0.9-1, got {text!r}") from None


def _finite(flag: str, value: float) -> None:
    if not math.isfinite(value):
        raise InputError(f"{flag} must be a finite number, got {value}")


def _progress_enabled() -> bool:
    return progress.enabled()
