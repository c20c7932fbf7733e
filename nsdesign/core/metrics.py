"""Exact metrics of a schedule on a band of singular values.

Everything here comes from propagating intervals through the steps: the image of an interval under a
polynomial is the interval between its smallest and largest value at the endpoints and the interior
critical points, and composing images gives the exact range of the whole map F. No grid is sampled, so
narrow peaks cannot be missed. The one search (`captured_min_sigma`) bisects on a monotone predicate that
is itself evaluated exactly, down to a relative resolution of 1e-13.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

from nsdesign._files import json_number as _json_number
from nsdesign.core.band import Band, as_band
from nsdesign.core.bisection import smallest_passing
from nsdesign.core.cost import Shape, flops, matmuls
from nsdesign.core.limits import DEFAULT_HEADROOM, HALF_PRECISION, OVERSHOOT_WARNING, default_guard_sigma
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError, deprecated

__all__ = [
    "DEFAULT_HEADROOM", "Metrics", "captured_min_sigma", "check_band", "evaluate", "fixed_points", "intervals",
    "overshoot", "resolve_guard", "sign_flip_steps", "slope_at_zero", "value_range", "worst_error",
]
_CAPTURE_RESOLUTION = 1e-13


# --------------------------------------------------------------------------------------------------
# Ranges
# --------------------------------------------------------------------------------------------------


def _raw_edges(lo: Band | tuple[float, float] | float, hi: float | None) -> tuple[float, float]:
    """The interval's edges, unvalidated (an interval such as [0, u] is fine here; a band is not required)."""
    if isinstance(lo, Band):
        return lo.min_sigma, lo.max_sigma
    if isinstance(lo, (tuple, list)):
        return float(lo[0]), float(lo[1])
    if hi is None:
        raise InputError("give the interval as a band, a (low, high) pair, or two numbers")
    return lo, hi


def intervals(
    schedule: Schedule, lo: Band | tuple[float, float] | float, hi: float | None = None
) -> list[tuple[float, float]]:
    """Exact range of the partial composition after each step, for σ ∈ [lo, hi] (or σ in a Band)."""
    lo, hi = _raw_edges(lo, hi)
    x_lo, x_hi = lo / schedule.input_scale, hi / schedule.input_scale
    out = []
    for p in schedule.steps:
        x_lo, x_hi = p.image(x_lo, x_hi)
        out.append((x_lo, x_hi))
    return out


def _check_range(lo: float, hi: float) -> None:
    """A closed range 0 ≤ lo ≤ hi of finite σ (a point is allowed; σ = 0 is allowed for overshoot)."""
    for name, value in (("lower edge", lo), ("upper edge", hi)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"the {name} must be a real number, got {type(value).__name__} {value!r}")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InputError(f"σ range edges must be finite numbers, got [{lo}, {hi}]")
    if not 0 <= lo <= hi:
        raise InputError(f"a σ range needs 0 ≤ lower ≤ upper, got [{lo}, {hi}]")


def _check_schedule(schedule: Any) -> Schedule:
    """Core computes on Schedule values; preset names and files are read one floor up (`nsdesign.evaluate` and
    the other doors of the namespace take them, through documents.load_schedule)."""
    if isinstance(schedule, str):
        raise TypeError(f"expected a Schedule, got the name {schedule[:40]!r}: nsdesign.evaluate, "
                        "nsdesign.worst_error, … take names, or load it with nsdesign.load_schedule")
    if not isinstance(schedule, Schedule):
        raise TypeError(f"expected a Schedule or a preset name, got {type(schedule).__name__}")
    return schedule


def value_range(schedule: Schedule, lo: Band | tuple[float, float] | float, hi: float | None = None) -> tuple[float, float]:
    """Exact [min F, max F] for σ ∈ [lo, hi]."""
    edges = _raw_edges(lo, hi)
    _check_range(*edges)
    return intervals(_check_schedule(schedule), *edges)[-1]


def worst_error(schedule: Schedule, lo: Band | tuple[float, float] | float, hi: float | None = None) -> float:
    """max_{σ∈[lo,hi]} |1 − F(σ)|."""
    f_lo, f_hi = value_range(schedule, lo, hi)
    return max(1.0 - f_lo, f_hi - 1.0)


