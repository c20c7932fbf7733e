"""The search space: how many steps, which degree each step has, and how the schedule guards above its band.

A point of the space is a `Candidate`. It is turned into a schedule by the exact engine — the greedy
composition of Remez steps (`nsdesign.design.greedy`) — so every candidate is worst-case optimal *for its
own design problem*; the search only chooses that problem. The guard strategies are the four ways the
field knows to keep a schedule bounded just above its band (docs/background.md §3); which one is best at which
step count is unpublished, which is why the search chooses it:

- "safety"   p(x/s) on every step but the last (greedy's `safety`; size s ∈ [1, 1.1])
- "inflate"  design each step on [l_i, u_i·(1+h)] instead of [l_i, u_i] (size 1+h ∈ [1, 1.1]); the design
             engine's `inflated_greedy` (nsdesign.design.greedy), so F stays within the design error on
             [l, u·(1+h)] — the only strategy that bounds F above the band by construction
- "norm_div" a larger input divisor s (greedy's `norm_div`: designed on [l/s, u], run on σ/s; size ∈ [1, 1.1])
- "cushion"  greedy's cushion λ (size ∈ [0, 0.1]): limits each step's slope, hence its growth
- "none"     the pure greedy optimum (no headroom)
- "polar_express"  the published recipe, all at once: safety s and an extra input divisor s on top of a design
             for the undivided band (one size), plus a cushion λ (second size, `polar_express_cushion`);
             s = 1.02, λ = 0.02 is modded-nanogpt's list exactly

One more knob matters only in low precision: the inner *target* τ (`retarget`). The schedule is conjugated by
a scaling — every step but the last converges to τ instead of 1 and the last maps τ to 1 — which leaves the
exact scalar map F unchanged but moves A = XXᵀ ≈ τ²·I below 1, into the bf16 binade whose spacing is half
that just above 1 (2⁻⁸ instead of 2⁻⁷). Measured on 256×1024 bf16 runs (l = 1e-3, polar_express_pkg10 at
7–8 steps, two seeds): τ = 0.98 lowers max |1 − σ_out| from ~2.7e-3 to ~2.35e-3.

The fixed knobs (`base_cushion`, `base_safety`, `base_norm_div`: the search command's --cushion, --safety,
--norm-div) apply to every candidate; a strategy's size composes with them (safety and norm_div multiply,
cushion takes the larger value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from nsdesign.core.cost import step_matmuls
from nsdesign.core.limits import ALLOWED_DEGREES, MAX_DEGREE, MAX_STEPS, NORM_DIV_RANGE, SAFETY_RANGE, check_knobs
from nsdesign.core.schedule import Schedule
from nsdesign.design.greedy import greedy, inflated_greedy
from nsdesign.errors import InputError, deprecated

GUARD_STRATEGIES: tuple[str, ...] = ("none", "safety", "inflate", "norm_div", "cushion", "polar_express")
# The stored name of a candidate's guard strategy (an Optuna parameter, a key of params() and to_dict()): it keeps
# its first spelling so that studies stored before the rename still resume.
STORED_GUARD = "headroom"
DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "safety": (1.0, 1.1),
    "inflate": (1.0, 1.1),
    "norm_div": (1.0, 1.1),
    "cushion": (0.0, 0.1),
    "polar_express": (1.0, 1.1),  # s for safety and norm_div; its cushion uses the "cushion" range
}
NEUTRAL_SIZE: dict[str, float] = {
    "none": 0.0, "safety": 1.0, "inflate": 1.0, "norm_div": 1.0, "cushion": 0.0, "polar_express": 1.0
}
# Sizes enqueued as starting points for each strategy (the values Polar Express ships with).
TYPICAL_SIZE: dict[str, float] = {
    "none": 0.0, "safety": 1.02, "inflate": 1.02, "norm_div": 1.02, "cushion": 0.02, "polar_express": 1.02
}
TYPICAL_CUSHION = 0.02  # the polar_express strategy's second size, enqueued


@dataclass(frozen=True)
class Candidate:
    """One point of the space: step degrees (in application order) and a guard strategy with its size."""

    degrees: tuple[int, ...]
    guard: str = "none"
    size: float = 0.0
    design_min_sigma: float | None = None  # None: the band's lower edge (the capture objective searches it)
    cushion: float = 0.0  # second size of the "polar_express" strategy (ignored by the others)
    target: float = 1.0  # inner target τ (see `retarget`); 1 leaves the schedule as designed

    @property
    def steps(self) -> int:
        return len(self.degrees)

    @property
    def matmuls(self) -> int:
        return sum(step_matmuls(d) for d in self.degrees)

    def params(self) -> dict[str, Any]:
        """Optuna parameters that reproduce this candidate (for `enqueue_trial`)."""
        out: dict[str, Any] = {"steps": self.steps, STORED_GUARD: self.guard}
        out.update({f"degree_{i}": d for i, d in enumerate(self.degrees)})
        if self.guard != "none":
            out[f"{self.guard}_size"] = self.size
        if self.guard == "polar_express":
            out["polar_express_cushion"] = self.cushion
        if self.design_min_sigma is not None:
            out["design_min_sigma"] = self.design_min_sigma
        out["target"] = self.target  # ignored by spaces that do not search the target
        return out

    def describe(self) -> str:
        degrees = ",".join(str(d) for d in self.degrees)
        size = "" if self.guard == "none" else f" {self.size:.4g}"
        if self.guard == "polar_express":
            size += f" cushion {self.cushion:.4g}"
        target = "" if self.target == 1.0 else f" target {self.target:.4g}"
        return f"{self.steps} steps [{degrees}] {self.guard}{size}{target}"


@dataclass(frozen=True)
class SearchSpace:
    """What the trials may choose. Every field is validated; an empty space is an InputError."""

    min_steps: int = 3
    max_steps: int = 10
    degrees: tuple[int, ...] = (5,)
    guards: tuple[str, ...] = GUARD_STRATEGIES
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_RANGES))
    base_cushion: float = 0.0
    base_safety: float = 1.0
    base_norm_div: float = 1.0
    max_matmuls: int | None = None
    fixed_degrees: tuple[int, ...] | None = None  # one degree per step, when the user fixed them
    design_range: tuple[float, float] | None = None  # searched design lower edge (capture objective)
    target_range: tuple[float, float] | None = None  # searched inner target τ (low-precision objectives)

    def __post_init__(self) -> None:
        object.__setattr__(self, "degrees", tuple(sorted(set(int(d) for d in self.degrees))))
        object.__setattr__(self, "guards", tuple(dict.fromkeys(self.guards)))
        object.__setattr__(self, "ranges", {**DEFAULT_RANGES, **dict(self.ranges)})
        check_space(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored with a persistent study so a second worker can check it runs the same space)."""
        return {
            "min_steps": self.min_steps,
            "max_steps": self.max_steps,
            "degrees": list(self.degrees),
            STORED_GUARD: list(self.guards),
            "ranges": {k: list(self.ranges[k]) for k in sorted(self.ranges) if k in self.guards},
            "base_cushion": self.base_cushion,
            "base_safety": self.base_safety,
            "base_norm_div": self.base_norm_div,
            "max_matmuls": self.max_matmuls,
            "fixed_degrees": None if self.fixed_degrees is None else list(self.fixed_degrees),
            "design_range": None if self.design_range is None else list(self.design_range),
            "target_range": None if self.target_range is None else list(self.target_range),
        }

    def cheapest_matmuls(self) -> int:
        return self.min_steps * min(step_matmuls(d) for d in self.degrees)

    def greedy_candidate(self, steps: int | None = None, design_min_sigma: float | None = None) -> Candidate:
        """The exact greedy optimum (no headroom) with the cheapest admissible structure of `steps` steps."""
        count = self.max_steps if steps is None else steps
        degrees = self.fixed_degrees or self._default_degrees(count)
        return Candidate(tuple(degrees), "none", 0.0, design_min_sigma)

    def _default_degrees(self, count: int) -> tuple[int, ...]:
        # Quintic when allowed (the workhorse), else the lowest allowed degree; trimmed to the matmul budget.
        degree = 5 if 5 in self.degrees else self.degrees[0]
        degrees = [degree] * count
        if self.max_matmuls is not None:
            low = self.degrees[0]
            i = count - 1
            while sum(step_matmuls(d) for d in degrees) > self.max_matmuls and i >= 0:
                degrees[i] = low
                i -= 1
        return tuple(degrees)


