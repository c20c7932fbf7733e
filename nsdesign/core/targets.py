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

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from nsdesign.core.polynomial import OddPolynomial
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError

__all__ = [
    "POWER_RANGE",
    "TARGET_SPELLINGS",
    "CompositionMap",
    "ErrorBracket",
    "Target",
    "callable_target",
    "error_bracket",
    "parse_target",
    "table_target",
    "target_error",
]
POWER_RANGE = (-0.5, 1.0)  # p ∈ [−0.5, 1): σ^1 is the identity (no map needed), below −0.5 nothing is tabled
ERRORS = ("absolute", "relative")
TARGET_SPELLINGS = "sign, sigma^P (P in [-0.5, 1)), clip:TAU, soft:EPS"
_CALLABLE_POINTS = 257


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

    def derivative(self, x: np.ndarray | float) -> np.ndarray:
        """g'(σ) inside a piece (one-sided at a breakpoint: the piece to the right); arrays."""
        x = np.asarray(x, dtype=float)
        if self.kind == "sign":
            return np.zeros_like(x)
        if self.kind == "table":
            xs, ys = (np.asarray(v) for v in self.knots)  # type: ignore[union-attr]
            i = np.clip(np.searchsorted(xs, x, side="right") - 1, 0, len(xs) - 2)
            return (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
        p = float(self.param)  # type: ignore[arg-type]
        if self.kind == "power":
            return p * x ** (p - 1.0)
        if self.kind == "clip":
            return np.where(x < p, 1.0 / p, 0.0)
        return p * p / (x * x + p * p) ** 1.5  # soft

    def piece_ranges(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
        """(min g, max g, min g', max g') on each [a, b] inside one piece: g and g' are monotone there."""
        ga, gb = self.values(a), self.values(b)
        if self.kind in ("clip", "table"):  # linear pieces: the slope at the middle (a, b may be breakpoints)
            d = self.derivative(0.5 * (np.asarray(a) + np.asarray(b)))
            return np.minimum(ga, gb), np.maximum(ga, gb), d, d
        da, db = self.derivative(a), self.derivative(b)
        return np.minimum(ga, gb), np.maximum(ga, gb), np.minimum(da, db), np.maximum(da, db)

    def check_band(self, lo: float, hi: float) -> None:
        """The target must be defined on the band, and positive there for a relative error."""
        if self.kind == "table":
            xs = self.knots[0]  # type: ignore[index]
            if lo < xs[0] or hi > xs[-1]:
                raise InputError(f"table target covers [{xs[0]:g}, {xs[-1]:g}], not the band [{lo:g}, {hi:g}]")
        if self.error == "relative" and not float(np.min(self.values(np.geomspace(lo, hi, 257)))) > 0:
            raise InputError(f"target {self.name} is not positive on [{lo:g}, {hi:g}]: relative error undefined")


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
    """What the bracket needs of a map F: values at points, and on intervals [a, b] (arrays of them) the range
    of F and an enclosure of F' (None when not known: the natural enclosure alone is used)."""

    def values(self, x: np.ndarray) -> np.ndarray: ...

    def enclose(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any, Any]: ...


Pair = "tuple[np.ndarray, np.ndarray]"


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

    def enclose(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Exact range of F on each [a, b] (step images) and an enclosure of F' (the product of each p_i' over
        its exact input range)."""
        s = self.schedule.input_scale
        lo, hi = np.asarray(a, dtype=float) / s, np.asarray(b, dtype=float) / s
        d_lo = d_hi = np.full_like(lo, 1.0 / s)
        for p in self.schedule.steps:
            q = tuple((2 * j + 1) * c for j, c in enumerate(p.coefficients))
            y_lo = np.where((lo <= 0.0) & (hi >= 0.0), 0.0, np.minimum(lo * lo, hi * hi))
            y_hi = np.maximum(lo * lo, hi * hi)
            d_lo, d_hi = interval_product((d_lo, d_hi), polynomial_range(q, y_lo, y_hi))
            lo, hi = image_range(p.coefficients, lo, hi)
        return lo, hi, d_lo, d_hi


@lru_cache(maxsize=4096)
def _stationary(ascending: tuple[float, ...]) -> tuple[float, ...]:
    """The real roots of the derivative of Σ a_j y^j (where its extrema can sit)."""
    if len(ascending) <= 2:
        return ()
    if len(ascending) == 3:
        return () if ascending[2] == 0.0 else (-ascending[1] / (2 * ascending[2]),)
    roots = np.polynomial.Polynomial(list(ascending)).deriv().roots()
    return tuple(float(r.real) for r in roots if abs(r.imag) <= 1e-12 * max(1.0, abs(r)))


def polynomial_range(ascending: Sequence[float], lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact [min, max] of Σ a_j y^j on each [lo, hi]: the ends and the real stationary points inside."""
    coefficients = tuple(float(c) for c in ascending)
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        v_lo, v_hi = _horner(coefficients, lo), _horner(coefficients, hi)
        out_lo, out_hi = np.minimum(v_lo, v_hi), np.maximum(v_lo, v_hi)
        for r in _stationary(coefficients):
            inside = (lo < r) & (r < hi)
            if np.any(inside):
                v = _horner(coefficients, np.float64(r))
                out_lo = np.where(inside, np.minimum(out_lo, v), out_lo)
                out_hi = np.where(inside, np.maximum(out_hi, v), out_hi)
    return _finite_or_wide(out_lo, out_hi)


def image_range(odd: Sequence[float], lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact [min p, max p] on each [lo, hi] for the odd p(x) = Σ c_j x^(2j+1): ends and critical points inside."""
    p = OddPolynomial(tuple(odd))
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        v_lo, v_hi = p.evaluate(lo), p.evaluate(hi)
        out_lo, out_hi = np.minimum(v_lo, v_hi), np.maximum(v_lo, v_hi)
        for c in _critical(tuple(odd)):
            inside = (lo < c) & (c < hi)
            if np.any(inside):
                v = p(c)
                out_lo = np.where(inside, np.minimum(out_lo, v), out_lo)
                out_hi = np.where(inside, np.maximum(out_hi, v), out_hi)
    return _finite_or_wide(out_lo, out_hi)


@lru_cache(maxsize=4096)
def _critical(odd: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(OddPolynomial(odd).critical_points(-1e8, 1e8))


def _horner(coefficients: tuple[float, ...], y: np.ndarray) -> np.ndarray:
    acc = np.zeros_like(y, dtype=float)
    for c in reversed(coefficients):
        acc = acc * y + c
    return acc


def _finite_or_wide(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bad = ~(np.isfinite(lo) & np.isfinite(hi))
    if np.any(bad):
        lo, hi = np.where(bad, -np.inf, lo), np.where(bad, np.inf, hi)
    return lo, hi


def interval_product(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """[x₀, x₁]·[y₀, y₁] elementwise (arrays of intervals); a 0·∞ product widens to (−∞, ∞)."""
    with np.errstate(invalid="ignore", over="ignore"):
        products = (x[0] * y[0], x[0] * y[1], x[1] * y[0], x[1] * y[1])
        lo, hi = np.minimum.reduce(products), np.maximum.reduce(products)
    nan = np.isnan(lo) | np.isnan(hi)
    if np.any(nan):
        lo, hi = np.where(nan, -np.inf, lo), np.where(nan, np.inf, hi)
    return lo, hi


def interval_sum(*terms: Any) -> tuple[np.ndarray, np.ndarray]:
    return sum(t[0] for t in terms), sum(t[1] for t in terms)  # type: ignore[return-value]


def scaled(k: float, x: Any) -> tuple[np.ndarray, np.ndarray]:
    """k·[x₀, x₁] for a scalar k of either sign."""
    a, b = k * x[0], k * x[1]
    return np.minimum(a, b), np.maximum(a, b)


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
    target: Target, fmap: ScalarMap, lo: float, hi: float, *, rtol: float = 1e-6, max_nodes: int = 2_000_000
) -> ErrorBracket:
    """Branch and bound on [lo, hi] (module doc), all live intervals at once: bound each, drop those that cannot
    beat the best attained error by more than rtol, halve the rest (their midpoints raise the best). Stops when
    none is left, or at max_nodes (then the bracket is reported as it stands, not closed)."""
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        raise InputError(f"the band needs 0 < lo < hi, got [{lo}, {hi}]")
    target.check_band(lo, hi)
    edges = np.array(_initial_edges(target, lo, hi))
    a, b = edges[:-1], edges[1:]
    best, at = _point_errors(target, fmap, np.concatenate([edges, 0.5 * (a + b)]))
    nodes, pruned, upper_left = len(a), 0.0, 0.0
    while a.size:
        upper = _upper(target, fmap, a, b)
        live = upper > best * (1 + rtol) + 1e-15
        if np.any(~live):
            pruned = max(pruned, float(np.max(upper[~live])))
        a, b = a[live], b[live]
        m = 0.5 * (a + b)
        if a.size and (nodes + 2 * a.size > max_nodes or np.any(~((a < m) & (m < b)))):
            upper_left = float(np.max(upper[live]))  # out of nodes, or an interval one ulp wide: bounds stand
            break
        if a.size:
            value, where = _point_errors(target, fmap, m)
            if value > best:
                best, at = value, where
        a, b = np.concatenate([a, m]), np.concatenate([m, b])
        nodes += a.size
    return ErrorBracket(best, max(best, pruned, upper_left), at, target.error, nodes)


def _initial_edges(target: Target, lo: float, hi: float) -> list[float]:
    inner = [b for b in target.breakpoints if lo < b < hi]
    grid = np.geomspace(lo, hi, 65).tolist() if target.kind != "table" else [lo, hi]
    return sorted(set(grid + inner + [lo, hi]))


def _errors(target: Target, f: np.ndarray, x: np.ndarray) -> np.ndarray:
    g = target.values(x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = f - g if target.error == "absolute" else f / g - 1.0
    return np.where(np.isfinite(e), np.abs(e), math.inf)


def _point_errors(target: Target, fmap: ScalarMap, points: Any) -> tuple[float, float]:
    x = np.asarray(points, dtype=float)
    e = _errors(target, fmap.values(x), x)
    i = int(np.argmax(e))
    return float(e[i]), float(x[i])


def _upper(target: Target, fmap: ScalarMap, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """max |error| over each [a, b]: the tighter of the natural enclosure and the mean-value one about the middle."""
    f_lo, f_hi, d_lo, d_hi = fmap.enclose(a, b)
    g_lo, g_hi, gd_lo, gd_hi = target.piece_ranges(a, b)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if target.error == "absolute":
            n_lo, n_hi = f_lo - g_hi, f_hi - g_lo
        else:
            n_lo = np.where(f_lo >= 0, f_lo / g_hi, f_lo / g_lo) - 1.0
            n_hi = np.where(f_hi >= 0, f_hi / g_lo, f_hi / g_hi) - 1.0
        bound = np.maximum(np.abs(n_lo), np.abs(n_hi))
        bound = np.where(np.isfinite(bound), bound, np.inf)
        if d_lo is None or d_hi is None:
            return bound
        c, h = 0.5 * (a + b), 0.5 * (b - a)
        center = _errors(target, fmap.values(c), c)
        if target.error == "absolute":
            slope = np.maximum(np.abs(d_lo - gd_hi), np.abs(d_hi - gd_lo))
        else:  # e' = F'/g − F·g'/g²
            inv = (1.0 / g_hi, 1.0 / g_lo)
            t1 = interval_product((d_lo, d_hi), inv)
            t2 = interval_product((f_lo, f_hi), interval_product((gd_lo, gd_hi), (inv[0] ** 2, inv[1] ** 2)))
            slope = np.maximum(np.abs(t1[0] - t2[1]), np.abs(t1[1] - t2[0]))
        mean_value = center + slope * h
        return np.where(np.isfinite(mean_value), np.minimum(bound, mean_value), bound)


def extreme_bracket(
    fmap: ScalarMap, lo: float, hi: float, *, largest: bool = True, rtol: float = 1e-6, max_nodes: int = 500_000
) -> tuple[float, float]:
    """(attained, bound) for max F (largest) or min F on [lo, hi]: a value F takes at a point, and the
    enclosure bound over the whole interval, by the same batched branch and bound (a guard check: the bound
    is what can be certified, the attained value what is seen)."""
    sign = 1.0 if largest else -1.0
    edges = np.linspace(lo, hi, 33)
    a, b = edges[:-1], edges[1:]
    best = float(np.max(sign * fmap.values(edges)))
    nodes, pruned, left = len(a), -math.inf, -math.inf
    while a.size:
        f_lo, f_hi, d_lo, d_hi = fmap.enclose(a, b)
        bound = f_hi if largest else -f_lo
        if d_lo is not None and d_hi is not None:
            c = 0.5 * (a + b)
            with np.errstate(invalid="ignore", over="ignore"):
                mv = sign * fmap.values(c) + np.maximum(np.abs(d_lo), np.abs(d_hi)) * 0.5 * (b - a)
            bound = np.where(np.isfinite(mv), np.minimum(bound, mv), bound)
        bound = np.where(np.isnan(bound), np.inf, bound)
        live = bound > best + rtol * max(abs(best), 1.0)
        if np.any(~live):
            pruned = max(pruned, float(np.max(bound[~live])))
        a, b, bound = a[live], b[live], bound[live]
        m = 0.5 * (a + b)
        if not a.size or nodes + 2 * a.size > max_nodes or np.any(~((a < m) & (m < b))):
            left = float(np.max(bound)) if a.size else left
            break
        best = max(best, float(np.max(sign * fmap.values(m))))
        a, b = np.concatenate([a, m]), np.concatenate([m, b])
        nodes += a.size
    return sign * best, sign * max(best, pruned, left)
