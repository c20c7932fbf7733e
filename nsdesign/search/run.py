"""Run the study a design request asks for: the one call `nsdesign search` makes for a study (`run_study`),
and the one `nsdesign pareto` makes for an error-versus-FLOPs front (`run_front`).

Why: a study is answered like a single design (`plans.answer`): the CLI builds a `plans.DesignRequest` and the
study's own `StudyOptions` once and hands them down. Here a normalizer's band is resolved from its source, the
rules turn the request into a `StudyConfig` (`search.plan`), the study runs (`search.study`), and the best
schedule is measured exactly on the study's band. The CLI only renders the `StudyAnswer`.

Depends on: core.limits (the front's default step range), core.metrics (Metrics), core.schedule, errors,
laws.normalized (BandSource, resolve_band), plans.request, search.pareto, search.plan, search.space, search.study.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from nsdesign.core.limits import FRONT_DEGREES, FRONT_STEP_RANGE, FRONT_TRIALS
from nsdesign.core.metrics import Metrics
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.laws.normalized import BandSource, NormalizedBand, resolve_band
from nsdesign.plans.request import DesignRequest
from nsdesign.search.pareto import ParetoResult, run_pareto
from nsdesign.search.plan import StudyOptions, study_config_for
from nsdesign.search.space import GUARD_STRATEGIES, SearchSpace
from nsdesign.search.study import SearchResult, StudyConfig, run_search


@dataclass(frozen=True)
class StudyAnswer:
    """A study's best schedule with its exact metrics, and the normalizer's band when it was predicted."""

    result: SearchResult
    metrics: Metrics  # the best schedule on the study's band, guard and tolerance (FLOPs for the request's shape)
    band: NormalizedBand | None = None  # the band a normalizer leaves, from its source (None: edges given)

    @property
    def schedule(self) -> Schedule:
        return self.result.schedule

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the band's prediction warns about (printed once the study has succeeded)."""
        return () if self.band is None else tuple(self.band.warnings)

    def document(self) -> dict[str, Any]:
        """The best schedule's document: band, provenance, metrics, and where a predicted band came from."""
        return self.result.document(self.metrics, None if self.band is None else self.band.source)


def run_study(
    request: DesignRequest, options: StudyOptions = StudyOptions(), band: BandSource | None = None
) -> StudyAnswer:
    """Run (or resume, or join) the study of `request` with the study's `options`.

    `band` is where a normalizer's band comes from (its edges, a shape, a law or a spectrum file); it needs
    `request.normalizer`. Without it the request's own edges are the band.
    """
    config, source = plan_study(request, options, band)
    result = run_search(config)
    return StudyAnswer(result, result.metrics(request.shape), source)


def plan_study(
    request: DesignRequest, options: StudyOptions = StudyOptions(), band: BandSource | None = None
) -> tuple[StudyConfig, NormalizedBand | None]:
    """(the `StudyConfig` `run_study` runs, the normalizer's band when `band` predicted it); nothing is run."""
    source = None
    if band is not None:
        if request.normalizer is None:
            raise InputError("a band source is the band a normalizer leaves: give `normalizer` with it")
        lo, hi, source = resolve_band(request.normalizer, band)
        request = replace(request, min_sigma=lo, max_sigma=hi)
    return study_config_for(request, options), source


def run_front(request: DesignRequest, options: StudyOptions = StudyOptions(), dtype: str = "bf16") -> ParetoResult:
    """The error-versus-FLOPs front of `request` in `dtype`: its band, guard, `shape` (where the FLOPs are
    counted), step count or range (default 1-10) and kernel, with the study's degree choices (default 3, 5, 7),
    strategies, proxy, guard switch, trials (default 60), seed, storage and workers."""
    if request.shape is None:
        raise InputError("a Pareto front needs `shape`: the matrix the FLOPs are counted on")
    if request.min_sigma is None:
        raise InputError("a Pareto front needs the band: give `min_sigma`")
    o = options
    steps = request.steps if request.steps is not None else FRONT_STEP_RANGE
    lo, hi = steps if isinstance(steps, tuple) else (steps, steps)
    space = SearchSpace(min_steps=lo, max_steps=hi, degrees=tuple(o.search_degrees or FRONT_DEGREES),
                        guards=tuple(o.strategies or GUARD_STRATEGIES))
    return run_pareto(
        (request.min_sigma, request.max_sigma), request.shape, dtype, FRONT_TRIALS if o.trials is None else o.trials,
        0 if o.seed is None else o.seed, space=space, kernel=request.kernel, storage=o.storage,
        study_name=o.study_name, jobs=1 if o.jobs is None else o.jobs, guard=o.guard,
        guard_sigma=request.guard_sigma, proxy_shape=o.proxy_shape, progress=o.progress,
    )