def resolve_guard(
    max_sigma: float, guard_sigma: float | None = None, headroom: float | None = None
) -> tuple[float, float]:
    """(g, h): the guard band's top g and its margin h = g/max_sigma − 1. g is `guard_sigma`, else
    (1 + DEFAULT_HEADROOM)·max_sigma; max_sigma ≤ g ≤ 2·max(max_sigma, 1) (a band far below 1, under a tight
    normalizer, may need its guard up to 1). h is exactly DEFAULT_HEADROOM, or the old h, where given so.

    `headroom=h` is the old relative spelling (g = (1 + h)·max_sigma), kept for one release with a warning."""
    if headroom is not None:
        if guard_sigma is not None:
            raise InputError("give guard_sigma (the guard band's top) or the old headroom, not both")
        deprecated("headroom=h is deprecated: give guard_sigma=(1 + h)·max_sigma, the guard band's top")
        if isinstance(headroom, bool) or not isinstance(headroom, numbers.Real) or not (
            math.isfinite(headroom) and headroom >= 0
        ):
            raise InputError(f"headroom must be in [0, 1] (or reach at most 2·max(max_sigma, 1)), got {headroom}")
        g, h = max_sigma * (1.0 + headroom), float(headroom)
    elif guard_sigma is None:
        g, h = default_guard_sigma(max_sigma), DEFAULT_HEADROOM
    else:
        g = guard_sigma
        if isinstance(g, bool) or not isinstance(g, numbers.Real) or not (math.isfinite(g) and g > 0):
            raise InputError(f"guard_sigma must be a positive number, got {str(g)[:40]}")
        h = max(0.0, g / max_sigma - 1.0)
    if g < max_sigma:
        raise InputError(
            f"the guard band must lie above the accuracy band: guard_sigma {g:g} < max_sigma {max_sigma:g}"
        )
    if g > 2.0 * max(max_sigma, 1.0):
        raise InputError(f"guard_sigma {g:g} is above 2·max(max_sigma, 1); no normalizer needs that")
    return float(g), h


def overshoot(
    schedule: Schedule,
    max_sigma: float = 1.0,
    *legacy: float,
    guard_sigma: float | None = None,
    headroom: float | None = None,
) -> float:
    """max F on [0, g], g = `guard_sigma` (default (1 + 0.02)·max_sigma): how far σ slightly above the band is
    blown up. A third positional argument is the old relative headroom h (g = (1 + h)·max_sigma), deprecated."""
    _check_range(0.0, max_sigma)
    if not max_sigma > 0:
        raise InputError(f"max_sigma must be positive, got {max_sigma}")
    if len(legacy) > 1:
        raise TypeError(f"overshoot takes at most 3 positional arguments, got {2 + len(legacy)}")
    if legacy:
        headroom = legacy[0]
    return value_range(schedule, 0.0, resolve_guard(max_sigma, guard_sigma, headroom)[0])[1]


def no_headroom(schedule: Schedule, dtype: str) -> str | None:
    """Why `schedule` can diverge when Newton–Schulz runs in `dtype`, or None when it cannot for this reason.

    Why: bf16/fp16 round-off puts singular values slightly above the band edge, and a schedule with no headroom
    there (exact max F on [0, 1.02] above `core.limits.OVERSHOOT_WARNING`: the bare optimum, cans5_eo) amplifies
    them instead of pulling them back to 1. The one rule behind the export's refusal and the optimizer's warning;
    each caller says what it will do about it."""
    if dtype not in HALF_PRECISION:
        return None
    peak = overshoot(schedule, 1.0)  # on [0, 1.02]
    if peak <= OVERSHOOT_WARNING:
        return None
    return f"{schedule.name or 'this schedule'} has no headroom: max F on [0, {1 + DEFAULT_HEADROOM:g}] = {peak:.3g}"


def slope_at_zero(schedule: Schedule) -> float:
    """F'(0) = Π a_i / norm_div: how strongly the smallest singular values are lifted."""
    slope = 1.0 / schedule.input_scale
    for p in schedule.steps:
        slope *= p.slope_at_zero
    return slope


def sign_flip_steps(schedule: Schedule, lo: Band | tuple[float, float] | float, hi: float | None = None) -> list[int]:
    """Steps (0-based) after which some σ ∈ [lo, hi] has gone negative (its direction would be flipped)."""
    return [i for i, (f_lo, _) in enumerate(intervals(schedule, lo, hi)) if f_lo < 0.0]


def captured_min_sigma(schedule: Schedule, tol: float, max_sigma: float = 1.0) -> float | None:
    """Smallest s with F([s, max_sigma]) ⊂ [1 − tol, 1 + tol]; None if even σ = max_sigma misses.

    The predicate "F([s, u]) is inside" is monotone in s (the intervals are nested) and exact, so bisection
    (in log σ) finds its boundary to the stated resolution.
    """
    check_tolerance(tol)
    schedule = _check_schedule(schedule)
    _check_range(max_sigma, max_sigma)
    if not max_sigma > 0:
        raise InputError(f"max_sigma must be positive, got {max_sigma}")

    def inside(s: float) -> bool:
        return worst_error(schedule, s, max_sigma) <= tol  # the same rounding as the error reported for it

    if not inside(max_sigma):
        return None
    return smallest_passing(inside, max_sigma * 1e-30, max_sigma, _CAPTURE_RESOLUTION)


