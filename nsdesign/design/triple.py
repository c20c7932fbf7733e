"""Repeated-triple designs: the best single quintic p run `ns_steps` times, F = p ∘ … ∘ p.

Why: torch.optim.Muon's public API takes one (a, b, c) and repeats it `ns_steps` times; a per-step schedule
cannot be passed to it. The greedy per-step optimum (Amsel et al. 2025) does not apply to a repeated triple —
no optimality theorem is known — but it bounds it: greedy is optimal over *all* compositions of `ns_steps`
quintics, so its exact error is a certified lower bound for any repeated triple. Every design here reports
that bracket [greedy optimum, this triple's error].

The problem is three numbers with an exact objective, so a global search is cheap: SciPy's differential
evolution (seeded, so the answer is reproducible) and a Nelder–Mead polish over

    max_{σ ∈ [l, u]} |1 − F(σ)|        (exact: intervals through each step's critical points)

subject to the guard of the safe default (design.safe): F ≤ MAX_OVERSHOOT and F ≥ 0 on [0, g], g = u·1.02.

bf16: a triple that just meets the exact guard can still overshoot once rounding perturbs each step's input
(5 repeats at max F = 1.25 reach σ = 1.41 in the fused bf16 model). The guard is therefore also imposed on a
*perturbed* composition — after every step the interval is widened by a relative δ — again exactly. δ is
the smallest value of ROBUSTNESS whose design passes the consumer's rounding-model check (design.safe's
`rounding_check`, output σ_max ≤ MAX_OUTPUT_SIGMA on the proxy); δ = 0 is the bare guarded optimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from nsdesign.core.band import Band, as_band
from nsdesign.core.limits import MAX_OUTPUT_SIGMA, MAX_OVERSHOOT, MAX_STEPS
from nsdesign.core.metrics import overshoot, resolve_guard, worst_error
from nsdesign.core.polynomial import OddPolynomial
from nsdesign.core.schedule import Schedule
from nsdesign.design.checks import Check, log_sigma, rounding_check
from nsdesign.design.greedy import greedy
from nsdesign.errors import InputError

ROBUSTNESS: tuple[float, ...] = (0.0, 0.0025, 0.005, 0.01, 0.02, 0.04)  # relative per-step perturbation δ
BOUNDS = ((1.0, 8.0), (-20.0, 0.0), (0.0, 20.0))  # (a, b, c): Keller's (3.4445, −4.775, 2.0315) well inside
KELLER = (3.4445, -4.7750, 2.0315)  # Keller Jordan's triple: the search's first candidate
PENALTY = 100.0  # weight of a guard violation in the objective (errors are ≤ 1 where it matters)
BLOWN_UP = 1e6  # an interval edge beyond this has left any useful design


@dataclass(frozen=True)
class TripleDesign:
    """One triple for `ns_steps` repeats, its exact figures and the checks it passed."""

    triple: tuple[float, float, float]
    ns_steps: int
    band: Band
    error: float  # exact max|1 − F| on the band
    lower_bound: float  # exact error of the greedy per-step optimum: no composition does better
    max_f: float  # exact max F on [0, guard]
    robustness: float  # δ the guard was imposed with
    checks: tuple[Check, ...]

    @property
    def schedule(self) -> Schedule:
        return Schedule.from_coefficients([self.triple] * self.ns_steps, 1.0, "repeat_last", "triple")

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def repeated_triple(
    band: Band | tuple[float, float] | float,
    ns_steps: int,
    *,
    kernel: str = "fused",
    dtype: str = "bf16",
    guard_sigma: float | None = None,
    limit: float = MAX_OVERSHOOT,
    check: bool = True,
    headroom: float | None = None,
) -> TripleDesign:
    """The best repeated triple for the band that keeps the guard (see module doc).

    With `check` the guard is tightened through ROBUSTNESS until the rounding model of `kernel` in `dtype`
    passes (if none does, the most robust design comes back with `passed` False); without it (`check=False`) the
    bare exact-guarded optimum (δ = 0) is returned, unchecked. `guard_sigma` is the guard band's top g (default
    1.02·max_sigma); `headroom=h` its old spelling.
    """
    checked = as_band(band)
    _check_steps(ns_steps)
    guard = resolve_guard(checked.max_sigma, guard_sigma, headroom)[0]
    bound = greedy(checked, steps=ns_steps).error  # the bracket's lower end: the same for every δ
    start, design = KELLER, None
    for delta in ROBUSTNESS if check else (0.0,):
        triple = _optimize(checked, ns_steps, guard, limit, delta, start)
        design = _measured(triple, ns_steps, checked, guard, limit, delta, kernel, dtype if check else None, bound)
        if design.passed or not check:
            break
        start = triple  # none passed yet: the next, more robust guard starts from here
    assert design is not None
    return design  # passed, or the most robust one tried (passed=False says so)


def fewest_repeats(
    band: Band | tuple[float, float] | float, tol: float, max_steps: int = 12, **options: object
) -> TripleDesign:
    """The fewest `ns_steps` whose best repeated triple reaches error ≤ tol (the last one tried otherwise)."""
    if not (math.isfinite(tol) and 0 < tol < 1):
        raise InputError(f"tol must be in (0, 1), got {tol}")
    design = None
    for count in range(1, max_steps + 1):
        if count < max_steps and greedy(band, steps=count).error > tol:
            continue  # not even the per-step optimum reaches tol with this many steps: no triple can
        design = repeated_triple(band, count, **options)  # type: ignore[arg-type]
        if design.error <= tol and design.passed:
            return design
    assert design is not None
    return design


# --------------------------------------------------------------------------------------------------
# Exact objective
# --------------------------------------------------------------------------------------------------


def composed_range(p: OddPolynomial, lo: float, hi: float, repeats: int, delta: float = 0.0) -> tuple[float, float] | None:
    """Exact range of p∘…∘p on [lo, hi], each step's image widened by a relative δ (None once it blows up)."""
    for _ in range(repeats):
        lo, hi = p.image(lo, hi)
        if not (math.isfinite(lo) and math.isfinite(hi)) or max(abs(lo), abs(hi)) > BLOWN_UP:
            return None
        lo, hi = lo - delta * abs(lo), hi + delta * abs(hi)
    return lo, hi


