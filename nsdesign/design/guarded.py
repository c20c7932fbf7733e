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

bf16 check. Keeping the guard band within τ can stretch the design top v close to g, and then the first step
peaks (≈ 2) inside the accuracy band where the later steps are steep: the 5-step Schatten-8 design for the
4096² band [0.0040, 0.508] (v = 0.99996) has f₁ ≈ 1.966 at σ ≈ 0.37 and a slope ≈ 12 of steps 2–5 there, so
bf16 round-off of the first step's output is amplified into an O(1) error (measured 1.34 on the matrix), while
the exact map is within 0.0013 of 1. A log-spaced proxy misses it (few σ sit at the peak; the error grows with
how many directions share it), so every returned design is run in the numpy bf16 rounding model
(`nsdesign.precision`) on a PROXY_SHAPE matrix whose σ are *evenly* spaced over [l, u] — the mass of a
normalized spectrum is in the upper part of the band — in both the fused (torch.optim.Muon) and the unfused
(Keller Jordan's muon.py) kernel; it passes when the output σ_max ≤ 1 + E + MODEL_ALLOWANCE (E the exact
error). On that design the unfused run gives σ_max 8.4 on a 128² proxy, a passing one 1.005–1.01. Candidates are tried best error
first; when none passes, the problem is inflated as in design/safe.py (Polar Express's cushion and safety
factor), and the first passing inflated design is returned, labelled (`inflated`); if still nothing passes,
the least bad candidate comes back with `passed` False so the caller can warn. The bracket stays certified:
the lower bound is the unconstrained optimum, the error the chosen design's exact error.

Refinement. The greedy family is not the constrained optimum when the guard is active: a local search over all
coefficients at once (SciPy's Nelder–Mead on the exact E, with the guard as a penalty, from the best family
member) lowers E further, and the refined schedule is kept when it meets the guard exactly, beats the family,
and passes the bf16 check (`refined` in the params). Measured on the Marchenko–Pastur bands of a Gaussian
1024×4096 (docs/normalizers.md): 2 steps Schatten-8 0.0067 → 0.0056, AOL 0.0227 → 0.0211, Schatten-4
0.0823 → 0.0656; 3 steps Frobenius 0.138 → 0.111 (benchmarks/guarded_refinement.py). A global search
(differential evolution, seconds per design, not run here) went lower still (Schatten-8 2 steps 0.0036), so
the bracket's upper end is an upper bound, not the optimum. Only designs of up
to REFINE_MAX_STEPS steps are refined: past that the exact error on these bands is below bf16 resolution.

Exact tail. Once a design has converged, its later greedy steps are solved on intervals within 1e-7 of 1 and
come back as the narrow-interval limit (15/8, −5/4, 3/8) rescaled by the interval top: coefficients a hair
(1e-7 relative) off short binary fractions. In the unfused bf16 kernel that hair decides which way the
roundings that would be ties fall, and it shows as a shared gain offset: the 5-step greedy Schatten-8 design
for Gaussian 1024×4096 measured max |1 − gain| 6.3e-4 with mean +4.2e-4 (medians of 3 seeds,
benchmarks/normalizers_tail_bias.py). So every step after the first whose input interval lies within CONVERGED
of 1 runs the exact limit instead (its exact-arithmetic effect is ≤ 2.5·CONVERGED³); measured 3.7e-4 for that
design, 7.4e-4 → 2.9e-4 for AOL, no change where the tail was already exact to fp32 (Schatten-4, spectral).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from nsdesign.core.limits import GUARD_TOL, MODEL_ALLOWANCE
from nsdesign.core.metrics import resolve_guard, value_range, worst_error
from nsdesign.core.normalizers import Normalizer, get
from nsdesign.core.polynomial import OddPolynomial
from nsdesign.core.schedule import Schedule
from nsdesign.design.checks import Check, even_sigma, model_checks
from nsdesign.design.greedy import DEFAULT_MAX_STEPS, Design, greedy
from nsdesign.design.refine import Coefficients, polish
from nsdesign.design.remez import limit_coefficients
from nsdesign.errors import InputError

_SCAN = 24  # log-spaced design tops v in [u, g]
_BISECTIONS = 30
INFLATIONS: tuple[tuple[float, float], ...] = ((0.0, 1.02), (0.02, 1.02), (0.0, 1.05), (0.02, 1.05), (0.0, 1.1),
                                              (0.02, 1.1))  # (cushion, safety), the knobs of design/safe.py
