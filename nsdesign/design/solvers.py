"""Inverse questions answered with the greedy engine.

- `min_steps`: the fewest steps k* with worst-case error ≤ δ on [l, u].
- `min_capturable_sigma`: for k steps, the smallest l whose band still reaches error ≤ δ.
- `cheapest_schedule`: for a matrix shape, the degree of each step that reaches δ with the fewest FLOPs.

All three rest on one fact: the best odd approximation on [l, u] depends only on r = l/u (scale
invariance), and the greedy error after a step decreases as r grows. So the problem is one-dimensional
in r, monotone, and each step is a map r ↦ r' = (1 − E)/(1 + E).
"""

from __future__ import annotations

import heapq
import math
from functools import lru_cache
from typing import Sequence

from nsdesign.core.bisection import smallest_passing
from nsdesign.core.cost import Form, Shape, flops, step_flops
from nsdesign.core.metrics import check_band
from nsdesign.design.greedy import DEFAULT_MAX_STEPS, MIN_BAND_RATIO, Design, greedy
from nsdesign.design.remez import minimax_odd
from nsdesign.errors import InputError

DEFAULT_DEGREES: tuple[int, ...] = (3, 5, 7, 9)


def min_steps(min_sigma: float, tol: float, degree: int = 5, max_sigma: float = 1.0, max_steps: int = DEFAULT_MAX_STEPS) -> int:
    """k*: the fewest greedy steps of `degree` with worst-case error ≤ tol (raises if > max_steps)."""
    return greedy(min_sigma, max_sigma, degree=degree, tol=tol, max_steps=max_steps).schedule.num_steps


def min_capturable_sigma(steps: int, tol: float, degree: int = 5, max_sigma: float = 1.0) -> float:
    """The smallest l such that `steps` greedy steps on [l, max_sigma] reach worst-case error ≤ tol.

    The optimal error is decreasing in l, so bisection (in log l) on the exact greedy error finds the
    boundary; the result is resolved to a relative 1e-10.
    """
    _check_tol(tol)

    def reaches(l: float) -> bool:
        return greedy(l, max_sigma, steps=steps, degree=degree).error <= tol

    lo, hi = max_sigma * MIN_BAND_RATIO, max_sigma * (1 - 1e-12)
    if not reaches(hi):
        raise InputError(f"{steps} steps cannot reach tolerance {tol:g} on any band")
    return smallest_passing(reaches, lo, hi, 1e-10)


def cheapest_schedule(
    min_sigma: float,
    tol: float,
    shape: Shape,
    form: Form = "standard",
    degrees: Sequence[int] = DEFAULT_DEGREES,
    max_sigma: float = 1.0,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> Design:
    """The greedy schedule, with a per-step degree choice, that reaches tol at the fewest FLOPs.

    Uniform-cost search over degree sequences. Per-step FLOPs are additive in both forms (the Gram form's
    first/last-step savings are the same for every sequence of a given length, see `nsdesign.core.cost`),
    and a state is just the interval ratio r, so a state reached more cheaply with a larger r dominates:
    the first state popped with error ≤ tol is the FLOP-optimal greedy schedule.
    """
    check_band(min_sigma, max_sigma)
    _check_tol(tol)
    options = tuple(sorted(set(degrees)))
    for d in options:
        if not isinstance(d, int) or d < 3 or d % 2 == 0 or d > 31:
            raise InputError(f"step degree must be an odd integer from 3 to 31, got {d}")
    step_cost = {d: step_flops(d, shape, form) for d in options}

    frontier: list[tuple[float, int, float, tuple[int, ...]]] = [(0.0, 0, min_sigma / max_sigma, ())]
    best_ratio = -1.0
    counter = 0
    while frontier:
        cost, _, ratio, sequence = heapq.heappop(frontier)
        if sequence and (1 - ratio) / (1 + ratio) <= tol:
            return greedy(min_sigma, max_sigma, degree=sequence)
        if ratio <= best_ratio or len(sequence) >= max_steps:
            continue
        best_ratio = ratio
        for d in options:
            error = _greedy_error(ratio, d)
            counter += 1
            heapq.heappush(frontier, (cost + step_cost[d], counter, (1 - error) / (1 + error), sequence + (d,)))
    raise InputError(
        f"tolerance {tol:g} is not reachable within {max_steps} steps of degrees {list(options)}; "
        "raise --max-steps or loosen --tol"
    )


def flops_of(design: Design, shape: Shape, form: Form = "standard") -> float:
    return flops(design.schedule, shape, form)


def _check_tol(tol: float) -> None:
    if not (math.isfinite(tol) and 0 < tol < 1):
        raise InputError(f"tolerance must be a number in (0, 1), got {tol}")


@lru_cache(maxsize=4096)
def _greedy_error(ratio: float, degree: int) -> float:
    if ratio >= 1.0:
        return 0.0
    return minimax_odd(ratio, 1.0, degree).error

