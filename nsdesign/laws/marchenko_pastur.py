"""The random-matrix band: Marchenko–Pastur quantiles of a Frobenius-normalized i.i.d. matrix.

Why: before any training data exists, the natural guess for the spectrum of an update is that of a
matrix with i.i.d. entries. arXiv 2505.04005 uses exactly this to choose the band a Newton–Schulz
schedule must cover. For an m×n matrix X (m ≤ n, i.i.d. entries of variance 1) the eigenvalues
λ = s²/n of XXᵀ/n follow the Marchenko–Pastur law with ratio y = m/n on [(1−√y)², (1+√y)²]. After
Frobenius normalization, x = s/‖X‖_F and ‖X‖_F² ≈ mn, so t = √m · x = s/√n lies on [1−√y, 1+√y] with
density √(((1+√y)² − t²)(t² − (1−√y)²)) / (π y t). (That is the density of t, i.e. of the singular
value; the density of λ = t² carries 2π y λ in the denominator instead.) Square matrices (y = 1) reach
down to t = 0 with density √(4 − t²)/π there.

The CDF is exact, in closed form: with a = (1−√y)², b = (1+√y)² and R(λ) = √((b−λ)(λ−a)),

    ∫ R(λ)/λ dλ = R + (a+b)/2 · asin((2λ − a − b)/(b − a)) − √(ab) · asin(((a+b)λ − 2ab)/(λ(b − a)))

so F(t) = [G(t²) − G(a)] / (2π y). Written with asin(x) = −π/2 + 2·asin(√((1+x)/2)) this is

    F(t) = [R + (a+b)·asin(√((λ−a)/(b−a))) − 2√(ab)·asin(√(b(λ−a)/(λ(b−a))))] / (2π y),   λ = t²,

which has no cancellation (every term vanishes at λ = a). Quantiles are found by Brent's method on that CDF (scipy), to ~1e-14.

Quantiles are descending-rank, as everywhere in nsdesign: q is the fraction of singular values above
the band edge, so q = 0.9 is near the bottom of the spectrum (the finite-sample statistic is
sigma[ceil(q·r) − 1] of the descending-sorted values, r = min(m, n)); the edge solves F(t) = 1 − q.
"""

from __future__ import annotations

import math
from typing import Sequence

from nsdesign.core.cost import Shape
from nsdesign.errors import InputError


def check_quantile(q: float) -> float:
    """A descending-rank quantile must lie strictly between 0 and 1."""
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not math.isfinite(q) or not 0.0 < q < 1.0:
        raise InputError(f"quantile must be a number strictly between 0 and 1, got {q!r}")
    return float(q)


def aspect_ratio(shape: Shape) -> float:
    """y = min(m, n) / max(m, n) ∈ (0, 1]."""
    return shape.m / shape.n


def support(ratio: float) -> tuple[float, float]:
    """The support [1 − √y, 1 + √y] of t = √min(m,n) · x."""
    _check_ratio(ratio)
    root = math.sqrt(ratio)
    return 1.0 - root, 1.0 + root


def density(t: float, ratio: float) -> float:
    """Density of t = √min(m,n) · x (x a Frobenius-normalized singular value); 0 outside the support."""
    lo, hi = support(ratio)
    if t <= lo or t >= hi or t <= 0.0:
        return 0.0
    return math.sqrt((hi * hi - t * t) * (t * t - lo * lo)) / (math.pi * ratio * t)


