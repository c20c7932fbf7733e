"""nsdesign: design, analyse and validate Newton–Schulz schedules for Muon-family optimizers.

The curated public namespace. Layers, bottom to top:
  core    — OddPolynomial, Schedule, exact metrics (`evaluate`), cost model (`Shape`, `flops`)
  design  — `minimax_odd` (Remez), `greedy` (worst-case optimal), solvers, `recommend`
  presets — the published schedules, by name
  io      — the versioned schedule JSON
Optional layers (import them explicitly): nsdesign.laws, nsdesign.search, nsdesign.export, nsdesign.plot,
nsdesign.torch (needs torch). `symbolic` (sympy) is loaded on first use.
"""

from __future__ import annotations

from typing import Any

from nsdesign._version import __version__
from nsdesign.core.cost import Shape, flops, matmuls
from nsdesign.core.metrics import (
    Metrics,
    captured_min_sigma,
    evaluate,
    intervals,
    overshoot,
    slope_at_zero,
    value_range,
    worst_error,
)
from nsdesign.core.polynomial import OddPolynomial
from nsdesign.core.schedule import Schedule
from nsdesign.design.greedy import Design, greedy
from nsdesign.design.recommend import Recommendation, compare, recommend
from nsdesign.design.remez import MinimaxResult, minimax_odd
from nsdesign.design.solvers import cheapest_schedule, min_capturable_sigma, min_steps
from nsdesign.errors import InputError
from nsdesign.io import load_schedule, read_schedule_file, save_document, schedule_document
from nsdesign.presets import preset, preset_info, preset_names

__all__ = [
    "__version__",
    "Design",
    "InputError",
    "Metrics",
    "MinimaxResult",
    "OddPolynomial",
    "Recommendation",
    "Schedule",
    "Shape",
    "captured_min_sigma",
    "cheapest_schedule",
    "compare",
    "evaluate",
    "flops",
    "greedy",
    "intervals",
    "load_schedule",
    "matmuls",
    "min_capturable_sigma",
    "min_steps",
    "minimax_odd",
    "overshoot",
    "preset",
    "preset_info",
    "preset_names",
    "read_schedule_file",
    "recommend",
    "save_document",
    "schedule_document",
    "slope_at_zero",
    "symbolic",
    "value_range",
    "worst_error",
]


def __getattr__(name: str) -> Any:
    if name == "symbolic":  # sympy is slow to import; only pay for it when asked
        from nsdesign.design.symbolic import symbolic

        return symbolic
    raise AttributeError(f"module 'nsdesign' has no attribute {name!r}")
