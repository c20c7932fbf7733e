"""Low-precision error of a schedule: the matrix iteration run in bf16 or fp16, on the CPU.

What is modelled (backend "emulate", numpy, the default for search trials):

- The test matrix is X₀ = U·diag(σ)·Vᵀ with Haar-random orthonormal U (m×m) and V (n×m), built in float64
  from a seed. The σ are *already Frobenius-normalized* values (the band the schedule is designed for), so the
  run skips ‖X‖_F and only divides by the schedule's `norm_div` (in float64, then one rounding to the
  low-precision format: the kernel's "divide in ≥ fp32, round once").
- Every step is torch.optim.Muon's fused standard form, on the wide orientation (m ≤ n):
      A = XXᵀ;  B = c1·A + c2·A² (+ … by Horner, one fused product per extra power);  X = c0·X + B·X
  (quintic: B = addmm(A, A, A, beta=b, alpha=c), X = addmm(X, B, X, beta=a); cubic: X = addmm(X, A, X,
  beta=a, alpha=b); degree 1: X = a·X). Each fused call multiplies low-precision operands (exactly
  representable in fp32), accumulates in fp32 and rounds its output once to bf16/fp16 — what cuBLAS
  bf16 GEMMs with an fp32 epilogue and torch's CPU bf16 kernels do. The model differs from a real run
  only by fp32 summation order (measured: ~1 in 10⁴ entries differ by one bf16 ulp from torch CPU bf16).
- Round to bf16 is round-to-nearest-even on the top 16 bits of the fp32 word; fp16 is numpy's float16 cast
  (nearest-even, overflow to inf at 65504, subnormals as IEEE).
- The result's singular values are measured in float64 (eigenvalues of YYᵀ), and the error is
  max_i |1 − σ_i(Y)|; a non-finite output counts as an infinite error.

A runner passed as `backend` replaces the model: `nsdesign.torch.crosscheck.run_torch` runs the same sequence
with real torch tensors in the low-precision dtype (CPU, or the GPU when one is given); on this CPU a 1024×4096
bf16 product takes ~20 s, so it is for confirmation, not trials. This module never imports torch/.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Literal, Sequence

import numpy as np

from nsdesign._matrices import haar_factors
from nsdesign.core.limits import DTYPES
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.precision._blas import single_thread
from nsdesign.precision.kernels import check_kernel
from nsdesign.precision.kernels import run as run_kernel

Precision = Literal["bf16", "fp16", "fp32", "fp64", "fp8"]
PRECISIONS: tuple[str, ...] = DTYPES  # core.limits: the one list of formats
DIVERGED_ERROR = math.inf  # the error recorded for a run that blew up (the rule itself: core.limits.DIVERGED)
SMALL_ROWS = 512  # proxy matrices up to this many rows run on one BLAS thread (see nsdesign.precision._blas)


# --------------------------------------------------------------------------------------------------
# Rounding (kept here by name; the models live in nsdesign.precision.kernels)
# --------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------
# Test matrices
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestMatrix:
    """X₀ = U·diag(σ)·Vᵀ (wide orientation, float64) with its prescribed singular values."""

    sigma: tuple[float, ...]
    shape: tuple[int, int]
    seed: int

    @property
    def matrix(self) -> np.ndarray:
        return _matrix(self.sigma, self.shape, self.seed)


def log_spaced(min_sigma: float, max_sigma: float, count: int) -> tuple[float, ...]:
    """`count` singular values log-spaced in [min_sigma, max_sigma], largest first."""
    return tuple(float(v) for v in np.geomspace(max_sigma, min_sigma, count))


def test_matrix(shape: tuple[int, int], sigma: Sequence[float], seed: int = 0) -> TestMatrix:
    m, n = sorted((int(shape[0]), int(shape[1])))
    if m < 1:
        raise InputError(f"test matrix dimensions must be positive, got {shape}")
    values = tuple(float(s) for s in sigma)
    if len(values) != m:
        raise InputError(f"a {m}x{n} test matrix needs {m} singular values, got {len(values)}")
    if not all(math.isfinite(s) and s >= 0 for s in values):
        raise InputError("test singular values must be finite and non-negative")
    return TestMatrix(values, (m, n), int(seed))


def band_matrix(min_sigma: float, max_sigma: float, shape: tuple[int, int], seed: int = 0) -> TestMatrix:
    """The standard test: singular values log-spaced over the band."""
    m = min(shape)
    return test_matrix(shape, log_spaced(min_sigma, max_sigma, m), seed)


_orthonormal = lru_cache(maxsize=4)(haar_factors)  # every trial of a study reuses the same factors


@lru_cache(maxsize=8)
def _matrix(sigma: tuple[float, ...], shape: tuple[int, int], seed: int) -> np.ndarray:
    u, v = _orthonormal(shape[0], shape[1], seed)
    out = (u * np.asarray(sigma)) @ v.T
    out.setflags(write=False)
    return out


# --------------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------------


def run_emulated(
    schedule: Schedule,
    x0: np.ndarray,
    precision: str = "bf16",
    scale: float = 1.0,
    kernel: str = "fused",
    restarts: Sequence[int] = (),
) -> np.ndarray:
    """The kernel's iteration on scale·X₀/norm_div with every op rounded to `precision` (fused by default)."""
    return run_kernel(schedule, x0, kernel, precision, scale, restarts)


