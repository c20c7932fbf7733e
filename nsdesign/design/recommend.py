"""The one call behind `nsdesign search`: design for a band, measure it exactly, and set it beside the presets.

`recommend` picks the design route from what the user fixed:
- a step count (`steps`) → the greedy (worst-case optimal) schedule with that many steps;
- a tolerance (`tol`) → the fewest greedy steps reaching it;
- a tolerance, a shape and `degree="auto"` → the FLOP-cheapest greedy degree mix for that shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from nsdesign.core.band import Band, as_band
from nsdesign.core.cost import Form, Shape
from nsdesign.core.limits import DEFAULT_DEGREE, DEFAULT_DEGREES, DEFAULT_HEADROOM, DEFAULT_MAX_STEPS, DEFAULT_STEPS
from nsdesign.core.metrics import Metrics, evaluate
from nsdesign.core.schedule import Schedule
from nsdesign.design.greedy import Design, greedy
from nsdesign.design.solvers import cheapest_schedule
from nsdesign.errors import InputError

__all__ = ["DEFAULT_STEPS", "Recommendation", "compare", "compare_presets", "recommend"]


@dataclass(frozen=True)
class Recommendation:
    design: Design
    metrics: Metrics  # exact, on the requested band
    presets: tuple[Metrics, ...]  # every published preset on the same band, same order as `preset_names()`
    preset_names: tuple[str, ...]
    params: dict[str, Any]

    @property
    def schedule(self) -> Schedule:
        return self.design.schedule

    def document(self) -> dict[str, Any]:
        from nsdesign.documents import schedule_document

        return schedule_document(self.schedule, self.metrics.band, self.params, self.metrics)


def recommend(
    band: Band | tuple[float, float] | float,
    max_sigma: float | None = None,
    steps: int | None = None,
    tol: float | None = None,
    degree: int | Sequence[int] | str = DEFAULT_DEGREE,
    *,
    cushion: float = 0.0,
    safety: float = 1.0,
    norm_div: float = 1.0,
    shape: Shape | None = None,
    form: Form = "standard",
    max_steps: int = DEFAULT_MAX_STEPS,
    headroom: float = DEFAULT_HEADROOM,
    band_source: str | None = None,
) -> Recommendation:
    """Design for the band by the route the arguments pick, measure it exactly, and measure every preset beside it."""
    checked = as_band(band, max_sigma)
    if degree == "auto":
        if tol is None or shape is None:
            raise InputError("`degree` auto needs `tol` and `shape` (it minimises FLOPs on that shape)")
        if steps is not None or cushion or safety != 1.0 or norm_div != 1.0:
            raise InputError("`degree` auto designs the pure greedy schedule: drop `steps`, `cushion`, `safety`, `norm_div`")
        design = cheapest_schedule(checked, tol, shape, form, DEFAULT_DEGREES, max_steps=max_steps)
    else:
        if steps is None and tol is None and isinstance(degree, int):
            steps = DEFAULT_STEPS
        design = greedy(
            checked, steps=steps, degree=degree, cushion=cushion, safety=safety, norm_div=norm_div, tol=tol,
            max_steps=max_steps,
        )
    metrics = evaluate(design.schedule, checked, headroom=headroom, tol=tol, shape=shape)
    names, rows = compare_presets(checked, headroom=headroom, tol=tol, shape=shape)
    params = dict(design.params)
    params.update({"form": form, "certified": design.certified})
    if band_source:
        params["band_source"] = band_source
    return Recommendation(design, metrics, rows, names, params)


def compare_presets(
    band: Band | tuple[float, float] | float,
    max_sigma: float | None = None,
    *,
    headroom: float = DEFAULT_HEADROOM,
    tol: float | None = None,
    shape: Shape | None = None,
) -> tuple[tuple[str, ...], tuple[Metrics, ...]]:
    from nsdesign.presets import preset, preset_names

    names = preset_names()
    checked = as_band(band, max_sigma)
    return names, tuple(evaluate(preset(n), checked, headroom=headroom, tol=tol, shape=shape) for n in names)


def compare(
    schedules: Sequence[Schedule],
    band: Band | tuple[float, float] | float,
    max_sigma: float | None = None,
    *,
    headroom: float = DEFAULT_HEADROOM,
    tol: float | None = None,
    shape: Shape | None = None,
) -> list[Metrics]:
    checked = as_band(band, max_sigma)
    return [evaluate(s, checked, headroom=headroom, tol=tol, shape=shape) for s in schedules]
