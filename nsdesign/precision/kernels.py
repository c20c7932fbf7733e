"""numpy rounding models of the three Newton–Schulz kernels users run, in fp64/fp32/bf16/fp16 and emulated fp8.

Every model runs on a wide (m ≤ n), already normalized X₀ (the σ a schedule is designed for, divided by its
`norm_div`), so a normalizer — Frobenius or anything else — is applied before and outside (`prepared=`
in nsdesign.torch.kernels is the same hook on tensors). Each rounded operation below is one torch call; its
inputs are values of the low-precision format (exact in fp32), it computes in fp32 and rounds its output
once — what torch's CPU bf16/fp16 kernels and cuBLAS GEMMs with an fp32 epilogue do. Scalars are cast to
fp32 first, as torch's `opmath` does. The models differ from real runs only by fp32 summation order (the
tests compare them with torch CPU runs of the same kernel entry by entry).

Kernels (p(x) = c0·x + c1·x³ + … + cd·x^(2d+1), A = X·Xᵀ):

- **fused** — torch.optim.Muon (`_zeropower_via_newtonschulz`): B = addmm(A, A, A, beta=c1, alpha=c2),
  X = addmm(X, B, X, beta=c0); each fused call rounds once. Higher degrees: B = addmm(A, B, A, beta=c) per
  extra power; cubic X = addmm(X, A, X, beta=c0, alpha=c1).
- **unfused** — Keller Jordan's muon.py and modded-nanogpt: B = b·A + c·A@A; X = a·X + B@X, every
  elementwise op and product rounding separately (b·A, c·A, (c·A)@A, their sum, a·X, B@X, the sum: 7
  roundings a step against 3). Higher degrees: B = c_d·A, then B = c·A + B@A (Horner).
- **gram** — Dao-AILab gram-newton-schulz (`_make_compiled_gram`, v0.1.6), generalised to any degree:
  R = X·Xᵀ; per step Z = c1·R + … (fused as above), Q = Z + c0·I on the first step and after a restart,
  else Q = baddbmm(Q, Q, Z, beta=c0) = c0·Q + Q·Z; unless the next step restarts, RZ = baddbmm(R, R, Z, beta=c0) and
  R = baddbmm(RZ, Z, RZ, beta=c0); a restart before step i forms X = Q·X and R = X·Xᵀ afresh; finally X = Q·X.

Formats: bf16 (round-to-nearest-even on the top 16 bits of fp32), fp16 (IEEE half), fp32, fp64 (work in
fp64), and **fp8 (experimental)**: every matrix product quantizes each operand to e4m3 (OCP E4M3FN, as
torch.float8_e4m3fn) with a per-tensor scale amax/448, multiplies the e4m3 values exactly with fp32
accumulation and rescales; everything else stays fp32. It is an emulation of scaled fp8 GEMMs (as in
torch._scaled_mm), checked against torch's e4m3 casts, not against a real fp8 matmul.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from nsdesign.core import limits
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError

Kernel = limits.Kernel
KERNELS = limits.KERNELS  # the one kernel list (core.limits)
DTYPES = limits.DTYPES
E4M3_MAX = 448.0  # largest finite float8_e4m3fn
E4M3_MIN_NORMAL_EXP = -6  # 2^-6 is the smallest normal; subnormals step by 2^-9


# --------------------------------------------------------------------------------------------------
# Rounding
# --------------------------------------------------------------------------------------------------


def round_bf16(x: np.ndarray) -> np.ndarray:
    """fp32 → nearest bf16 (ties to even), returned as fp32 holding a bf16 value."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    bits = x.view(np.uint32)
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    out = rounded.view(np.float32)
    nan = np.isnan(x)
    if nan.any():
        out = np.where(nan, np.float32(np.nan), out)
    return out


