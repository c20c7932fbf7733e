"""Spectral-shaping targets: what a map F should do to each singular value, and how far F is from it, exactly.

Muon sends every singular value to 1 (the sign target). Its variants want other maps g(σ) applied as U g(Σ) Vᵀ:
σ^p (DynMuon), min(σ/τ, 1) (spectral clipping / hardcap), σ/√(σ²+ε²) (a soft polar), or any user map. A target
is data: its name, the function, the pieces on which g and g' are monotone (so their ranges on a piece are read
off the piece's ends), and the error it is judged by, stated:

- absolute: max |F(σ) − g(σ)| (sign, clip, soft, tables), the error of the output's singular values;
- relative: max |F(σ)/g(σ) − 1| (σ^p by default: σ^(−0.25) is 5.6 at σ = 1e-3 and 1 at σ = 1, so an absolute
  error would be judged on the small end only).

σ here is the singular value the map sees (the normalized one, as for every schedule). The error of a map on
[l, u] is bracketed by branch and bound (`error_bracket`): on each sub-interval the map's exact range (the
engine's interval propagation through critical points) and the range of its derivative (chain rule over the
exact step images) give a natural and a mean-value enclosure of the error, the tighter is kept, and the
interval with the largest upper bound is halved until the bracket [lower, upper] closes to `rtol`. No grid:
the lower end is a value F actually takes, the upper end a bound over every σ of the band.
"""

from __future__ import annotations

import heapq
import math
import re
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import numpy as np

from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError

__all__ = [
    "ErrorBracket", "POWER_RANGE", "Target", "TARGET_SPELLINGS", "CompositionMap", "callable_target",
    "error_bracket", "parse_target", "table_target", "target_error",
]
POWER_RANGE = (-0.5, 1.0)  # p ∈ [−0.5, 1): σ^1 is the identity (no map needed), below −0.5 nothing is tabled
ERRORS = ("absolute", "relative")
TARGET_SPELLINGS = "sign, sigma^P (P in [-0.5, 1)), clip:TAU, soft:EPS"
_CALLABLE_POINTS = 4097


@dataclass(frozen=True)
class Target:
    """g on σ > 0; `kind` is sign | power | clip | soft | table; `param` is p, τ or ε; tables hold (σ_i, g_i)."""

    kind: str
    param: float | None = None
    error: str = "absolute"
    knots: tuple[tuple[float, ...], tuple[float, ...]] | None = field(default=None, compare=False)
    label: str = ""

    def __post_init__(self) -> None:
        if self.error not in ERRORS:
            raise InputError(f"a target's error is absolute or relative, got {self.error!r}")
        _check_param(self.kind, self.param)

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        if self.kind == "sign":
            return "sign"
        if self.kind == "power":
            return f"sigma^{self.param:g}"
        return f"{self.kind}:{self.param:g}"

    @property
    def breakpoints(self) -> tuple[float, ...]:
        """Where g or g' stops being monotone (the kink of clip, a table's knots): branch and bound splits there."""
        if self.kind == "clip":
            return (float(self.param),)  # type: ignore[arg-type]
        if self.kind == "table":
            return tuple(self.knots[0])  # type: ignore[index]
        return ()

    def values(self, x: np.ndarray) -> np.ndarray:
        """g(σ) for σ > 0 (arrays)."""
        x = np.asarray(x, dtype=float)
        if self.kind == "sign":
            return np.ones_like(x)
        if self.kind == "power":
            return x ** float(self.param)  # type: ignore[arg-type]
        if self.kind == "clip":
            return np.minimum(x / float(self.param), 1.0)  # type: ignore[arg-type]
        if self.kind == "soft":
            return x / np.sqrt(x * x + float(self.param) ** 2)  # type: ignore[arg-type]
        xs, ys = self.knots  # type: ignore[misc]
        return np.interp(x, xs, ys)

    def __call__(self, sigma: float) -> float:
        return float(self.values(np.array([sigma]))[0])

    def derivative(self, x: float) -> float:
        """g'(σ) inside a piece (one-sided at a breakpoint: the piece to the right)."""
        if self.kind == "sign":
            return 0.0
        p = float(self.param)  # type: ignore[arg-type]
        if self.kind == "power":
            return p * x ** (p - 1.0)
        if self.kind == "clip":
            return 1.0 / p if x < p else 0.0
        if self.kind == "soft":
            return p * p / (x * x + p * p) ** 1.5
        xs, ys = self.knots  # type: ignore[misc]
        i = min(max(int(np.searchsorted(xs, x, side="right")) - 1, 0), len(xs) - 2)
        return (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])

    def piece_ranges(self, a: float, b: float) -> tuple[float, float, float, float]:
        """(min g, max g, min g', max g') on [a, b] inside one piece: g and g' are monotone there."""
        ga, gb = self(a), self(b)
        mid = 0.5 * (a + b)  # a piece's own slope (a and b may sit on its breakpoints)
        if self.kind in ("clip", "table"):
            d = self.derivative(mid)
            return min(ga, gb), max(ga, gb), d, d
        da, db = self.derivative(a), self.derivative(b)
        return min(ga, gb), max(ga, gb), min(da, db), max(da, db)

    def check_band(self, lo: float, hi: float) -> None:
        """The target must be defined on the band, and positive there for a relative error."""
        if self.kind == "table":
            xs = self.knots[0]  # type: ignore[index]
            if lo < xs[0] or hi > xs[-1]:
                raise InputError(f"table target covers [{xs[0]:g}, {xs[-1]:g}], not the band [{lo:g}, {hi:g}]")
        if self.error == "relative" and not float(np.min(self.values(np.geomspace(lo, hi, 257)))) > 0:
            raise InputError(f"target {self.name} is not positive on [{lo:g}, {hi:g}]: relative error undefined")

    def with_error(self, error: str) -> Target:
        return Target(self.kind, self.param, error, self.knots, self.label)


