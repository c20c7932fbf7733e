"""The iterations themselves on a normalized wide X (m ≤ n) or a batch of them: Frobenius normalization, the
standard (fused), unfused and Gram forms, and the fused products they are built from.

The forms and why each exists are described in nsdesign.torch.kernels, which dispatches to these; they live in
their own module so that nsdesign.torch.normalize (a normalizer fused into the first step) can build on them
while kernels builds on both, without either importing the other back.
"""

from __future__ import annotations

import torch

EPS = 1e-7  # torch.optim._muon.EPS (Keller Jordan's muon.py)

Rows = tuple[tuple[float, ...], ...]


def normalize(X: torch.Tensor, norm_div: float, dtype: torch.dtype, eps: float = EPS) -> torch.Tensor:
    """X / (norm_div·‖X‖_F) per matrix, divided in ≥ fp32 and rounded once to `dtype` (normalize, then cast).

    Scale-invariant for every finite non-zero X down to the smallest normal number, unlike torch.optim.Muon's
    X / max(‖X‖_F, eps) (eps = 1e-7), which shrinks updates with ‖X‖_F < eps — late in training, or under
    loss scaling with fp16 gradients, such updates come out too small by ‖X‖_F/eps. Here X is first divided by
    its largest |entry| (so ‖X‖_F cannot underflow or overflow; the norm is then in [1, √(mn)]; subnormal
    inputs lose only their own missing digits), and eps only guards the all-zero matrix, which stays zero
    (no NaN). Casting to `dtype` happens after the division, so fp16's 65504 limit never sees raw values."""
    work = torch.promote_types(X.dtype, torch.float32)
    Xw = X.to(work)
    amax = Xw.abs().amax(dim=(-2, -1), keepdim=True)
    Xs = Xw / torch.where(amax > 0, amax, torch.ones_like(amax))  # entries in [-1, 1], the largest ±1
    norm = torch.linalg.vector_norm(Xs, dim=(-2, -1), keepdim=True)  # ≥ 1 unless X = 0
    return (Xs / (norm * norm_div).clamp_min(eps)).to(dtype)


def _mm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.mm(a, b) if a.ndim == 2 else torch.bmm(a, b)


def _addmm(c: torch.Tensor, a: torch.Tensor, b: torch.Tensor, beta: float, alpha: float = 1.0) -> torch.Tensor:
    """beta·c + alpha·(a @ b) in one fused call (addmm for a matrix, baddbmm for a batch)."""
    if a.ndim == 2:
        return torch.addmm(c, a, b, beta=beta, alpha=alpha)
    return torch.baddbmm(c, a, b, beta=beta, alpha=alpha)


def poly_in(A: torch.Tensor, tail: tuple[float, ...]) -> torch.Tensor:
    """c1·A + c2·A² + … + cd·A^d for tail = (c1, …, cd), d ≥ 1, by Horner with fused products."""
    if len(tail) == 1:
        return A * tail[0]
    B = _addmm(A, A, A, beta=tail[-2], alpha=tail[-1])  # c_{d-1}·A + c_d·A²
    for c in reversed(tail[:-2]):
        B = _addmm(A, B, A, beta=c)  # c·A + B·A
    return B


def standard_iteration(X: torch.Tensor, rows: Rows) -> torch.Tensor:
    """The standard form on a normalized wide X (m ≤ n) or a batch of them."""
    for row in rows:
        a, tail = row[0], row[1:]
        if not tail:
            X = X * a
            continue
        A = _mm(X, X.mT)
        if len(tail) == 1:
            X = _addmm(X, A, X, beta=a, alpha=tail[0])  # cubic: a·X + b·A·X
        else:
            X = _addmm(X, poly_in(A, tail), X, beta=a)
    return X


def unfused_iteration(X: torch.Tensor, rows: Rows, restarts: tuple[int, ...] = ()) -> torch.Tensor:
    """Keller Jordan's muon.py / modded-nanogpt step, unfused: B = b·A + c·A@A; X = a·X + B@X (any degree by Horner).

    Every elementwise op and product rounds separately (7 roundings a quintic step against the fused form's 3),
    which is what makes the same schedule overshoot more in bf16. `restarts` is ignored (one signature for all)."""
    for row in rows:
        a, tail = row[0], row[1:]
        if not tail:
            X = a * X
            continue
        A = X @ X.mT
        B = tail[-1] * A
        for c in reversed(tail[:-1]):
            B = c * A + B @ A
        X = a * X + B @ X
    return X


def gram_iteration(X: torch.Tensor, rows: Rows, restarts: tuple[int, ...] = (), R: torch.Tensor | None = None) -> torch.Tensor:
    """The Gram form on a normalized wide X, in Dao-AILab gram-newton-schulz's sequence of fused calls.

    R = XXᵀ; per step Z = c1·R + … + cd·R^d; Q = Z + c0·I on the first step and after a restart, else
    Q = c0·Q + Z·Q; unless the next step restarts, RZ = c0·R + R·Z and R = c0·RZ + Z·RZ (so R stays
    X_kX_kᵀ = (c0 I + Z) R (c0 I + Z)); a restart forms X = Q·X and R = XXᵀ afresh; the result is Q·X.
    For quintics this is `_make_compiled_gram` of gram-newton-schulz 0.1.6 call for call (tests compare).
    `R` given: the first Gram matrix XXᵀ already formed (a normalizer scaled it; nsdesign.torch.normalize)."""
    m = X.shape[-2]
    eye = torch.eye(m, dtype=X.dtype, device=X.device)
    R = _mm(X, X.mT) if R is None else R
    Q: torch.Tensor | None = None
    last = len(rows) - 1
    for i, row in enumerate(rows):
        if i in restarts and Q is not None:
            X = _mm(Q, X)
            R, Q = _mm(X, X.mT), None
        a, tail = row[0], row[1:]
        Z = poly_in(R, tail) if tail else torch.zeros_like(R)
        Q = Z + a * eye if Q is None else _addmm(Q, Q, Z, beta=a)  # Dao: baddbmm(Q, Q, Z), Q·Z
        if i != last and (i + 1) not in restarts:
            RZ = _addmm(R, R, Z, beta=a)
            R = _addmm(RZ, Z, RZ, beta=a)
    assert Q is not None
    return _mm(Q, X)
