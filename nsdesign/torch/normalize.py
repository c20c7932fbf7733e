"""Every normalizer of nsdesign.core.normalizers on tensors, fused into the first Newton–Schulz step where free.

The standard form's first step forms A = XXᵀ anyway (and A² for a quintic), so the tighter normalizers cost only
scalar and element-wise work on products that exist already:

    X₀ = X / ‖X‖_F                       in ≥ fp32, rounded once to the compute dtype. Always: it costs O(mn) and
                                         keeps A and A² inside fp16's range (max 65504), where a raw A² overflows.
    A = X₀X₀ᵀ                            the first step's own product
    schatten4: t = ‖A‖_F^{−1/2}          X₁ = t·X₀, A₁ = t²·A            (fused: B = poly(A₁) by addmm)
    schatten8: A² = A·A, t = ‖A²‖_F^{−1/4}  A₁ = t²A, A₁² = t⁴A²          (unfused: A² must exist to be measured)
    spectral:  k steps v ← A v / ‖A v‖ from v = 1, λ̂ = ‖A v‖, t = 1/(f·√λ̂)
    aol:       d_i = (Σ_j |A_ij|)^{−1/2}, X₁ = diag(d) X₀, A₁ = diag(d) A diag(d)
    then       X = c₀X₁ + (c₁A₁ + c₂A₁² + …) X₁  and the remaining steps as usual.

Norms and power iterations are computed in fp32 from the compute-dtype products (what a fused kernel would have
in registers). `norm_div` divides on top (t/norm_div). Frobenius itself is `iterations.normalize`.

Gram form (`normalized_gram`): its first product R = X₀X₀ᵀ is the A above, so schatten4, spectral and AOL cost
the same there: R₁ = t²R (AOL: D R D), X₁ = t·X₀ (D X₀), then the Gram iteration from (X₁, R₁) — no extra
matmul. schatten8 is refused in the Gram form: it needs A² measured before the first step's polynomial, and the
Gram kernel forms R² from the already scaled R₁ inside that polynomial (supporting it means one extra m×m
product or a re-written first step, which no Gram kernel has).
"""

from __future__ import annotations

from typing import Any

import torch

from nsdesign.core.normalizers import Normalizer, get, recorded_normalizer
from nsdesign.errors import InputError
from nsdesign.torch.iterations import Rows, _addmm, _mm, gram_iteration, normalize, poly_in, standard_iteration


def as_normalizer(reference: Any) -> Normalizer | None:
    """A Normalizer from a name, a Normalizer, a dict, or None (meaning: what the schedule records, else Frobenius)."""
    if reference is None:
        return None
    if isinstance(reference, Normalizer):
        return reference
    if isinstance(reference, dict):
        return Normalizer.from_dict(reference)
    return get(reference)


def _scale(A: torch.Tensor, normalizer: Normalizer, norm_div: float, eps: float) -> torch.Tensor:
    """t (…, 1, 1, fp32) of a scalar normalizer from A = X₀X₀ᵀ (schatten4, spectral; frobenius: 1), over norm_div."""
    if normalizer.name == "schatten4":
        s2 = torch.linalg.matrix_norm(A.float(), keepdim=True)  # ‖A‖_F = ‖σ‖₄²
        return s2.clamp_min(eps).rsqrt() / norm_div
    if normalizer.name == "spectral":
        Af = A.float()
        v = torch.ones(*A.shape[:-1], 1, dtype=torch.float32, device=A.device)
        v = v / torch.linalg.vector_norm(v, dim=-2, keepdim=True)
        lam = torch.ones(*A.shape[:-2], 1, 1, dtype=torch.float32, device=A.device)
        for _ in range(normalizer.power_iterations):
            w = Af @ v
            lam = torch.linalg.vector_norm(w, dim=-2, keepdim=True)
            v = w / lam.clamp_min(1e-30)
        return (lam.clamp_min(eps).sqrt() * normalizer.safety).reciprocal() / norm_div
    # frobenius through this path (used when a caller forces the fused route): t = 1
    return torch.ones(*A.shape[:-2], 1, 1, dtype=torch.float32, device=A.device) / norm_div


