"""The band a schedule sees under a normalizer: [σ_q, σ_max] after dividing by ‖σ‖_p, a spectral estimate or AOL.

Four sources, one answer (`NormalizedBand`):
- a shape → Marchenko–Pastur: the Frobenius band [σ_q, (1+√y)/√m] (nsdesign.laws.marchenko_pastur) times the
  normalizer's closed-form factor (`Normalizer.mp_factor`, Narayana moments);
- a model size and layer → the momentum laws (nsdesign.laws.momentum) at the fitted quantiles q = 0.1 … 0.9. The
  laws give five points of the Frobenius-normalized spectrum, not the spectrum, so we *assume* its shape: ln σ is
  linear in the rank fraction q between neighbouring fitted quantiles, and continues with the end slopes to q = 0
  (σ_max) and q = 1. The rank r of that model spectrum is the one that makes it Frobenius-normalized,
  r = 1 / ∫₀¹ σ(q)² dq, so no shape is needed. The top of a momentum spectrum is spiked (a few directions far
  above the 0.1 quantile), which this extrapolation does not see: for momentum, treat σ_max and the Schatten
  factors from a law as optimistic and prefer a captured buffer (`matrix`);
- a `.npy` of singular values (any scale) → the normalizer's map of that spectrum (not AOL, which needs vectors);
- a `.npy` matrix (2-D) → the normalizer applied to the matrix, then its SVD (every normalizer).

`bound` is the guaranteed upper bound on the normalized σ_max (1 for the norms and AOL); for the spectral
estimate no bound holds for every start vector, so it is the model's value and `guaranteed` is False.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from nsdesign._files import read_npy
from nsdesign.core.cost import Shape
from nsdesign.core.normalizers import Normalizer, get
from nsdesign.errors import InputError
from nsdesign.laws.marchenko_pastur import band_edge_support, check_quantile
from nsdesign.laws.marchenko_pastur import quantile as mp_quantile
from nsdesign.laws.predict import predict_band

LAW_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


@dataclass(frozen=True)
class NormalizedBand:
    normalizer: Normalizer
    quantile: float
    frobenius: tuple[float, float]  # [σ_q, σ_max] after Frobenius normalization
    normalized: tuple[float, float]  # [σ_q, σ_max] after this normalizer
    bound: float  # guaranteed upper bound on the normalized σ_max (the model's value when not guaranteed)
    guaranteed: bool
    source: str
    assumption: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def lift(self) -> float:
        """How much the normalizer lifts the band edge σ_q over Frobenius."""
        return self.normalized[0] / self.frobenius[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "normalizer": self.normalizer.to_dict(),
            "quantile": self.quantile,
            "frobenius_band": list(self.frobenius),
            "normalized_band": list(self.normalized),
            "bound": self.bound,
            "guaranteed": self.guaranteed,
            "source": self.source,
            "assumption": self.assumption,
            "warnings": list(self.warnings),
        }


def normalized_band(
    normalizer: str | Normalizer,
    quantile: float,
    shape: Shape | None = None,
    model_size: float | None = None,
    layer: str | None = None,
    laws_path: str | None = None,
    spectrum: str | os.PathLike[str] | None = None,
) -> NormalizedBand:
    """[σ_q, σ_max] under `normalizer` from exactly one source: shape, model size + layer, or a .npy file."""
    source = BandSource(shape=shape, model_size=model_size, layer=layer, laws_path=laws_path, spectrum=spectrum)
    return _predicted(get(normalizer), check_quantile(quantile), source)


def band_of_spectrum(normalizer: Normalizer, quantile: float, sigma: Any, source: str, assumption: str = "") -> NormalizedBand:
    """The band of a given spectrum (raw singular values, any scale) under a scalar normalizer."""
    s = np.sort(np.asarray(sigma, dtype=np.float64).ravel())[::-1]
    if normalizer.name == "aol":
        raise InputError("aol rescales rows: its band needs the matrix (a 2-D .npy) or a shape, not singular values")
    frob = Normalizer("frobenius").normalized(s)
    after = normalizer.normalized(s)
    return NormalizedBand(
        normalizer,
        quantile,
        (_rank_quantile(frob, quantile), float(frob[0])),
        (_rank_quantile(after, quantile), float(after[0])),
        normalizer.bound(s),
        normalizer.guaranteed,
        source,
        assumption,
    )


# --------------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------------


def _from_mp(norm: Normalizer, q: float, shape: Shape) -> NormalizedBand:
    lo, hi = mp_quantile(q, shape), band_edge_support(shape)[1]
    factor = norm.mp_factor(shape)
    bound = 1.0 if norm.guaranteed else hi * factor
    assumption = ""
    if norm.name == "aol":
        assumption = "Gaussian entries: the AOL row scaling is a scalar to first order (D ≈ (n + (m−1)√(2n/π))^(-1/2))"
    elif norm.name == "spectral":
        assumption = "power iteration from a start vector with equal energy on every eigenvector (a random start's mean)"
    return NormalizedBand(
        norm,
        q,
        (lo, hi),
        (lo * factor, hi * factor),
        bound,
        norm.guaranteed,
        f"Marchenko–Pastur {shape} q={q:g} (arXiv 2505.04005; closed-form normalizer factor {factor:.4g})",
        assumption,
    )


def _from_law(norm: Normalizer, q: float, model_size: float, layer: str, laws_path: str | None) -> NormalizedBand:
    if norm.name == "aol":
        raise InputError("aol rescales rows: a momentum law gives singular values only; use a captured matrix (.npy)")
    points = [predict_band(p, model_size=model_size, layer=layer, laws_path=laws_path) for p in LAW_QUANTILES]
    sigma = model_spectrum(LAW_QUANTILES, [p.min_sigma for p in points])
    warnings: list[str] = []
    for p in points:
        for w in p.warnings:
            if w not in warnings:
                warnings.append(w)
    band = band_of_spectrum(
        norm,
        q,
        sigma,
        f"momentum law {layer} at {model_size:.3g} parameters ({len(sigma)}-value model spectrum)",
        "ln σ linear in the rank fraction between the fitted quantiles 0.1…0.9, end slopes continued to q = 0 and 1; "
        "rank from Σσ² = 1 (the spiked top of momentum spectra is not modelled)",
    )
    return NormalizedBand(**{**band.__dict__, "warnings": tuple(warnings)})


def model_spectrum(quantiles: Any, sigmas: Any) -> np.ndarray:
    """Descending singular values of the piecewise log-linear model through (q_i, σ_i), Frobenius-normalized."""
    qs = np.asarray(quantiles, dtype=float)
    logs = np.log(np.asarray(sigmas, dtype=float))
    if qs.size < 2 or np.any(np.diff(qs) <= 0) or not np.all(np.isfinite(logs)):
        raise InputError("a model spectrum needs at least two increasing quantiles with positive σ")

    def log_sigma(t: np.ndarray) -> np.ndarray:
        inner = np.interp(t, qs, logs)
        head = logs[0] + (t - qs[0]) * (logs[1] - logs[0]) / (qs[1] - qs[0])
        tail = logs[-1] + (t - qs[-1]) * (logs[-1] - logs[-2]) / (qs[-1] - qs[-2])
        return np.where(t < qs[0], head, np.where(t > qs[-1], tail, inner))

    fine = (np.arange(100_000) + 0.5) / 100_000
    energy = float(np.mean(np.exp(2 * log_sigma(fine))))  # ∫₀¹ σ(q)² dq for the rank fraction q
    rank = max(2, int(round(1.0 / energy)))
    values = np.exp(log_sigma((np.arange(rank) + 0.5) / rank))
    return values / np.linalg.norm(values)


def _from_file(norm: Normalizer, q: float, path: str | os.PathLike[str]) -> NormalizedBand:
    values = _load_npy(path)
    where = os.fspath(path)
    if values.ndim == 1:
        if (values < 0).any() or not (values > 0).any():
            raise InputError(f"{where}: singular values must be non-negative and not all zero")
        return band_of_spectrum(norm, q, values, f"singular values {where}")
    if min(values.shape) < 2:
        raise InputError(f"{where}: a matrix needs at least 2 rows and 2 columns, got {values.shape}")
    if not np.any(values):
        raise InputError(f"{where}: the matrix is all zeros")
    raw = np.linalg.svd(values, compute_uv=False)
    frob = raw / np.linalg.norm(raw)
    after = np.sort(np.linalg.svd(norm.apply(values), compute_uv=False))[::-1]
    return NormalizedBand(
        norm,
        q,
        (_rank_quantile(frob, q), float(frob[0])),
        (_rank_quantile(after, q), float(after[0])),
        1.0 if norm.guaranteed else float(after[0]),
        norm.guaranteed,
        f"matrix {where} {values.shape[0]}x{values.shape[1]}",
        "power iteration from the all-ones start vector (as the runtime does)" if norm.name == "spectral" else "",
    )


def _load_npy(path: str | os.PathLike[str]) -> np.ndarray:
    values = np.asarray(read_npy(path, "spectrum file"))  # guarded: regular, non-empty, native order
    if values.ndim not in (1, 2) or values.size == 0 or not np.issubdtype(values.dtype, np.number):
        raise InputError(f"{path}: expected singular values (1-D) or a matrix (2-D) of numbers, got shape {values.shape}")
    if np.iscomplexobj(values):
        raise InputError(f"{path}: complex values are not supported")
    values = values.astype(np.float64)
    if not np.isfinite(values).all():
        raise InputError(f"{path}: values must be finite")
    return values


def _rank_quantile(desc: np.ndarray, q: float) -> float:
    """sigma[ceil(q·r) − 1] of descending values (nsdesign's descending-rank convention)."""
    return float(desc[max(0, math.ceil(q * desc.size) - 1)])


# --------------------------------------------------------------------------------------------------
# The band a normalizer leaves, from the one source given (the design for it: nsdesign.plans.normalizer)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BandSource:
    """Where a band under a normalizer comes from: its edges given (min_sigma, max_sigma), or ONE source at a
    quantile — a shape (Marchenko–Pastur), a momentum law at a model size and layer (`laws_path`: another law
    file), or a spectrum file. One value, so the CLI builds it once and no layer re-spells its eight fields."""

    min_sigma: float | None = None
    max_sigma: float | None = None
    quantile: float | None = None
    shape: Shape | None = None
    model_size: float | None = None
    layer: str | None = None
    laws_path: str | None = None
    spectrum: str | os.PathLike[str] | None = None


def resolve_band(normalizer: str | Normalizer, source: BandSource = BandSource()) -> tuple[float, float, NormalizedBand | None]:
    """(l, u, source band) under the normalizer: given as min_sigma/max_sigma, or predicted from one source.

    Default band edge quantile: 0.99 (the smallest 1% of directions dropped) for a shape or a file, 0.9 (the
    lowest fitted quantile) for a momentum law. The source band is None when the band was given.
    """
    s = source
    norm = get(normalizer)
    if s.min_sigma is not None:
        if s.quantile is not None or s.model_size is not None or s.layer is not None or s.spectrum is not None:
            raise InputError("give the band either as min_sigma/max_sigma or from a source with `quantile`, not both")
        return float(s.min_sigma), 1.0 if s.max_sigma is None else float(s.max_sigma), None
    if s.max_sigma is not None and s.max_sigma != 1.0:
        raise InputError("max_sigma goes with min_sigma; a predicted band brings its own σ_max")
    q = s.quantile if s.quantile is not None else (0.9 if s.model_size is not None or s.layer is not None else 0.99)
    band = _predicted(norm, check_quantile(q), s)
    lo, hi = band.normalized
    return lo, hi, band


def _predicted(norm: Normalizer, q: float, s: BandSource) -> NormalizedBand:
    """The band from the one source `s` names (a spectrum file wins over a shape given beside it)."""
    given = [s.shape is not None and s.spectrum is None, s.model_size is not None or s.layer is not None,
             s.spectrum is not None]
    if sum(given) != 1:
        raise InputError("give one source for the band: `shape` (Marchenko–Pastur), `model_size`/`layer`, or `spectrum` (a .npy file)")
    if s.spectrum is not None:
        return _from_file(norm, q, s.spectrum)
    if s.shape is not None:
        return _from_mp(norm, q, s.shape)
    if s.model_size is None or s.layer is None:
        raise InputError("a momentum-law band needs both a model size and a layer (e.g. final.o)")
    return _from_law(norm, q, s.model_size, s.layer, s.laws_path)
