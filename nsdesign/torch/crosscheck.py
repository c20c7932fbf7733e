"""Real torch runs of the kernels the numpy rounding models in `nsdesign.precision` reproduce: the cross-check.

`run_torch` is the `Runner` that `nsdesign.precision.matrix_error(..., backend=run_torch)` and the design checks
take from their callers: precision/ never imports torch/, and torch is imported in torch/ only. The fused kernel
is torch.optim.Muon's `addmm` sequence, written out for any odd degree; the unfused and Gram kernels are
nsdesign.torch.kernels' own iterations.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from nsdesign.core.limits import KERNELS
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.torch.kernels import gram_iteration, newton_schulz, schedule_rows, unfused_iteration


def run_torch(
    schedule: Schedule,
    x0: np.ndarray,
    precision: str = "bf16",
    scale: float = 1.0,
    kernel: str = "fused",
    restarts: Sequence[int] = (),
    *,
    device: str = "cpu",
) -> np.ndarray:
    """The same kernel with real torch tensors in the low-precision dtype (nsdesign.torch.kernels' iterations)."""
    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32, "fp64": torch.float64}
    if precision not in dtypes:
        raise InputError(f"precision for a torch run must be one of {', '.join(dtypes)}, got {precision!r}")
    if kernel not in KERNELS:
        raise InputError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
    X = torch.from_numpy(np.asarray(x0, dtype=np.float64) * (scale / schedule.input_scale)).to(device, dtypes[precision])
    if kernel != "fused":
        rows = schedule_rows(schedule)
        Y = unfused_iteration(X, rows) if kernel == "unfused" else gram_iteration(X, rows, tuple(restarts))
        return Y.to(torch.float64).cpu().numpy()
    for p in schedule.steps:
        a, tail = p.coefficients[0], p.coefficients[1:]
        if not tail:
            X = X * a
            continue
        A = X @ X.T
        if len(tail) == 1:
            X = torch.addmm(X, A, X, beta=a, alpha=tail[0])
        else:
            B = torch.addmm(A, A, A, beta=tail[-2], alpha=tail[-1])
            for c in reversed(tail[:-2]):
                B = torch.addmm(A, B, A, beta=c)
            X = torch.addmm(X, B, X, beta=a)
    return X.to(torch.float64).cpu().numpy()


def newton_schulz_array(matrix: np.ndarray, schedule: Schedule, dtype: str, eps: float) -> np.ndarray:
    """`nsdesign.torch.newton_schulz` (Frobenius scaling first, as Muon) on a numpy matrix, in float64: what
    plot/'s matrix figures run when torch is installed."""
    x = torch.from_numpy(np.ascontiguousarray(matrix, dtype=np.float64))
    return newton_schulz(x, schedule, dtype=dtype, eps=eps).to(torch.float64).numpy()
