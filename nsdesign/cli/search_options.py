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

The base options keep their meaning (band, --steps, --degree, --cushion/--safety/--norm-div as fixed knobs,
--shape, -o/--format); --tol is the capture tolerance in a study. Completed trials count toward --trials,
so re-running the same command resumes a killed study and runs only the missing trials.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from typing import Any

from nsdesign.errors import InputError

_DESTS = (
    "objective", "trials", "seed", "storage", "study_name", "jobs", "strategies", "search_degrees", "step_range",
    "max_matmuls", "spectrum", "proxy_shape", "lowp_backend", "refine", "refine_steps", "refine_evals", "guard_limit",
    "target_range",
)
DEFAULT_TRIALS = 50
DEFAULT_STEP_RANGE = (3, 10)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the study options to the `search` parser (all default to None: absent means 'no study')."""
    g = parser.add_argument_group("study (Optuna search; any of these options starts one)")
    g.add_argument("--objective", help="worst | weighted | bf16 | fp16 | capture, or weighted sums like worst=1,bf16=0.5")
    g.add_argument("--trials", type=int, help=f"complete trials the study should hold (default {DEFAULT_TRIALS}); completed ones count")
    g.add_argument("--seed", type=int, help="sampler seed (default 0)")
    g.add_argument("--storage", help="sqlite:///file.db, postgresql+psycopg2://user@host:port/db, or journal:PATH (default: memory)")
    g.add_argument("--study-name", help="study to create or join (default: derived from the settings)")
    g.add_argument("--jobs", type=int, help="parallel trials in this process (default 1); start more processes to scale out")
    g.add_argument("--strategies", help="headroom strategies to search: none,safety,inflate,norm_div,cushion (default all)")
    g.add_argument("--search-degrees", help="step degrees the trials may choose, e.g. 3,5,7 (default: --degree)")
    g.add_argument("--step-range", help="step counts to search, LO-HI (default: --steps, else 3-10)")
    g.add_argument("--max-matmuls", type=int, help="matmul budget: schedules above it are infeasible")
    g.add_argument("--spectrum", help="for the weighted objective: mp (needs --shape), law (needs --model-size, --layer), or FILE.npy")
    g.add_argument("--proxy-shape", help="test matrix for bf16/fp16 objectives and the guard (default 256x1024, or --shape's aspect)")
    g.add_argument("--lowp-backend", choices=("emulate", "torch"), help="bf16/fp16 runs: numpy rounding model (default) or real torch")
    g.add_argument("--refine", choices=("auto", "none", "slsqp", "nelder-mead", "de"), help="SciPy refinement of coefficients (default auto)")
    g.add_argument("--refine-steps", type=int, help="how many final steps the refinement may change (default 2)")
    g.add_argument("--refine-evals", type=int, help="objective evaluations per refinement (default 150)")
    g.add_argument("--target-range", help="inner target τ to search, LO-HI in [0.5, 1] (default 0.9-1 for bf16/fp16, else off)")
    g.add_argument("--guard-limit", type=float, help="largest output allowed for σ up to 1.02 (default 2)")
    g.add_argument("--no-guard", action="store_true", default=None, help="allow schedules that blow up just above the band")


def wants_study(args: argparse.Namespace) -> bool:
    """True when the arguments ask for more than the exact greedy design."""
    return any(getattr(args, d, None) is not None for d in _DESTS) or bool(getattr(args, "no_guard", None))


# --------------------------------------------------------------------------------------------------
# Building the study from the arguments
# --------------------------------------------------------------------------------------------------


def config_from_args(args: argparse.Namespace) -> Any:
    """The StudyConfig the arguments describe (every inconsistency is an InputError)."""
    from nsdesign.core.cost import Shape
    from nsdesign.search.objectives import DEFAULT_PROXY, Objective, parse_objective
    from nsdesign.search.pareto import proxy_for
    from nsdesign.search.space import HEADROOM_STRATEGIES, SearchSpace
    from nsdesign.search.study import StudyConfig

    terms = parse_objective(args.objective or "worst")
    names = {n for n, _ in terms}
    shape = Shape.parse(args.shape) if getattr(args, "shape", None) else None
    max_sigma = float(getattr(args, "max_sigma", 1.0) or 1.0)
    _finite("--max-sigma", max_sigma)

    tol = getattr(args, "tol", None)
    if "capture" in names:
        if tol is None:
            raise InputError("--objective capture needs --tol (the tolerance δ the band is captured at)")
        if getattr(args, "steps", None) is None:
            raise InputError("--objective capture needs a fixed --steps")
        min_sigma = getattr(args, "min_sigma", None) or 1e-3 * max_sigma
    else:
        if tol is not None:
            raise InputError("in a study --tol is the capture tolerance; use --objective capture, or give --steps / --step-range")
        min_sigma = _min_sigma(args)
    _finite("--min-sigma", min_sigma)

    steps = getattr(args, "steps", None)
    fixed_degrees = None
    degree_text = str(getattr(args, "degree", "5") or "5")
    if degree_text == "auto":
        raise InputError("--degree auto is for the greedy design; in a study give --search-degrees 3,5,7")
    try:
        base_degrees = tuple(int(v) for v in degree_text.split(","))
    except ValueError:
        raise InputError(f"--degree must be an odd integer or a comma list like 3,5,5,7; got {degree_text!r}") from None
    if len(base_degrees) > 1:
        if steps is not None and steps != len(base_degrees):
            raise InputError(f"{len(base_degrees)} degrees given for {steps} steps")
        steps = len(base_degrees)
        fixed_degrees = base_degrees
    if steps is not None and args.step_range is not None:
        raise InputError("give either --steps or --step-range, not both")
    if steps is not None:
        lo_steps = hi_steps = int(steps)
    elif args.step_range is not None:
        lo_steps, hi_steps = _step_range(args.step_range)
    else:
        lo_steps, hi_steps = DEFAULT_STEP_RANGE
    degrees = _int_list("--search-degrees", args.search_degrees) if args.search_degrees else (base_degrees[0],)
    if fixed_degrees is not None and args.search_degrees:
        raise InputError("give either per-step --degree values or --search-degrees, not both")
    if fixed_degrees is not None:
        degrees = tuple(sorted(set(fixed_degrees)))
    strategies = tuple(s.strip() for s in args.strategies.split(",")) if args.strategies else HEADROOM_STRATEGIES
    if "capture" in names:
        design_range: tuple[float, float] | None = (1e-10 * max_sigma, 0.5 * max_sigma)
    elif names & {"bf16", "fp16"}:
        # Rounding the input to bf16/fp16 moves the smallest singular values down (by ~‖X‖_F·2⁻⁹/√min(m,n)), so
        # the best low-precision design edge sits below the band edge: search it in [l/10, l].
        design_range = (0.1 * min_sigma, min_sigma)
    else:
        design_range = None
    if args.target_range is not None:
        target_range: tuple[float, float] | None = _float_range("--target-range", args.target_range)
    else:
        target_range = (0.9, 1.0) if names & {"bf16", "fp16"} else None
    space = SearchSpace(
        min_steps=lo_steps,
        max_steps=hi_steps,
        degrees=degrees,
        headroom=strategies,
        base_cushion=float(getattr(args, "cushion", 0.0) or 0.0),
        base_safety=float(getattr(args, "safety", 1.0) or 1.0),
        base_norm_div=float(getattr(args, "norm_div", 1.0) or 1.0),
        max_matmuls=args.max_matmuls,
        fixed_degrees=fixed_degrees,
        design_range=design_range,
        target_range=target_range,
    )
    if args.proxy_shape:
        p = Shape.parse(args.proxy_shape)
        proxy = (p.m, p.n)
    else:
        proxy = proxy_for(shape) if shape is not None else DEFAULT_PROXY
    objective = Objective(
        terms=terms,
        min_sigma=min_sigma,
        max_sigma=max_sigma,
        spectrum=_spectrum(args, shape) if "weighted" in names or args.spectrum else None,
        tol=tol,
        proxy_shape=proxy,
        backend=args.lowp_backend or "emulate",
        guard=not args.no_guard,
        guard_limit=2.0 if args.guard_limit is None else args.guard_limit,
        refine=args.refine or "auto",
        refine_steps=2 if args.refine_steps is None else args.refine_steps,
        refine_evals=150 if args.refine_evals is None else args.refine_evals,
    )
    return StudyConfig(
        space=space,
        objective=objective,
        trials=DEFAULT_TRIALS if args.trials is None else args.trials,
        seed=0 if args.seed is None else args.seed,
        storage=args.storage,
        study_name=args.study_name,
        jobs=1 if args.jobs is None else args.jobs,
        progress=_progress_enabled(),
    )


def run(args: argparse.Namespace) -> int:
    """Run the study the arguments describe, print the result, write the schedule when -o is given."""
    from nsdesign.core.cost import Shape
    from nsdesign.core.metrics import DEFAULT_HEADROOM, evaluate
    from nsdesign.io import schedule_document
    from nsdesign.search.study import run_search

    config = config_from_args(args)
    output = getattr(args, "output", None)
    fmt = getattr(args, "format", "json") or "json"
    if output is not None:
        _check_writable(output)
    result = run_search(config)
    objective = config.objective
    shape = Shape.parse(args.shape) if getattr(args, "shape", None) else None
    headroom = getattr(args, "headroom", None)
    metrics = evaluate(
        result.best.schedule,
        objective.min_sigma,
        objective.max_sigma,
        DEFAULT_HEADROOM if headroom is None else headroom,
        objective.tol,
        shape,
    )
    schedule = result.best.schedule.with_name(f"search-{objective.label()}")
    if output is not None:
        document = schedule_document(schedule, (objective.min_sigma, objective.max_sigma), result.provenance(), metrics)
        _write(output, fmt, document, schedule)
    from nsdesign.cli._output import report_stream

    with report_stream(output):
        _render(result, metrics, output)
    return 0


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _min_sigma(args: argparse.Namespace) -> float:
    if getattr(args, "min_sigma", None) is not None:
        if getattr(args, "quantile", None) is not None:
            raise InputError("give either --min-sigma or --model-size/--quantile, not both")
        return float(args.min_sigma)
    if getattr(args, "quantile", None) is not None:
        try:
            from nsdesign.cli.design_commands import _band_from_args
        except ImportError:
            raise InputError("give --min-sigma") from None
        return float(_band_from_args(args)[0])
    raise InputError("a study needs the band: give --min-sigma L (or --model-size/--layer/--quantile)")


def _spectrum(args: argparse.Namespace, shape: Any) -> Any:
    from nsdesign.search import spectra

    source = args.spectrum
    if source is None:
        raise InputError("the weighted objective needs --spectrum mp (with --shape), law, or FILE.npy")
    if source == "mp":
        if shape is None:
            raise InputError("--spectrum mp needs --shape MxN")
        return spectra.marchenko_pastur(shape)
    if source == "law":
        if getattr(args, "model_size", None) is None or not getattr(args, "layer", None):
            raise InputError("--spectrum law needs --model-size and --layer")
        return spectra.from_law(args.model_size, args.layer, getattr(args, "laws", None))
    return spectra.from_npy(source)


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


def _int_list(flag: str, text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"{flag} must be a comma list of odd integers like 3,5,7; got {text!r}") from None
    return values


def _finite(flag: str, value: float) -> None:
    if not math.isfinite(value):
        raise InputError(f"{flag} must be a finite number, got {value}")


def _check_writable(path: str) -> None:
    from nsdesign._files import check_output_path

    check_output_path(path)


def _write(path: str, fmt: str, document: dict[str, Any], schedule: Any) -> None:
    from nsdesign.io import save_document

    if fmt == "json":
        save_document(path, document)
        return
    from nsdesign._files import write_text_atomic
    from nsdesign.export import export

    target = {"python": "python", "polar-express": "polar-express"}.get(fmt)
    if target is None:
        raise InputError(f"--format must be json, python or polar-express, got {fmt!r}")
    write_text_atomic(path, export(schedule, target).text)


def _render(result: Any, metrics: Any, written_to: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from nsdesign.cli.render import console as make_console, is_wide

    console = make_console()
    best, greedy = result.best, result.greedy
    console.print(
        f"study [bold]{result.study_name}[/] ({result.storage}): {result.completed} complete trials, "
        f"{result.ran} run here; best trial #{best.number} ({_candidate_text(best.candidate)}"
        f"{', refined' if best.refined else ''})"
    )
    table = Table(title="objective values (lower is better)")
    table.add_column("schedule")
    for name in best.components:
        table.add_column(name, justify="right")
    table.add_column("score", justify="right")
    table.add_column("feasible")
    table.add_row("best", *[f"{v:.4g}" for v in best.components.values()], f"{best.score:.4g}", "yes")
    if greedy is not None:
        table.add_row(
            f"greedy (#{greedy.number})",
            *[f"{greedy.components.get(k, math.nan):.4g}" for k in best.components],
            f"{greedy.score:.4g}",
            "yes" if greedy.feasible else f"no: {greedy.reason}",
        )
    console.print(table)
    rows = Table(title=f"coefficients (norm_div {best.schedule.input_scale:g}; row 0 first)")
    rows.add_column("step", justify="right")
    width = max(len(r) for r in best.schedule.coefficients())
    for j in range(width):
        rows.add_column(f"c{j}", justify="right")
    for i, row in enumerate(best.schedule.coefficients()):
        rows.add_row(str(i), *[repr(float(v)) if is_wide() else f"{float(v):.7g}" for v in row])
    console.print(rows)
    console.print(
        f"exact on [{metrics.min_sigma:g}, {metrics.max_sigma:g}]: worst error {metrics.worst_error:.4g}, "
        f"overshoot {metrics.overshoot:.4g}, {metrics.matmuls} matmuls"
    )
    if written_to:
        console.print(f"wrote {written_to}")
    sys.stdout.flush()


def _candidate_text(candidate: dict[str, Any]) -> str:
    steps = candidate.get("steps")
    degrees = [candidate[k] for k in sorted((k for k in candidate if k.startswith("degree_")), key=lambda k: int(k[7:]))]
    headroom = candidate.get("headroom", "none")
    size = candidate.get(f"{headroom}_size")
    parts = [f"{steps} steps"]
    if degrees and len(set(degrees)) > 1:
        parts.append("degrees " + ",".join(str(d) for d in degrees))
    parts.append(headroom if size is None else f"{headroom} {size:.4g}")
    return ", ".join(parts)


def _progress_enabled() -> bool:
    from nsdesign.cli import progress

    return progress.enabled()
