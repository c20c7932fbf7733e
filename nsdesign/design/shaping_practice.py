"""What people run today for spectral-shaping targets, as pipelines on the same footing as nsdesign's designs.

Read from the sources (their code is not copied; the maps are written out from it):

- **NVIDIA Emerging-Optimizers `spectral_clip(X, sigma_min=-1, sigma_max=τ)`** (orthogonalized_optimizers/
  spectral_clipping_utils.py): O = NS(X); for (s, ±) in ((σ_min, +), (σ_max, −)): A = sI − O Xᵀ, B = sO − X,
  result += ±NS(A)·B; result = (σ_min + σ_max)O/2 + result/2. Every NS is `newton_schulz(…, steps=8,
  coefficient_type="polar_express")` (the 8-step list, preset `polar_express_eo8`), each input divided by its own
  Frobenius norm. Three NS calls: 20 rectangular + 56 square products. On scalars:
  ((σ_min + τ)F₁ + T_min − T_τ)/2 with T_s = F₂(c_s(s − σF₁))(sF₁ − σ).
- **Emerging-Optimizers `spectral_hardcap(X, beta=τ)`**: O = NS(X), aX = τO − X, result = (τO + X − aX·NS(aX)ᵀ·O)/2:
  two NS calls on m×n matrices, 34 rectangular + 16 square. On scalars (τF₁ + σ − wF₂(cw)F₁)/2, w = τF₁ − σ.
- **DynMuon `fast_spectral(G, p)`** (fzwark/DynMuon dynmuon/dynmuon.py): Xn = X/‖X‖_F; Y = NS(Xn) with dion's
  5-step list (4.0848, −6.8946, 2.9270 …; preset `quintic5_leloykun_you`); A = XnXnᵀ, E = A − I,
  C = I + δE + δ(δ−1)E²/2 with δ = p/2 (order 2); result = C·Y·‖X‖_F^p. Its optimizer calls it only for p < 0:
  p ≥ 0.25 returns G itself and 0 ≤ p < 0.25 returns NS(G) (`dynmuon_spectral_transform`). 12 + 6 products.

The data-dependent normalizations (‖A‖_F inside EO's NS calls) are a scale c per call. For the exact column
they are set to the most favorable value a norm can give, 1/max|eigenvalue| (the spectral norm; a Frobenius
norm is at least that, so the real scale is smaller and the real error larger); the rounding-model and torch
runs use the real Frobenius norm of the matrix at hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nsdesign.core.schedule import Schedule
from nsdesign.core.targets import (
    CompositionMap,
    Target,
    extreme_bracket,
    interval_product,
    interval_sum,
    parse_target,
    scaled,
)
from nsdesign.design.shaping import (
    Pipeline,
    ProductMap,
    ShiftedSign,
    composition_pipeline,
)
from nsdesign.presets import preset

EO_LIST = "polar_express_eo8"
DYNMUON_LIST = "quintic5_leloykun_you"


@dataclass(frozen=True)
class EOClipMap:
    """((σ_min + τ)F₁ + T_min − T_τ)/(2τ): EO's spectral_clip on scalars, in units of τ (the clip target's)."""

    low: ShiftedSign  # shift σ_min
    high: ShiftedSign  # shift τ

    def values(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        tau, smin = self.high.shift, self.low.shift
        f1 = CompositionMap(self.high.polar).values(x)
        return ((smin + tau) * f1 + self.low.values(x) - self.high.values(x)) / (2 * tau)

    def enclose(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        tau, smin = self.high.shift, self.low.shift
        f1, d1, t_lo, dt_lo = self.low.enclose(a, b)
        _, _, t_hi, dt_hi = self.high.enclose(a, b)
        f1k, d1k = scaled(smin + tau, f1), scaled(smin + tau, d1)
        lo = (f1k[0] + t_lo[0] - t_hi[1]) / (2 * tau)
        hi = (f1k[1] + t_lo[1] - t_hi[0]) / (2 * tau)
        return lo, hi, (d1k[0] + dt_lo[0] - dt_hi[1]) / (2 * tau), (d1k[1] + dt_lo[1] - dt_hi[0]) / (2 * tau)


@dataclass(frozen=True)
class HardcapMap:
    """(τF₁ + σ − w·F₂(c·w)·F₁)/(2τ), w = τF₁ − σ: EO's spectral_hardcap on scalars, in units of τ."""

    polar: Schedule
    sign: Schedule
    tau: float
    scale: float

    def values(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        f1 = CompositionMap(self.polar).values(x)
        w = self.tau * f1 - x
        return (self.tau * f1 + x - w * CompositionMap(self.sign).values(self.scale * w) * f1) / (2 * self.tau)

    def enclose(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        tau = self.tau
        f_lo, f_hi, d_lo, d_hi = CompositionMap(self.polar).enclose(a, b)
        f1, d1 = (f_lo, f_hi), (d_lo, d_hi)
        w = (tau * f_lo - b, tau * f_hi - a)
        s_lo, s_hi, sd_lo, sd_hi = CompositionMap(self.sign).enclose(self.scale * w[0], self.scale * w[1])
        s2, sd = (s_lo, s_hi), scaled(self.scale, (sd_lo, sd_hi))
        ws = interval_product(w, s2)
        term = interval_product(ws, f1)
        dw = scaled(tau, d1)
        dw = (dw[0] - 1.0, dw[1] - 1.0)
        # (w·F₂·F₁)' = w'F₂F₁ + w·F₂'·c·w'·F₁ + w·F₂·F₁'
        dterm = interval_sum(
            interval_product(interval_product(dw, s2), f1),
            interval_product(interval_product(interval_product(w, sd), dw), f1),
            interval_product(ws, d1),
        )
        td = scaled(tau, d1)
        lo = (tau * f_lo + a - term[1]) / (2 * tau)
        hi = (tau * f_hi + b - term[0]) / (2 * tau)
        return lo, hi, (td[0] + 1 - dterm[1]) / (2 * tau), (td[1] + 1 - dterm[0]) / (2 * tau)


def favorable_scale(polar: Schedule, shift: float, hi: float) -> float:
    """1/max|shift − σF₁(σ)| over σ ∈ [0, hi]: the largest scale a norm of the shifted matrix can give."""
    fmap = _SigmaTimes(polar)
    _, top = extreme_bracket(fmap, 0.0, hi, largest=True, rtol=1e-6)
    _, bottom = extreme_bracket(fmap, 0.0, hi, largest=False, rtol=1e-6)
    return 1.0 / max(abs(shift - top), abs(shift - bottom), 1e-300)


@dataclass(frozen=True)
class _SigmaTimes:
    """σ·F₁(σ): the eigenvalues of O Xᵀ."""

    polar: Schedule

    def values(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=float) * CompositionMap(self.polar).values(x)

    def enclose(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        f_lo, f_hi, d_lo, d_hi = CompositionMap(self.polar).enclose(a, b)
        f = interval_product((a, b), (f_lo, f_hi))
        d = interval_product((a, b), (d_lo, d_hi))
        return f[0], f[1], d[0] + f_lo, d[1] + f_hi


def eo_spectral_clip(tau: float, hi: float = 1.0, sigma_min: float = -1.0, scales: tuple[float, float] | None = None) -> Pipeline:
    """EO's spectral_clip(X, sigma_min, sigma_max=τ) (module doc); `scales` (c_min, c_τ) default to favorable."""
    ns = preset(EO_LIST)
    c_min, c_tau = scales or (favorable_scale(ns, sigma_min, hi), favorable_scale(ns, tau, hi))
    fmap = EOClipMap(ShiftedSign(ns, ns, sigma_min, c_min), ShiftedSign(ns, ns, tau, c_tau))
    return Pipeline("EO spectral_clip 3×PE-8", "practice", fmap, 20, 56, (("polar", ns), ("sign", ns)),
                    {"tau": tau, "sigma_min": sigma_min, "scale_min": c_min, "scale": c_tau})


def eo_spectral_hardcap(tau: float, hi: float = 1.0, scale: float | None = None) -> Pipeline:
    """EO's spectral_hardcap(X, beta=τ) (module doc); `scale` defaults to favorable (1/max|τF₁ − σ|)."""
    ns = preset(EO_LIST)
    if scale is None:
        x = np.linspace(0.0, hi, 20001)
        scale = 1.0 / float(np.max(np.abs(tau * CompositionMap(ns).values(x) - x)))
    return Pipeline("EO spectral_hardcap 2×PE-8", "practice", HardcapMap(ns, ns, tau, scale), 34, 16,
                    (("polar", ns), ("sign", ns)), {"tau": tau, "scale": scale})


def dynmuon_coefficients(p: float) -> tuple[float, float, float]:
    """C(λ) = 1 + δ(λ − 1) + δ(δ − 1)(λ − 1)²/2, δ = p/2, as ascending coefficients in λ."""
    d = 0.5 * p
    k = 0.5 * d * (d - 1.0)
    return (1.0 - d + k, d - 2.0 * k, k)


def dynmuon_fast_spectral(p: float) -> Pipeline:
    """DynMuon's fast_spectral(G, p) (order 2) on the normalized σ: F(σ) = NS_dion(σ)·C(σ²)."""
    ns = preset(DYNMUON_LIST)
    return Pipeline("DynMuon fast_spectral NS5+T2", "practice", ProductMap(ns, dynmuon_coefficients(p)),
                    12, 6, (("polar", ns), ("gram", dynmuon_coefficients(p))), {"p": p})


@dataclass(frozen=True)
class _Identity:
    def values(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=float)

    def enclose(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return a, b, np.ones_like(a), np.ones_like(b)


def dynmuon_as_run(p: float) -> Pipeline:
    """What DynMuon's optimizer applies at exponent p: G (p ≥ 0.25), NS(G) (0 ≤ p < 0.25), fast_spectral (p < 0)."""
    if p >= 0.25:
        return Pipeline("DynMuon as run: G (p ≥ 0.25)", "practice", _Identity(), 0, 0)
    if p >= 0.0:
        return composition_pipeline(preset(DYNMUON_LIST), "DynMuon as run: NS(G) (p<0.25)", "practice")
    return dynmuon_fast_spectral(p)


def current_practice(target: Target | str, hi: float = 1.0) -> list[Pipeline]:
    """The pipelines people run for this target (empty where none was found: soft polar, tables)."""
    target = parse_target(target)
    if target.kind == "sign":
        return [composition_pipeline(preset(EO_LIST), "PE-8 (polar_express_eo8)", "practice"),
                composition_pipeline(preset("keller5"), "keller5", "practice")]
    if target.kind == "clip":
        tau = float(target.param)  # type: ignore[arg-type]
        return [eo_spectral_clip(tau, hi), eo_spectral_hardcap(tau, hi)]
    if target.kind == "power":
        p = float(target.param)  # type: ignore[arg-type]
        runs = [dynmuon_as_run(p)]
        if p >= 0.0:
            runs.append(dynmuon_fast_spectral(p))
        return runs
    return []


def svd_note() -> str:
    return "SVD: U g(Σ) Vᵀ exactly, no matmul count (timed: benchmarks/spectral_targets.py)"


__all__ = [
    "EOClipMap", "HardcapMap", "current_practice", "dynmuon_as_run", "dynmuon_coefficients", "dynmuon_fast_spectral",
    "eo_spectral_clip", "eo_spectral_hardcap", "favorable_scale", "svd_note",
]

