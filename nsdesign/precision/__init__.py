"""Low precision as users run it: numpy rounding models of the Newton–Schulz kernels (no torch needed).

`model` holds the test matrices, the rounding functions and the fused standard-form run
(torch.optim.Muon's `addmm` sequence) that the search objectives, `validate` and the safe default use.
Only `run_torch` imports torch, and only when called (it is the cross-check of the model).
"""

from __future__ import annotations

from nsdesign.precision.model import (
    DIVERGED_ERROR,
    PRECISIONS,
    SMALL_ROWS,
    MatrixRun,
    TestMatrix,
    band_matrix,
    log_spaced,
    matrix_error,
    output_singular_values,
    run_emulated,
    run_torch,
    test_matrix,
)
from nsdesign.precision.kernels import round_bf16, round_fp16

__all__ = [
    "DIVERGED_ERROR",
    "PRECISIONS",
    "SMALL_ROWS",
    "MatrixRun",
    "TestMatrix",
    "band_matrix",
    "log_spaced",
    "matrix_error",
    "output_singular_values",
    "round_bf16",
    "round_fp16",
    "run_emulated",
    "run_torch",
    "test_matrix",
]