CONVERGED = 1e-5  # a step whose input interval is within this of 1 only polishes: it runs the exact limit
REFINE_MAX_STEPS = 3  # past 3 steps the exact error on the normalizers' bands is below bf16 resolution
UNUSABLE = 1e3  # the penalised error of a schedule the exact metrics cannot evaluate
_REFINE_ROUNDS = 3  # Nelder–Mead restarts from the last point (each 4000 evaluations at most, ~0.1–0.3 s)
_CHECKED = 4  # the best few scan candidates are checked in the rounding model before inflating


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
    checks: tuple[Check, ...] = ()  # the bf16 rounding-model runs on the proxy (output σ_max against its limit)
    inflated: tuple[float, float] | None = None  # (cushion, safety) added to pass the bf16 check; None: not needed

    @property
    def passed(self) -> bool:
        """The bf16 rounding-model check (module docstring) passed."""
        return all(c.passed for c in self.checks)

    @property
    def schedule(self) -> Schedule:
        return self.design.schedule

    @property
    def optimal(self) -> bool:
        """True when the guard is inactive, so the design is the (certified) greedy optimum on [l, u].

        The absolute 1e-15 admits the exact tail's double-precision difference (0 against 1.1e-16)."""
        within = self.error <= self.lower_bound * (1 + 1e-9) + 1e-15
        return self.design.certified and within and self.inflated is None

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
            bf16_checked=self.passed,
            inflated=None if self.inflated is None else list(self.inflated),
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
    resolve_guard(max_sigma, guard_sigma)  # max_sigma ≤ g ≤ 2·max(max_sigma, 1), one rule everywhere
    if not (math.isfinite(guard_tol) and 0 < guard_tol < 1):
        raise InputError(f"`guard_tol` must be in (0, 1), got {guard_tol}")


def guarded_greedy(
    min_sigma: float,
    max_sigma: float,
    guard_sigma: float | None = None,
    guard_tol: float = GUARD_TOL,
    normalizer: str | Normalizer = "frobenius",
    steps: int | None = None,
    degree: int | Sequence[int] = 5,
    tol: float | None = None,
    cushion: float = 0.0,
    safety: float = 1.0,
    norm_div: float = 1.0,
    max_steps: int = DEFAULT_MAX_STEPS,
    refine_design: bool = True,
) -> GuardedDesign:
    """The best greedy-family schedule on [min_sigma, max_sigma] whose guard error on [max_sigma, guard_sigma] ≤ τ.

    With `tol`, the fewest steps whose accuracy error is ≤ tol (guard met); otherwise `steps` (default 5).
    `norm_div` stays an extra constant divisor on top of the normalizer (design on [l/s, v]). `refine_design`
    False skips the refinement (module docstring): the result is then a member of the greedy family, which is
    what a study's candidates are.
    """
    norm = get(normalizer)
    g = norm.default_guard_sigma if guard_sigma is None else float(guard_sigma)
    check_guard(max_sigma, g, guard_tol)
    degrees = (degree,) if isinstance(degree, int) else tuple(degree)
    if degrees:
        norm.check_first_degree(degrees[0])
    if tol is None:
        return _fixed(norm, min_sigma, max_sigma, g, guard_tol, 5 if steps is None and len(degrees) == 1 else steps,
                      degrees, cushion, safety, norm_div, refine_design)
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
            result = _fixed(norm, min_sigma, max_sigma, g, guard_tol, count, degrees, cushion, safety, norm_div,
                            refine_design)
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
    refine_design: bool = True,
) -> GuardedDesign:
    degree: int | tuple[int, ...] = degrees[0] if len(degrees) == 1 else degrees

    def make(v: float, knobs: tuple[float, float] = (cushion, safety)) -> tuple[Design, float, float]:
        design = exact_tail(greedy(l, v, steps, degree, cushion=knobs[0], safety=knobs[1], norm_div=norm_div))
        schedule = design.schedule
        return design, worst_error(schedule, l, u), guard_error(schedule, u, g)

    def result(e: float, v: float, design: Design, ge: float, checks: tuple[Check, ...],
               inflated: tuple[float, float] | None = None) -> GuardedDesign:
        # A feasible design's error bounds the optimum from above, so a bound above it is round-off (errors of a
        # few ulp, e.g. 3.0e-15 against 2.2e-16 when both schedules converge): clip it to keep the bracket ordered.
        return GuardedDesign(design, norm, l, u, g, tau, v, e, ge, min(lower_bound, e), checks, inflated)

    base, e0, g0 = make(u)
    # The pure greedy on [l, u] is optimal among all compositions of these degrees (with or without knobs, divisor
    # or guard), so its exact error is a lower bound for the constrained problem.
    pure = base if (cushion == 0.0 and safety == 1.0 and norm_div == 1.0) else greedy(l, u, steps, degree)
    lower_bound = worst_error(pure.schedule, l, u)
    if g0 <= tau:
        checks = bf16_checks(base.schedule, l, u, e0)
        if all(c.passed for c in checks):
            return result(e0, u, base, g0, checks)
        return _inflate(make, result, [(e0, u, base, g0, checks)], l, u, g, tau, cushion, safety)
    candidates = _feasible_tops(make, u, g, tau, steps)
    candidates.sort(key=lambda c: (c[0], c[3]))  # best error first; ties (round-off): smaller guard error
    tried = []
    if refine_design and len(candidates[0][2].schedule.steps) <= REFINE_MAX_STEPS:
        e, v, design, ge = candidates[0]
        better = refine(design.schedule, l, u, g, tau)
        if better is not None and (e_new := worst_error(better, l, u)) < e:
            refined = replace(design, schedule=better, params={**design.params, "refined": True})
            checks = bf16_checks(better, l, u, e_new)
            if all(c.passed for c in checks):
                return result(e_new, v, refined, guard_error(better, u, g), checks)
    for e, v, design, ge in candidates[:_CHECKED]:
        checks = bf16_checks(design.schedule, l, u, e)
        if all(c.passed for c in checks):
            return result(e, v, design, ge, checks)
        tried.append((e, v, design, ge, checks))
    return _inflate(make, result, tried, l, u, g, tau, cushion, safety)