def check_tolerance(tol: float) -> None:
    """A tolerance δ on |1 − F| lies in (0, 1): at δ ≥ 1 the map F ≡ 0 already "captures" every σ."""
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        raise TypeError(f"tolerance must be a real number, got {type(tol).__name__} {tol!r}")
    if not (math.isfinite(tol) and 0 < tol < 1):
        raise InputError(f"tolerance must lie in (0, 1), got {tol}")


def fixed_points(schedule: Schedule) -> list[list[float]]:
    """Positive fixed points of each step, p(x) = x."""
    return [p.fixed_points() for p in schedule.steps]


# --------------------------------------------------------------------------------------------------
# Everything at once
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    min_sigma: float
    max_sigma: float
    worst_error: float
    f_min: float
    f_max: float
    headroom: float  # g/max_sigma − 1: the guard band's top, relative (the stored key keeps its name)
    overshoot: float  # max F on [0, guard_sigma]
    slope_at_zero: float
    intervals: tuple[tuple[float, float], ...]  # exact range after each step, σ in the band
    sign_flip_steps: tuple[int, ...]
    fixed_points: tuple[tuple[float, ...], ...]
    matmuls: int
    tol: float | None = None
    captured_min_sigma: float | None = None
    shape: tuple[int, int] | None = None
    flops_standard: float | None = None
    flops_gram: float | None = None

    @property
    def band(self) -> Band:
        return Band(self.min_sigma, self.max_sigma)

    @property
    def guard_sigma(self) -> float:
        """The guard band's top g that `overshoot` covers: (1 + headroom)·max_sigma."""
        return self.max_sigma * (1.0 + self.headroom)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; a diverged value (±inf) is written as the string "inf" or "-inf"."""
        data = {k: _json_number(v) for k, v in asdict(self).items()}
        data["intervals"] = [[_json_number(v) for v in i] for i in self.intervals]
        data["fixed_points"] = [list(f) for f in self.fixed_points]
        data["sign_flip_steps"] = list(self.sign_flip_steps)
        data["shape"] = list(self.shape) if self.shape else None
        return data


def evaluate(
    schedule: Schedule,
    band: Band | tuple[float, float] | float,
    max_sigma: float | None = None,
    *,
    guard_sigma: float | None = None,
    tol: float | None = None,
    shape: Shape | None = None,
    headroom: float | None = None,
) -> Metrics:
    """All exact metrics of `schedule` on a band: a `Band`, a (min_sigma, max_sigma) pair, or min_sigma [, max_sigma].

    The overshoot is max F on [0, g], g = `guard_sigma` (default (1 + 0.02)·max_sigma; a Band's own guard_sigma
    is not read here, so a call states the guard it asks about); `headroom=h` is the old spelling of g."""
    checked = as_band(band, max_sigma)
    min_sigma, max_sigma = checked.min_sigma, checked.max_sigma
    schedule = _check_schedule(schedule)
    if tol is not None:
        check_tolerance(tol)
    shape = _as_shape(shape)
    guard, margin = resolve_guard(max_sigma, guard_sigma, headroom)
    steps = intervals(schedule, min_sigma, max_sigma)
    f_lo, f_hi = steps[-1]
    return Metrics(
        min_sigma=min_sigma,
        max_sigma=max_sigma,
        worst_error=max(1.0 - f_lo, f_hi - 1.0),
        f_min=f_lo,
        f_max=f_hi,
        headroom=margin,
        overshoot=overshoot(schedule, max_sigma, guard_sigma=guard),
        slope_at_zero=slope_at_zero(schedule),
        intervals=tuple(steps),
        sign_flip_steps=tuple(i for i, (lo, _) in enumerate(steps) if lo < 0.0),
        fixed_points=tuple(tuple(f) for f in fixed_points(schedule)),
        matmuls=matmuls(schedule),
        tol=tol,
        captured_min_sigma=None if tol is None else captured_min_sigma(schedule, tol, max_sigma),
        shape=None if shape is None else (shape.m, shape.n),
        flops_standard=None if shape is None else flops(schedule, shape, "fused"),
        flops_gram=None if shape is None else flops(schedule, shape, "gram"),
    )




def _as_shape(shape: Any) -> Shape | None:
    """A Shape, an (m, n) pair, or an 'MxN' string (what the CLI accepts) → Shape."""
    if shape is None or isinstance(shape, Shape):
        return shape
    return Shape.coerce(shape)


def check_band(min_sigma: float, max_sigma: float) -> Band:
    """The band [min_sigma, max_sigma], validated (see `nsdesign.core.band.Band`)."""
    return Band(min_sigma, max_sigma)
