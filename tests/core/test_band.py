import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsdesign.core.band import Band, as_band
from nsdesign.core.metrics import evaluate, worst_error
from nsdesign.design.greedy import greedy
from nsdesign.design.recommend import compare, recommend
from nsdesign.design.solvers import cheapest_schedule, min_steps
from nsdesign.core.cost import Shape
from nsdesign.errors import InputError
from nsdesign.presets import preset


def test_band_is_validated_once_and_frozen():
    band = Band(1e-3)
    assert (band.min_sigma, band.max_sigma, band.guard_sigma) == (1e-3, 1.0, None)
    assert tuple(band) == (1e-3, 1.0) and band.ratio == 1e-3
    with pytest.raises(Exception):
        band.min_sigma = 0.5  # type: ignore[misc]
    assert Band(1e-3, 1.0, 1.1).to_dict() == {"min_sigma": 1e-3, "max_sigma": 1.0, "guard_sigma": 1.1}
    assert Band.from_dict(Band(1e-3, 2.0, 2.5).to_dict()) == Band(1e-3, 2.0, 2.5)


@pytest.mark.parametrize(
    "args, message",
    [
        ((0.0, 1.0), "0 < min_sigma"),
        ((2.0, 1.0), "0 < min_sigma"),
        ((-1e-3, 1.0), "0 < min_sigma"),
        ((math.nan, 1.0), "finite"),
        ((1e-3, math.inf), "finite"),
        ((1e-3, 1.0, 0.9), "guard_sigma must be at least max_sigma"),
        ((1e-3, 1.0, math.inf), "guard_sigma"),
        (("1e-3", 1.0), "number"),
        ((True, 1.0), "number"),
    ],
)
def test_bad_bands(args, message):
    with pytest.raises(InputError, match=message):
        Band(*args)


def test_as_band_accepts_each_spelling():
    want = Band(1e-3, 1.0)
    assert as_band(want) is want
    assert as_band((1e-3, 1.0)) == want == as_band(1e-3) == as_band(1e-3, 1.0) == as_band([1e-3, 1.0])
    with pytest.raises(InputError, match="max_sigma"):
        as_band(want, 2.0)
    with pytest.raises(InputError, match="pair"):
        as_band((1e-3, 0.5, 1.0))
    with pytest.raises(InputError, match="twice"):
        as_band((1e-3, 1.0), 1.0)


def test_public_functions_take_a_band_or_the_pair():
    band = Band(1e-3, 1.0)
    s = preset("keller5")
    assert evaluate(s, band) == evaluate(s, 1e-3, 1.0) == evaluate(s, (1e-3, 1.0))
    assert worst_error(s, band) == worst_error(s, 1e-3, 1.0)
    assert greedy(band, steps=5).schedule == greedy(1e-3, 1.0, 5).schedule
    assert recommend(band).metrics == recommend(1e-3).metrics
    assert compare([s], band) == compare([s], 1e-3)
    assert min_steps(band, 0.01) == min_steps(1e-3, 0.01)
    shape = Shape(64, 256)
    assert cheapest_schedule(band, 0.01, shape).schedule == cheapest_schedule(1e-3, 0.01, shape).schedule


def test_knobs_after_the_band_are_keyword_only():
    with pytest.raises(TypeError):
        greedy(1e-3, 1.0, 5, 5, 0.02)  # type: ignore[misc]
    with pytest.raises(TypeError):
        evaluate(preset("keller5"), 1e-3, 1.0, 0.02)  # type: ignore[misc]


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(st.floats(-12, 2), st.floats(-12, 2), st.one_of(st.none(), st.floats(-12, 3)))
def test_band_accepts_exactly_the_valid_edges(a, b, g):
    lo, hi = 10.0**a, 10.0**b
    guard = None if g is None else 10.0**g
    valid = lo < hi and (guard is None or guard >= hi)
    if valid:
        band = Band(lo, hi, guard)
        assert band.min_sigma < band.max_sigma
    else:
        with pytest.raises(InputError):
            Band(lo, hi, guard)
