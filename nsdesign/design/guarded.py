"""Design for an accuracy band and a guard band: the shape of the problem a tight normalizer poses.

After a normalizer, the singular values a schedule sees lie in an accuracy band [l, u] (u the *typical*
normalized σ_max: 0.55 for a Gaussian 1024×4096 matrix under Schatten-8), but the only guarantee is σ ≤ g
(g = 1 for the Schatten norms and AOL; 1.02 for Frobenius and the spectral estimate, whose σ_max may come out a
little above 1). The directions near the top carry most of the update, so they must still come out near 1,
only less precisely:

    minimise  E = max_{σ∈[l,u]} |1 − F(σ)|     subject to   G = max_{σ∈[u,g]} |1 − F(σ)| ≤ τ   (default τ = 0.3).

Both E and G are computed exactly (interval propagation through critical points, nsdesign.core.metrics).

The engine. The greedy composition designed on [l, u] is the unconstrained optimum (Amsel et al. 2025), so its
error E₀ is a certified lower bound for the constrained problem. We search the family "greedy designed on
[l, v]" over v ∈ [u, g] (every member is exactly evaluated): v = g is feasible whenever the greedy error on
[l, g] is ≤ τ, and lowering v trades guard error for accuracy. A log-spaced scan of v followed by bisection on
the feasibility boundary returns the feasible member with the smallest E. The result is therefore a certified
bracket E₀ ≤ E* ≤ E, reported as such; when the guard is inactive (v = u is feasible) E = E₀ and the result is
the certified optimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from nsdesign.core.metrics import value_range, worst_error
from nsdesign.core.normalizers import Normalizer, get
from nsdesign.core.schedule import Schedule
from nsdesign.design.greedy import DEFAULT_MAX_STEPS, Design, greedy
from nsdesign.errors import InputError

DEFAULT_GUARD_TOL = 0.3
_SCAN = 24  # log-spaced design tops v in [u, g]
_BISECTIONS = 30


@dataclass(frozen=True)
class GuardedDesign:
    design: Design  # the greedy design on [l, design_max_sigma] (with the extra divisor norm_div)
    normalizer: Normalizer
    min_sigma: float
    max_sigma: float  # u: top of the accuracy band
    guard_sigma: float  # g: top of the guard band
    guard_tol: float  # τ
    design_max_sigma: float  # v ∈ [u, g]: where the steps were designed up to
    error: float  # exact max |1 − F| on [l, u]
    guard_error: float  # exact max |1 − F| on [u, g]
    lower_bound: float  # the unconstrained greedy optimum on [l, u]: no schedule of these degrees does better

    @property
    def schedule(self) -> Schedule:
        return self.design.schedule

    @property
    def optimal(self) -> bool:
        """True when the guard is inactive, so the design is the (certified) greedy optimum on [l, u]."""
        return self.design.certified and self.error <= self.lower_bound * (1 + 1e-9)

    @property
    def status(self) -> str:
        if self.optimal:
            return "optimal: equals the certified unconstrained greedy optimum, so the guard costs nothing"
        return f"certified bracket: the constrained optimum lies in [{self.lower_bound:.4g}, {self.error:.4g}]"

    def params(self) -> dict[str, Any]:
        data = dict(self.design.params)
        data.update(
            method="guarded-greedy",
            normalizer=self.normalizer.to_dict(),
            min_sigma=self.min_sigma,
            max_sigma=self.max_sigma,
            guard_sigma=self.guard_sigma,
            guard_tol=self.guard_tol,
            design_max_sigma=self.design_max_sigma,
            error=self.error,
            guard_error=self.guard_error,
            lower_bound=self.lower_bound,
            optimal=self.optimal,
            certified=self.design.certified,
        )
        return data


def guard_error(schedule: Schedule, max_sigma: float, guard_sigma: float) -> float:
    """max |1 − F| on the guard band [u, g] (0 when the guard band is empty)."""
    if guard_sigma <= max_sigma:
        return 0.0
    return worst_error(schedule, max_sigma, guard_sigma)


def guard_range(schedule: Schedule, max_sigma: float, guard_sigma: float) -> tuple[float, float]:
    """Exact [min F, max F] on the guard band."""
    if guard_sigma <= max_sigma:
        return value_range(schedule, max_sigma, max_sigma)
    return value_range(schedule, max_sigma, guard_sigma)


def check_guard(max_sigma: float, guard_sigma: float, guard_tol: float) -> None:
    if not (math.isfinite(guard_sigma) and guard_sigma > 0):
        raise InputError(f"guard_sigma must be a positive number, got {guard_sigma}")
    if guard_sigma < max_sigma:
        raise InputError(
            f"the guard band must lie above the accuracy band: guard_sigma {guard_sigma:g} < max_sigma {max_sigma:g}"
        )
    if guard_sigma > 2.0 * max(max_sigma, 1.0):
        raise InputError(f"guard_sigma {guard_sigma:g} is above 2·max(max_sigma, 1); no normalizer needs that")
    if not (math.isfinite(guard_tol) and 0 < guard_tol < 1):
        raise InputError(f"`guard_tol` must be in (0, 1), got {guard_tol}")


def guarded_greedy(
    min_sigma: float,
    max_sigma: float,
    guard_sigma: float | None = None,
    guard_tol: float = DEFAULT_GUARD_TOL,
    normalizer: str | Normalizer = "frobenius",
    steps: int | None = None,
    degree: int | Sequence[int] = 5,
    tol: float | None = None,
    cushion: float = 0.0,
    safety: float = 1.0,
    norm_div: float = 1.0,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> GuardedDesign:
    """The best greedy-family schedule on [min_sigma, max_sigma] whose guard error on [max_sigma, guard_sigma] ≤ τ.

    With `tol`, the fewest steps whose accuracy error is ≤ tol (guard met); otherwise `steps` (default 5).
    `norm_div` stays an extra constant divisor on top of the normalizer (design on [l/s, v]).
    """
    norm = get(normalizer)
    g = norm.default_guard_sigma if guard_sigma is None else float(guard_sigma)
    check_guard(max_sigma, g, guard_tol)
    degrees = (degree,) if isinstance(degree, int) else tuple(degree)
    if degrees:
        norm.check_first_degree(degrees[0])
    if tol is None:
        return _fixed(norm, min_sigma, max_sigma, g, guard_tol, 5 if steps is None and len(degrees) == 1 else steps,
                      degrees, cushion, safety, norm_div)
    if steps is not None:
        raise InputError("give either a step count or a tolerance, not both")
    if not (math.isfinite(tol) and 0 < tol < 1):
        raise InputError(f"tolerance must be in (0, 1), got {tol}")
    if len(degrees) != 1:
        raise InputError("with `tol` give a single step degree")
    last: InputError | None = None
    best = math.inf
    for count in range(1, max_steps + 1):
        try:
            result = _fixed(norm, min_sigma, max_sigma, g, guard_tol, count, degrees, cushion, safety, norm_div)
        except InputError as exc:  # the guard is unreachable with this few steps
            last = exc
            continue
        best = min(best, result.error)
        if result.error <= tol:
            return result
    if best == math.inf and last is not None:
        raise last
    raise InputError(
        f"tolerance {tol:g} is not reachable within {max_steps} steps with the guard band "
        f"(best error {best:.3g}); raise `max_steps` or loosen `tol`"
    )


def _fixed(
    norm: Normalizer,
    l: float,
    u: float,
    g: float,
    tau: float,
    steps: int | None,
    degrees: tuple[int, ...],
    cushion: float,
    safety: float,
    norm_div: float,
) -> GuardedDesign:
    degree: int | tuple[int, ...] = degrees[0] if len(degrees) == 1 else degrees

    def make(v: float) -> tuple[Design, float, float]:
        design = greedy(l, v, steps, degree, cushion=cushion, safety=safety, norm_div=norm_div)
        schedule = design.schedule
        return design, worst_error(schedule, l, u), guard_error(schedule, u, g)

    base, e0, g0 = make(u)
    # The pure greedy on [l, u] is optimal among all compositions of these degrees (with or without knobs, divisor
    # or guard), so its exact error is a lower bound for the constrained problem.
    pure = base if (cushion == 0.0 and safety == 1.0 and norm_div == 1.0) else greedy(l, u, steps, degree)
    lower_bound = worst_error(pure.schedule, l, u)
    if g0 <= tau:
        return GuardedDesign(base, norm, l, u, g, tau, u, e0, g0, min(lower_bound, e0))
    tops = [u * (g / u) ** (i / (_SCAN - 1)) for i in range(1, _SCAN)] if g > u else []
    candidates: list[tuple[float, float, Design, float]] = []  # (error, v, design, guard error)
    previous_infeasible = u
    boundaries: list[tuple[float, float]] = []
    for v in tops:
        design, e, ge = make(v)
        if ge <= tau:
            candidates.append((e, v, design, ge))
            if previous_infeasible is not None:
                boundaries.append((previous_infeasible, v))
            previous_infeasible = None
        else:
            previous_infeasible = v
    if not candidates:
        top = make(g)
        raise InputError(
            f"no {steps}-step design keeps the guard band [{u:g}, {g:g}] within {tau:g} of 1 "
            f"(designed up to {g:g} it reaches {top[2]:.3g}); add steps or loosen `guard_tol`"
        )
    for lo, hi in boundaries:  # refine each feasibility boundary: the smallest feasible top is usually best
        for _ in range(_BISECTIONS):
            mid = math.sqrt(lo * hi)
            if not lo < mid < hi:
                break
            design, e, ge = make(mid)
            if ge <= tau:
                hi = mid
                candidates.append((e, mid, design, ge))
            else:
                lo = mid
            if hi / lo - 1 < 1e-9:
                break
    e, v, design, ge = min(candidates, key=lambda c: (c[0], c[3]))  # ties (round-off): smaller guard error
    # A feasible design's error bounds the optimum from above, so a bound above it is round-off (errors of a few
    # ulp, e.g. 3.0e-15 against 2.2e-16 when both schedules converge): clip it to keep the bracket ordered.
    return GuardedDesign(design, norm, l, u, g, tau, v, e, ge, min(lower_bound, e))