def cdf(t: float, ratio: float) -> float:
    """P(T ≤ t), exact (closed form in the module docstring, in its cancellation-free form)."""
    lo, hi = support(ratio)
    if t <= lo:
        return 0.0
    if t >= hi:
        return 1.0
    a, b = lo * lo, hi * hi
    lam = t * t
    above = (t - lo) * (t + lo)  # λ − a without cancellation
    # asin(x) = −π/2 + 2·asin(√((1 + x)/2)) turns G(λ) − G(a) into terms that vanish at λ = a and keep
    # full relative precision near the hard edge of square matrices (where 1 + x underflows to 0).
    root = math.sqrt(max(above * (b - lam), 0.0))
    first = (a + b) * math.asin(min(1.0, math.sqrt(above / (b - a))))
    second = 0.0 if a == 0.0 else 2.0 * math.sqrt(a * b) * math.asin(min(1.0, math.sqrt(b * above / (lam * (b - a)))))
    return min(1.0, max(0.0, (root + first - second) / (2.0 * math.pi * ratio)))


def quantile_t(q: float, ratio: float) -> float:
    """The descending-rank q-quantile of t: the value with a fraction q of the spectrum above it."""
    from scipy.optimize import brentq

    q = check_quantile(q)
    lo, hi = support(ratio)
    target = 1.0 - q
    return float(brentq(lambda t: cdf(t, ratio) - target, lo, hi, xtol=1e-300, rtol=1e-14, maxiter=500))


def quantile(q: float, shape: Shape) -> float:
    """The descending-rank q-quantile of the Frobenius-normalized singular values of an i.i.d. `shape` matrix.

    This is the band edge σ_q to hand to a schedule design: the fraction q of directions lies above it.
    """
    return quantile_t(q, aspect_ratio(shape)) / math.sqrt(shape.m)


def band_edge_support(shape: Shape) -> tuple[float, float]:
    """The asymptotic range [(1−√y)/√m, (1+√y)/√m] of the Frobenius-normalized singular values."""
    lo, hi = support(aspect_ratio(shape))
    scale = math.sqrt(shape.m)
    return lo / scale, hi / scale


def simulate_quantiles(shape: Shape, quantiles: Sequence[float], samples: int = 8, seed: int = 0) -> list[float]:
    """Monte Carlo check: the mean over `samples` Gaussian matrices of sigma[ceil(q·r) − 1] (descending).

    Singular values come from the eigenvalues of the m×m Gram matrix (the bulk needs no more precision
    than that), each sample normalized by its own Frobenius norm, exactly as Muon normalizes.
    """
    import numpy as np

    if samples < 1:
        raise InputError(f"samples must be at least 1, got {samples}")
    qs = [check_quantile(q) for q in quantiles]
    rng = np.random.default_rng(seed)
    r = shape.m
    sums = [0.0] * len(qs)
    for _ in range(samples):
        x = rng.standard_normal((shape.m, shape.n))
        eig = np.linalg.eigvalsh(x @ x.T)
        sigma = np.sqrt(np.clip(eig, 0.0, None))[::-1] / np.linalg.norm(x)
        for i, q in enumerate(qs):
            sums[i] += float(sigma[math.ceil(q * r) - 1])
    return [s / samples for s in sums]


def _check_ratio(ratio: float) -> None:
    if not (math.isfinite(ratio) and 0.0 < ratio <= 1.0):
        raise InputError(f"aspect ratio min/max must be in (0, 1], got {ratio}")


# -- what Marchenko–Pastur means for real momentum -------------------------------------------------

MOMENTUM_RATIO = (0.07, 0.63)
"""σ_q of captured mid-layer momentum buffers over the Marchenko–Pastur σ_q of the same shape: 0.07–0.63 for
q = 0.5–0.9 at widths 32–128 (studies/spectral_laws, "Mid-layer ratio to Marchenko–Pastur"). Below 1: real
momentum's small singular values sit deeper than an i.i.d. matrix's, so an MP-sized band is too narrow for it."""


def momentum_note(edge: float) -> str:
    """One line under an MP band edge: what it means for real momentum, and where to start instead."""
    lo, hi = MOMENTUM_RATIO
    return (f"Marchenko–Pastur is the i.i.d. edge; captured momentum sits at {lo:g}–{hi:g}× it "
            f"(studies/spectral_laws): for real momentum start from --min-sigma {edge * lo:.2g}")
