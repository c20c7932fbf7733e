"""Odd polynomials acting on singular values.

One Newton–Schulz step with coefficients (c0, c1, …, cd) maps each singular value σ to
p(σ) = c0·σ + c1·σ³ + … + cd·σ^(2d+1). Everything in nsdesign is built from three exact operations on
such a polynomial: evaluate it, find its critical points, and take the exact image of an interval
(min and max over the endpoints and the critical points inside — never a grid).

p is odd, so p' is even: p'(x) = q(x²) with q of degree d. Critical points are ±√y for the
non-negative real roots y of q, found in closed form up to d = 2 (quintics, the common case) and by
companion-matrix roots plus Newton polishing above that.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from nsdesign.errors import InputError

# --------------------------------------------------------------------------------------------------
# The polynomial
# --------------------------------------------------------------------------------------------------



def _floats(values: Any) -> tuple[float, ...]:
    """Coefficients as floats. Plain floats (what every designer passes) take the fast path; anything else must be
    a real number, not a bool or a numeric string (float("3") and float(True) would pass), and must fit a float
    (float(10**400) raises OverflowError): both are InputErrors."""
    values = tuple(values)
    if all(type(v) is float for v in values):
        return values
    out = []
    for v in values:
        if isinstance(v, (bool, str, bytes)) or not isinstance(v, numbers.Real):
            raise InputError(f"step coefficients must be numbers, got {v!r}"[:200])
        try:
            out.append(float(v))
        except OverflowError:
            raise InputError(f"step coefficients must be finite numbers; {str(v)[:20]}… overflows a float") from None
    return tuple(out)

@dataclass(frozen=True)
class OddPolynomial:
    """p(x) = Σ_j coefficients[j] · x^(2j+1); coefficients[0] is the slope at 0."""

    coefficients: tuple[float, ...]

    def __post_init__(self) -> None:
        coefficients = _floats(self.coefficients)
        if not coefficients:
            raise InputError("a step needs at least one coefficient")
        # One sum instead of a check per coefficient (every greedy step builds a few polynomials): a sum of
        # finite values is finite unless it overflows, and only then are the coefficients looked at one by one.
        if not math.isfinite(sum(coefficients)) and not all(math.isfinite(c) for c in coefficients):
            raise InputError(f"step coefficients must be finite numbers, got {list(coefficients)}")
        # Trailing zeros carry no meaning (a quintic with c = 0 is a cubic): drop them so equal maps compare equal.
        while len(coefficients) > 1 and coefficients[-1] == 0.0:
            coefficients = coefficients[:-1]
        object.__setattr__(self, "coefficients", coefficients)

    # -- shape ------------------------------------------------------------------------------------

    @property
    def degree(self) -> int:
        return 2 * len(self.coefficients) - 1

    @property
    def slope_at_zero(self) -> float:
        return self.coefficients[0]

    def padded(self, degree: int) -> tuple[float, ...]:
        """Coefficients padded with zeros up to an odd `degree` (for tabular export)."""
        width = (degree + 1) // 2
        if width < len(self.coefficients):
            raise InputError(f"cannot write a degree-{self.degree} step as degree {degree}")
        return self.coefficients + (0.0,) * (width - len(self.coefficients))

    # -- evaluation -------------------------------------------------------------------------------

    def __call__(self, x: float) -> float:
        y = x * x
        acc = 0.0
        for c in reversed(self.coefficients):
            acc = acc * y + c
        return acc * x

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        y = x * x
        acc = np.zeros_like(x)
        for c in reversed(self.coefficients):
            acc = acc * y + c
        return acc * x

    def derivative(self, x: float) -> float:
        y = x * x
        acc = 0.0
        for j in reversed(range(len(self.coefficients))):
            acc = acc * y + (2 * j + 1) * self.coefficients[j]
        return acc

    # -- transformations --------------------------------------------------------------------------

    def input_scaled(self, s: float) -> OddPolynomial:
        """x ↦ p(x / s): the Polar Express safety factor (s > 1 widens the region the step handles)."""
        return OddPolynomial(tuple(c / s ** (2 * j + 1) for j, c in enumerate(self.coefficients)))

    def output_scaled(self, k: float) -> OddPolynomial:
        """x ↦ k · p(x)."""
        return OddPolynomial(tuple([k * c for c in self.coefficients]))

    # -- exact analysis ---------------------------------------------------------------------------

    def critical_points(self, lo: float, hi: float) -> list[float]:
        """Sorted zeros of p' strictly inside (lo, hi)."""
        points: list[float] = []
        reach = max(lo * lo, hi * hi)
        for y in _nonnegative_roots_in_y(self.coefficients, reach):
            r = math.sqrt(y)
            for x in (-r, r) if r > 0 else (0.0,):
                if lo < x < hi:
                    points.append(x)
        return sorted(points)

    def image(self, lo: float, hi: float) -> tuple[float, float]:
        """Exact [min p, max p] over [lo, hi]: endpoints and interior critical points.

        Past the float range (a diverging schedule) the image is reported as (−inf, inf).
        """
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return -math.inf, math.inf
        if len(self.coefficients) == 3:  # quintics, the common case: the same operations unrolled (same bits)
            quintic = _quintic_image(self.coefficients, lo, hi)
            if quintic is not None:
                return quintic
        values = [self(lo), self(hi)] + [self(x) for x in self.critical_points(lo, hi)]
        if not all(math.isfinite(v) for v in values):
            return -math.inf, math.inf
        return min(values), max(values)

    def fixed_points(self) -> list[float]:
        """Positive x with p(x) = x (the values a repeated step converges to or is repelled from)."""
        shifted = (self.coefficients[0] - 1.0,) + self.coefficients[1:]
        # p(x) - x = x · r(x²); the positive fixed points are √y for positive roots y of r.
        roots = _real_roots_ascending(shifted)
        return sorted(math.sqrt(y) for y in roots if y > 0)