def normalized_gram(
    X: torch.Tensor, rows: Rows, normalizer: Normalizer, norm_div: float, dtype: torch.dtype, eps: float,
    restarts: tuple[int, ...] = (),
) -> torch.Tensor:
    """The Gram form on a wide X with `normalizer` applied to its first Gram matrix (see the module docstring)."""
    check_form(normalizer, "gram")
    normalizer.check_first_degree(2 * len(rows[0]) - 1)
    X0 = normalize(X, 1.0, dtype, eps)  # Frobenius pre-scale, as in the standard form
    A = _mm(X0, X0.mT)
    if normalizer.name == "aol":
        d = A.float().abs().sum(dim=-1, keepdim=True).clamp_min(eps).rsqrt() / norm_div
        X1, R1 = (X0.float() * d).to(dtype), (A.float() * d * d.mT).to(dtype)
    else:
        t = _scale(A, normalizer, norm_div, eps)
        X1, R1 = (X0.float() * t).to(dtype), (A.float() * t * t).to(dtype)
    return gram_iteration(X1, rows, restarts, R=R1)


def normalized_standard(
    X: torch.Tensor, rows: Rows, normalizer: Normalizer, norm_div: float, dtype: torch.dtype, eps: float
) -> torch.Tensor:
    """The standard form on a wide X (…, m ≤ n) with `normalizer` fused into the first step."""
    first, rest = rows[0], rows[1:]
    normalizer.check_first_degree(2 * len(first) - 1)
    X0 = normalize(X, 1.0, dtype, eps)  # Frobenius pre-scale (see the module docstring)
    A = _mm(X0, X0.mT)
    a, tail = first[0], first[1:]
    if normalizer.name == "aol":
        rowsum = A.float().abs().sum(dim=-1, keepdim=True)
        d = rowsum.clamp_min(eps).rsqrt() / norm_div
        X1 = (X0.float() * d).to(dtype)
        A1 = (A.float() * d * d.mT).to(dtype)
        B = poly_in(A1, tail)
        return standard_iteration(_addmm(X1, B, X1, beta=a), rest)
    if normalizer.name == "schatten8":
        A2 = _mm(A, A)
        s4 = torch.linalg.matrix_norm(A2.float(), keepdim=True)  # ‖A²‖_F = ‖σ‖₈⁴
        t = s4.clamp_min(eps).pow(-0.25) / norm_div
        X1 = (X0.float() * t).to(dtype)
        A1 = (A.float() * t * t).to(dtype)
        A2t = (A2.float() * t**4).to(dtype)
        powers = [A1, A2t]
        while len(powers) < len(tail):
            powers.append(_mm(powers[-1], A1))
        B = sum(c * P for c, P in zip(tail, powers))
        return standard_iteration(a * X1 + _mm(B, X1), rest)
    t = _scale(A, normalizer, norm_div, eps)
    X1 = (X0.float() * t).to(dtype)
    A1 = (A.float() * t * t).to(dtype)
    if len(tail) == 1:
        return standard_iteration(_addmm(X1, A1, X1, beta=a, alpha=tail[0]), rest)
    return standard_iteration(_addmm(X1, poly_in(A1, tail), X1, beta=a), rest)


GRAM_NORMALIZERS = ("frobenius", "schatten4", "spectral", "aol")  # expressible on the Gram form's first R


def check_form(normalizer: Normalizer, form: str) -> None:
    form = {"fused": "standard"}.get(form, form)
    if form == "gram" and normalizer.name not in GRAM_NORMALIZERS:
        raise InputError(
            f"the gram form cannot run {normalizer.name}: it needs A² measured before the first step's polynomial, "
            f"which the Gram kernel forms from the scaled R; use form='standard', or {', '.join(GRAM_NORMALIZERS[1:])}"
        )
    if form not in ("standard", "gram") and normalizer.name != "frobenius":
        raise InputError(f"the {form} form runs with the frobenius normalizer only; use form='standard' for {normalizer.name}")


__all__ = ["as_normalizer", "check_form", "get", "normalized_gram", "normalized_standard", "recorded_normalizer"]
