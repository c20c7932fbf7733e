"""Spectral-shaping pipelines on torch tensors: U g(Σ) Vᵀ by the maps nsdesign.design.shaping designs (and the
current-practice ones it compares them with), the same operations as the numpy rounding model
(nsdesign.design.shaping_runs), one torch call per rounded operation.

    design = design_target("clip:0.5", 1e-3, 1.0, 1e-3)        # nsdesign.design.shaping
    Y = shape(G, design.pipeline, dtype=torch.bfloat16)          # U min(σ/τ, 1) Vᵀ of G/‖G‖_F

σ is the singular value of G/‖G‖_F (what every schedule sees); for U Σ^p Vᵀ of G itself multiply the result by
‖G‖_F^p (as DynMuon's fast_spectral does), and a clip level τ is in the same normalized units.
"""

from __future__ import annotations

import torch

from nsdesign.core.schedule import Schedule
from nsdesign.core.targets import CompositionMap
from nsdesign.design.shaping import ClipMap, Pipeline, ProductMap, SoftMap
from nsdesign.design.shaping_practice import EOClipMap, HardcapMap
from nsdesign.torch.iterations import normalize, standard_iteration

__all__ = ["apply_pipeline", "shape"]


def shape(G: torch.Tensor, pipeline: Pipeline, dtype: torch.dtype = torch.bfloat16) -> torch.Tensor:
    """The pipeline applied to G (any orientation, a matrix or a batch) after Frobenius normalization; the
    result has G's shape, in `dtype`."""
    tall = G.shape[-2] > G.shape[-1]
    X = G.mT if tall else G
    Y = apply_pipeline(normalize(X, 1.0, dtype), pipeline)
    return Y.mT if tall else Y


def _ns(schedule: Schedule, X: torch.Tensor) -> torch.Tensor:
    rows = tuple(tuple(float(c) for c in p.coefficients) for p in schedule.steps)
    if schedule.input_scale != 1.0:
        X = X / schedule.input_scale
    return standard_iteration(X, rows)


def apply_pipeline(X: torch.Tensor, pipeline: Pipeline) -> torch.Tensor:
    """The pipeline on a normalized wide X (m ≤ n), in X's dtype (the Gram stage of a product in fp32 at least)."""
    fmap = pipeline.fmap
    if isinstance(fmap, CompositionMap):
        return _ns(fmap.schedule, X)
    if isinstance(fmap, ProductMap):
        return _product(fmap, X)
    if isinstance(fmap, ClipMap):
        term = fmap.term
        O = _ns(term.polar, X)
        return _clip(X, O, term.sign, ((term.shift, -1.0, term.scale),), term.shift * O + X, term.shift)
    if isinstance(fmap, EOClipMap):
        O = _ns(fmap.high.polar, X)
        terms = ((fmap.low.shift, 1.0, None), (fmap.high.shift, -1.0, None))
        return _clip(X, O, fmap.high.sign, terms, (fmap.low.shift + fmap.high.shift) * O, fmap.high.shift)
    if isinstance(fmap, HardcapMap):
        O = _ns(fmap.polar, X)
        aX = fmap.tau * O - X
        S = _ns(fmap.sign, aX / aX.float().norm(dim=(-2, -1), keepdim=True).clamp_min(1e-30).to(X.dtype))
        return (fmap.tau * O + X - (aX @ S.mT) @ O) * (1.0 / (2.0 * fmap.tau))
    if isinstance(fmap, SoftMap):
        m = X.shape[-2]
        eye = torch.eye(m, dtype=X.dtype, device=X.device).expand(*X.shape[:-2], m, m) * fmap.eps
        return _ns(fmap.polar, torch.cat([X, eye], dim=-1))[..., : X.shape[-1]]
    return X  # the identity (DynMuon at p ≥ 0.25)


def _product(fmap: ProductMap, X: torch.Tensor) -> torch.Tensor:
    """O = P(X) in X's dtype; A = XXᵀ, q(A) (Clenshaw on its Chebyshev form, else Horner) and q(A)·O in ≥ fp32."""
    O = _ns(fmap.polar, X)
    work = torch.promote_types(X.dtype, torch.float32)
    Xw, Ow = X.to(work), O.to(work)
    A = Xw @ Xw.mT
    eye = torch.eye(A.shape[-1], dtype=work, device=X.device)
    if fmap.chebyshev:
        lo, hi = fmap.interval
        mu = A * (2.0 / (hi - lo)) - eye * ((lo + hi) / (hi - lo))
        c = fmap.chebyshev
        b1, b2 = torch.zeros_like(mu), torch.zeros_like(mu)
        for k in range(len(c) - 1, 0, -1):
            b1, b2 = 2.0 * (mu @ b1 if k < len(c) - 1 else b1) - b2 + eye * c[k], b1
        Q = (mu @ b1 if len(c) > 1 else b1) - b2 + eye * c[0]
    else:
        Q = eye * fmap.q[-1]
        for coef in reversed(fmap.q[:-1]):
            Q = Q @ A + eye * coef
    return (Q @ Ow).to(X.dtype)


def _clip(X: torch.Tensor, O: torch.Tensor, sign: Schedule, terms, start: torch.Tensor, tau: float) -> torch.Tensor:
    """(start + Σ ± NS(c(sI − OXᵀ))(sO − X))/(2τ); c = None: the NS input divided by its Frobenius norm (EO)."""
    m = X.shape[-2]
    eye = torch.eye(m, dtype=X.dtype, device=X.device)
    OXt = O @ X.mT
    result = start
    for shift, sgn, scale in terms:
        A = eye * shift - OXt
        if scale is None:
            A = A / A.float().norm(dim=(-2, -1), keepdim=True).clamp_min(1e-30).to(X.dtype)
        else:
            A = A * scale
        result = result + sgn * (_ns(sign, A) @ (shift * O - X))
    return result * (1.0 / (2.0 * tau))
