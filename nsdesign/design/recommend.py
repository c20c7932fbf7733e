"""The one call behind `nsdesign search`: design for a band, measure it exactly, and set it beside the presets.

`recommend` picks the design route from what the user fixed:
- a step count (`steps`) → the greedy (worst-case optimal) schedule with that many steps;
- a tolerance (`tol`) → the fewest greedy steps reaching it;
- a tolerance, a shape and `degree="auto"` → the FLOP-cheapest greedy degree mix for that shape.

With neither `cushion` nor `safety` given (and `exact=False`, the default) the step-count and tolerance
routes return the *safe default* of `design.safe`: the best cushion/safety design whose exact max F on
[0, g] (g = `guard_sigma`, default 1.02·max_sigma) is ≤ 1.25 and whose bf16 run of the fused kernel stays
≤ 1.25 on a proxy matrix — certified optimal for its inflated design problem, not the bare optimum. `exact=True` (or any
explicit cushion/safety) gives the plain greedy design.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from nsdesign.core.band import Band, as_band
from nsdesign.core.cost import Shape, cost_model, resolve_kernel
from nsdesign.core.limits import DEFAULT_DEGREE, DEFAULT_DEGREES, DEFAULT_MAX_STEPS, DEFAULT_STEPS
from nsdesign.core.metrics import Metrics, evaluate, resolve_guard
from nsdesign.core.schedule import Schedule
from nsdesign.design.greedy import Design, greedy
from nsdesign.design.safe import CHECK_DTYPE, CHECK_KERNEL, SafeDesign, bf16_safe, mix_check, safe_greedy
from nsdesign.design.solvers import cheapest_schedule
from nsdesign.documents import schedule_document
from nsdesign.errors import InputError
from nsdesign.presets import preset, preset_names

__all__ = ["DEFAULT_STEPS", "Recommendation", "compare", "compare_presets", "recommend"]


@dataclass(frozen=True)
class Recommendation:
    design: Design
    metrics: Metrics  # exact, on the requested band
    presets: tuple[Metrics, ...]  # every published preset on the same band, same order as `preset_names()`
    preset_names: tuple[str, ...]
    params: dict[str, Any]
    safe: SafeDesign | None = None  # the checks the safe default ran (None for --exact or explicit knobs)
    checks: tuple[Any, ...] = ()  # design.safe.Check: what a bf16-safe --degrees auto mix was checked for

    @property
    def schedule(self) -> Schedule:
        return self.design.schedule

    def document(self) -> dict[str, Any]:
        document = schedule_document(self.schedule, self.metrics.band, self.params, self.metrics)
        if self.safe is not None:  # schema v2's optional fields: what the schedule was checked for

            document["kernel"] = CHECK_KERNEL
            document["dtype"] = CHECK_DTYPE
            document["checked_for"] = [c.to_dict() for c in self.safe.checks]
        elif self.checks:
            document["kernel"], document["dtype"] = self.checks[0].kernel, self.checks[0].dtype
            document["checked_for"] = [c.to_dict() for c in self.checks]
        return document


def recommend(
    band: Band | tuple[float, float] | float,
    max_sigma: float | None = None,
    steps: int | None = None,
    tol: float | None = None,
    degree: int | Sequence[int] | str = DEFAULT_DEGREE,
    *,
    cushion: float | None = None,
    safety: float | None = None,
    norm_div: float = 1.0,
    shape: Shape | None = None,
    kernel: str = "fused",
    max_steps: int = DEFAULT_MAX_STEPS,
    guard_sigma: float | None = None,
    band_source: str | None = None,
    exact: bool = False,
    form: str | None = None,
    headroom: float | None = None,
) -> Recommendation:
    """Design for the band by the route the arguments pick, measure it exactly, and measure every preset beside it.

    Without `exact`, `cushion` or `safety` the design is the safe default (`nsdesign.design.safe`). `kernel`
    (fused, unfused, gram) is the FLOP model of `degree` auto; `form=` is its deprecated spelling. `guard_sigma`
    is the guard band's top g (default 1.02·max_sigma), where overshoot is measured; `headroom=h` its old spelling.
    """
    checked = as_band(band, max_sigma)
    min_sigma, max_sigma = checked.min_sigma, checked.max_sigma
    guard, margin = resolve_guard(max_sigma, guard_sigma, headroom)
    given = None if guard_sigma is None and headroom is None else guard  # None: the default, stored exactly
    kernel = resolve_kernel(kernel if form is None else None, form)
    safe, checks = None, ()
    if degree == "auto":
        if tol is None or shape is None:
            raise InputError("`degree` auto needs `tol` and `shape` (it minimises FLOPs)")
        if steps is not None or cushion or (safety or 1.0) != 1.0 or norm_div != 1.0:
            raise InputError("`degree` auto designs the pure greedy schedule: drop `steps`, `cushion`, `safety`, `norm_div`")
        if exact:
            design = cheapest_schedule(checked, tol, shape, kernel, DEFAULT_DEGREES, max_steps=max_steps)
        else:  # bf16-safe mix: safety g/u, and the cheapest mix that does not diverge in bf16
            design = cheapest_schedule(
                checked, tol, shape, kernel, DEFAULT_DEGREES, max_steps=max_steps, safety=1.0 + margin,
                accept=lambda d: bf16_safe(d, checked.min_sigma, (shape.m, shape.n), guard),
            )
            checks = (mix_check(design, checked.min_sigma, (shape.m, shape.n), guard),)
    else:
        if steps is None and tol is None and isinstance(degree, int):
            steps = DEFAULT_STEPS
        if exact or cushion is not None or safety is not None:
            design = greedy(
                checked, steps=steps, degree=degree, cushion=0.0 if cushion is None else cushion,
                safety=1.0 if safety is None else safety, norm_div=norm_div, tol=tol, max_steps=max_steps,
            )
        else:
            safe = safe_greedy(min_sigma, max_sigma, steps, degree, norm_div, tol, max_steps, given)
            design = safe.design
    metrics = evaluate(design.schedule, checked, guard_sigma=given, tol=tol, shape=shape)
    names, rows = compare_presets(checked, guard_sigma=given, tol=tol, shape=shape)
    params = dict(design.params)
    params.update({"form": cost_model(kernel), "certified": design.certified})  # the stored key
    if safe is not None:
        params.update({"design": "safe-default", "safe": safe.passed, "candidates": safe.candidates})
        if safe.suggested_steps is not None:
            params["suggested_steps"] = safe.suggested_steps
    elif degree != "auto" or exact:
        params["design"] = "exact"
    else:
        params["design"] = "bf16-safe-mix"  # safety g/u; no divergence in the bf16 fused model
    if band_source:
        params["band_source"] = band_source
    return Recommendation(design, metrics, rows, names, params, safe, checks)


def compare_presets(
    band: Band | tuple[float, float] | float,
    max_sigma: float | None = None,
    *,
    guard_sigma: float | None = None,
    tol: float | None = None,
    shape: Shape | None = None,
    headroom: float | None = None,
) -> tuple[tuple[str, ...], tuple[Metrics, ...]]:
    """Every published preset on the band, exactly (overshoot on [0, `guard_sigma`]; `headroom=h` is old)."""
    names = preset_names()
    checked = as_band(band, max_sigma)
    if headroom is not None:
        guard_sigma = resolve_guard(checked.max_sigma, guard_sigma, headroom)[0]
    return names, tuple(evaluate(preset(n), checked, guard_sigma=guard_sigma, tol=tol, shape=shape) for n in names)


def compare(
    schedules: Sequence[Schedule],
    band: Band | tuple[float, float] | float,
    max_sigma: float | None = None,
    *,
    guard_sigma: float | None = None,
    tol: float | None = None,
    shape: Shape | None = None,
    headroom: float | None = None,
) -> list[Metrics]:
    """Each schedule on the band, exactly (overshoot on [0, `guard_sigma`]; `headroom=h` is the old spelling)."""
    checked = as_band(band, max_sigma)
    if headroom is not None:
        guard_sigma = resolve_guard(checked.max_sigma, guard_sigma, headroom)[0]
    return [evaluate(s, checked, guard_sigma=guard_sigma, tol=tol, shape=shape) for s in schedules]