def _feasible_tops(make: Any, u: float, g: float, tau: float, steps: int | None) -> list[tuple[float, float, Design, float]]:
    """Every family member (greedy designed on [l, v]) that keeps the guard, as (error, v, design, guard error):
    a log-spaced scan of v ∈ (u, g], then bisection on each feasibility boundary (the smallest feasible top is
    usually the best). InputError when no v keeps the guard."""
    tops = [u * (g / u) ** (i / (_SCAN - 1)) for i in range(1, _SCAN)] if g > u else []
    candidates: list[tuple[float, float, Design, float]] = []
    previous_infeasible: float | None = u
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
    for lo, hi in boundaries:
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
    return candidates


def refine(schedule: Schedule, l: float, u: float, g: float, tau: float) -> Schedule | None:
    """A schedule with lower exact error on [l, u] whose exact guard error on [u, g] is ≤ τ, or None.

    Nelder–Mead (`design.refine.polish`) over every coefficient from `schedule`, minimising `penalised_error`
    (E + 10·max(0, G − τ′) with τ′ just below τ, so that the optimum it settles at is inside the guard; E and G
    are the exact interval metrics). Deterministic (no random start). None unless E drops by more than a relative 1e-6 (an
    optimal greedy design "improves" only by round-off)."""
    space = Coefficients(schedule)

    def objective(x: np.ndarray) -> float:
        try:
            return penalised_error(space.build(x), l, u, g, tau)
        except InputError:  # coefficients no schedule can hold
            return UNUSABLE

    x = space.start()
    start = objective(x)
    x = polish(objective, x, _REFINE_ROUNDS)
    best = space.build(x)
    if not objective(x) < start * (1 - 1e-6) or guard_error(best, u, g) > tau:  # round-off is not a gain
        return None
    return best


def penalised_error(schedule: Schedule, l: float, u: float, g: float, tau: float) -> float:
    """What `refine` minimises: E on [l, u] + 10·max(0, G − τ′) with τ′ = τ·(1 − 1e-9), both exact; UNUSABLE
    where the schedule cannot be evaluated."""
    try:
        return worst_error(schedule, l, u) + 10.0 * max(0.0, guard_error(schedule, u, g) - tau * (1 - 1e-9))
    except (InputError, ValueError, OverflowError, FloatingPointError):
        return UNUSABLE


def exact_tail(design: Design) -> Design:
    """The design with every converged step after the first replaced by the exact limit (module docstring).

    The greedy record (`design.steps`) is kept as designed; `params["exact_tail_steps"]` counts the steps
    replaced, and the schedule is what runs (every metric of it is recomputed exactly by the caller)."""
    steps = list(design.schedule.steps)
    replaced = 0
    for j, record in enumerate(design.steps):
        lo, hi = record.input_interval
        if j == 0 or max(1.0 - lo, hi - 1.0) > CONVERGED:
            continue
        limit = OddPolynomial(tuple(float(c) for c in limit_coefficients((steps[j].degree - 1) // 2)))
        if steps[j].coefficients != limit.coefficients:
            steps[j] = limit
            replaced += 1
    if not replaced:
        return design
    return replace(design, schedule=replace(design.schedule, steps=tuple(steps)),
                   params={**design.params, "exact_tail_steps": replaced})


def bf16_checks(schedule: Schedule, min_sigma: float, max_sigma: float, error: float) -> tuple[Check, ...]:
    """The rounding-model check of the module docstring: σ evenly spaced over the accuracy band, both kernels."""
    return model_checks(schedule, even_sigma(min_sigma, max_sigma), 1.0 + error + MODEL_ALLOWANCE)


def _inflate(make, result, tried, l: float, u: float, g: float, tau: float, cushion: float, safety: float) -> GuardedDesign:
    """The first inflated (cushion, safety) design that keeps the guard and passes the bf16 check; else the least
    bad design seen, with its failing checks (passed False)."""
    tops = [u * (g / u) ** (i / (_SCAN - 1)) for i in range(_SCAN)] if g > u else [u]
    for knobs in INFLATIONS:
        if knobs[0] < cushion or knobs[1] < safety:
            continue
        found = None
        for v in tops:  # the lowest top that keeps the guard (the best error of this family, as above)
            design, e, ge = make(v, knobs)
            if ge <= tau:
                found = (e, v, design, ge)
                break
        if found is None:
            continue
        checks = bf16_checks(found[2].schedule, l, u, found[0])
        tried.append((*found, checks))
        if all(c.passed for c in checks):
            return result(*found, checks, knobs)
    e, v, design, ge, checks = min(tried, key=lambda t: max(c.value - c.limit for c in t[4]))
    return result(e, v, design, ge, checks)
