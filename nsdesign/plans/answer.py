"""Answer a design request with the engine `route` names: the one call `nsdesign search` makes for a design.

Why: the engines take their own parameters (recommend's band and knobs, the guarded design's normalizer and
guard band, a consumer's form). A `DesignRequest` carries them all, and this module is the one place that spells
the request out for each engine, so the CLI builds the request once and never re-reads its flags for an engine.
Studies are not single designs and are not answered here: their options are a `nsdesign.search.StudyConfig`.

Depends on: core.band, core.consumers, design.recommend, errors, laws.normalized (BandSource),
plans.consumer, plans.normalizer, plans.request.
"""

from __future__ import annotations

from typing import Union

from nsdesign.core.band import Band
from nsdesign.core.consumers import consumer_form
from nsdesign.design.recommend import Recommendation, recommend
from nsdesign.errors import InputError
from nsdesign.laws.normalized import BandSource
from nsdesign.plans.consumer import ConsumerDesign, design_for
from nsdesign.plans.normalizer import NormalizedDesign, design_for_normalizer
from nsdesign.plans.request import DesignRequest, route

Design = Union[Recommendation, NormalizedDesign, ConsumerDesign]
"""What an engine answers: `recommend`'s (safe, exact, cheapest-mix), the guarded design's, a consumer's."""


def answer(request: DesignRequest, band: BandSource | None = None) -> Design:
    """The design of the engine `route(request)` names. `band` is the source of a normalizer's band (a shape, a
    law, a spectrum file); without it the request's own edges are the band."""
    engine = route(request).engine
    if engine in ("study", "normalized-study"):
        raise InputError("a study is not one design: run it with nsdesign.search.run_study")
    if engine == "consumer":
        return _for_consumer(request, band)
    if engine == "guarded":
        return _guarded(request, band)
    return recommend(
        _band(request), steps=_count(request.steps), tol=request.tol, degree=request.degrees,
        cushion=request.cushion, safety=request.safety, norm_div=request.norm_div, shape=request.shape,
        kernel=request.kernel, max_steps=request.max_steps, guard_sigma=request.guard_sigma,
        band_source=request.band_source, exact=request.exact,
    )


def _for_consumer(request: DesignRequest, band: BandSource | None) -> Design:
    """Within what the optimizer takes; under a normalizer it offers, the guarded design for that band."""
    name = request.normalizer_name
    if name not in (None, "frobenius"):
        form = consumer_form(request.consumer or "")
        if name not in form.normalizers:
            offered = ", ".join(form.normalizers)
            raise InputError(f"{form.target} does not offer the {name} normalizer; it offers: {offered}")
        return _guarded(request, band)
    return design_for(request.consumer or "", _band(request), steps=_count(request.steps), tol=request.tol,
                      guard_sigma=request.guard_sigma)


def _guarded(request: DesignRequest, band: BandSource | None) -> NormalizedDesign:
    """Accurate on the normalizer's band (Frobenius without one), |1 − F| ≤ τ on the guard band above it."""
    source = band if band is not None else BandSource(min_sigma=request.min_sigma, max_sigma=request.max_sigma)
    return design_for_normalizer(
        request.normalizer or "frobenius", source, guard_sigma=request.guard_sigma, guard_tol=request.guard_tol,
        steps=_count(request.steps), degree=request.degrees, tol=request.tol,
        cushion=0.0 if request.cushion is None else request.cushion,
        safety=1.0 if request.safety is None else request.safety,
        norm_div=request.norm_div, max_steps=request.max_steps,
    )


def _band(request: DesignRequest) -> Band:
    if request.min_sigma is None:
        raise InputError("the request has no band: give its min_sigma (nsdesign.laws.predict estimates one)")
    return Band(request.min_sigma, request.max_sigma)


def _count(steps: int | tuple[int, int] | None) -> int | None:
    """A step count: a range LO-HI is a study's, which `route` sends elsewhere before this is reached."""
    if isinstance(steps, tuple):
        raise InputError("`steps` takes a step count here, not a range")
    return steps