def _check_param(kind: str, param: float | None) -> None:
    if kind == "sign" or kind == "table":
        return
    if kind not in ("power", "clip", "soft"):
        raise InputError(f"unknown target kind {kind!r}; targets: {TARGET_SPELLINGS}")
    if param is None or isinstance(param, bool) or not isinstance(param, (int, float)) or not math.isfinite(param):
        raise InputError(f"target {kind} needs a finite number, got {param!r}")
    if kind == "power" and not POWER_RANGE[0] <= param < POWER_RANGE[1]:
        raise InputError(f"sigma^p needs p in [{POWER_RANGE[0]:g}, {POWER_RANGE[1]:g}), got {param:g}")
    if kind in ("clip", "soft") and not param > 0:
        raise InputError(f"{kind}:X needs X > 0, got {param:g}")


_POWER = re.compile(r"\s*(?:sigma|σ|s)\s*(?:\^|\*\*)\s*\(?\s*([-+0-9.eE]+)\s*\)?\s*")


def parse_target(text: str) -> Target:
    """A target from its spelling: sign, sigma^0.25 (σ^0.25, power:0.25), clip:0.5, soft:0.01."""
    if isinstance(text, Target):
        return text
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"a target is one of {TARGET_SPELLINGS}; got {text!r}")
    t = text.strip().lower()
    if t in ("sign", "polar", "sigma^0", "σ^0"):
        return Target("sign")
    match = _POWER.fullmatch(t)
    kind, value = ("power", match.group(1)) if match else (t.split(":", 1) + [""])[:2]
    if kind not in ("power", "clip", "soft") or not value:
        raise InputError(f"unknown target {text[:40]!r}; targets: {TARGET_SPELLINGS}")
    try:
        param = float(value)
    except ValueError:
        raise InputError(f"target {text[:40]!r}: {value[:20]!r} is not a number") from None
    if kind == "power" and param == 0.0:
        return Target("sign")
    return Target(kind, param, "relative" if kind == "power" else "absolute")


def table_target(
    sigmas: Sequence[float], values: Sequence[float], name: str = "table", error: str = "absolute"
) -> Target:
    """g given at increasing σ_i > 0 and read between them linearly (exactly what the bracket certifies).

    An odd map sends σ = 0 to 0: a table entry at σ = 0 must be 0 (else no odd F can follow it there)."""
    xs = np.asarray(sigmas, dtype=float)
    ys = np.asarray(values, dtype=float)
    if xs.ndim != 1 or xs.shape != ys.shape or len(xs) < 2:
        raise InputError("a table target needs two equal-length lists of at least 2 numbers")
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise InputError("a table target's σ and g values must be finite")
    if not (np.diff(xs) > 0).all() or xs[0] < 0:
        raise InputError("a table target's σ values must be ≥ 0 and strictly increasing")
    if xs[0] == 0 and ys[0] != 0:
        raise InputError(f"target {name} is not odd-extendable: g(0) = {ys[0]:g}, an odd map has F(0) = 0")
    if (ys < 0).any():
        raise InputError(f"target {name} is negative somewhere: singular values cannot be negative")
    return Target("table", None, error, (tuple(xs.tolist()), tuple(ys.tolist())), name)


