"""plans.normalizer: the design for a normalizer's band, its band as one BandSource value."""

import pytest

from nsdesign.core.cost import Shape
from nsdesign.errors import InputError
from nsdesign.laws.normalized import BandSource, resolve_band
from nsdesign.plans.normalizer import design_for_normalizer


def test_given_edges_pass_through_and_a_source_predicts_one():
    assert resolve_band("schatten8", BandSource(min_sigma=0.004, max_sigma=0.5)) == (0.004, 0.5, None)
    lo, hi, band = resolve_band("schatten8", BandSource(shape=Shape(256, 1024)))
    assert band is not None and band.quantile == 0.99 and 0 < lo < hi <= 1  # the default quantile for a shape
    assert (lo, hi) == band.normalized


def test_a_band_source_and_keywords_give_the_same_design():
    by_value = design_for_normalizer("schatten8", BandSource(min_sigma=0.004, max_sigma=0.5), steps=4)
    by_keywords = design_for_normalizer("schatten8", steps=4, min_sigma=0.004, max_sigma=0.5)
    assert by_value.guarded.schedule == by_keywords.guarded.schedule
    assert (by_value.guarded.min_sigma, by_value.guarded.max_sigma) == (0.004, 0.5)


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: design_for_normalizer("schatten8", BandSource(min_sigma=0.004), steps=4, min_sigma=0.004), "not both"),
        (lambda: resolve_band("schatten8", BandSource(min_sigma=0.004, quantile=0.9)), "not both"),
        (lambda: resolve_band("schatten8", BandSource(max_sigma=0.5, shape=Shape(256, 1024))), "max_sigma goes with"),
    ],
)
def test_a_band_given_twice_is_one_line_error(call, fragment):
    with pytest.raises(InputError, match=fragment):
        call()
