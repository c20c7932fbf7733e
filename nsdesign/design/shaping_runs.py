"""Shaping pipelines run on matrices in numpy, every operation rounded as in a dtype (nsdesign.precision's model).

A pipeline's Newton–Schulz stages run in `precision.kernels.run` (the fused addmm sequence of torch.optim.Muon,
or the unfused one); each extra product or sum rounds once, as one torch call would. The input is a wide,
already normalized X₀ (σ ≤ 1); the output is compared with U g(Σ) Vᵀ by `shaping_accuracy`.

EO's calls divide each inner input by its own Frobenius norm (`inner_norm="frobenius"` in the pipeline's
params): the runs do that, while the exact maps use the favorable fixed scale (see design.shaping_practice).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from nsdesign.core.schedule import Schedule
from nsdesign.core.targets import CompositionMap, Target
from nsdesign.design.shaping import ClipMap, Pipeline, ProductMap, SoftMap
from nsdesign.design.shaping_practice import EOClipMap, HardcapMap
from nsdesign.precision.kernels import matmul, rounder, run, work_dtype


def run_pipeline(pipeline: Pipeline, x0: np.ndarray, dtype: str = "fp64", kernel: str = "fused") -> np.ndarray:
    """The pipeline on a wide normalized X₀ (m ≤ n), in `dtype`, as float64."""
    rnd, mm, work = rounder(dtype), matmul(dtype), work_dtype(dtype)
    x = rnd(np.asarray(x0, dtype=np.float64).astype(work))
    fmap = pipeline.fmap

    def ns(schedule: Schedule, y: np.ndarray) -> np.ndarray:
        return run(schedule, y, kernel, dtype)

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if isinstance(fmap, CompositionMap):
            out = ns(fmap.schedule, x)
        elif isinstance(fmap, ProductMap):
            out = _product(fmap, x, ns, rnd, mm, work)
        elif isinstance(fmap, ClipMap):
            term = fmap.term
            o = ns(term.polar, x)
            start = rnd(work(term.shift) * o + x)  # τO + X
            out = _shifted_clip(x, o, term.sign, ((term.shift, -1.0, term.scale),), start, term.shift, ns, rnd, mm, work)
        elif isinstance(fmap, EOClipMap):
            o = ns(fmap.high.polar, x)
            terms = ((fmap.low.shift, 1.0, None), (fmap.high.shift, -1.0, None))
            start = rnd(work(fmap.low.shift + fmap.high.shift) * o)  # (σ_min + τ)O
            out = _shifted_clip(x, o, fmap.high.sign, terms, start, fmap.high.shift, ns, rnd, mm, work)
        elif isinstance(fmap, HardcapMap):
            out = _hardcap(fmap, x, ns, rnd, mm, work)
        elif isinstance(fmap, SoftMap):
            m = x.shape[0]
            aug = np.concatenate([x, rnd(np.eye(m, dtype=work) * work(fmap.eps))], axis=1)
            out = ns(fmap.polar, aug)[:, : x.shape[1]]
        else:  # the identity (DynMuon at p ≥ 0.25)
            out = x
    return np.asarray(out, dtype=np.float64)


def _product(fmap: ProductMap, x, ns, rnd, mm, work):
    """O = P(X) in the dtype; A = XXᵀ, q(A) and q(A)·O in fp32 at least (as DynMuon does: in bf16 the Gram matrix
    loses every eigenvalue below ~2⁻⁸ of the largest). q by Clenshaw in its Chebyshev form when it has one
    (stable at any degree), else by Horner on its monomials."""
    o = ns(fmap.polar, x)
    r32 = rounder("fp32") if work is not np.float64 else (lambda v: v)
    w32 = np.float64 if work is np.float64 else np.float32
    x32, o32 = x.astype(w32), o.astype(w32)
    a = r32(x32 @ x32.T)
    q = chebyshev_of_gram(a, fmap, r32, w32) if fmap.chebyshev else horner_of_gram(a, fmap.q, r32, w32)
    return rnd(r32(q @ o32).astype(work))


def horner_of_gram(a, q: tuple[float, ...], rnd, work):
    eye = np.eye(a.shape[0], dtype=work)
    out = rnd(eye * work(q[-1]))
    for c in reversed(q[:-1]):
        out = rnd(out @ a + eye * work(c))
    return out


def chebyshev_of_gram(a, fmap: ProductMap, rnd, work):
    """Σ c_k T_k(μ(A)), μ(A) = (2A − (L + U)I)/(U − L), by Clenshaw: one product per degree above 1."""
    lo, hi = fmap.interval
    eye = np.eye(a.shape[0], dtype=work)
    mu = rnd(a * work(2.0 / (hi - lo)) - eye * work((lo + hi) / (hi - lo)))
    c = fmap.chebyshev
    b1 = np.zeros_like(mu)
    b2 = np.zeros_like(mu)
    for k in range(len(c) - 1, 0, -1):
        b1, b2 = rnd(work(2.0) * (mu @ b1 if k < len(c) - 1 else b1) - b2 + eye * work(c[k])), b1
    return rnd((mu @ b1 if len(c) > 1 else b1) - b2 + eye * work(c[0]))


def _shifted_clip(x, o, sign: Schedule, terms, start, tau: float, ns, rnd, mm, work):
    """(start + Σ ± NS(c(sI − OXᵀ))(sO − X)) / (2τ): EO's clip starts from (σ_min + τ)O with two terms, ours
    from τO + X with the one term (τ, −); c fixed, or None for EO's Frobenius normalization of the call."""
    m = x.shape[0]
    eye = np.eye(m, dtype=work)
    oxt = rnd(mm(o, x.T))
    result = start
    for shift, sgn, scale in terms:
        a = rnd(eye * work(shift) - oxt)
        if scale is None:  # EO: the NS call divides its input by its Frobenius norm
            scale = 1.0 / max(float(np.linalg.norm(a.astype(np.float64))), 1e-30)
        s = ns(sign, rnd(a * work(scale)))
        b = rnd(work(shift) * o - x)
        result = rnd(result + work(sgn) * rnd(mm(s, b)))
    return rnd(result * work(1.0 / (2.0 * tau)))