def round_fp16(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.asarray(x, dtype=np.float32).astype(np.float16).astype(np.float32)


def round_e4m3(x: np.ndarray) -> np.ndarray:
    """fp32 → nearest float8_e4m3fn value (ties to even), as fp32; beyond ±448 (after rounding) → NaN.

    E4M3FN (OCP 8-bit floating point spec, 2023): 4 exponent bits (bias 7), 3 mantissa bits, no infinities,
    largest finite 448, subnormals down to 2^-9. torch's cast maps out-of-range values to NaN; with the
    per-tensor scale amax/448 used here no operand is out of range."""
    x64 = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        _, e = np.frexp(x64)  # |x| = m·2^e, m ∈ [0.5, 1): the leading bit is 2^(e-1)
        ulp = np.exp2(np.maximum(e - 1, E4M3_MIN_NORMAL_EXP) - 3.0)
        out = np.rint(x64 / ulp) * ulp
        out = np.where(np.abs(out) > E4M3_MAX, np.nan, out)
    return out.astype(np.float32)


def rounder(dtype: str) -> Callable[[np.ndarray], np.ndarray]:
    """The rounding applied to every op's output in `dtype` (fp8 keeps fp32 outside the products)."""
    if dtype == "bf16":
        return round_bf16
    if dtype == "fp16":
        return round_fp16
    if dtype in ("fp32", "fp8"):
        return lambda x: np.asarray(x, dtype=np.float32)
    if dtype == "fp64":
        return lambda x: np.asarray(x, dtype=np.float64)
    raise InputError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")


def scaled_e4m3(a: np.ndarray) -> tuple[np.ndarray, float]:
    """(e4m3 values of a/scale, scale) with the per-tensor scale amax/448 (scale 1 for an all-zero tensor)."""
    amax = float(np.max(np.abs(a))) if a.size else 0.0
    if not math.isfinite(amax):
        return np.full(a.shape, np.nan, dtype=np.float32), 1.0
    scale = amax / E4M3_MAX if amax > 0 else 1.0
    return round_e4m3(np.asarray(a, dtype=np.float64) / scale), scale


def matmul(dtype: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The product of two rounded operands before the output rounding (fp8: scaled e4m3 operands)."""
    if dtype != "fp8":
        return lambda a, b: a @ b
    def mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        qa, sa = scaled_e4m3(a)
        qb, sb = scaled_e4m3(b)
        return (qa @ qb) * np.float32(sa * sb)
    return mm


def work_dtype(dtype: str) -> type:
    return np.float64 if dtype == "fp64" else np.float32


# --------------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------------


def check_kernel(kernel: str) -> None:
    if kernel not in KERNELS:
        raise InputError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")


def run(
    schedule: Schedule,
    x0: np.ndarray,
    kernel: str = "fused",
    dtype: str = "bf16",
    scale: float = 1.0,
    restarts: Sequence[int] = (),
) -> np.ndarray:
    """The kernel on scale·X₀/norm_div (X₀ wide, normalized), every op rounded as in `dtype` (see module doc).

    `restarts` (gram only) are 0-based step indices before which X and R are re-formed."""
    check_kernel(kernel)
    rnd, mm = rounder(dtype), matmul(dtype)
    work = work_dtype(dtype)
    rows = [tuple(float(c) for c in p.coefficients) for p in schedule.steps]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        X = rnd((np.asarray(x0, dtype=np.float64) * (scale / schedule.input_scale)).astype(work))
        if kernel == "fused":
            return _fused(X, rows, rnd, mm, work)
        if kernel == "unfused":
            return _unfused(X, rows, rnd, mm, work)
        return _gram(X, rows, tuple(restarts), rnd, mm, work)


def _c(value: float, work: type) -> np.floating:
    return work(value)  # the scalar as torch's opmath sees it (fp32 for every low-precision format)


def _poly_fused(A: np.ndarray, tail: tuple[float, ...], rnd, mm, work) -> np.ndarray:
    """c1·A + … + cd·A^d with fused products (nsdesign.torch.kernels.poly_in)."""
    if len(tail) == 1:
        return rnd(_c(tail[0], work) * A)
    B = rnd(_c(tail[-2], work) * A + _c(tail[-1], work) * mm(A, A))
    for c in reversed(tail[:-2]):
        B = rnd(_c(c, work) * A + mm(B, A))
    return B


def _fused(X, rows, rnd, mm, work):
    for row in rows:
        a, tail = row[0], row[1:]
        if not tail:
            X = rnd(_c(a, work) * X)
            continue
        A = rnd(mm(X, X.T))
        if len(tail) == 1:
            X = rnd(_c(a, work) * X + _c(tail[0], work) * mm(A, X))
        else:
            X = rnd(_c(a, work) * X + mm(_poly_fused(A, tail, rnd, mm, work), X))
        if not np.isfinite(X).all():
            return X
    return X


def _unfused(X, rows, rnd, mm, work):
    for row in rows:
        a, tail = row[0], row[1:]
        if not tail:
            X = rnd(_c(a, work) * X)
            continue
        A = rnd(mm(X, X.T))
        B = rnd(_c(tail[-1], work) * A)  # c·A
        for c in reversed(tail[:-1]):
            B = rnd(rnd(_c(c, work) * A) + rnd(mm(B, A)))  # b·A + (c·A)@A
        X = rnd(rnd(_c(a, work) * X) + rnd(mm(B, X)))  # a·X + B@X
        if not np.isfinite(X).all():
            return X
    return X


def _gram(X, rows, restarts, rnd, mm, work):
    m = X.shape[0]
    eye = np.eye(m, dtype=work)
    R = rnd(mm(X, X.T))
    Q = None
    last = len(rows) - 1
    for i, row in enumerate(rows):
        if i in restarts and i != 0 and Q is not None:
            X = rnd(mm(Q, X))
            R = rnd(mm(X, X.T))
            Q = None
        a, tail = row[0], row[1:]
        ca = _c(a, work)
        Z = _poly_fused(R, tail, rnd, mm, work) if tail else np.zeros_like(R)
        if Q is None:
            Q = rnd(Z + rnd(ca * eye))  # Dao: Q = Z + a * I (a·I is its own rounded tensor)
        else:
            Q = rnd(ca * Q + mm(Q, Z))  # Q·Z, as Dao (the same matrix, rounded differently from Z·Q)
        if i < last and (i + 1) not in restarts:
            RZ = rnd(ca * R + mm(R, Z))
            R = rnd(ca * RZ + mm(Z, RZ))
        if not (np.isfinite(Q).all() and np.isfinite(R).all()):
            return np.full_like(X, np.inf)
    return rnd(mm(Q, X))


RESTART_PERIOD: dict[str, int] = {"bf16": 2, "fp16": 2, "fp8": 2, "fp32": 3}  # as nsdesign.torch.kernels; fp64: none


def default_restarts(num_steps: int, dtype: str) -> tuple[int, ...]:
    """nsdesign's default Gram plan: restart before every RESTART_PERIOD[dtype]-th step (none in fp64)."""
    period = RESTART_PERIOD.get(dtype)
    return () if period is None else tuple(range(period, num_steps, period))


# --------------------------------------------------------------------------------------------------
# Counts
# --------------------------------------------------------------------------------------------------


def matmul_counts(schedule: Schedule, kernel: str, restarts: Sequence[int] = ()) -> dict[str, int]:
    """Matrix products the kernel issues: {'rectangular': m×n-sized, 'square': m×m-only} (compare by FLOPs).

    Standard kernels: per non-linear step one rectangular X·Xᵀ, one rectangular B·X, and d−1 square products
    for B. Gram: the first R and the final Q·X (rectangular, 2), two per restart (Q·X, X·Xᵀ), and square ones
    for Z, Q (none on the first step or after a restart) and R (none before the last step or a restart)."""
    check_kernel(kernel)
    rows = [len(p.coefficients) - 1 for p in schedule.steps]
    if kernel in ("fused", "unfused"):
        rect = sum(2 for d in rows if d > 0)
        square = sum(max(d - 1, 0) for d in rows)
        return {"rectangular": rect, "square": square}
    plan = set(r for r in restarts if 0 < r < len(rows))
    rect = 2 + 2 * len(plan)
    last = len(rows) - 1
    square = 0
    for i, d in enumerate(rows):
        square += max(d - 1, 0)
        square += 0 if (i == 0 or i in plan) else 1
        square += 0 if (i == last or (i + 1) in plan) else 2
    return {"rectangular": rect, "square": square}


def kernel_flops(schedule: Schedule, m: int, n: int, kernel: str, restarts: Sequence[int] = ()) -> float:
    """FLOPs of one call on an m×n matrix (2·m·n·m per rectangular product, 2·m³ per square one)."""
    m, n = min(m, n), max(m, n)
    counts = matmul_counts(schedule, kernel, restarts)
    return 2.0 * m * m * n * counts["rectangular"] + 2.0 * m**3 * counts["square"]
