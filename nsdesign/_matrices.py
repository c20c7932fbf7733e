"""Random orthogonal factors for test matrices with prescribed singular values (search and plot share them)."""

from __future__ import annotations

import numpy as np


def haar_factors(m: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """U (m×r) and V (n×r) with Haar-distributed orthonormal columns, r = min(m, n); U·diag(σ)·Vᵀ then has
    exactly the singular values σ. U is drawn first, then V, from one generator seeded with `seed`."""
    rng = np.random.default_rng(seed)
    r = min(m, n)
    return _haar(rng, m, r), _haar(rng, n, r)


def _haar(rng: np.random.Generator, n: int, r: int) -> np.ndarray:
    # QR of a Gaussian matrix, with the signs fixed so the distribution is Haar (Mezzadri 2007).
    q, t = np.linalg.qr(rng.standard_normal((n, r)))
    return q * np.sign(np.diag(t))
