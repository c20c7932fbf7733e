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
from typing import Callable, Sequence

from nsdesign.core.band import Band, as_band
from nsdesign.core.bisection import smallest_passing
from nsdesign.core.cost import Shape, resolve_kernel, step_flops
from nsdesign.core.limits import DEFAULT_DEGREE, DEFAULT_DEGREES, DEFAULT_MAX_STEPS, MIN_BAND_RATIO, check_degree
from nsdesign.design.greedy import Design, GreedyStep, greedy, greedy_step
from nsdesign.errors import InputError

__all__ = ["DEFAULT_DEGREES", "cheapest_schedule", "min_capturable_sigma", "min_steps"]


def min_steps(
    band: Band | tuple[float, float] | float,
    tol: float,
    degree: int = DEFAULT_DEGREE,
    max_sigma: float | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> int:
    """k*: the fewest greedy steps of `degree` with worst-case error ≤ tol (raises if > max_steps)."""
    return greedy(as_band(band, max_sigma), degree=degree, tol=tol, max_steps=max_steps).schedule.num_steps


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
    band: Band | tuple[float, float] | float,
    tol: float,
    shape: Shape,
    kernel: str = "fused",
    degrees: Sequence[int] = DEFAULT_DEGREES,
    max_sigma: float | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    *,
    cushion: float = 0.0,
    safety: float = 1.0,
    accept: Callable[[Design], bool] | None = None,
    form: str | None = None,
) -> Design:
    """The greedy schedule, with a per-step degree choice, that reaches tol at the fewest FLOPs of `kernel`.

    `kernel` (fused, unfused, gram) picks the FLOP model (`nsdesign.core.cost.cost_model`); `form=` is its
    deprecated spelling (standard, gram).

    `accept` (optional) vets each finished candidate in cost order — e.g. `design.safe.bf16_safe`, the bf16
    rounding model of the fused kernel — and the search continues past rejected ones: the result is the
    cheapest accepted sequence the search reaches (dominance pruning is by interval ratio only).

    Uniform-cost search over degree sequences. Per-step FLOPs are additive in both cost models (the Gram kernel's
    first/last-step savings are the same for every sequence of a given length, see `nsdesign.core.cost`).
    A greedy step is scale invariant (cushion and safety included), so the state after a step is just the
    interval ratio r; a state reached more cheaply with a larger r dominates. The last step runs without the
    safety factor, so each expansion also tries "this is the last step": the first such finish popped
    with error ≤ tol is the FLOP-optimal greedy schedule for these knobs.
    """
    checked = as_band(band, max_sigma)
    min_sigma, max_sigma = checked.min_sigma, checked.max_sigma
    _check_tol(tol)
    shape = Shape.coerce(shape)
    options = tuple(sorted(set(degrees)))
    for d in options:
        check_degree(d)
    kernel = resolve_kernel(kernel if form is None else None, form)
    step_cost = {d: step_flops(d, shape, kernel) for d in options}

    # entries: (cost, tie-breaker, ratio, sequence, finished)
    frontier: list[tuple[float, int, float, tuple[int, ...], bool]] = [(0.0, 0, min_sigma / max_sigma, (), False)]
    best_ratio = -1.0
    counter = 0
    while frontier:
        cost, _, ratio, sequence, finished = heapq.heappop(frontier)
        if finished:
            design = greedy(checked, degree=sequence, cushion=cushion, safety=safety)
            if accept is None or accept(design):
                return design
            continue
        if ratio <= best_ratio or len(sequence) >= max_steps:
            continue
        best_ratio = ratio
        for d in options:
            counter += 1
            middle = _step(ratio, d, cushion, safety, last=False)
            lo, hi = middle.output_interval
            heapq.heappush(frontier, (cost + step_cost[d], counter, lo / hi, sequence + (d,), False))
            final = middle if safety == 1.0 else _step(ratio, d, cushion, safety, last=True)
            if final.error <= tol:
                heapq.heappush(frontier, (cost + step_cost[d], counter, 0.0, sequence + (d,), True))
    raise InputError(
        f"tolerance {tol:g} is not reachable within {max_steps} steps of degrees {list(options)}; "
        "raise `max_steps` or loosen `tol`"
    )


def _check_tol(tol: float) -> None:
    if not (math.isfinite(tol) and 0 < tol < 1):
        raise InputError(f"tolerance must be a number in (0, 1), got {tol}")


@lru_cache(maxsize=4096)
def _step(ratio: float, degree: int, cushion: float, safety: float, last: bool) -> GreedyStep:
    return greedy_step(min(ratio, 1.0 - 1e-16), 1.0, degree, cushion, safety, is_last=last)
