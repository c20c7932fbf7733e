"""plans.answer: one request in, the routed engine's design out, the same design the engine gives directly."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsdesign.core.band import Band
from nsdesign.core.limits import DEFAULT_HEADROOM
from nsdesign.design.recommend import recommend
from nsdesign.errors import InputError
from nsdesign.laws.normalized import BandSource
from nsdesign.plans.answer import answer
from nsdesign.plans.consumer import design_for
from nsdesign.plans.normalizer import design_for_normalizer
from nsdesign.plans.request import DesignRequest


@pytest.mark.parametrize(
    "request_, direct",
    [
        (DesignRequest(1e-3), lambda: recommend(Band(1e-3, 1.0))),
        (DesignRequest(1e-3, exact=True, steps=4), lambda: recommend(Band(1e-3, 1.0), steps=4, exact=True)),
        (DesignRequest(2e-3, guard_sigma=1.05, degrees=(3, 5, 5, 5)),
         lambda: recommend(Band(2e-3, 1.0), degree=(3, 5, 5, 5), guard_sigma=1.05)),
    ],
)
def test_the_recommend_engines_answer_as_recommend_does(request_, direct):
    assert answer(request_).schedule == direct().schedule


def test_the_guarded_engine_answers_as_design_for_normalizer_does():
    via_request = answer(DesignRequest(0.004, 0.5, normalizer="schatten8", steps=4))
    direct = design_for_normalizer("schatten8", BandSource(min_sigma=0.004, max_sigma=0.5), steps=4)
    assert via_request.guarded.schedule == direct.guarded.schedule
    by_source = answer(DesignRequest(normalizer="schatten8", steps=4), BandSource(min_sigma=0.004, max_sigma=0.5))
    assert by_source.guarded.schedule == direct.guarded.schedule


def test_the_consumer_engine_answers_as_design_for_does():
    assert answer(DesignRequest(1e-3, consumer="optax", steps=5)).schedule == design_for("optax", 1e-3, steps=5).schedule


@pytest.mark.parametrize(
    "request_, fragment",
    [
        (DesignRequest(1e-3, study=("trials",)), "not one design"),
        (DesignRequest(1e-3, normalizer="aol", study=("trials",)), "not one design"),
        (DesignRequest(consumer="optax"), "no band"),
        (DesignRequest(), "no band"),
        (DesignRequest(1e-3, consumer="optax", normalizer="schatten8"), "does not offer the schatten8"),
        (DesignRequest(1e-3, guard_sigma=0.9), "must lie above"),
        (DesignRequest(1e-3, guard_sigma=3.0), "above 2·max"),
    ],
)
def test_requests_no_engine_can_answer_are_one_line_errors(request_, fragment):
    with pytest.raises(InputError, match=fragment) as info:
        answer(request_)
    assert "\n" not in str(info.value)


@settings(max_examples=60, deadline=None)
@given(top=st.floats(0.05, 4.0), ratio=st.floats(0.5, 3.0))
def test_the_relative_guard_is_g_over_u_minus_one_where_it_is_allowed(top, ratio):
    g = top * ratio
    request = DesignRequest(1e-4, top, guard_sigma=g)
    if g < top or g > 2.0 * max(top, 1.0):
        with pytest.raises(InputError):
            request.relative_guard()
    else:
        assert math.isclose(request.relative_guard(), max(0.0, g / top - 1.0))
    assert DesignRequest(1e-4, top).relative_guard() == DEFAULT_HEADROOM