def _objective(x: Sequence[float], band: Band, repeats: int, guard: float, limit: float, delta: float) -> float:
    p = OddPolynomial(tuple(float(v) for v in x))
    inside = composed_range(p, band.min_sigma, band.max_sigma, repeats)
    above = composed_range(p, 0.0, guard, repeats, delta)
    if inside is None or above is None:
        return BLOWN_UP
    error = max(abs(1.0 - inside[0]), abs(1.0 - inside[1]))
    return error + PENALTY * (max(0.0, above[1] - limit) + max(0.0, -above[0]))


def _optimize(band: Band, repeats: int, guard: float, limit: float, delta: float,
              start: Sequence[float]) -> tuple[float, float, float]:
    """Differential evolution (seeded) and a Nelder–Mead polish of the penalised exact objective."""
    from scipy.optimize import differential_evolution, minimize

    args = (band, repeats, guard, limit, delta)
    x0 = np.clip(np.asarray(start, dtype=float), [b[0] for b in BOUNDS], [b[1] for b in BOUNDS])
    found = differential_evolution(_objective, BOUNDS, args=args, seed=0, tol=1e-10, maxiter=300, popsize=20,
                                   polish=False, x0=x0)
    polished = minimize(_objective, found.x, args=args, method="Nelder-Mead",
                        options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 4000})
    x = polished.x if polished.fun <= found.fun else found.x
    return (float(x[0]), float(x[1]), float(x[2]))


# --------------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------------


def _measured(triple: tuple[float, float, float], repeats: int, band: Band, guard: float, limit: float,
              delta: float, kernel: str, dtype: str | None, bound: float) -> TripleDesign:
    """Exact error, exact guard and (with a dtype) the rounding-model check of one candidate."""
    schedule = Schedule.from_coefficients([triple] * repeats, 1.0, "repeat_last")
    error = worst_error(schedule, band.min_sigma, band.max_sigma)
    over = overshoot(schedule, band.max_sigma, guard_sigma=guard)
    low = composed_range(OddPolynomial(triple), 0.0, guard, repeats)
    checks = [Check("exact", "exact", guard, over if (low and low[0] >= 0) else math.inf, limit)]
    if dtype is not None:
        model = rounding_check(schedule, log_sigma(band.min_sigma, guard), MAX_OUTPUT_SIGMA, kernel=kernel, dtype=dtype)
        checks.append(model)
    return TripleDesign(triple, repeats, band, error, bound, over, delta, tuple(checks))


def _check_steps(ns_steps: object) -> None:
    if isinstance(ns_steps, bool) or not isinstance(ns_steps, int) or not 1 <= ns_steps <= MAX_STEPS:
        raise InputError(f"ns_steps must be an integer from 1 to {MAX_STEPS}, got {ns_steps!r}")
