"""Moved to `nsdesign.precision` (the rounding models are shared by design, search, recipe and validate)."""

from nsdesign.precision.model import *  # noqa: F401,F403
from nsdesign.precision.model import (  # noqa: F401  (private names some callers used)
    DIVERGED,
    PRECISIONS,
    SMALL_ROWS,
    _matrix,
    _rounder,
)
from nsdesign.precision.kernels import DTYPES, round_bf16, round_fp16  # noqa: F401  (were reachable through model)
