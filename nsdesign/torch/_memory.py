"""How much memory a validation needs, how much there is, and a clear refusal when it will not fit.

psutil is not a dependency: free host memory comes from /proc/meminfo (MemAvailable), falling back to
os.sysconf; free GPU memory from torch.cuda.mem_get_info. When neither can be read the check is skipped
(an unknown budget is not a reason to refuse).
"""

from __future__ import annotations

import torch

from nsdesign._memory import host_available_bytes
from nsdesign.errors import InputError

SAFETY = 0.8  # use at most this fraction of what is free: allocators fragment, other processes grow


def available_bytes(device: torch.device) -> int | None:
    """Free memory on `device` (host RAM for CPU), or None when it cannot be determined."""
    if device.type == "cuda":
        try:
            free, _total = torch.cuda.mem_get_info(device)
        except (RuntimeError, AssertionError):
            return None
        return int(free)
    return host_available_bytes()


def validation_bytes(m: int, n: int, itemsize: int) -> int:
    """Peak bytes of one validation of an m×n matrix on the device.

    float64 reference: the input, U, S, Vᵀ (reduced), the LAPACK workspace (about one more copy), UVᵀ, the
    output in float64 and a difference → about 6·m·n + 2·r² doubles (r = min(m, n)). Newton–Schulz in the
    compute dtype: X, the normalized copy (made in fp32), the next X, A, B (and R, Q, Z in the Gram form) →
    3·m·n compute values + 4·m·n bytes of the fp32 step + 4·r² compute values.
    """
    r, big = min(m, n), max(m, n)
    reference = 8 * (6 * r * big + 2 * r * r)
    kernel = itemsize * (3 * r * big + 4 * r * r) + 4 * r * big
    return reference + kernel


def require_fits(
    needed: int, device: torch.device, what: str, budget: int | None = None,
    hint: str = "use a smaller matrix",
) -> None:
    """Raise InputError when `needed` bytes exceed SAFETY × the free memory (or an explicit `budget`); the `hint`
    ends the one-line message where it fits (ERROR_WIDTH)."""
    limit = budget if budget is not None else available_bytes(device)
    if limit is None:
        return
    allowed = limit if budget is not None else int(limit * SAFETY)
    if needed > allowed:
        where = "" if device.type == "cpu" else f" on {device}"
        message = f"{what} needs {format_bytes(needed)}, {format_bytes(allowed)} {'allowed' if budget else 'free'}{where}"
        raise InputError(message if len(message) + len(hint) + 2 > ERROR_WIDTH else f"{message}; {hint}")


ERROR_WIDTH = 63  # a one-line error's message: 80 columns less the CLI's "nsdesign: error: "


def format_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(count) < 1024 or unit == "EiB":
            return f"{count:.3g} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1024
    return f"{count:.3g} EiB"


def training_bytes(width: int, n_layer: int, batch: int, seq_len: int, vocab: int = 256) -> int:
    """Rough peak bytes of one `capture` training step of the byte-level GPT (fp32 throughout).

    Parameters: 12·L·w² (attention 4w², MLP 8w²) + (vocab + seq_len)·w + the head vocab·w; each is stored with
    its gradient, AdamW's or Muon's state (≤ 2 more) and a Newton–Schulz workspace → 5 copies. Activations kept
    for backward: per token and layer about 24·w values (norms, q/k/v, attention output, the 4w MLP in and out)
    plus the logits (3·vocab per token with the softmax and its gradient). Attention uses the fused kernel, which
    is linear in seq_len. An overestimate by design: this only refuses runs that cannot fit.
    """
    params = 12 * n_layer * width * width + (2 * vocab + seq_len) * width
    tokens = batch * seq_len
    activations = tokens * (24 * width * n_layer + 3 * vocab)
    return 4 * (5 * params + activations) + 16 * tokens
