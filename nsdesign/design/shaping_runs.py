"""Shaping pipelines run on matrices in numpy, every operation rounded as in a dtype (nsdesign.precision's model).

A pipeline's Newton–Schulz stages run in `precision.kernels.run` (the fused addmm sequence of torch.optim.Muon,
or the unfused one); each extra product or sum rounds once, as one torch call would. The input is a wide,
already normalized X₀ (σ ≤ 1); the output is compared with U g(Σ) Vᵀ by `shaping_accuracy`.

EO's calls divide each inner input by its own Frobenius norm (`inner_norm="frobenius"` in the pipeline's
params): the runs do that, while the exact maps use the favorable fixed scale (see design.shaping_practice).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from nsdesign._files import json_number
from nsdesign.core.schedule import Schedule
from nsdesign.core.targets import CompositionMap, ErrorBracket, Target, parse_target
from nsdesign.design.shaping import (
    DEFAULT_SHAPE,
    ClipMap,
    Pipeline,
    ProductMap,
    ShapingDesign,
    SoftMap,
    design_target,
)
from nsdesign.design.shaping_practice import EOClipMap, HardcapMap, current_practice
from nsdesign.precision.kernels import matmul, rounder, run, work_dtype
from nsdesign.precision.model import band_matrix


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




# --------------------------------------------------------------------------------------------------
# The design side by side with current practice
# --------------------------------------------------------------------------------------------------

PROXY_SHAPE = (128, 512)  # the rounding-model proxy (as design.safe): σ log-spaced over the band


@dataclass(frozen=True)
class Row:
    """One pipeline on the band: its products, FLOPs on `shape`, exact error bracket, rounding-model error."""

    name: str
    rect: int
    square: int
    flops: float
    exact: float  # upper end of the exact bracket (favorable normalization for current practice)
    exact_lower: float
    model: float  # direction error of the run in `dtype` on the proxy matrix
    ours: bool

    @property
    def matmuls(self) -> int:
        return self.rect + self.square

    def to_dict(self) -> dict[str, Any]:
        return {k: json_number(v) for k, v in asdict(self).items()} | {"matmuls": self.matmuls}


@dataclass(frozen=True)
class Comparison:
    design: ShapingDesign
    rows: tuple[Row, ...]
    dtype: str
    shape: tuple[int, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "shaping", "design": design_document(self.design), "dtype": self.dtype,
            "shape": list(self.shape), "comparison": [r.to_dict() for r in self.rows],
        }


def compare(
    target: Target | str, lo: float, hi: float = 1.0, tol: float = 0.01, *, shape: tuple[int, int] = DEFAULT_SHAPE,
    dtype: str = "bf16", seed: int = 0,
) -> Comparison:
    """The cheapest design for the target (`design_target`) and what people run today, each with matmuls,
    FLOPs on `shape`, the exact error on [lo, hi] and the error of a `dtype` run on a PROXY_SHAPE matrix whose
    σ are log-spaced over the band."""
    target = parse_target(target)
    design = design_target(target, lo, hi, tol, shape=shape)
    x0 = band_matrix(lo, hi, PROXY_SHAPE, seed).matrix
    rows = [_row(design.pipeline, target, lo, hi, x0, shape, dtype, True, design.fit.bracket)]
    for pipeline in current_practice(target, hi):
        rows.append(_row(pipeline, target, lo, hi, x0, shape, dtype, False))
    return Comparison(design, tuple(rows), dtype, shape)


def _row(pipeline: Pipeline, target: Target, lo: float, hi: float, x0: np.ndarray, shape: tuple[int, int],
         dtype: str, ours: bool, bracket: ErrorBracket | None = None) -> Row:
    bracket = bracket or pipeline.error(target, lo, hi, 1e-4)
    model = shaping_accuracy(x0, run_pipeline(pipeline, x0, dtype), target)["direction_error"]
    return Row(pipeline.name, pipeline.rect, pipeline.square, pipeline.flops(*shape), bracket.upper, bracket.lower,
               model, ours)


def design_document(design: ShapingDesign) -> dict[str, Any]:
    """The design as JSON: target, band, tolerance, every stage (schedules' coefficients, q in Chebyshev form on
    its λ interval, scalars), products, the exact bracket and what is known about optimality."""
    p = design.pipeline
    stages = []
    for role, stage in p.stages:
        if isinstance(stage, Schedule):
            stages.append({"role": role, "coefficients": stage.coefficients(), "norm_div": stage.norm_div})
        else:
            interval = list(getattr(p.fmap, "interval", (0.0, 1.0)))
            stages.append({"role": role, "chebyshev": list(stage), "lambda_interval": interval})
    return {
        "target": design.target.name, "error_kind": design.target.error, "min_sigma": design.lo,
        "max_sigma": design.hi, "tol": design.tol, "met": design.met, "pipeline": p.kind, "name": p.name,
        "stages": stages, "params": dict(p.params), "rectangular_matmuls": p.rect, "square_matmuls": p.square,
        "error": json_number(design.error), "error_lower": json_number(design.fit.bracket.lower),
        "lower_bound": None if design.lower_bound is None else json_number(design.lower_bound),
        "certificate": design.certificate, "guard_passed": bool(design.guard[0]),
    }