# --------------------------------------------------------------------------------------------------
# Roots of the derivative, in y = x²
# --------------------------------------------------------------------------------------------------


def _nonnegative_roots_in_y(coefficients: tuple[float, ...], reach: float) -> list[float]:
    """Roots y ∈ [0, reach] of p'(√y) = 0.

    Top terms that stay below 1e-13 of the largest term everywhere on [0, reach] are dropped before the
    eigenvalue solve: they move the roots in that range by a relative ~1e-13 at most, and would otherwise
    add enormous roots that wreck the companion-matrix eigenvalues. The roots are then polished on the
    full derivative, which removes that displacement.
    """
    full = tuple((2 * j + 1) * c for j, c in enumerate(coefficients))
    q = list(full)
    reach = min(reach, 1e16)  # σ² beyond this is divergence anyway; keeps reach**j finite up to degree 31
    size = [abs(c) * reach**j for j, c in enumerate(q)]
    while len(q) > 1 and size[-1] <= 1e-13 * max(size):
        q.pop()
        size.pop()
    roots = _real_roots_ascending(tuple(q))
    if len(q) < len(full):
        roots = [_newton_polish(full, y) for y in roots]
    return [y for y in roots if 0.0 <= y]


def _quintic_image(coefficients: tuple[float, ...], lo: float, hi: float) -> tuple[float, float] | None:
    """`OddPolynomial.image` for a quintic, with `critical_points`, `_nonnegative_roots_in_y` and
    `_real_roots_ascending` inlined: the same floating-point operations in the same order, so the same bits,
    without the calls, lists and generic loops. Greedy computes two or three images per step, so this is most of
    its time. Returns None where the generic path takes a rare branch (a negligible top term, a rescale); the
    caller then runs the generic path."""
    c0, c1, c2 = coefficients
    b, a = 3 * c1, 5 * c2  # the derivative in y = x²: c0 + 3·c1·y + 5·c2·y² (ascending: c0, b, a)
    reach = min(max(lo * lo, hi * hi), 1e16)
    size0, size1, size2 = abs(c0), abs(b) * reach, abs(a) * reach**2  # |q_j|·reach^j
    if a == 0.0 or size2 <= 1e-13 * max(size0, size1, size2) or not 1e-100 < max(size0, abs(b), abs(a)) < 1e100:
        return None
    y = lo * lo
    low = (((0.0 * y + c2) * y + c1) * y + c0) * lo  # Horner as in __call__, the leading 0.0 included
    y = hi * hi
    high = (((0.0 * y + c2) * y + c1) * y + c0) * hi
    values = [low, high]
    disc = b * b - 4 * a * c0
    if disc >= 0:  # `_quadratic_roots`, then `critical_points`' filter (y ≥ 0, ±√y inside (lo, hi)), sorted
        s = -0.5 * (b + math.copysign(math.sqrt(disc), b))
        points = []
        for y in (s / a, c0 / s if s != 0.0 else 0.0):
            if 0.0 <= y:
                r = math.sqrt(y)
                if r > 0:
                    if lo < -r < hi:
                        points.append(-r)
                    if lo < r < hi:
                        points.append(r)
                elif lo < 0.0 < hi:
                    points.append(0.0)
        if len(points) > 1:
            points.sort()
        for x in points:
            y = x * x
            values.append((((0.0 * y + c2) * y + c1) * y + c0) * x)
    for v in values:
        if not math.isfinite(v):
            return -math.inf, math.inf
    return min(values), max(values)