def check_space(space: SearchSpace) -> None:
    if not (isinstance(space.min_steps, int) and isinstance(space.max_steps, int)):
        raise InputError("the step range must be integers")
    if not 1 <= space.min_steps <= space.max_steps <= MAX_STEPS:
        raise InputError(f"the step range must satisfy 1 ≤ min ≤ max ≤ {MAX_STEPS}, got {space.min_steps}-{space.max_steps}")
    if not space.degrees:
        raise InputError("give at least one step degree to search over")
    for d in space.degrees:
        if d not in ALLOWED_DEGREES:
            raise InputError(f"search degrees must be odd integers from 3 to {MAX_DEGREE}, got {d}")
    if not space.guards:
        raise InputError("give at least one guard strategy")
    for h in space.guards:
        if h not in GUARD_STRATEGIES:
            raise InputError(f"unknown guard strategy {h!r}; choose from {', '.join(GUARD_STRATEGIES)}")
    for name, (lo, hi) in space.ranges.items():
        if name not in DEFAULT_RANGES:
            raise InputError(f"unknown guard strategy {name!r} in the size ranges")
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise InputError(f"the {name} size range must be finite with low ≤ high, got [{lo}, {hi}]")
        limits = (0.0, 0.99) if name == "cushion" else (1.0, 2.0)
        if name == "polar_express":
            limits = (1.0, 1.5)  # also a norm_div: keep the divided band inside [0.5, 4]
        if lo < limits[0] or hi > limits[1]:
            raise InputError(f"the {name} size range must lie in [{limits[0]}, {limits[1]}], got [{lo}, {hi}]")
    check_knobs(space.base_cushion, space.base_safety, space.base_norm_div)
    if space.fixed_degrees is not None:
        if space.min_steps != space.max_steps or len(space.fixed_degrees) != space.min_steps:
            raise InputError("per-step degrees need a fixed step count with one degree per step")
        for d in space.fixed_degrees:
            if d not in ALLOWED_DEGREES:
                raise InputError(f"step degree must be an odd integer from 3 to {MAX_DEGREE}, got {d}")
    if space.max_matmuls is not None:
        if not isinstance(space.max_matmuls, int) or space.max_matmuls < 1:
            raise InputError(f"the matmul budget must be a positive integer, got {space.max_matmuls}")
        cheapest = (
            sum(step_matmuls(d) for d in space.fixed_degrees) if space.fixed_degrees else space.cheapest_matmuls()
        )
        if cheapest > space.max_matmuls:
            raise InputError(
                f"no schedule in the space fits {space.max_matmuls} matmuls (the cheapest needs {cheapest}); "
                "allow fewer steps or lower degrees"
            )
    if space.design_range is not None:
        lo, hi = space.design_range
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
            raise InputError(f"the design edge range must satisfy 0 < low < high, got [{lo}, {hi}]")
    if space.target_range is not None:
        lo, hi = space.target_range
        if not (math.isfinite(lo) and math.isfinite(hi) and 0.5 <= lo <= hi <= 1.0):
            raise InputError(f"the target range must satisfy 0.5 ≤ low ≤ high ≤ 1, got [{lo}, {hi}]")


