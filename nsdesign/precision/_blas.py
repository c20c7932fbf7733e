"""Run small matrix products on one BLAS thread.

Why: the search evaluates thousands of small (≤ 512-row) bf16/fp16 proxy runs. OpenBLAS spreads even a
128×512 product over every core and busy-waits; on a loaded 2-core machine that made each product ~50×
slower than on one thread (measured: 48–67 ms versus 1 ms). threadpoolctl is not a dependency, so this
calls OpenBLAS's own `*_set_num_threads` through ctypes on the copy numpy loaded (found in
/proc/self/maps). Where that is not possible (another BLAS, another OS) it silently does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from functools import lru_cache
from typing import Any, Iterator

_LOCK = threading.Lock()
_DEPTH = [0]


@lru_cache(maxsize=1)
def _openblas() -> tuple[Any, Any] | None:
    import numpy  # noqa: F401  (make sure numpy's BLAS is loaded)

    try:
        with open("/proc/self/maps", encoding="utf-8") as handle:
            paths = sorted({line.split()[-1] for line in handle if "openblas" in line.lower() and ".so" in line})
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    getter.restype = ctypes.c_int
                    return setter, getter
    return None


@contextlib.contextmanager
def single_thread(enabled: bool = True) -> Iterator[None]:
    """Within the block numpy's OpenBLAS uses one thread (restored afterwards; nesting-safe)."""
    funcs = _openblas() if enabled else None
    if funcs is None:
        yield
        return
    setter, getter = funcs
    with _LOCK:
        if _DEPTH[0] == 0:
            _DEPTH.append(getter())
            setter(1)
        _DEPTH[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH[0] -= 1
            if _DEPTH[0] == 0:
                setter(_DEPTH.pop())