def callable_target(
    fn: Callable[[float], float], lo: float, hi: float, name: str = "callable", error: str = "absolute",
    points: int = _CALLABLE_POINTS,
) -> Target:
    """A user function tabled on [lo, hi] (log-spaced, `points` knots). The bracket certifies the tabled map;
    the function itself agrees with it at the knots. A jump that refining does not close is refused."""
    if not (0 < lo < hi and math.isfinite(hi)):
        raise InputError(f"a callable target needs 0 < lo < hi, got [{lo}, {hi}]")
    at_zero = _try(fn, 0.0)
    if at_zero is not None and math.isfinite(at_zero) and at_zero != 0.0:
        raise InputError(f"target {name} is not odd-extendable: g(0) = {at_zero:g}, an odd map has F(0) = 0")
    xs = np.geomspace(lo, hi, points)
    ys = np.array([_value(fn, x, name) for x in xs])
    jump = _discontinuity(fn, xs, ys, name)
    if jump is not None:
        raise InputError(f"target {name} is discontinuous inside the band near σ = {jump:.4g}")
    return table_target(xs, ys, name, error)


def _try(fn: Callable[[float], float], x: float) -> float | None:
    try:
        return float(fn(x))
    except (ArithmeticError, ValueError):
        return None


def _value(fn: Callable[[float], float], x: float, name: str) -> float:
    value = _try(fn, float(x))
    if value is None or not math.isfinite(value):
        raise InputError(f"target {name} is not finite at σ = {x:.4g}")
    return value


def _discontinuity(fn: Callable[[float], float], xs: np.ndarray, ys: np.ndarray, name: str) -> float | None:
    """The σ of a jump: the largest step between neighbours, bisected 40 times; a continuous g's step shrinks
    with the interval, a jump's does not."""
    steps = np.abs(np.diff(ys))
    scale = float(np.max(np.abs(ys))) or 1.0
    i = int(np.argmax(steps))
    if steps[i] <= 1e-3 * scale:
        return None
    a, b, ga, gb = float(xs[i]), float(xs[i + 1]), float(ys[i]), float(ys[i + 1])
    for _ in range(40):
        m = 0.5 * (a + b)
        gm = _value(fn, m, name)
        if abs(gm - ga) >= abs(gb - gm):
            b, gb = m, gm
        else:
            a, ga = m, gm
    return 0.5 * (a + b) if abs(gb - ga) > 0.25 * steps[i] else None


# --------------------------------------------------------------------------------------------------
# Maps and their enclosures
# --------------------------------------------------------------------------------------------------


class ScalarMap(Protocol):
    """What the bracket needs of a map F: values at points, and on [a, b] the range of F and (when known) of F'."""

    def values(self, x: np.ndarray) -> np.ndarray: ...

    def enclose(self, a: float, b: float) -> tuple[float, float, float | None, float | None]: ...


@dataclass(frozen=True)
class CompositionMap:
    """A schedule as a map of σ: F = p_k ∘ … ∘ p_1 (σ / norm_div)."""

    schedule: Schedule

    def values(self, x: np.ndarray) -> np.ndarray:
        y = np.asarray(x, dtype=float) / self.schedule.input_scale
        with np.errstate(over="ignore", invalid="ignore"):
            for p in self.schedule.steps:
                y = p.evaluate(y)
        return y

    def enclose(self, a: float, b: float) -> tuple[float, float, float | None, float | None]:
        """Exact range of F (step images) and an enclosure of F' (product of each p_i' over its exact input range)."""
        s = self.schedule.input_scale
        lo, hi = a / s, b / s
        d_lo = d_hi = 1.0 / s
        for p in self.schedule.steps:
            q_lo, q_hi = derivative_range(p.coefficients, lo, hi)
            d_lo, d_hi = interval_product((d_lo, d_hi), (q_lo, q_hi))
            lo, hi = p.image(lo, hi)
        return lo, hi, d_lo, d_hi


