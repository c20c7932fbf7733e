"""nsdesign: design, analyse and validate Newton–Schulz schedules for Muon-family optimizers.

The curated public namespace. Layers, bottom to top:
  core    — OddPolynomial, Schedule, exact metrics (`evaluate`), cost model (`Shape`, `flops`)
  design  — `minimax_odd` (Remez), `greedy` (worst-case optimal), solvers, `recommend`
  presets — the published schedules, by name
  io      — the versioned schedule JSON
Layers over the engine, loaded on first use so `import nsdesign` stays cheap: `symbolic` (sympy),
`predict_band` and `build_recipe` (nsdesign.laws), `design_for` (nsdesign.plans: the best design one optimizer
can take), `repeated_triple` (one (a, b, c) for torch.optim.Muon), `run_study` (a design request's study),
`run_search`, `run_pareto` and `StudyConfig` (nsdesign.search, optuna). The rest of those layers, plus
nsdesign.plot (matplotlib) and nsdesign.torch (needs torch), and `nsdesign.export.export`, are imported
explicitly.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from nsdesign._version import __version__
from nsdesign.core import cost as _cost
from nsdesign.core import metrics as _metrics
from nsdesign.core.band import Band
from nsdesign.core.cost import Shape, matmuls
from nsdesign.core.metrics import Metrics, intervals, slope_at_zero
from nsdesign.core.polynomial import OddPolynomial
from nsdesign.core.schedule import Schedule
from nsdesign.design.greedy import Design, greedy
from nsdesign.design.recommend import Recommendation, compare, recommend
from nsdesign.design.remez import MinimaxResult, minimax_odd
from nsdesign.design.solvers import cheapest_schedule, min_capturable_sigma, min_steps
from nsdesign.documents import load_schedule, read_schedule_file, save_document, schedule_document
from nsdesign.errors import InputError
from nsdesign.presets import preset, preset_info, preset_names

_F = TypeVar("_F", bound=Callable[..., Any])


def _by_reference(function: _F) -> _F:
    """The namespace's door to a core metric: the schedule may also be a preset name or a schedule file.

    Core computes on Schedule values and sits below documents, which reads names and files; resolving the name
    here keeps `nsdesign.evaluate("keller5", 1e-3)` working without core importing a floor above it."""

    @functools.wraps(function)
    def door(schedule: Any, *args: Any, **kwargs: Any) -> Any:
        return function(load_schedule(schedule) if isinstance(schedule, str) else schedule, *args, **kwargs)

    return door  # type: ignore[return-value]


evaluate = _by_reference(_metrics.evaluate)
worst_error = _by_reference(_metrics.worst_error)
value_range = _by_reference(_metrics.value_range)
overshoot = _by_reference(_metrics.overshoot)
captured_min_sigma = _by_reference(_metrics.captured_min_sigma)
flops = _by_reference(_cost.flops)

__all__ = [
    "__version__",
    "Band",
    "Design",
    "InputError",
    "Metrics",
    "MinimaxResult",
    "OddPolynomial",
    "Recommendation",
    "Schedule",
    "Shape",
    "StudyConfig",
    "captured_min_sigma",
    "cheapest_schedule",
    "build_recipe",
    "design_for",
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
    "predict_band",
    "preset",
    "preset_info",
    "preset_names",
    "read_schedule_file",
    "recommend",
    "repeated_triple",
    "run_pareto",
    "run_search",
    "run_study",
    "save_document",
    "schedule_document",
    "slope_at_zero",
    "study_config",
    "symbolic",
    "value_range",
    "worst_error",
]


_LAZY: dict[str, str] = {
    "symbolic": "nsdesign.design.symbolic",
    "predict_band": "nsdesign.laws",
    "build_recipe": "nsdesign.plans.recipe",
    "run_search": "nsdesign.search",
    "run_pareto": "nsdesign.search",
    "run_study": "nsdesign.search",
    "StudyConfig": "nsdesign.search",
    "study_config": "nsdesign.search",
    "design_for": "nsdesign.plans",
    "repeated_triple": "nsdesign.design.triple",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:  # sympy, optuna and friends are slow to import; only pay for them when asked
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nsdesign' has no attribute {name!r}")