def _real_roots_ascending(q: tuple[float, ...]) -> list[float]:
    """Real roots of q0 + q1·y + q2·y² + … (ascending coefficients)."""
    while len(q) > 1 and q[-1] == 0.0:
        q = q[:-1]
    if len(q) == 1:
        return []
    size = max(map(abs, q))
    if not 1e-100 < size < 1e100:  # rescaling leaves the roots alone and keeps b² − 4ac from under/overflowing
        q = tuple(c / size for c in q)
    if len(q) == 2:
        return [-q[0] / q[1]]
    if len(q) == 3:
        return _quadratic_roots(*q)
    raw = np.roots(np.array(q[::-1], dtype=float))
    # A complex pair with a tiny imaginary part is at most a double root of p': not an extremum, so
    # dropping it never changes an image. Only clearly real roots are kept, then polished.
    real = [r.real for r in raw if np.isfinite(r) and abs(r.imag) <= 1e-12 * abs(r)]
    return [_newton_polish(q, y) for y in real]


def _quadratic_roots(c: float, b: float, a: float) -> list[float]:
    """Real roots of c + b·y + a·y² (a ≠ 0), the numerically stable pair (no cancellation between −b and √disc)."""
    disc = b * b - 4 * a * c
    if disc < 0:
        return []
    s = -0.5 * (b + math.copysign(math.sqrt(disc), b))
    return [s / a, c / s if s != 0.0 else 0.0]


def _newton_polish(q: tuple[float, ...], y: float, iterations: int = 3) -> float:
    """A few Newton steps on q at y, kept only while they shrink |q| without wandering off."""
    start = y
    best, best_value = y, abs(_horner(q, y)[0])
    for _ in range(iterations):
        value, slope = _horner(q, y)
        if slope == 0.0:
            break
        y -= value / slope
        candidate = abs(_horner(q, y)[0])
        if candidate >= best_value or abs(y - start) > 1e-6 * max(1.0, abs(start)):
            break
        best, best_value = y, candidate
    return best


def _horner(q: tuple[float, ...], y: float) -> tuple[float, float]:
    value = slope = 0.0
    for c in reversed(q):
        slope = slope * y + value
        value = value * y + c
    return value, slope
