"""Bisection in log scale on a monotone yes/no question (shared by the capture and band solvers)."""

from __future__ import annotations

import math
from typing import Callable


def smallest_passing(passes: Callable[[float], bool], lo: float, hi: float, resolution: float) -> float:
    """Smallest x in [lo, hi] (to a relative `resolution`) with passes(x), for passes monotone: False… then True.

    The caller guarantees passes(hi) is True; if passes(lo) already holds, lo is returned.
    """
    if passes(lo):
        return lo
    while hi / lo > 1.0 + resolution:
        mid = math.sqrt(lo * hi)
        if passes(mid):
            hi = mid
        else:
            lo = mid
    return hi
