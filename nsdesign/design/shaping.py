"""Designs for spectral-shaping targets: the cheapest map U F(Σ) Vᵀ within a tolerance of U g(Σ) Vᵀ on a band.

Every candidate is a *pipeline*: a scalar map of σ built from Newton–Schulz compositions and a few extra matrix
products, with its exact error (`core.targets.error_bracket`) and its matmul count (rectangular m×n-sized
products and square m×m ones, counted as the runtime `nsdesign.torch.shaping` issues them). Four shapes:

- **odd** — one odd polynomial F = p (one Newton–Schulz step of degree 2d+1): the best one for the target by a
  weighted Remez exchange, certified by de la Vallée Poussin (alternation at d+2 points gives a lower bound on
  the best error of ANY odd polynomial of that degree, so also on every composition whose degrees multiply to
  it: that is the lower bound reported for compositions when their degree is small enough to fit).
- **polar** — the sign target: the greedy composition (Amsel et al. 2025, Thm. 4.1: optimal among compositions
  of the same degrees, certified step by step).
- **product** — F(σ) = P(σ)·q(σ²): the polar factor O = P(X) times a polynomial q of the Gram matrix A = XXᵀ
  (q(A)·O), with q fitted by the same Remez exchange to g/P in the target's error (σ^p, tables). Costs the polar
  stage + A (1 rectangular) + deg q square (Clenshaw on q's Chebyshev form: stable in low precision, one product
  more than Horner) + q(A)·O (1 rectangular). A and q(A) run in fp32 at least (in bf16 A loses every eigenvalue
  below ~2⁻⁸ of the largest).
- **clip** — min(σ/τ, 1) through the polar factor of a shifted matrix (Lo Kun Lo's spectral clipping, as NVIDIA
  Emerging-Optimizers builds it, one-sided): O = P₁(X), S = P₂(c·(τI − O Xᵀ)) on the m×m symmetric matrix, and
  F = (τO + X − S(τO − X))/(2τ). On scalars: (τF₁ + σ − F₂(c(τ − σF₁))(τF₁ − σ))/(2τ). Where σ < τ the F₁ terms
  cancel, so P₁ only needs the band [≈τ, u], and P₂ only needs |τ − σ| above a small δ: both far cheaper than
  a full polar of [l, u]. c is fixed from the exact range of σF₁ (no data-dependent norm).
- **soft** — σ/√(σ²+ε²) is the polar factor of [X, εI] restricted to X's columns: a polar composition on the
  band [ε, √(u²+ε²)] of the augmented matrix, certified as the sign target is.

"Guarded": every returned pipeline keeps F ≥ 0 on [0, u] and F ≤ MAX_OVERSHOOT·max g on [u, 1.02u] (enclosures).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from nsdesign.core.limits import DEFAULT_HEADROOM, MAX_OVERSHOOT
from nsdesign.core.metrics import overshoot
from nsdesign.core.schedule import Schedule
from nsdesign.core.targets import (
    CompositionMap,
    ErrorBracket,
    ScalarMap,
    Target,
    error_bracket,
    extreme_bracket,
    interval_product,
    interval_sum,
    parse_target,
    polynomial_range,
    scaled,
)
from nsdesign.design.greedy import greedy
from nsdesign.design.weighted_remez import error_weight, remez
from nsdesign.errors import InputError
from nsdesign.precision.kernels import matmul_counts

CERTIFICATE_GAP = 1e-6


# --------------------------------------------------------------------------------------------------
# Pipelines
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pipeline:
    """A map of σ and what it costs: `rect` m×n-sized products, `square` m×m ones (`augmented`: the rectangular
    ones run on m×(n+m), the soft polar's [X, εI])."""

    name: str
    kind: str  # odd | polar | product | clip | soft | practice
    fmap: Any  # a ScalarMap
    rect: int
    square: int
    stages: tuple[tuple[str, Any], ...] = ()  # (role, Schedule or coefficient tuple) for the runtime and exports
    params: dict[str, float] = field(default_factory=dict)
    augmented: bool = False

    @property
    def matmuls(self) -> int:
        return self.rect + self.square

    def flops(self, m: int, n: int) -> float:
        m, n = min(m, n), max(m, n)
        width = n + m if self.augmented else n
        return 2.0 * m * m * width * self.rect + 2.0 * m**3 * self.square

    def error(self, target: Target, lo: float, hi: float, rtol: float = 1e-6) -> ErrorBracket:
        return error_bracket(target, self.fmap, lo, hi, rtol=rtol)


def composition_pipeline(schedule: Schedule, name: str = "", kind: str = "polar") -> Pipeline:
    counts = matmul_counts(schedule, "fused")
    return Pipeline(name or schedule.name or kind, kind, CompositionMap(schedule), counts["rectangular"],
                    counts["square"], (("polar", schedule),))


@dataclass(frozen=True)
class ProductMap:
    """F(σ) = P(σ)·q(σ²): the polar stage P times a polynomial q of the Gram matrix. q is given by its ascending
    coefficients in λ (`q`, DynMuon's Taylor form) or, for fitted ones, in Chebyshev form on `interval` of λ
    (`chebyshev`): then the scalar analysis runs on its power series in μ = (2λ − L − U)/(U − L) ∈ [−1, 1]
    (well conditioned) and the runtime by Clenshaw (stable in low precision)."""

    polar: Schedule
    q: tuple[float, ...]
    chebyshev: tuple[float, ...] = ()
    interval: tuple[float, float] = (0.0, 1.0)

    def _mu(self, lam: np.ndarray) -> tuple[np.ndarray, float]:
        """(the variable q is a power series in, its derivative with respect to λ)."""
        if not self.chebyshev:
            return lam, 1.0
        lo, hi = self.interval
        return (2 * lam - lo - hi) / (hi - lo), 2 / (hi - lo)

    @property
    def series(self) -> tuple[float, ...]:
        if not self.chebyshev:
            return self.q
        return tuple(float(c) for c in np.polynomial.chebyshev.cheb2poly(self.chebyshev))

    def values(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        mu, _ = self._mu(x * x)
        return CompositionMap(self.polar).values(x) * np.polynomial.polynomial.polyval(mu, self.series)

    def enclose(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        p_lo, p_hi, d_lo, d_hi = CompositionMap(self.polar).enclose(a, b)
        (mu_a, slope), (mu_b, _) = self._mu(a * a), self._mu(b * b)
        series = self.series
        q_range = polynomial_range(series, mu_a, mu_b)
        dq = tuple(np.polynomial.polynomial.polyder(series)) if len(series) > 1 else (0.0,)
        dq_range = interval_product(scaled(slope, polynomial_range(dq, mu_a, mu_b)), (2 * a, 2 * b))
        f = interval_product((p_lo, p_hi), q_range)
        d = interval_sum(interval_product((d_lo, d_hi), q_range), interval_product((p_lo, p_hi), dq_range))
        return f[0], f[1], d[0], d[1]


IDENTITY = Schedule(((1.0,),), 1.0, "exact", "identity")  # P = 1: the product is the odd polynomial σ·q(σ²)


@dataclass(frozen=True)
class ShiftedSign:
    """term(σ) = F₂(c·(s − σF₁))·(s·F₁ − σ): the sign of a shifted matrix times the shifted matrix (one EO term)."""

    polar: Schedule  # F₁ on X
    sign: Schedule  # F₂ on the m×m shifted matrix
    shift: float
    scale: float

    def values(self, x: np.ndarray) -> np.ndarray:
        f1 = CompositionMap(self.polar).values(x)
        v = self.shift - x * f1
        return CompositionMap(self.sign).values(self.scale * v) * (self.shift * f1 - x)

    def enclose(self, a: np.ndarray, b: np.ndarray) -> tuple[Any, Any, Any, Any]:
        """(F₁ range, F₁' range, term range, term' range) on each [a, b]."""
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        f_lo, f_hi, d_lo, d_hi = CompositionMap(self.polar).enclose(a, b)
        f1, d1, sig = (f_lo, f_hi), (d_lo, d_hi), (a, b)
        xf = interval_product(sig, f1)
        v = (self.shift - xf[1], self.shift - xf[0])
        s_lo, s_hi, sd_lo, sd_hi = CompositionMap(self.sign).enclose(self.scale * v[0], self.scale * v[1])
        sf = scaled(self.shift, f1)
        w = (sf[0] - b, sf[1] - a)
        term = interval_product((s_lo, s_hi), w)
        xd = interval_product(sig, d1)
        dv = (-(f1[1] + xd[1]), -(f1[0] + xd[0]))
        sd = interval_product(scaled(self.scale, (sd_lo, sd_hi)), dv)
        dw = scaled(self.shift, d1)
        dw = (dw[0] - 1.0, dw[1] - 1.0)
        return f1, d1, term, interval_sum(interval_product(sd, w), interval_product((s_lo, s_hi), dw))


@dataclass(frozen=True)
class ClipMap:
    """F = (τF₁ + σ − term_τ)/(2τ): min(σ/τ, 1) through the polar factor of τI − O Xᵀ (module doc)."""

    term: ShiftedSign

    def values(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        tau = self.term.shift
        return (tau * CompositionMap(self.term.polar).values(x) + x - self.term.values(x)) / (2 * tau)

    def enclose(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        tau = self.term.shift
        f1, d1, term, dterm = self.term.enclose(a, b)
        lo = (tau * f1[0] + a - term[1]) / (2 * tau)
        hi = (tau * f1[1] + b - term[0]) / (2 * tau)
        return lo, hi, (tau * d1[0] + 1 - dterm[1]) / (2 * tau), (tau * d1[1] + 1 - dterm[0]) / (2 * tau)


@dataclass(frozen=True)
class SoftMap:
    """F(σ) = (σ/s)·P(s), s = √(σ² + ε²): the polar composition P run on [X, εI], read on X's columns."""

    polar: Schedule
    eps: float

    def values(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        s = np.sqrt(x * x + self.eps**2)
        return x / s * CompositionMap(self.polar).values(s)

    def enclose(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        sa, sb = np.hypot(a, self.eps), np.hypot(b, self.eps)
        p_lo, p_hi, d_lo, d_hi = CompositionMap(self.polar).enclose(sa, sb)
        rho = (a / sa, b / sb)
        drho = (self.eps**2 / sb**3, self.eps**2 / sa**3)
        f = interval_product(rho, (p_lo, p_hi))
        d = interval_sum(interval_product(drho, (p_lo, p_hi)), interval_product(interval_product(rho, rho), (d_lo, d_hi)))
        return f[0], f[1], d[0], d[1]


def guard_check(pipeline: Pipeline, target: Target, hi: float, tol: float = 0.0) -> tuple[bool, float, float]:
    """(passed, min F on [0, u], max F on [u, 1.02u]), both certified bounds: no sign flip below the band larger
    than the tolerance (F ≥ −tol; F ≈ g ≈ 0 there), no blow-up just above it (max F ≤ MAX_OVERSHOOT · max g)."""
    _, low = extreme_bracket(pipeline.fmap, 0.0, hi, largest=False, rtol=1e-4)
    _, top = extreme_bracket(pipeline.fmap, hi, hi * (1 + DEFAULT_HEADROOM), rtol=1e-4)
    g_top = float(np.max(target.values(np.array([hi, hi * (1 + DEFAULT_HEADROOM)]))))
    passed = low >= -max(tol, 1e-9) and top <= MAX_OVERSHOOT * max(g_top, 1e-300)
    return passed, low, top


# --------------------------------------------------------------------------------------------------
# Fits
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """A fitted pipeline with its exact error bracket and the de la Vallée Poussin lower bound of its class."""

    pipeline: Pipeline
    bracket: ErrorBracket
    lower_bound: float  # on the best error of every odd polynomial of this degree (0: none)
    degree: int  # the degree of F as an odd polynomial

    @property
    def certified(self) -> bool:
        """The fit is optimal in its class to CERTIFICATE_GAP (the exact error meets the lower bound)."""
        return self.lower_bound > 0 and self.bracket.upper <= self.lower_bound * (1 + CERTIFICATE_GAP) + 1e-14


def _odd_basis(lo: float, hi: float, d: int) -> Callable[[np.ndarray], np.ndarray]:
    """t·T_k(s), t = x/hi, s = (2t² − 1 − r²)/(1 − r²): well conditioned on [r, 1] for any r (as design.remez)."""
    r = lo / hi

    def basis(x: np.ndarray) -> np.ndarray:
        t = np.asarray(x, dtype=float) / hi
        s = (2 * t * t - 1 - r * r) / (1 - r * r)
        return t[:, None] * np.polynomial.chebyshev.chebvander(s, d)

    return basis


def _odd_monomials(coef: np.ndarray, lo: float, hi: float) -> tuple[float, ...]:
    """The Chebyshev-in-s coefficients as c_j of σ^(2j+1)."""
    r = lo / hi
    alpha, beta = 2 / (1 - r * r), -(1 + r * r) / (1 - r * r)
    in_s = np.polynomial.Polynomial(np.polynomial.chebyshev.cheb2poly(coef))
    in_y = in_s(np.polynomial.Polynomial([beta, alpha])).coef  # y = t²
    return tuple(float(c) / hi ** (2 * j + 1) for j, c in enumerate(in_y))


def fit_odd(target: Target | str, lo: float, hi: float, degree: int) -> Fit:
    """The best single odd polynomial of `degree` for the target on [lo, hi] (one step), with its certificate."""
    target = parse_target(target)
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 1 or degree % 2 == 0 or degree > 31:
        raise InputError(f"degree must be an odd integer from 1 to 31, got {degree!r}")
    d = (degree - 1) // 2
    result = remez(_odd_basis(lo, hi, d), target, error_weight(target), lo, hi, d + 1)
    schedule = Schedule((tuple(_odd_monomials(result.coefficients, lo, hi)),), 1.0, "exact", f"odd{degree}")
    pipeline = composition_pipeline(schedule, f"odd {degree}", "odd")
    return Fit(pipeline, pipeline.error(target, lo, hi), result.lower_bound, degree)


def fit_product(target: Target | str, polar: Schedule, lo: float, hi: float, q_degree: int) -> Fit:
    """q of degree `q_degree` in λ = σ² with P(σ)·q(σ²) closest to g (Remez on the basis P(σ)·T_k(λ))."""
    target = parse_target(target)
    lam_lo, lam_hi = lo * lo, hi * hi
    outer = CompositionMap(polar)

    def basis(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        mu = (2 * x * x - lam_lo - lam_hi) / (lam_hi - lam_lo)
        return outer.values(x)[:, None] * np.polynomial.chebyshev.chebvander(mu, q_degree)

    result = remez(basis, target, error_weight(target), lo, hi, q_degree + 1)
    counts = matmul_counts(polar, "fused")
    fmap = ProductMap(polar, (), tuple(float(c) for c in result.coefficients), (lam_lo, lam_hi))
    name = f"σ·q{q_degree}(σ²)" if polar == IDENTITY else f"polar {polar.num_steps} × q{q_degree}"
    pipeline = Pipeline(
        name, "product", fmap, counts["rectangular"] + 2, counts["square"] + q_degree,
        (("polar", polar), ("gram", fmap.chebyshev)),
    )
    degree = _composite_degree(polar) + 2 * q_degree
    return Fit(pipeline, pipeline.error(target, lo, hi), 0.0, degree)


def _composite_degree(schedule: Schedule) -> int:
    return math.prod(schedule.degrees)


@lru_cache(maxsize=256)
def polar_stage(lo: float, hi: float, tol: float, degree: int = 5) -> Schedule:
    """The fewest-step greedy polar composition with max |1 − F| ≤ tol on [lo, hi], guarded above: with a
    Polar Express cushion and safety (0.02, 1 + headroom) when the bare optimum blows up past MAX_OVERSHOOT."""
    bare = greedy((lo, hi), tol=tol, degree=degree).schedule
    if overshoot(bare, hi, guard_sigma=hi * (1.0 + DEFAULT_HEADROOM)) <= MAX_OVERSHOOT:
        return bare
    for cushion, safety in ((0.02, 1.0 + DEFAULT_HEADROOM), (0.05, 1.05)):
        try:
            guarded = greedy((lo, hi), tol=tol, degree=degree, cushion=cushion, safety=safety).schedule
        except InputError:
            continue
        if overshoot(guarded, hi, guard_sigma=hi * (1.0 + DEFAULT_HEADROOM)) <= MAX_OVERSHOOT:
            return guarded
    return bare


# --------------------------------------------------------------------------------------------------
# The cheapest pipeline meeting a tolerance
# --------------------------------------------------------------------------------------------------

DEFAULT_SHAPE = (1024, 4096)
ODD_DEGREES = (3, 5, 7, 9, 11, 13, 15)
Q_DEGREES = (1, 2, 3, 4, 6, 8, 12, 16)
CLIP_SIGN_DEGREES = (5, 3)
MAX_ODD_LOWER_DEGREE = 31  # the best single polynomial is solved up to here; above it no lower bound is known


@dataclass(frozen=True)
class ShapingDesign:
    """The cheapest pipeline found for a target on [lo, hi] within `tol` (or the most accurate one, met=False)."""

    target: Target
    lo: float
    hi: float
    tol: float
    fit: Fit
    met: bool
    lower_bound: float | None  # on every map of the chosen one's class and degree (None: none known)
    lower_source: str
    guard: tuple[bool, float, float]
    tried: int
    shape: tuple[int, int]

    @property
    def pipeline(self) -> Pipeline:
        return self.fit.pipeline

    @property
    def error(self) -> float:
        return self.fit.bracket.upper

    @property
    def certificate(self) -> str:
        """What is known about optimality, in words."""
        if self.lower_bound is None:
            return f"no lower bound known ({self.lower_source})"
        gap = self.error / self.lower_bound - 1 if self.lower_bound > 0 else math.inf
        if self.fit.certified or gap <= CERTIFICATE_GAP:
            return f"certified optimal in its class ({self.lower_source})"
        return f"bracket [{self.lower_bound:.4g}, {self.error:.4g}] ({self.lower_source})"


def design_target(
    target: Target | str, lo: float, hi: float = 1.0, tol: float = 0.01, *, shape: tuple[int, int] = DEFAULT_SHAPE,
    max_candidates: int = 400,
) -> ShapingDesign:
    """The FLOP-cheapest pipeline (on `shape`) whose exact error on [lo, hi] is ≤ tol and that passes the guard;
    candidates are tried cheapest first and screened on a dense grid (a grid error is a lower bound, so a
    candidate the grid rejects is rejected exactly). When none meets tol, the most accurate one is returned."""
    target = parse_target(target)
    _check_problem(target, lo, hi, tol)
    m, n = shape
    candidates = sorted(_candidates(target, lo, hi, tol), key=lambda c: (c[0](m, n), c[1]))
    grid = np.unique(np.concatenate([np.geomspace(lo, hi, 20001), np.linspace(lo, hi, 20001)]))
    best: tuple[float, Pipeline] | None = None
    tried = 0
    for _, _, build in candidates[:max_candidates]:
        tried += 1
        pipeline = build()
        if pipeline is None:
            continue
        value = float(np.max(_abs_errors(target, pipeline.fmap, grid)))  # a lower bound on the exact error
        if value <= tol:
            fit = pipeline_fit(pipeline, target, lo, hi, rtol=1e-4)
            if fit.bracket.upper <= tol and guard_check(pipeline, target, hi, tol)[0]:
                return _finish(target, lo, hi, tol, fit, True, tried, shape)
            value = fit.bracket.upper
        if best is None or value < best[0]:
            best = (value, pipeline)
    if best is None:
        raise InputError(f"no pipeline could be built for {target.name} on [{lo:g}, {hi:g}]")
    return _finish(target, lo, hi, tol, Fit(best[1], best[1].error(target, lo, hi, 1e-4), 0.0, 0), False, tried, shape)


def _check_problem(target: Target, lo: float, hi: float, tol: float) -> None:
    for name, value in (("min_sigma", lo), ("max_sigma", hi), ("tol", tol)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"{name} must be a finite number, got {value!r}")
    if not 0 < lo < hi:
        raise InputError(f"the band needs 0 < min_sigma < max_sigma, got [{lo:g}, {hi:g}]")
    if not 0 < tol < 1:
        raise InputError(f"tol must lie in (0, 1), got {tol:g}")
    target.check_band(lo, hi)


def _abs_errors(target: Target, fmap: ScalarMap, x: np.ndarray) -> np.ndarray:
    f, g = fmap.values(x), target.values(x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.abs(f - g) if target.error == "absolute" else np.abs(f / g - 1.0)
    return np.where(np.isfinite(e), e, math.inf)


def pipeline_fit(pipeline: Pipeline, target: Target, lo: float, hi: float, rtol: float = 1e-6) -> Fit:
    return Fit(pipeline, pipeline.error(target, lo, hi, rtol), 0.0, 0)


def _finish(
    target: Target, lo: float, hi: float, tol: float, fit: Fit, met: bool, tried: int, shape: tuple[int, int]
) -> ShapingDesign:
    """The chosen fit with its final bracket (rtol 1e-6), lower bound and guard."""
    fit = Fit(fit.pipeline, fit.pipeline.error(target, lo, hi, 1e-6), fit.lower_bound, fit.degree)
    degree = _pipeline_degree(fit.pipeline)
    if target.kind == "sign" and fit.pipeline.kind == "polar":
        schedule = fit.pipeline.stages[0][1]
        optimum = greedy((lo, hi), degree=list(schedule.degrees)).error
        lower, source = optimum, "greedy optimum of these degrees (Polar Express Thm. 4.1)"
    elif degree <= MAX_ODD_LOWER_DEGREE:
        lower = fit_odd(target, lo, hi, degree).lower_bound
        source = f"de la Vallée Poussin bound of the best odd polynomial of degree {degree}"
    else:
        lower, source = None, f"degree {degree} is past {MAX_ODD_LOWER_DEGREE}, where no single-polynomial bound is solved"
    if fit.pipeline.kind == "odd" and fit.lower_bound == 0.0:
        fit = Fit(fit.pipeline, fit.bracket, lower or 0.0, degree)
    return ShapingDesign(target, lo, hi, tol, fit, met, lower, source, guard_check(fit.pipeline, target, hi, tol), tried, shape)


def _pipeline_degree(pipeline: Pipeline) -> int:
    """F's degree as an odd polynomial of σ (math.inf-like large for the non-polynomial soft map)."""
    schedules = [s for role, s in pipeline.stages if isinstance(s, Schedule)]
    if pipeline.kind in ("odd", "polar"):
        return _composite_degree(schedules[0])
    if pipeline.kind == "product":
        q = pipeline.stages[1][1]
        return _composite_degree(schedules[0]) + 2 * (len(q) - 1)  # len(q) − 1: q's degree in λ
    if pipeline.kind == "clip":
        d1, d2 = _composite_degree(schedules[0]), _composite_degree(schedules[1])
        return d2 * (1 + d1) + d1  # F₂(c(τ − σF₁))·(τF₁ − σ): degree d₂ in a degree-(1 + d₁) argument, times d₁
    return 10**9  # soft: σ/s·P(s) is not a polynomial of σ


Candidate = tuple[Callable[[int, int], float], int, Callable[[], "Pipeline | None"]]


def _candidates(target: Target, lo: float, hi: float, tol: float) -> list[Candidate]:
    """(FLOPs on m×n, matmuls, builder) for every pipeline shape that fits the target."""
    out: list[Candidate] = []
    if target.kind == "sign":
        for degree in (5, 3, 7):
            stage = _safe_stage(lo, hi, tol, degree)
            if stage is not None:
                pipe = composition_pipeline(stage, f"polar {stage.num_steps}×{degree}")
                out.append((pipe.flops, pipe.matmuls, lambda pipe=pipe: pipe))
        return out
    for degree in ODD_DEGREES:
        d = (degree - 1) // 2
        out.append((_cost(d + 1 if d else 0, max(d - 1, 0)), d + 1, lambda degree=degree: fit_odd(target, lo, hi, degree).pipeline))
    if target.kind == "clip":
        out += _clip_candidates(target, lo, hi, tol)
    elif target.kind == "soft":
        out += _soft_candidates(target, lo, hi, tol)
    else:
        out += _product_candidates(target, lo, hi, tol)
    return out


def _cost(rect: int, square: int, augmented: bool = False) -> Callable[[int, int], float]:
    return Pipeline("", "", None, rect, square, augmented=augmented).flops


def _safe_stage(lo: float, hi: float, tol: float, degree: int = 5) -> Schedule | None:
    try:
        return polar_stage(float(lo), float(hi), float(tol), degree)
    except InputError:
        return None


def _product_candidates(target: Target, lo: float, hi: float, tol: float) -> list[Candidate]:
    out: list[Candidate] = []
    for share in (None, 0.5, 0.1):  # None: no polar stage, the odd polynomial σ·q(σ²) by Clenshaw
        stage = IDENTITY if share is None else _safe_stage(lo, hi, max(tol * share, 1e-12))
        if stage is None:
            continue
        counts = matmul_counts(stage, "fused")
        for k in Q_DEGREES:
            rect, square = counts["rectangular"] + 2, counts["square"] + k
            out.append((_cost(rect, square), rect + square, lambda stage=stage, k=k: fit_product(target, stage, lo, hi, k).pipeline))
    return out


def _soft_candidates(target: Target, lo: float, hi: float, tol: float) -> list[Candidate]:
    eps = float(target.param)  # type: ignore[arg-type]
    out: list[Candidate] = []
    for share in (1.0, 0.5):
        stage = _safe_stage(eps, math.hypot(hi, eps), tol * share)
        if stage is None:
            continue
        counts = matmul_counts(stage, "fused")
        pipe = Pipeline(f"polar {stage.num_steps} of [X, εI]", "soft", SoftMap(stage, eps), counts["rectangular"],
                        counts["square"], (("polar", stage),), {"eps": eps}, augmented=True)
        out.append((pipe.flops, pipe.matmuls, lambda pipe=pipe: pipe))
    return out


def _clip_candidates(target: Target, lo: float, hi: float, tol: float) -> list[Candidate]:
    """P₁ accurate on [b·τ, u] (to e₁), P₂ accurate on [δ, 1] (to e₂) of the scaled shifted matrix (module doc)."""
    tau = float(target.param)  # type: ignore[arg-type]
    if not lo < tau < hi:
        return []
    out: list[Candidate] = []
    for share, b, d1 in itertools.product((0.9, 0.5), (0.25, 0.5, 0.75, 0.9, 0.97), CLIP_SIGN_DEGREES):
        p1 = _safe_stage(b * tau, hi, tol * share, d1)
        if p1 is None:
            continue
        top = float(CompositionMap(p1).enclose(np.array([0.0]), np.array([hi * (1 + DEFAULT_HEADROOM)]))[1][0])
        scale = 1.0 / max(tau, hi * (1 + DEFAULT_HEADROOM) * max(top, 1.0) - tau)
        width = max(tau, hi - tau) * scale  # the largest |c·(τ − σF₁)| on the band, about
        for k in (2.0, 1.0, 0.5, 0.25, 0.1):
            delta = min(0.5, k * 2 * tau * tol * scale)
            for degree in CLIP_SIGN_DEGREES:  # the m×m sign stage: cubics contract more per product early on
                p2 = _safe_stage(delta, 1.0, min(0.5, k * 2 * tau * tol * scale / max(width, 1e-12) * 2), degree)
                if p2 is not None:
                    out.append(_clip_candidate(target, p1, p2, tau, scale))
    return out


def _steps(schedule: Schedule) -> str:
    """'4' for four quintics, '6×3' for six cubics."""
    degrees = set(schedule.degrees)
    return str(schedule.num_steps) if degrees == {5} else f"{schedule.num_steps}×{'/'.join(map(str, sorted(degrees)))}"


def _clip_candidate(target: Target, p1: Schedule, p2: Schedule, tau: float, scale: float) -> Candidate:
    c1, c2 = matmul_counts(p1, "fused"), matmul_counts(p2, "fused")
    rect, square = c1["rectangular"] + 2, c1["square"] + c2["rectangular"] + c2["square"]
    pipe = Pipeline(
        f"polar {_steps(p1)} + m×m sign {_steps(p2)}", "clip", ClipMap(ShiftedSign(p1, p2, tau, scale)),
        rect, square, (("polar", p1), ("sign", p2)), {"tau": tau, "scale": scale},
    )
    return (pipe.flops, pipe.matmuls, lambda: pipe)
