"""Error versus FLOPs: the Pareto front of schedules for one matrix shape and one precision.

A two-objective Optuna study (both minimized): the error — exact worst case on [l, u] in "fp64"/"exact", the
low-precision matrix error on a proxy matrix of the shape's aspect ratio in "bf16"/"fp16" — and the
FLOPs of one Newton–Schulz call on the shape (`nsdesign.core.cost.flops`, the kernel's cost model). Trials
choose the step count, the degree of each step and the guard strategy exactly as in the single-objective
search; the guarded greedy schedule of every step count is enqueued so the front is never worse than the
greedy family. The front holds the feasible, non-dominated trials, cheapest first.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from nsdesign._version import __version__
from nsdesign.core.band import Band, as_band
from nsdesign.core.cost import Shape, cost_model, matmuls, resolve_kernel
from nsdesign.core.limits import FRONT_DEGREES, FRONT_STEP_RANGE, FRONT_TRIALS
from nsdesign.core.schedule import Schedule
from nsdesign.documents import header
from nsdesign.errors import InputError, deprecated
from nsdesign.precision.kernels import kernel_flops
from nsdesign.search.objectives import DEFAULT_PROXY, Objective, plan, score
from nsdesign.search.space import STORED_GUARD, TYPICAL_SIZE, Candidate, SearchSpace, build_schedule, suggest
from nsdesign.search.storage import canonical, describe
from nsdesign.search.loop import count_complete, make_sampler, open_study, run_trials
from nsdesign.search.study import StudyConfig

DTYPES: dict[str, str] = {"exact": "worst", "fp64": "worst", "bf16": "bf16", "fp16": "fp16", "fp32": "fp32", "fp8": "fp8"}


@dataclass(frozen=True)
class FrontPoint:
    trial: int
    schedule: Schedule
    error: float
    flops: float
    matmuls: int
    candidate: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial": self.trial,
            "error": self.error,
            "flops": self.flops,
            "matmuls": self.matmuls,
            "steps": self.schedule.num_steps,
            "degrees": list(self.schedule.degrees),
            "headroom": self.candidate.get(STORED_GUARD),
            "candidate": self.candidate,
            "schedule": self.schedule.to_dict(),
        }


@dataclass(frozen=True)
class ParetoResult:
    front: tuple[FrontPoint, ...]
    shape: Shape
    dtype: str
    kernel: str
    min_sigma: float
    max_sigma: float
    trials: int
    completed: int
    seed: int
    study_name: str
    storage: str
    settings: dict[str, Any] = field(repr=False)

    @property
    def cost_model(self) -> str:
        """The FLOP model the front counts in (standard or gram; stored as the document's "form")."""
        return cost_model(self.kernel)

    @property
    def form(self) -> str:
        """Deprecated spelling of `cost_model` (one release)."""
        deprecated("ParetoResult.form is deprecated: use .kernel or .cost_model")
        return self.cost_model

    def document(self) -> dict[str, Any]:
        return {
            **header("pareto"),
            "band": {"min_sigma": self.min_sigma, "max_sigma": self.max_sigma},
            "shape": [self.shape.m, self.shape.n],
            "dtype": self.dtype,
            "form": self.cost_model,
            "params": {
                "method": "pareto",
                "objectives": ["error", "flops"],
                "trials": self.trials,
                "completed_trials": self.completed,
                "seed": self.seed,
                "study_name": self.study_name,
                "storage": self.storage,
                "settings": self.settings,
            },
            "front": [p.to_dict() for p in self.front],
            "nsdesign_version": __version__,
        }


def proxy_for(shape: Shape, rows: int = DEFAULT_PROXY[0]) -> tuple[int, int]:
    """A proxy matrix with the shape's aspect ratio and at most `rows` rows (capped at 4096 columns)."""
    m = min(shape.m, rows)
    n = min(4096, max(m, round(shape.n * m / shape.m)))
    return m, n


def _flops(schedule: Schedule, shape: Shape, objective: Objective, dtype: str) -> float:
    """FLOPs of one call: the kernel's own count (Gram: with the restart plan the errors were run with)."""
    return kernel_flops(schedule, shape.m, shape.n, objective.kernel, plan(schedule, objective, dtype))


def run_pareto(
    band: Band | tuple[float, float] | float,
    shape: Shape,
    dtype: str = "bf16",
    trials: int = FRONT_TRIALS,
    seed: int = 0,
    max_sigma: float | None = None,
    *,
    space: SearchSpace | None = None,
    form: str | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    jobs: int = 1,
    guard: bool = True,
    proxy_shape: tuple[int, int] | None = None,
    progress: bool = False,
    kernel: str | None = None,
    guard_sigma: float | None = None,
) -> ParetoResult:
    """The error-vs-FLOPs front on `shape` in `dtype` (exact/fp64: exact worst case; bf16/fp16: the rounding model).

    `kernel` (fused/unfused/gram) runs the matrix errors and sets the FLOP model (Gram FLOPs include the
    restart plan's products); `form=` (standard/gram) is its deprecated spelling and means fused/gram."""
    checked = as_band(band, max_sigma)
    min_sigma, max_sigma = checked.min_sigma, checked.max_sigma
    if dtype not in DTYPES:
        raise InputError(f"`dtype` must be one of {', '.join(DTYPES)}, got {dtype!r}")
    shape = Shape.coerce(shape)
    kernel = resolve_kernel(kernel, form)
    space = space or SearchSpace(min_steps=FRONT_STEP_RANGE[0], max_steps=FRONT_STEP_RANGE[1], degrees=FRONT_DEGREES)
    error_name = DTYPES[dtype]
    objective = Objective(
        terms=((error_name, 1.0),),
        min_sigma=min_sigma,
        max_sigma=max_sigma,
        proxy_shape=proxy_shape or proxy_for(shape),
        guard=guard,
        guard_sigma=guard_sigma,  # None: 1.02·max_sigma
        refine="none",
        kernel=kernel,
        guard_dtype=dtype if error_name != "worst" else None,  # the user's --dtype; exact/fp64: bf16
    )
    config = StudyConfig(space, objective, trials, seed, storage, study_name, jobs, progress)
    settings = {**config.settings(), "kind": "nsdesign-pareto", "shape": [shape.m, shape.n], "dtype": dtype,
                "form": cost_model(kernel), **({} if kernel == "fused" else {"kernel": kernel})}
    name = study_name or "nsdesign-pareto-" + hashlib.sha256(canonical(settings).encode()).hexdigest()[:12]
    study = open_study(storage, name, settings, directions=["minimize", "minimize"], seeds=_seeds(space))
    study.sampler = make_sampler(seed, trials, len(study.get_trials(deepcopy=False)))
    trial_fn = _trial_function(space, objective, shape, error_name, min_sigma, max_sigma)
    run_trials(study, trial_fn, trials, jobs, progress, f"pareto {dtype} {shape}")
    front = pareto_front(study)
    if not front:
        raise InputError("no feasible schedule found; allow more steps or guard strategies, or disable the guard (`guard=False`)")
    return ParetoResult(tuple(front), shape, dtype, kernel, min_sigma, max_sigma, trials, count_complete(study), seed,
                        study.study_name, describe(storage), settings)


def _seeds(space: SearchSpace) -> list[dict[str, Any]]:
    """The greedy schedule of every step count (guarded by the typical safety when the space allows it), enqueued
    so the front is never worse than the greedy family."""
    seeds = []
    for count in range(space.min_steps, space.max_steps + 1):
        base = space.greedy_candidate(count)
        guarded = Candidate(base.degrees, "safety", TYPICAL_SIZE["safety"]) if "safety" in space.guards else base
        seeds.append(guarded.params())
    return seeds


def _trial_function(
    space: SearchSpace, objective: Objective, shape: Shape, error_name: str, min_sigma: float, max_sigma: float
) -> Callable[[Any], tuple[float, float]]:
    """One trial: (error, FLOPs) of the suggested schedule; infeasible trials are dominated by every feasible one."""

    def trial_fn(trial: Any) -> tuple[float, float]:
        candidate = suggest(trial, space)
        try:
            schedule = build_schedule(candidate, space, min_sigma, max_sigma)
            result = score(schedule, objective, space.max_matmuls)
        except InputError as exc:
            trial.set_user_attr("feasible", False)
            trial.set_user_attr("reason", str(exc))
            trial.set_constraint("guard", 1.0)
            return 1e3, 1e30
        error = result.components[error_name]
        cost = _flops(schedule, shape, objective, error_name if error_name != "worst" else "bf16")
        trial.set_user_attr("feasible", result.feasible)
        trial.set_user_attr("reason", result.reason)
        trial.set_constraint("guard", 0.0 if result.feasible else 1.0)
        trial.set_user_attr("schedule", schedule.to_dict())
        trial.set_user_attr("candidate", candidate.params())
        trial.set_user_attr("error", error if math.isfinite(error) else 1e300)
        if not (result.feasible and math.isfinite(error)):
            return result.value, cost  # INFEASIBLE + error: dominated by every feasible point
        return error, cost

    return trial_fn


def pareto_front(study: Any) -> list[FrontPoint]:
    """Feasible non-dominated (error, flops) points, cheapest first; equal points keep the earliest trial."""
    import optuna

    points = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if not t.user_attrs.get("feasible") or "schedule" not in t.user_attrs:
            continue
        schedule = Schedule.from_dict(t.user_attrs["schedule"], f"trial {t.number}")
        error, cost = float(t.values[0]), float(t.values[1])
        points.append(FrontPoint(t.number, schedule, error, cost, matmuls(schedule), dict(t.user_attrs.get("candidate", {}))))
    front = []
    for p in points:
        dominated = any(
            (q.error <= p.error and q.flops <= p.flops and (q.error < p.error or q.flops < p.flops))
            or (q.error == p.error and q.flops == p.flops and q.trial < p.trial)
            for q in points
        )
        if not dominated:
            front.append(p)
    return sorted(front, key=lambda p: (p.flops, p.error))
