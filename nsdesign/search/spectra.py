"""Spectra for the distribution-weighted objective: where the Frobenius-normalized singular values really lie.

The worst case over [l, u] weighs a lone σ at the band edge as much as the bulk; a user whose spectrum is a
distribution cares about the average. A `Spectrum` is a finite sample of normalized singular values with
equal weights, from one of three sources:

- "mp": the Marchenko–Pastur law of an i.i.d. matrix of a given shape: its exact quantiles
  (`nsdesign.laws.marchenko_pastur.quantile`) at the midpoints q = (i + ½)/K.
- "npy": the singular values of a real matrix, read from a 1-D .npy file, normalized by their own Frobenius
  norm (√Σσ²) exactly as Muon normalizes.
- "law": the predicted descending-rank quantiles q = 0.1, 0.15 … 0.9 of a layer at model size M from
  `nsdesign.laws.predict_band` (the fitted momentum power laws).
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from nsdesign._files import read_npy, shown
from nsdesign.core.cost import Shape
from nsdesign.errors import InputError
from nsdesign.laws import marchenko_pastur as mp
from nsdesign.laws import predict_band

MP_SAMPLES = 256
LAW_QUANTILES = tuple(round(0.1 + 0.05 * i, 2) for i in range(17))  # 0.1 … 0.9: the range the laws are fitted on


@dataclass(frozen=True)
class Spectrum:
    """Equal-weight sample of Frobenius-normalized singular values, with where it came from."""

    sigma: tuple[float, ...]
    source: str

    def __post_init__(self) -> None:
        values = tuple(float(s) for s in self.sigma)
        if not values:
            raise InputError("a spectrum needs at least one singular value")
        if not all(math.isfinite(s) and s > 0 for s in values):
            raise InputError("spectrum singular values must be positive finite numbers")
        object.__setattr__(self, "sigma", values)

    @property
    def array(self) -> np.ndarray:
        return np.asarray(self.sigma, dtype=float)

    def digest(self) -> str:
        """Short content hash (stored with a study so a resumed run checks it uses the same spectrum)."""
        return hashlib.sha256(np.asarray(self.sigma, dtype=np.float64).tobytes()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        a = self.array
        return {"source": self.source, "count": len(self.sigma), "min": float(a.min()), "max": float(a.max()),
                "sha256_16": self.digest()}


def marchenko_pastur(shape: Shape, samples: int = MP_SAMPLES) -> Spectrum:
    """Frobenius-normalized MP spectrum of an i.i.d. `shape` matrix (its exact quantiles at K midpoints)."""
    if samples < 1:
        raise InputError(f"spectrum sample count must be positive, got {samples}")

    qs = [(i + 0.5) / samples for i in range(samples)]
    return Spectrum(tuple(mp.quantile(q, shape) for q in qs), f"marchenko-pastur {shape}")


def from_npy(path: str | os.PathLike[str]) -> Spectrum:
    """Singular values of a matrix from a 1-D .npy file, normalized by √Σσ²."""
    values = np.asarray(read_npy(path, "spectrum file"))  # guarded: regular, non-empty, native order
    if values.ndim != 1 or values.size == 0 or not np.issubdtype(values.dtype, np.number):
        raise InputError(f"{shown(path)}: singular values must be 1-D, got shape {values.shape}")
    values = values.astype(float)
    if not np.isfinite(values).all() or (values < 0).any():
        raise InputError(f"{path}: singular values must be finite and non-negative")
    norm = float(np.sqrt(np.sum(values**2)))
    if norm == 0.0:
        raise InputError(f"{path}: all singular values are zero")
    positive = values[values > 0] / norm
    return Spectrum(tuple(float(v) for v in positive), f"npy {os.fspath(path)}")


def from_law(model_size: float, layer: str, laws_path: str | None = None) -> Spectrum:
    """Predicted quantiles 0.1 … 0.9 of `layer` at `model_size` parameters (nsdesign.laws.predict_band)."""
    values = []
    for q in LAW_QUANTILES:
        prediction = predict_band(q, model_size=model_size, layer=layer, laws_path=laws_path)
        values.append(float(prediction.min_sigma))
    return Spectrum(tuple(values), f"law {layer} at M={model_size:g}")