# --------------------------------------------------------------------------------------------------
# Optuna: suggest a candidate
# --------------------------------------------------------------------------------------------------


def suggest(trial: Any, space: SearchSpace) -> Candidate:
    """Draw a candidate from an Optuna trial. Parameters are conditional: a size exists only for its strategy."""
    steps = trial.suggest_int("steps", space.min_steps, space.max_steps)
    if space.fixed_degrees is not None:
        degrees = space.fixed_degrees
    elif len(space.degrees) == 1:
        degrees = (space.degrees[0],) * steps
    else:
        degrees = tuple(int(trial.suggest_categorical(f"degree_{i}", list(space.degrees))) for i in range(steps))
    guard = str(trial.suggest_categorical(STORED_GUARD, list(space.guards)))
    size, cushion = NEUTRAL_SIZE[guard], 0.0
    if guard != "none":
        lo, hi = space.ranges[guard]
        size = lo if lo == hi else float(trial.suggest_float(f"{guard}_size", lo, hi))
    if guard == "polar_express":
        lo, hi = space.ranges["cushion"]
        cushion = lo if lo == hi else float(trial.suggest_float("polar_express_cushion", lo, hi))
    design_min_sigma = None
    if space.design_range is not None:
        lo, hi = space.design_range
        design_min_sigma = float(trial.suggest_float("design_min_sigma", lo, hi, log=True))
    target = 1.0
    if space.target_range is not None:
        lo, hi = space.target_range
        target = lo if lo == hi else float(trial.suggest_float("target", lo, hi))
    return Candidate(tuple(int(d) for d in degrees), guard, float(size), design_min_sigma, cushion, target)