Runner = Callable[..., np.ndarray]
"""How one low-precision run is carried out: (schedule, x0, precision, scale, kernel, restarts) → output.

`run_emulated` (the numpy model, backend "emulate") lives here; the real-torch runner is
`nsdesign.torch.crosscheck.run_torch`, which callers above torch/ pass in (torch lives in torch/ only)."""


def runner_name(backend: str | Runner) -> str:
    """How a run is labelled: "emulate", or a runner's name without its `run_` prefix ("torch")."""
    if isinstance(backend, str):
        return backend
    function = getattr(backend, "func", backend)  # a functools.partial is named by what it wraps
    return getattr(function, "__name__", "runner").removeprefix("run_")


def _runner(backend: str | Runner) -> Runner:
    if backend == "emulate":
        return run_emulated
    if callable(backend):
        return backend
    raise InputError(
        f"backend must be 'emulate' or a runner such as nsdesign.torch.crosscheck.run_torch, got {backend!r}"
    )


def output_singular_values(Y: np.ndarray) -> np.ndarray:
    """Singular values of the run's output, in float64 (√eig(YYᵀ)); NaN-free or an array of inf."""
    Y = np.asarray(Y, dtype=np.float64)
    if not np.isfinite(Y).all():
        return np.full(Y.shape[0], np.inf)
    gram = Y @ Y.T
    if not np.isfinite(gram).all():
        return np.full(Y.shape[0], np.inf)
    return np.sqrt(np.clip(np.linalg.eigvalsh(gram), 0.0, None))


@dataclass(frozen=True)
class MatrixRun:
    """Outcome of one low-precision run: the error and the output's singular value range."""

    error: float  # max |1 − σ_out|
    sigma_min: float
    sigma_max: float
    precision: str
    backend: str
    shape: tuple[int, int]
    kernel: str = "fused"

    @property
    def diverged(self) -> bool:
        return not math.isfinite(self.error)


def matrix_error(
    schedule: Schedule,
    test: TestMatrix,
    precision: str = "bf16",
    scale: float = 1.0,
    backend: str | Runner = "emulate",
    kernel: str = "fused",
    restarts: Sequence[int] = (),
) -> MatrixRun:
    """max |1 − σ_out| of the low-precision run on scale·X₀ (scale = 1.02 is the divergence check).

    `backend` is "emulate" (the numpy rounding model) or a `Runner`: real torch is
    `nsdesign.torch.crosscheck.run_torch` (`functools.partial(run_torch, device="cuda")` on a GPU)."""
    run = _runner(backend)
    check_kernel(kernel)
    with single_thread(min(test.shape) <= SMALL_ROWS):
        s = output_singular_values(run(schedule, test.matrix, precision, scale, kernel, restarts))
    error = float(np.max(np.abs(1.0 - s))) if np.isfinite(s).all() else DIVERGED_ERROR
    return MatrixRun(error, float(s.min()), float(s.max()), precision, runner_name(backend), test.shape, kernel)
