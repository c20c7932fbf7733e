"""Issue 14: certificate labels, and the library's type and range errors for greedy and the metrics."""

from __future__ import annotations

import math

import pytest

from nsdesign import Shape, captured_min_sigma, evaluate, flops, overshoot, value_range, worst_error
from nsdesign.design.greedy import greedy
from nsdesign.design.solvers import cheapest_schedule
from nsdesign.errors import InputError
from nsdesign.presets import preset

K = preset("keller5")


def test_sign_flip_is_never_labelled_certified():
    """Degree 31 on [1e-15, 1]: Remez's brackets close but F spans [−5.45e-06, 2.00003] (a flip)."""
    design = greedy(1e-15, steps=2, degree=31)
    lo, hi = value_range(design.schedule, 1e-15, 1.0)
    assert lo < 0 and hi > 2  # the exact map really leaves (0, 2)
    assert not design.in_range and not design.certified
    assert design.certificate_label.startswith("NOT certified: values leave (0, 2)")


def test_certified_designs_stay_in_0_2():
    design = greedy(1e-3, steps=5)
    lo, hi = value_range(design.schedule, 1e-3, 1.0)
    assert design.certified and 0 < lo and hi < 2
    assert design.certificate_label.startswith("certified optimal")


def test_more_steps_after_a_sign_flip_is_one_clear_error():
    with pytest.raises(InputError, match="F ≤ 0.*sign flip.*lower degree"):
        greedy(1e-15, steps=4, degree=31)
    with pytest.raises(InputError, match="sign flip"):
        greedy(1e-15, tol=1e-3, degree=31)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(degree=5.0), "degree must be an odd integer"),
        (dict(degree="5"), "degree must be an odd integer"),
        (dict(degree=[5, 5.0], steps=2), "degree must be an integer"),
        (dict(steps=True), "steps must be an integer"),
        (dict(steps=2.0), "steps must be an integer"),
        (dict(max_steps=3.0, tol=1e-3), "max_steps must be an integer"),
    ],
)
def test_greedy_type_errors(kwargs, message):
    with pytest.raises(TypeError, match=message):
        greedy(1e-3, **kwargs)


def test_shape_needs_integers_and_accepts_pairs():
    with pytest.raises(TypeError, match="integers"):
        Shape(2.5, 5)
    with pytest.raises(TypeError, match="integers"):
        Shape(True, 5)
    assert Shape.coerce((5, 3)) == Shape(3, 5) == Shape.coerce("3x5")
    assert flops(K, (256, 1024)) == flops(K, Shape(256, 1024)) == flops("keller5", "256x1024")
    assert evaluate(K, 1e-3, shape=(256, 1024)).shape == (256, 1024)
    with pytest.raises(TypeError, match="shape"):
        flops(K, (1, 2, 3))


def test_preset_names_are_schedules():
    assert worst_error("keller5", 1e-3, 1.0) == worst_error(K, 1e-3, 1.0)
    assert evaluate("keller5", 1e-3).worst_error == evaluate(K, 1e-3).worst_error
    with pytest.raises(InputError, match="not a preset or a schedule"):
        worst_error("no_such_schedule", 1e-3, 1.0)
    with pytest.raises(TypeError, match="Schedule or a preset name"):
        worst_error(3, 1e-3, 1.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: worst_error(K, 1, 0), "0 ≤ lower ≤ upper"),
        (lambda: worst_error(K, -1, 1), "0 ≤ lower ≤ upper"),
        (lambda: value_range(K, 0, math.inf), "finite"),
        (lambda: value_range(K, math.nan, 1), "finite"),
        (lambda: overshoot(K, max_sigma=-1), "0 ≤ lower ≤ upper"),
        (lambda: overshoot(K, max_sigma=0), "positive"),
        (lambda: overshoot(K, headroom=-0.1), "headroom"),
        (lambda: captured_min_sigma(K, 5), r"tolerance must lie in \(0, 1\)"),
        (lambda: captured_min_sigma(K, 1.0), r"tolerance must lie in \(0, 1\)"),
        (lambda: captured_min_sigma(K, 0.1, max_sigma=-1), "lower ≤ upper"),
        (lambda: evaluate(K, 1e-3, tol=2), r"tolerance must lie in \(0, 1\)"),
        (lambda: evaluate(K, 1e-3, max_sigma=1e300), "max-sigma must be at most"),
    ],
)
def test_bad_bands_are_input_errors(call, message):
    with pytest.raises(InputError, match=message):
        call()


def test_type_errors_for_non_numbers():
    with pytest.raises(TypeError):
        worst_error(K, "0.1", 1.0)
    with pytest.raises(TypeError):
        captured_min_sigma(K, "0.1")


def test_cheapest_schedule_accepts_a_pair():
    a = cheapest_schedule(1e-3, 0.05, (256, 1024))
    b = cheapest_schedule(1e-3, 0.05, Shape(256, 1024))
    assert a.schedule == b.schedule


def test_predict_band_accepts_a_pair():
    from nsdesign.laws import predict_band

    assert predict_band(0.5, shape=(256, 1024)).min_sigma == predict_band(0.5, shape=Shape(256, 1024)).min_sigma
