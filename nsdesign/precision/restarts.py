"""Gram restart plans: the fewest restarts that keep a schedule's Gram-form error within a target.

Why: the Gram form (Dao-AILab gram-newton-schulz) never re-forms R = XXᵀ, so round-off in Q and R compounds
from step to step; a restart before step i forms X = Q·X and R = XXᵀ afresh at the price of two rectangular
products. Its default plan (one restart before step 2) is tuned for its 5-step Polar Express list; on other
schedules it can diverge (deepseek_v4_10 in fp16). Dao-AILab's `autotune_restarts` picks positions for a
given restart count from a scalar model (a fixed negative eigenvalue perturbation, condition number of Q);
here the plan is chosen on the quantity users care about — the error of the rounding model run
(`nsdesign.precision.kernels`, kernel "gram") on a proxy matrix with the true aspect ratio and σ log-spaced
over the band — and the count is part of the answer.

Search: for k = 0, 1, 2 restarts every set of k positions in 1…n−1 is run; beyond that the best BEAM plans
of the previous level each grow by one position (at most `max_plans` runs in all); the first k with a plan
whose error is ≤ target wins, and among those the smallest error. The default target is 1.25× the error of the fused standard kernel in the same dtype on the same matrix
(the Gram form may lose a little to the standard form, not more). Without a plan meeting it, the plan with a
lowest error seen (the plan with a restart before every step is always tried) is returned with `met=False`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.precision.kernels import default_restarts
from nsdesign.precision.model import band_matrix, matrix_error

DEFAULT_TARGET_RATIO = 1.25
EXHAUSTIVE_UP_TO = 2  # every plan with ≤ 2 restarts is tried (C(9, 2) = 36 for 10 steps)
BEAM = 3  # plans kept per level beyond that
DAO_DEFAULT_PLAN: tuple[int, ...] = (2,)  # gram-newton-schulz 0.1.6: gram_newton_schulz_reset_iterations=[2]


@dataclass(frozen=True)
class RestartPlan:
    restarts: tuple[int, ...]
    error: float  # max |1 − σ_out| of the Gram run with this plan on the proxy
    target: float
    met: bool
    dtype: str
    shape: tuple[int, int]
    min_sigma: float
    baselines: dict[str, tuple[tuple[int, ...], float]] = field(default_factory=dict)
    evaluated: int = 0

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> Any:
            return v if math.isfinite(v) else "inf"

        return {
            "gram_newton_schulz_reset_iterations": list(self.restarts),
            "error": num(self.error),
            "target": num(self.target),
            "met": self.met,
            "dtype": self.dtype,
            "shape": list(self.shape),
            "min_sigma": self.min_sigma,
            "baselines": {k: {"restarts": list(p), "error": num(e)} for k, (p, e) in self.baselines.items()},
            "evaluated": self.evaluated,
        }


def gram_error(schedule: Schedule, restarts: tuple[int, ...], dtype: str, shape: tuple[int, int],
               min_sigma: float = 1e-3, seed: int = 0) -> float:
    """The Gram-form error with `restarts` on the band proxy (inf when it diverges)."""
    return matrix_error(schedule, band_matrix(min_sigma, 1.0, shape, seed), dtype, kernel="gram", restarts=restarts).error


def design_restarts(
    schedule: Schedule,
    dtype: str = "fp16",
    shape: tuple[int, int] = (128, 512),
    min_sigma: float = 1e-3,
    target: float | None = None,
    seed: int = 0,
    max_plans: int = 400,
) -> RestartPlan:
    """The fewest-restart plan whose Gram error on the proxy is ≤ target (see the module doc)."""
    n = schedule.num_steps
    if not (math.isfinite(min_sigma) and 0 < min_sigma < 1):
        raise InputError(f"min_sigma must lie in (0, 1), got {min_sigma}")
    if target is not None and not (math.isfinite(target) and target > 0):
        raise InputError(f"the restart target must be a positive number, got {target}")
    if not (isinstance(max_plans, int) and max_plans >= 1):
        raise InputError(f"max_plans must be a positive integer, got {max_plans}")
    test = band_matrix(min_sigma, 1.0, shape, seed)

    def err(plan: tuple[int, ...]) -> float:
        return matrix_error(schedule, test, dtype, kernel="gram", restarts=plan).error

    fused = matrix_error(schedule, test, dtype, kernel="fused").error
    goal = target if target is not None else DEFAULT_TARGET_RATIO * fused
    if not math.isfinite(goal):
        raise InputError(f"the fused kernel diverges on this band in {dtype}: give an explicit target")
    seen: dict[tuple[int, ...], float] = {}

    def run(plan: tuple[int, ...]) -> float:
        if plan not in seen:
            seen[plan] = err(plan)
        return seen[plan]

    positions = range(1, n)
    best: tuple[float, tuple[int, ...]] | None = None
    level: list[tuple[int, ...]] = [()]
    for k in range(n):
        if k <= EXHAUSTIVE_UP_TO:
            plans = list(combinations(positions, k))
        else:  # beyond that, grow the best few plans of the last level by one position (greedy, O(n²) runs)
            plans = sorted({tuple(sorted(p + (r,))) for p in level for r in positions if r not in p})
        plans = plans[: max(0, max_plans - len(seen))]
        if not plans:
            break
        scored = sorted((run(p), p) for p in plans)
        met = [(e, p) for e, p in scored if e <= goal]
        if met:
            best = met[0]
            break
        level = [p for _, p in scored[:BEAM]]
    evaluated = len(seen)
    if best is None:  # nothing meets the target: the lowest error seen (every step restarted is among them)
        run(tuple(positions))
        best = min((e, p) for p, e in seen.items())
        evaluated = len(seen)
    baselines = {
        "fused_standard": ((), fused),
        "dao_default": (tuple(r for r in DAO_DEFAULT_PLAN if r < n), err(tuple(r for r in DAO_DEFAULT_PLAN if r < n))),
        "nsdesign_default": (default_restarts(n, dtype), err(default_restarts(n, dtype))),
        "none": ((), err(())),
    }
    return RestartPlan(best[1], best[0], goal, best[0] <= goal, dtype, tuple(shape), min_sigma, baselines, evaluated)
