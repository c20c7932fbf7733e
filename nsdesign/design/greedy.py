"""Greedy composition: the worst-case-optimal schedule for a band.

At each step take the best odd polynomial (Remez) on the current interval [l_i, u_i]; the next interval is
its image. Amsel et al. 2025 ("The Polar Express", arXiv 2505.16932, Thm. 4.1) prove this greedy choice is
optimal among all compositions of odd polynomials with the same degrees, for the worst-case error
max_{σ∈[l,u]} |1 − f(σ)|. It is what `nsdesign search` returns by default.

Two Polar Express knobs buy robustness at a small cost in that error:
- cushion λ: solve step i on [max(l_i, λ·u_i), u_i] instead of [l_i, u_i] (limits the slope the step
  needs, hence its growth just outside the band), then recentre: scale p so that its min and max on
  [l_i, u_i] sit symmetrically around 1.
- safety s: run p(x/s) instead of p on every step but the last, so a σ slightly above the design
  interval still lands inside the next step's interval. The next interval is then taken as
  [l', 2 − l'] (symmetric around 1, as in Polar Express), which contains the exact image.
With λ = 0.02, s = 1.02, 5 steps on [1e-3, 1] this reproduces modded-nanogpt's list to ~1e-15; with
λ = 0.02407327424182761 and no safety it reproduces the paper's 8-step list (tests pin both).

`inflated_greedy` is the third guard the field knows, by construction: every step designed on [l_i, u_i·(1+h)],
so F stays within the design error up to u·(1+h) (a study's "inflate" strategy, nsdesign.search.space).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import islice
from typing import Iterator, NoReturn, Sequence

from nsdesign.core.band import Band, as_band
from nsdesign.core.limits import (
    DEFAULT_DEGREE,
    DEFAULT_MAX_STEPS,
    DEFAULT_STEPS,
    MAX_STEPS,
    MIN_BAND_RATIO,
    MIN_TOLERANCE,
    check_degree,
    check_knobs,
)
from nsdesign.core.polynomial import OddPolynomial
from nsdesign.core.schedule import Schedule
from nsdesign.design.remez import MinimaxResult, minimax_odd
from nsdesign.errors import InputError

__all__ = ["DEFAULT_MAX_STEPS", "MIN_BAND_RATIO", "MIN_TOLERANCE", "Design", "GreedyStep", "greedy", "greedy_step"]


@dataclass(frozen=True)
class GreedyStep:
    input_interval: tuple[float, float]  # where the step's inputs lie (exact bounds)
    design_interval: tuple[float, float]  # where Remez was solved (after the cushion)
    output_interval: tuple[float, float]  # the next step's input interval
    minimax: MinimaxResult
    polynomial: OddPolynomial  # after recentring and the safety factor: what runs

    @property
    def error(self) -> float:
        lo, hi = self.output_interval
        return max(1.0 - lo, hi - 1.0)


@dataclass(frozen=True)
class Design:
    schedule: Schedule
    steps: tuple[GreedyStep, ...]
    params: dict[str, object]

    @property
    def error(self) -> float:
        """Bound on the worst-case error over the band (exact for pure greedy, the recursion's bound with safety)."""
        return self.steps[-1].error

    @property
    def in_range(self) -> bool:
        """Whether every step keeps the band's values inside (0, 2): positive (no direction flipped) and no
        worse than the identity. Remez's certificate is about one step's polynomial; this is about the whole map."""
        return all(0.0 < lo and hi < 2.0 for lo, hi in (s.output_interval for s in self.steps))

    @property
    def certified(self) -> bool:
        """Certified optimal: every step's minimax certificate holds AND the values stay in (0, 2) on the band."""
        return self.in_range and all(s.minimax.certified for s in self.steps)

    @property
    def certificate_label(self) -> str:
        """What the result is, in words (the CLI's table title)."""
        if self.certified:
            return "certified optimal (de la Vallée Poussin bracket closed at every step)"
        if not self.in_range:
            lo = min(s.output_interval[0] for s in self.steps)
            hi = max(s.output_interval[1] for s in self.steps)
            return f"NOT certified: values leave (0, 2) on the band (reach [{lo:.3g}, {hi:.6g}])"
        return "NOT certified (a step's minimax bracket did not close)"


def greedy(
    band: Band | tuple[float, float] | float,
    max_sigma: float | None = None,
    steps: int | None = None,
    degree: int | Sequence[int] = DEFAULT_DEGREE,
    *,
    cushion: float = 0.0,
    safety: float = 1.0,
    norm_div: float = 1.0,
    tol: float | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> Design:
    """Design the greedy schedule for σ in the band (a `Band`, a (min_sigma, max_sigma) pair, or min_sigma [, max_sigma]).

    Give `steps` (a fixed count), or `tol` (stop at the first step whose error bound is ≤ tol), or a
    sequence of degrees (one per step). `norm_div` s is the runtime input divisor (x = σ / s) and a headroom:
    the steps are designed on [min_sigma/s, max_sigma], so σ down to min_sigma is covered and σ up to
    s·max_sigma (an underestimated norm, bf16 rounding of the input) is still inside the design. Designing
    on [min_sigma/s, max_sigma/s] instead would only rescale the coefficients and buy no headroom at all.
    """
    degrees, count = _plan(steps, degree, tol, max_steps)
    checked = as_band(band, max_sigma)
    min_sigma, max_sigma = checked.min_sigma, checked.max_sigma
    if checked.ratio < MIN_BAND_RATIO:
        raise InputError(f"min_sigma/max_sigma must be at least {MIN_BAND_RATIO:g}, got {checked.ratio:g}")
    check_knobs(cushion, safety, norm_div)
    lo, hi = min_sigma / norm_div, max_sigma
    if tol is None:
        designed = _run(lo, hi, degrees, count, cushion, safety)
    else:
        designed = _run_to_tolerance(lo, hi, degrees, cushion, safety, tol, max_steps)
    schedule = Schedule(tuple(s.polynomial for s in designed), norm_div, "exact", "greedy")
    params = {
        "method": "greedy",
        "min_sigma": min_sigma,
        "max_sigma": max_sigma,
        "steps": len(designed),
        "degrees": [s.polynomial.degree for s in designed],
        "cushion": cushion,
        "safety": safety,
        "norm_div": norm_div,
        "tol": tol,
    }
    return Design(schedule, tuple(designed), params)


def greedy_step(lo: float, hi: float, degree: int, cushion: float, safety: float, is_last: bool) -> GreedyStep:
    """One greedy step on inputs in [lo, hi] (the last step of a schedule runs without the safety factor)."""
    design_lo = max(lo, cushion * hi)
    if design_lo >= hi:  # a cushion above the whole interval: design on the top end only
        design_lo = hi * (1 - 1e-12)
    result = minimax_odd(design_lo, hi, degree)
    p = result.polynomial
    # Without a cushion Remez already measured p on exactly [lo, hi]: reuse that exact image (same bits).
    low, high = result.image if (result.image is not None and design_lo == lo) else p.image(lo, hi)
    p = p.output_scaled(2.0 / (low + high))  # recentre (identity for pure greedy up to rounding)
    if safety != 1.0 and not is_last:
        p = p.input_scaled(safety)
    out_lo, out_hi = p.image(lo, hi)
    out_hi = max(out_hi, 2.0 - out_lo)
    return GreedyStep((lo, hi), (design_lo, hi), (out_lo, out_hi), result, p)


def _run_to_tolerance(
    lo: float, hi: float, degrees: Sequence[int], cushion: float, safety: float, tol: float, max_steps: int
) -> list[GreedyStep]:
    """The fewest steps whose error bound is ≤ tol (the last step runs without the safety factor)."""
    if safety == 1.0:  # without a safety factor every run is a prefix of one long run
        designed: list[GreedyStep] = []
        for step in islice(_steps(lo, hi, degrees, cushion, 1.0, last=-1), max_steps):
            designed.append(step)
            if step.error <= tol:
                return designed
        _raise_unreachable(tol, max_steps, designed[-1].error)
    best = math.inf
    for count in range(1, max_steps + 1):
        designed = _run(lo, hi, degrees, count, cushion, safety)
        best = min(best, designed[-1].error)
        if designed[-1].error <= tol:
            return designed
    _raise_unreachable(tol, max_steps, best)


def _raise_unreachable(tol: float, max_steps: int, best: float) -> NoReturn:
    raise InputError(
        f"tolerance {tol:g} is not reachable within {max_steps} steps "
        f"(the best worst-case error there is {best:.3g}); raise `max_steps` or loosen `tol`"
    )


def _run(lo: float, hi: float, degrees: Sequence[int], count: int, cushion: float, safety: float) -> list[GreedyStep]:
    return list(islice(_steps(lo, hi, degrees, cushion, safety, last=count - 1), count))


def _steps(
    lo: float, hi: float, degrees: Sequence[int], cushion: float, safety: float, last: int
) -> Iterator[GreedyStep]:
    """Greedy steps from [lo, hi] onwards; step `last` runs without the safety factor (−1: none does)."""
    i = 0
    while True:
        if not lo > 0.0:
            raise InputError(
                f"step {i} maps part of the band to F ≤ 0 ({lo:.3g}): a sign flip with error ≥ 1, worse than the "
                f"identity, so no further step can be designed on it (degree {degrees[min(i - 1, len(degrees) - 1)]} "
                "is too high for this band in double precision); use a lower degree or a larger min-sigma"
            )
        step = greedy_step(lo, hi, degrees[min(i, len(degrees) - 1)], cushion, safety, is_last=i == last)
        yield step
        lo, hi = step.output_interval
        i += 1


def _plan(
    steps: int | None, degree: int | Sequence[int], tol: float | None, max_steps: int
) -> tuple[tuple[int, ...], int]:
    _require_int("max_steps", max_steps)
    if steps is not None:
        _require_int("steps", steps)
    if not isinstance(max_steps, int) or not 1 <= max_steps <= MAX_STEPS:
        raise InputError(f"max_steps must be an integer from 1 to {MAX_STEPS}, got {max_steps}")
    if isinstance(degree, (str, bytes)) or not (isinstance(degree, int) or isinstance(degree, Sequence)):
        raise TypeError(f"degree must be an odd integer or a sequence of them, got {type(degree).__name__} {degree!r}")
    degrees = (degree,) if isinstance(degree, int) else tuple(degree)
    for d in degrees:
        _require_int("degree", d)
    if not degrees:
        raise InputError("give at least one step degree")
    for d in degrees:
        check_degree(d)
    if tol is not None:
        if steps is not None:
            raise InputError("give either a step count or a tolerance, not both")
        if not (math.isfinite(tol) and MIN_TOLERANCE <= tol < 1):
            raise InputError(f"tolerance must be in [{MIN_TOLERANCE:g}, 1) (double precision resolves no less), got {tol}")
        return degrees, max_steps
    if steps is None:
        steps = len(degrees) if len(degrees) > 1 else DEFAULT_STEPS
    if not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise InputError(f"steps must be an integer from 1 to {MAX_STEPS}, got {steps}")
    if len(degrees) > 1 and len(degrees) != steps:
        raise InputError(f"{len(degrees)} degrees given for {steps} steps; give one degree or one per step")
    return degrees, steps


def _require_int(name: str, value: object) -> None:
    """Counts and degrees are integers: 5.0 or True is a type error, not a silent 5 or 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")


def inflated_greedy(
    min_sigma: float,
    max_sigma: float,
    degrees: tuple[int, ...],
    inflate: float,
    cushion: float = 0.0,
    safety: float = 1.0,
    norm_div: float = 1.0,
) -> Schedule:
    """Greedy with every design interval inflated upwards: step i is the minimax polynomial on [l_i, u_i·inflate].

    Why: the pure optimum equioscillates up to u_i exactly and grows fast beyond it; designing for
    u_i·inflate moves that growth out of reach of σ ≤ u·inflate, at the price of a slightly larger error in
    the band. The next interval is the exact image of the *inflated* interval, so the guarantee compounds:
    F([l, u·inflate]) stays inside the last step's design error. Cushion and safety act as in `greedy`.
    """
    if not (math.isfinite(inflate) and 1.0 <= inflate <= 2.0):
        raise InputError(f"inflation must be in [1, 2], got {inflate}")
    if not degrees:
        raise InputError("give at least one step degree")
    lo, hi = min_sigma / norm_div, max_sigma  # the divisor's headroom, as in `greedy`
    steps = []
    last = len(degrees) - 1
    for i, degree in enumerate(degrees):
        top = hi * inflate
        design_lo = max(lo, cushion * top)
        if design_lo >= top:
            design_lo = top * (1 - 1e-12)
        p = minimax_odd(design_lo, top, degree).polynomial
        low, high = p.image(lo, top)
        p = p.output_scaled(2.0 / (low + high))
        if safety != 1.0 and i != last:
            p = p.input_scaled(safety)
        out_lo, out_hi = p.image(lo, top)
        if safety != 1.0:
            out_hi = max(out_hi, 2.0 - out_lo)
        if not (math.isfinite(out_lo) and math.isfinite(out_hi) and 0 < out_lo < out_hi):
            raise InputError(f"inflated design failed at step {i} (interval [{out_lo:g}, {out_hi:g}])")
        steps.append(p)
        lo, hi = out_lo, out_hi
    return Schedule(tuple(steps), norm_div, "exact", "search")