def derivative_range(coefficients: Sequence[float], lo: float, hi: float) -> tuple[float, float]:
    """Exact [min p', max p'] on [lo, hi] for p(x) = Σ c_j x^(2j+1): p'(x) = P(x²), P(y) = Σ (2j+1) c_j y^j,
    so the range is P's over the range of x² (ends and P's critical points inside)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return -math.inf, math.inf
    P = [(2 * j + 1) * c for j, c in enumerate(coefficients)]
    y_lo = 0.0 if lo <= 0.0 <= hi else min(lo * lo, hi * hi)
    y_hi = max(lo * lo, hi * hi)
    return polynomial_range(P, y_lo, y_hi)


def polynomial_range(ascending: Sequence[float], lo: float, hi: float) -> tuple[float, float]:
    """Exact [min, max] of Σ a_j y^j on [lo, hi]: the ends and the real roots of the derivative inside."""
    if len(ascending) <= 3:  # constants, lines and parabolas (every quintic step's p'): the vertex in closed form
        return _quadratic_range(tuple(ascending) + (0.0,) * (3 - len(ascending)), lo, hi)
    poly = np.polynomial.Polynomial(list(ascending))
    points = [lo, hi]
    if len(ascending) > 2:
        for r in poly.deriv().roots():
            if abs(r.imag) <= 1e-12 * max(1.0, abs(r)) and lo < r.real < hi:
                points.append(float(r.real))
    with np.errstate(over="ignore", invalid="ignore"):
        values = poly(np.array(points))
    if not np.isfinite(values).all():
        return -math.inf, math.inf
    return float(values.min()), float(values.max())


def _quadratic_range(a: tuple[float, ...], lo: float, hi: float) -> tuple[float, float]:
    a0, a1, a2 = a
    ends = [a0 + (a1 + a2 * lo) * lo, a0 + (a1 + a2 * hi) * hi]
    if a2 != 0.0:
        vertex = -a1 / (2 * a2)
        if lo < vertex < hi:
            ends.append(a0 + (a1 + a2 * vertex) * vertex)
    if not all(math.isfinite(v) for v in ends):
        return -math.inf, math.inf
    return min(ends), max(ends)


def interval_product(x: tuple[float, float], y: tuple[float, float]) -> tuple[float, float]:
    with np.errstate(invalid="ignore", over="ignore"):
        products = [x[0] * y[0], x[0] * y[1], x[1] * y[0], x[1] * y[1]]
    if any(math.isnan(v) for v in products):
        return -math.inf, math.inf
    return min(products), max(products)


# --------------------------------------------------------------------------------------------------
# The bracket
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorBracket:
    """lower ≤ max over the band of the target's error ≤ upper; `at` is where the lower value is taken."""

    lower: float
    upper: float
    at: float
    error: str
    nodes: int

    @property
    def closed(self) -> bool:
        return self.upper <= self.lower * (1 + 1e-4) + 1e-14

    @property
    def value(self) -> float:
        """The error to report: the upper end (a bound over every σ of the band)."""
        return self.upper


def target_error(
    target: Target | str, schedule: Schedule, lo: float, hi: float, *, rtol: float = 1e-6
) -> ErrorBracket:
    """max over σ ∈ [lo, hi] of |F − g| (absolute) or |F/g − 1| (relative) for a schedule's composition F."""
    return error_bracket(parse_target(target), CompositionMap(schedule), lo, hi, rtol=rtol)


def error_bracket(
    target: Target, fmap: ScalarMap, lo: float, hi: float, *, rtol: float = 1e-6, max_nodes: int = 400_000
) -> ErrorBracket:
    """Branch and bound on [lo, hi] (see the module doc); stops when upper ≤ lower·(1 + rtol) or at max_nodes
    (then the bracket is reported as it stands, not closed)."""
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        raise InputError(f"the band needs 0 < lo < hi, got [{lo}, {hi}]")
    target.check_band(lo, hi)
    edges = _initial_edges(target, lo, hi)
    best, at = _point_errors(target, fmap, edges)
    heap: list[tuple[float, float, float]] = []
    for a, b in zip(edges[:-1], edges[1:]):
        heapq.heappush(heap, (-_upper(target, fmap, a, b), a, b))
    nodes, pruned = len(heap), 0.0  # pruned: the largest upper bound of an interval dropped below best·(1 + rtol/2)
    while heap and nodes < max_nodes:
        upper = -heap[0][0]
        if upper <= best * (1 + rtol) + 1e-15 or not math.isfinite(upper) and nodes > max_nodes // 2:
            break
        _, a, b = heapq.heappop(heap)
        m = 0.5 * (a + b)
        if not a < m < b:  # the interval is one ulp: its bound stands
            heapq.heappush(heap, (-upper, a, b))
            break
        value, where = _point_errors(target, fmap, [0.5 * (a + m), m, 0.5 * (m + b)])
        if value > best:
            best, at = value, where
        for x, y in ((a, m), (m, b)):
            u = _upper(target, fmap, x, y)
            nodes += 1
            if u > best * (1 + rtol * 0.5):
                heapq.heappush(heap, (-u, x, y))
            else:
                pruned = max(pruned, u)
    upper = max(best, pruned, -heap[0][0] if heap else 0.0)
    return ErrorBracket(best, upper, at, target.error, nodes)


