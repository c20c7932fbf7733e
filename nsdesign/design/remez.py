"""Best odd polynomial approximation of the constant 1 on an interval (Remez exchange).

Problem: among odd polynomials p of degree 2d+1, minimise E = max_{x∈[a,b]} |1 − p(x)|, 0 < a < b.
The optimum equioscillates at d+2 points: a, the d interior critical points of p, and b
(Chebyshev's alternation theorem; for quintics this is the 4-point system of Polar Express).

Numerics. We solve on t = x/b ∈ [r, 1], r = a/b, and write p(t) = t · g(s) with g in the Chebyshev basis
of s = (2t² − 1 − r²)/(1 − r²) ∈ [−1, 1]. That basis keeps the reference system well conditioned for any
r, so the exchange converges even for near-converged steps (r → 1); only the final conversion to the
monomial coefficients users run loses digits, as it must. Below a relative width of 5e-6 (the
threshold of Polar Express's `optimal_quintic`) the monomial coefficients are numerically
indistinguishable from the limit polynomial — the one with p(b) = 1 and p', p'', …, p^(d) = 0 at b — and we
return that limit (for quintics (15/8, −10/8, 3/8)/b^k, as Polar Express does) whenever its error is within
64 ulp; a cubic's limit is not, so cubics still run the exchange there.

Certificate. The de la Vallée Poussin bracket: if 1 − p alternates in sign on the reference points,
min |1 − p(x_i)| ≤ E* ≤ max_{[a,b]} |1 − p|. The upper value is exact (critical points, not a grid).
A result is certified when the bracket's relative gap is below 1e-9, or when its absolute gap is below the
round-off of evaluating p in double precision (Horner's bound 2n·ε·Σ|c_j|b^(2j+1) for n = d+1 terms,
with a floor of 64 ulp): high degrees on narrow bands have optimal errors so small that no double-
precision polynomial can be resolved more finely than that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from fractions import Fraction

from nsdesign.core.limits import check_degree
from nsdesign.core.polynomial import OddPolynomial, _real_roots_ascending
from nsdesign.errors import InputError

NARROW_RELATIVE_WIDTH = 5e-6  # Polar Express `optimal_quintic` switches to the limit polynomial here
CERTIFICATE_GAP = 1e-9
_EPS = 2.220446049250313e-16
# Double-precision coefficients cannot resolve errors below ~64 ulp of 1; gaps under this are certified too.
CERTIFICATE_ABSOLUTE_GAP = 64 * _EPS
_MAX_ITERATIONS = 20  # quadratic convergence: 3–6 in practice; more only when round-off dominates (r → 1)


@dataclass(frozen=True)
class MinimaxResult:
    """The best odd polynomial on [lower, upper] with its error bracket."""

    polynomial: OddPolynomial
    lower: float
    upper: float
    error: float  # exact max |1 − p| on [lower, upper]
    error_lower_bound: float  # de la Vallée Poussin lower bound on the optimal error
    reference: tuple[float, ...]
    iterations: int
    method: str  # "remez", "limit" (narrow-interval limit) or "round-off" (see _round_off_fallback)
    image: tuple[float, float] | None = field(default=None, compare=False)  # exact p([lower, upper]), when computed

    @property
    def relative_gap(self) -> float:
        if self.error == 0.0:
            return 0.0
        return (self.error - self.error_lower_bound) / self.error

    @property
    def evaluation_floor(self) -> float:
        """Error bound of evaluating p in double precision on [lower, upper] (Horner, 2n·ε·Σ|c_j|·upper^(2j+1))."""
        c = self.polynomial.coefficients
        size = sum(abs(cj) * self.upper ** (2 * j + 1) for j, cj in enumerate(c))
        return max(CERTIFICATE_ABSOLUTE_GAP, 2 * len(c) * _EPS * size)

    @property
    def certified(self) -> bool:
        if self.method == "limit":
            return self.error <= CERTIFICATE_ABSOLUTE_GAP
        if self.method == "round-off":  # E* ≥ 0, so an error within the evaluation floor is optimal in doubles
            return self.error <= self.evaluation_floor
        gap = self.error - self.error_lower_bound
        return self.relative_gap < CERTIFICATE_GAP or gap <= self.evaluation_floor


def minimax_odd(lower: float, upper: float, degree: int = 5) -> MinimaxResult:
    """The odd polynomial of `degree` closest to 1 in max-norm on [lower, upper]."""
    _check_problem(lower, upper, degree)
    d = (degree - 1) // 2
    r = lower / upper
    if d == 0:
        # p(x) = c·x: best constant slope, error equal at both ends.
        c = 2.0 / (lower + upper)
        p = OddPolynomial((c,))
        e = (upper - lower) / (upper + lower)
        return MinimaxResult(p, lower, upper, e, e, (lower, upper), 0, "remez")
    if 1.0 - r <= NARROW_RELATIVE_WIDTH:
        limit = _limit_result(lower, upper, d)
        if limit.certified:  # quintics and up; a cubic's limit is still ~w² from optimal, so it goes on
            return limit

    reference = _initial_reference(r, d)
    g_power: list[float] = []
    iteration = 0
    try:
        for iteration in range(1, _MAX_ITERATIONS + 1):
            g_power = _solve_reference(reference, r, d)
            interior = _interior_critical_points(g_power, r, d)
            if len(interior) != d:
                return _round_off_fallback(lower, upper, degree)
            # The largest relative move of an interior point (the end points r and 1 never move).
            moved = 0.0
            for x, y in zip(interior, reference[1:]):
                step = abs(x - y) / x
                if step > moved:
                    moved = step
            reference = [r, *interior, 1.0]
            if moved <= 1e-5:
                # Quadratic convergence puts the new reference within ~1e-8 of the optimum, and the levelled
                # solution is stationary in the reference, so one more solve gives the coefficients to ~1e-16.
                g_power = _solve_reference(reference, r, d)
                break
    except ZeroDivisionError:
        # Reference points that coincide in double precision (a band so narrow that t_i = t_j for a high degree
        # whose limit polynomial is not within 64 ulp): the exchange has nothing to level; round-off rules here.
        return _round_off_fallback(lower, upper, degree)
    monomial_t = _monomial_in_t(g_power, r, d)
    if d == 2:
        m0, m1, m2 = monomial_t
        p = OddPolynomial((m0 / upper**1, m1 / upper**3, m2 / upper**5))
    else:
        p = OddPolynomial(tuple(c / upper ** (2 * j + 1) for j, c in enumerate(monomial_t)))
    lo, hi = p.image(lower, upper)
    error = max(1.0 - lo, hi - 1.0)
    points = tuple(t * upper for t in reference)
    if d == 2:  # p(x) as OddPolynomial.__call__ computes it (Horner with its leading 0.0), inline
        c0, c1, c2 = p.coefficients
        errors = []
        for x in points:
            y = x * x
            errors.append(1.0 - (((0.0 * y + c2) * y + c1) * y + c0) * x)
    else:
        errors = [1.0 - p(x) for x in points]
    alternates = all(errors[i] * errors[i + 1] < 0 for i in range(len(errors) - 1))
    lower_bound = min(abs(e) for e in errors) if alternates else 0.0
    return MinimaxResult(p, lower, upper, error, lower_bound, points, iteration, "remez", (lo, hi))


@lru_cache(maxsize=None)
def limit_coefficients(d: int) -> tuple[Fraction, ...]:
    """Exact odd q of degree 2d+1 with q(1) = 1 and q^(k)(1) = 0 for k = 1…d (the narrow-interval limit).

    Those conditions say q'(t) = K·(1 − t²)^d, so q(t) = K·Σ_j C(d, j)(−1)^j t^(2j+1)/(2j+1), with K fixed by
    q(1) = 1. For d = 2 this is (15/8, −10/8, 3/8), the classical Newton–Schulz quintic.
    """
    terms = [Fraction((-1) ** j * math.comb(d, j), 2 * j + 1) for j in range(d + 1)]
    scale = 1 / sum(terms)
    return tuple(scale * t for t in terms)


# --------------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _limit_floats(d: int) -> tuple[float, ...]:
    return tuple(float(c) for c in limit_coefficients(d))


def _limit_result(lower: float, upper: float, d: int) -> MinimaxResult:
    if d == 2:
        c0, c1, c2 = _limit_floats(2)
        p = OddPolynomial((c0 / upper**1, c1 / upper**3, c2 / upper**5))
    else:
        p = OddPolynomial(tuple(c / upper ** (2 * j + 1) for j, c in enumerate(_limit_floats(d))))
    lo, hi = p.image(lower, upper)
    return MinimaxResult(p, lower, upper, max(1 - lo, hi - 1), 0.0, (upper,), 0, "limit", (lo, hi))


def _round_off_fallback(lower: float, upper: float, degree: int) -> MinimaxResult:
    """When round-off swamps the exchange (the optimum's error is at double-precision level).

    A high degree on a narrow band has an optimal error below what its double-precision coefficients can
    resolve, and the exchange loses its alternation. Any polynomial of this degree whose exact error is
    within the evaluation floor is then optimal in double precision. Candidates: the narrow-interval limit
    polynomial and the optimum of the next lower degree (a polynomial of this degree with a zero top
    coefficient); the one with the smaller exact error is returned, certified only if it is within the floor.
    This happens only in narrow windows where E* is itself ~1e-16 (e.g. degree 9 at relative width ~1.5e-3,
    13 at ~1.5e-2); tests/design/test_remez.py sweeps widths 1e-7…0.3 for degrees 3–21 and pins the returned
    error below 1e-12 wherever the result is not certified.
    """
    d = (degree - 1) // 2
    candidates = [_limit_result(lower, upper, d)]
    if degree >= 3:
        try:
            candidates.append(minimax_odd(lower, upper, degree - 2))
        except InputError:
            pass
    best = min(candidates, key=lambda c: c.error)
    return MinimaxResult(best.polynomial, lower, upper, best.error, 0.0, best.reference, best.iterations, "round-off")


def _check_problem(lower: float, upper: float, degree: int) -> None:
    if not (math.isfinite(lower) and math.isfinite(upper)) or not (0 < lower < upper):
        raise InputError(f"a design interval needs 0 < lower < upper, got [{lower}, {upper}]")
    check_degree(degree, minimum=1)


def _initial_reference(r: float, d: int) -> list[float]:
    # Chebyshev extrema in s; they become exact as r → 1 and are a good start everywhere else.
    if d == 2:
        _, c1, c2, _ = _chebyshev_extrema(2)
        return [r, math.sqrt(((1 - r * r) * c1 + 1 + r * r) / 2), math.sqrt(((1 - r * r) * c2 + 1 + r * r) / 2), 1.0]
    t = [math.sqrt(((1 - r * r) * c + 1 + r * r) / 2) for c in _chebyshev_extrema(d)]
    t[0], t[-1] = r, 1.0
    return t


@lru_cache(maxsize=None)
def _chebyshev_extrema(d: int) -> tuple[float, ...]:
    """−cos(πi/(d+1)), i = 0…d+1: the extrema of the Chebyshev polynomial T_(d+1) on [−1, 1], ascending."""
    return tuple(-math.cos(math.pi * i / (d + 1)) for i in range(d + 2))


def _solve_reference(reference: list[float], r: float, d: int) -> list[float]:
    if d == 2:
        return _solve_reference_quintic(reference, r)
    return _solve_reference_general(reference, r, d)


def _solve_reference_quintic(reference: list[float], r: float) -> list[float]:
    """`_solve_reference_general` for d = 2 (4 reference points), unrolled: the same operations in the same order,
    so the same bits, without the loops (every greedy step of a quintic schedule runs this 3–5 times)."""
    t0, t1, t2, t3 = reference
    rr, w = r * r, 1 - r * r
    s0, s1, s2, s3 = (2 * t0 * t0 - 1 - rr) / w, (2 * t1 * t1 - 1 - rr) / w, (2 * t2 * t2 - 1 - rr) / w, (2 * t3 * t3 - 1 - rr) / w
    even = 0.0 + 1.0 / (t0 * (s0 - s1) * (s0 - s2) * (s0 - s3))
    odd = 0.0 + 1.0 / (t1 * (s1 - s0) * (s1 - s2) * (s1 - s3))
    even += 1.0 / (t2 * (s2 - s0) * (s2 - s1) * (s2 - s3))
    odd += 1.0 / (t3 * (s3 - s0) * (s3 - s1) * (s3 - s2))
    one_minus_e = -2.0 * odd / (even - odd)
    one_plus_e = 2.0 * even / (even - odd)
    v0, v1, v2 = one_minus_e / t0, one_plus_e / t1, one_minus_e / t2
    v2 = (v2 - v1) / (s2 - s1)
    v1 = (v1 - v0) / (s1 - s0)
    v2 = (v2 - v1) / (s2 - s0)
    p0 = -s1 * v2 + v1
    return [-s0 * p0 + v0, p0 - s0 * v2, v2]


def _solve_reference_general(reference: list[float], r: float, d: int) -> list[float]:
    """The levelled solution t_i·g(s_i) + (−1)^i E = 1 on the reference; g in the power basis of s.

    g has degree d but is pinned at d+2 points, so its (d+1)-th divided difference vanishes:
    Σ λ_i g(s_i) = 0 with λ_i = 1/Π_{j≠i}(s_i − s_j). Substituting g(s_i) = (1 − (−1)^i E)/t_i gives E in
    closed form (the barycentric Remez formula); g is then the Newton interpolant of those values.
    s ∈ [−1, 1] keeps this well conditioned for any r.
    """
    n = d + 2
    s = [(2 * t * t - 1 - r * r) / (1 - r * r) for t in reference]
    even = odd = 0.0  # Σ over even / odd i of λ_i / t_i
    for i in range(n):
        weight = reference[i]
        for j in range(n):
            if j != i:
                weight *= s[i] - s[j]
        if i % 2:
            odd += 1.0 / weight
        else:
            even += 1.0 / weight
    # E = (even + odd)/(even − odd); 1 ∓ E are formed without cancellation (E → 1 as r → 0).
    one_minus_e = -2.0 * odd / (even - odd)
    one_plus_e = 2.0 * even / (even - odd)
    values = [(one_minus_e if i % 2 == 0 else one_plus_e) / reference[i] for i in range(d + 1)]
    # Newton divided differences on the first d+1 points, then nested multiplication to the power basis.
    for level in range(1, d + 1):
        for i in range(d, level - 1, -1):
            values[i] = (values[i] - values[i - 1]) / (s[i] - s[i - level])
    power = [values[d]]
    for k in range(d - 1, -1, -1):
        shifted = [0.0] + power  # multiply by (s − s_k), then add the k-th divided difference
        for m in range(len(power)):
            shifted[m] -= s[k] * power[m]
        shifted[0] += values[k]
        power = shifted
    return power


def _interior_critical_points(g: list[float], r: float, d: int) -> list[float]:
    # p(t) = t·g(s), ds/dt = 4t/(1−r²) ⇒ p'(t) = g(s) + (2s + shift)·g'(s), shift = 2(1+r²)/(1−r²).
    shift = 2 * (1 + r * r) / (1 - r * r)
    if d == 2:  # the loop below unrolled (same operations, same bits)
        g0, g1, g2 = g
        h0, h1, h2 = g0 + shift * 1 * g1, (g1 + 2 * 1 * g1) + shift * 2 * g2, g2 + 2 * 2 * g2
        if h2 != 0.0 and 1e-100 < max(abs(h0), abs(h1), abs(h2)) < 1e100:  # `_real_roots_ascending`'s quadratic
            # `_quadratic_roots`, the filter to (−1, 1), ascending order and the map back to t, written out
            disc = h1 * h1 - 4 * h2 * h0
            if disc < 0:
                return []
            q = -0.5 * (h1 + math.copysign(math.sqrt(disc), h1))
            s0, s1 = q / h2, (h0 / q if q != 0.0 else 0.0)
            rr = r * r
            w = 1 - rr
            if -1 < s0 < 1:
                if -1 < s1 < 1:
                    if s1 < s0:
                        s0, s1 = s1, s0
                    return [math.sqrt((w * s0 + 1 + rr) / 2), math.sqrt((w * s1 + 1 + rr) / 2)]
                return [math.sqrt((w * s0 + 1 + rr) / 2)]
            return [math.sqrt((w * s1 + 1 + rr) / 2)] if -1 < s1 < 1 else []
        h = [h0, h1, h2]
    else:
        h = list(g)
        for k in range(1, d + 1):
            h[k - 1] += shift * k * g[k]
            h[k] += 2 * k * g[k]
    roots = sorted(s for s in _real_roots_ascending(tuple(h)) if -1 < s < 1)
    return [math.sqrt(((1 - r * r) * s + 1 + r * r) / 2) for s in roots]


def _monomial_in_t(g: list[float], r: float, d: int) -> list[float]:
    """Substitute s = α·y + β (y = t²) into g's power series: coefficients of t^(2j+1)."""
    alpha, beta = 2 / (1 - r * r), -(1 + r * r) / (1 - r * r)
    if d == 2:  # the loop below unrolled (same operations, same bits)
        g0, g1, g2 = g
        return [
            0.0 + g0 * 1 * alpha**0 * beta**0 + g1 * 1 * alpha**0 * beta**1 + g2 * 1 * alpha**0 * beta**2,
            0.0 + g1 * 1 * alpha**1 * beta**0 + g2 * 2 * alpha**1 * beta**1,
            0.0 + g2 * 1 * alpha**2 * beta**0,
        ]
    out = [0.0] * (d + 1)
    for k, gk in enumerate(g):
        for j in range(k + 1):
            out[j] += gk * math.comb(k, j) * alpha**j * beta ** (k - j)
    return out