# --------------------------------------------------------------------------------------------------
# Candidate → schedule (the exact engine)
# --------------------------------------------------------------------------------------------------


def build_schedule(candidate: Candidate, space: SearchSpace, min_sigma: float, max_sigma: float = 1.0) -> Schedule:
    """The schedule a candidate stands for: greedy/Remez on its design problem."""
    lo = candidate.design_min_sigma if candidate.design_min_sigma is not None else min_sigma
    cushion, safety, norm_div = space.base_cushion, space.base_safety, space.base_norm_div
    h, size = candidate.guard, candidate.size
    if h == "safety":
        safety = min(SAFETY_RANGE[1], safety * size)
    elif h == "norm_div":
        norm_div = min(NORM_DIV_RANGE[1], norm_div * size)
    elif h == "cushion":
        cushion = max(cushion, size)
    elif h == "polar_express":
        safety, norm_div = min(SAFETY_RANGE[1], safety * size), min(NORM_DIV_RANGE[1], norm_div * size)
        cushion = max(cushion, candidate.cushion)
    hi = max_sigma
    if h == "polar_express":
        # As published: the steps are designed for the undivided band [l, u] and the runtime divides by s on
        # top (greedy designs on [lo/norm_div, hi], so lift lo by the strategy's s).
        lo = lo * size
    if h == "inflate" and size > 1.0:
        schedule = inflated_greedy(lo, hi, candidate.degrees, size, cushion, safety, norm_div)
    else:
        schedule = greedy(
            (lo, hi), steps=len(candidate.degrees), degree=candidate.degrees, cushion=cushion, safety=safety,
            norm_div=norm_div,
        ).schedule
    return retarget(schedule, candidate.target).with_name("search")


def retarget(schedule: Schedule, target: float) -> Schedule:
    """Conjugate the schedule by a scaling so the inner steps converge to `target` and the last maps it to 1.

    q_0(x) = τ·p_0(x), q_i(x) = τ·p_i(x/τ) for 0 < i < k−1, q_{k−1}(x) = p_{k−1}(x/τ): the composition — the
    exact scalar map F — is unchanged; only where the matrix iteration's values sit (hence its rounding) moves.
    """
    if not (math.isfinite(target) and 0.5 <= target <= 1.0):
        raise InputError(f"the inner target must be in [0.5, 1], got {target}")
    k = schedule.num_steps
    if target == 1.0 or k == 1:
        return schedule
    steps = []
    for i, p in enumerate(schedule.steps):
        if i == 0:
            steps.append(p.output_scaled(target))
        elif i < k - 1:
            steps.append(p.input_scaled(target).output_scaled(target))
        else:
            steps.append(p.input_scaled(target))
    return Schedule(tuple(steps), schedule.norm_div, schedule.extension, schedule.name)


def __getattr__(name: str) -> Any:
    """HEADROOM_STRATEGIES, the old name of GUARD_STRATEGIES, for one release (with a DeprecationWarning)."""
    if name == "HEADROOM_STRATEGIES":
        deprecated("HEADROOM_STRATEGIES is now GUARD_STRATEGIES")
        return GUARD_STRATEGIES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