def _initial_edges(target: Target, lo: float, hi: float) -> list[float]:
    inner = [b for b in target.breakpoints if lo < b < hi]
    grid = np.geomspace(lo, hi, 65).tolist() if target.kind != "table" else [lo, hi]
    return sorted(set(grid + inner + [lo, hi]))


def _errors(target: Target, f: np.ndarray, x: np.ndarray) -> np.ndarray:
    g = target.values(x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = f - g if target.error == "absolute" else f / g - 1.0
    return np.where(np.isfinite(e), np.abs(e), math.inf)


def _point_errors(target: Target, fmap: ScalarMap, points: Sequence[float]) -> tuple[float, float]:
    x = np.asarray(points, dtype=float)
    e = _errors(target, fmap.values(x), x)
    i = int(np.argmax(e))
    return float(e[i]), float(x[i])


def _upper(target: Target, fmap: ScalarMap, a: float, b: float) -> float:
    """max |error| over [a, b]: the tighter of the natural enclosure and the mean-value one about the midpoint."""
    f_lo, f_hi, d_lo, d_hi = fmap.enclose(a, b)
    if not (math.isfinite(f_lo) and math.isfinite(f_hi)):
        return math.inf
    g_lo, g_hi, gd_lo, gd_hi = target.piece_ranges(a, b)
    if target.error == "absolute":
        natural = (f_lo - g_hi, f_hi - g_lo)
    else:
        natural = (f_lo / g_hi - 1.0 if f_lo >= 0 else f_lo / g_lo - 1.0, f_hi / g_lo - 1.0 if f_hi >= 0 else f_hi / g_hi - 1.0)
    bound = max(abs(natural[0]), abs(natural[1]))
    if d_lo is None or d_hi is None or not (math.isfinite(d_lo) and math.isfinite(d_hi)):
        return bound
    c, h = 0.5 * (a + b), 0.5 * (b - a)
    center = float(_errors(target, fmap.values(np.array([c])), np.array([c]))[0])
    if target.error == "absolute":
        slope = max(abs(d_lo - gd_hi), abs(d_hi - gd_lo))
    else:  # e' = F'/g − F·g'/g²
        inv = (1.0 / g_hi, 1.0 / g_lo)
        term1 = interval_product((d_lo, d_hi), inv)
        term2 = interval_product((f_lo, f_hi), interval_product((gd_lo, gd_hi), (inv[0] ** 2, inv[1] ** 2)))
        slope = max(abs(term1[0] - term2[1]), abs(term1[1] - term2[0]))
    return min(bound, center + slope * h)


def extreme_bracket(
    fmap: ScalarMap, lo: float, hi: float, *, largest: bool = True, rtol: float = 1e-6, max_nodes: int = 50_000
) -> tuple[float, float]:
    """(sampled, bound) for max F (largest) or min F on [lo, hi], lo ≥ 0: the value F takes at a point and the
    enclosure bound over the whole interval, by the same branch and bound as `error_bracket` (a guard check:
    the bound is what can be certified, the sampled value what is attained)."""
    sign = 1.0 if largest else -1.0

    def bound(a: float, b: float) -> float:
        f_lo, f_hi, d_lo, d_hi = fmap.enclose(a, b)
        natural = f_hi if largest else -f_lo
        if d_lo is None or d_hi is None or not (math.isfinite(d_lo) and math.isfinite(d_hi)):
            return natural
        c = 0.5 * (a + b)
        value = sign * float(fmap.values(np.array([c]))[0])
        return min(natural, value + max(abs(d_lo), abs(d_hi)) * 0.5 * (b - a))

    edges = np.linspace(lo, hi, 33).tolist()
    best = float(np.max(sign * fmap.values(np.array(edges))))
    heap = [(-bound(a, b), a, b) for a, b in zip(edges[:-1], edges[1:])]
    heapq.heapify(heap)
    nodes, pruned = len(heap), -math.inf
    while heap and nodes < max_nodes:
        top = -heap[0][0]
        if not math.isfinite(top) and nodes > max_nodes // 2 or top <= best + rtol * max(abs(best), 1.0):
            break
        _, a, b = heapq.heappop(heap)
        m = 0.5 * (a + b)
        if not a < m < b:
            heapq.heappush(heap, (-top, a, b))
            break
        best = max(best, sign * float(fmap.values(np.array([m]))[0]))
        for x, y in ((a, m), (m, b)):
            u = bound(x, y)
            nodes += 1
            if u > best + 0.5 * rtol * max(abs(best), 1.0):
                heapq.heappush(heap, (-u, x, y))
            else:
                pruned = max(pruned, u)
    top = max(best, pruned, -heap[0][0] if heap else -math.inf)
    return sign * best, sign * top
