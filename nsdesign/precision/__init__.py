"""Low precision as users run it: numpy rounding models of the Newton–Schulz kernels (no torch needed).

`model` holds the test matrices, the rounding functions and the fused standard-form run
(torch.optim.Muon's `addmm` sequence) that the search objectives, `validate` and the safe default use.
No module here imports torch: the real-torch cross-check of the model is `nsdesign.torch.crosscheck.run_torch`,
passed to `matrix_error` as its `backend`.
"""

from __future__ import annotations

from nsdesign.precision.kernels import round_bf16, round_fp16
from nsdesign.precision.model import (
    DIVERGED_ERROR,
    PRECISIONS,
    SMALL_ROWS,
    MatrixRun,
    Runner,
    TestMatrix,
    band_matrix,
    log_spaced,
    matrix_error,
    output_singular_values,
    run_emulated,
    runner_name,
    test_matrix,
)

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
    "Runner",
    "runner_name",
    "test_matrix",
]