def _hardcap(fmap: HardcapMap, x, ns, rnd, mm, work):
    """EO's spectral_hardcap: (τO + X − aX·NS(aX)ᵀ·O)/(2τ), aX = τO − X, NS input divided by ‖aX‖_F."""
    o = ns(fmap.polar, x)
    ax = rnd(work(fmap.tau) * o - x)
    scale = 1.0 / max(float(np.linalg.norm(ax.astype(np.float64))), 1e-30)
    s = ns(fmap.sign, rnd(ax * work(scale)))
    term = rnd(mm(rnd(mm(ax, s.T)), o))
    return rnd((rnd(work(fmap.tau) * o + x) - term) * work(1.0 / (2.0 * fmap.tau)))


def shaping_accuracy(x0: np.ndarray, y: np.ndarray, target: Target) -> dict[str, float]:
    """How far Y is from U g(Σ) Vᵀ (float64 SVD of X₀): the largest error along the singular directions
    (|u_iᵀ Y v_i − g(σ_i)|, or relative to g(σ_i) for a relative target: comparable with the exact error),
    and the spectral norm of Y − U g(Σ) Vᵀ relative to that of U g(Σ) Vᵀ."""
    x0 = np.asarray(x0, dtype=np.float64)
    u, s, vt = np.linalg.svd(x0, full_matrices=False)
    g = target.values(s)
    if not np.isfinite(y).all():
        return {"direction_error": float("inf"), "spectral_error": float("inf")}
    diag = np.einsum("ij,ij->j", u, y @ vt.T)
    err = np.abs(diag - g)
    if target.error == "relative":
        err = err / g
    diff = y - (u * g) @ vt
    spectral = float(np.linalg.norm(diff, 2) / np.max(np.abs(g)))
    return {"direction_error": float(np.max(err)), "spectral_error": spectral}


RUNNERS: dict[str, Callable[..., np.ndarray]] = {"numpy": run_pipeline}
