import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsdesign.core.polynomial import OddPolynomial
from nsdesign.errors import InputError

coefficient = st.floats(-30, 30, allow_nan=False)
polynomials = st.lists(coefficient, min_size=1, max_size=5).map(lambda c: OddPolynomial(tuple(c)))


def test_evaluation_and_degree():
    p = OddPolynomial((3.4445, -4.775, 2.0315))
    assert p.degree == 5
    assert p(1.0) == pytest.approx(3.4445 - 4.775 + 2.0315)
    assert p(-0.5) == -p(0.5)
    assert OddPolynomial((3.3656576, -3.3420992, 0.0)).degree == 3
    np.testing.assert_allclose(p.evaluate(np.array([0.1, 0.7])), [p(0.1), p(0.7)])


def test_input_and_output_scaling():
    p = OddPolynomial((2.0, -1.5, 0.5))
    assert p.input_scaled(1.02)(0.7) == pytest.approx(p(0.7 / 1.02))
    assert p.output_scaled(1.1)(0.7) == pytest.approx(1.1 * p(0.7))


def test_fixed_points_of_cubic_newton_schulz():
    # p(x) = 1.5x − 0.5x³ has fixed points 0 and 1 (the latter super-attracting)
    assert OddPolynomial((1.5, -0.5)).fixed_points() == pytest.approx([1.0])


def test_rejects_non_finite():
    with pytest.raises(InputError):
        OddPolynomial((1.0, math.nan))
    with pytest.raises(InputError):
        OddPolynomial(())


@settings(max_examples=200, deadline=None)
@given(polynomials, st.floats(-2, 2), st.floats(0, 2))
def test_image_contains_every_value_and_is_attained(p, lo, width):
    hi = lo + width
    image_lo, image_hi = p.image(lo, hi)
    xs = np.linspace(lo, hi, 2001)
    ys = p.evaluate(xs)
    tol = 1e-9 * (1 + np.max(np.abs(ys)))
    assert np.all(ys >= image_lo - tol) and np.all(ys <= image_hi + tol)
    # attained: at an endpoint or a critical point, so a fine grid gets close
    candidates = [lo, hi, *p.critical_points(lo, hi)]
    values = [p(x) for x in candidates]
    assert min(values) == image_lo and max(values) == image_hi


@settings(max_examples=200, deadline=None)
@given(polynomials)
def test_critical_points_are_zeros_of_derivative(p):
    scale = sum(abs(c) * (2 * j + 1) for j, c in enumerate(p.coefficients)) * 10
    for x in p.critical_points(-3, 3):
        assert abs(p.derivative(x)) <= 1e-7 * scale


def test_image_of_diverged_interval_is_unbounded():
    p = OddPolynomial((1.0, 0.0, 1e300))
    assert p.image(0, 1e10) == (-math.inf, math.inf)


def _generic_image(p, lo, hi):
    """`OddPolynomial.image` without the quintic fast path: endpoints and `critical_points`."""
    values = [p(lo), p(hi)] + [p(x) for x in p.critical_points(lo, hi)]
    if not all(math.isfinite(v) for v in values):
        return -math.inf, math.inf
    return min(values), max(values)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(
    st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3), st.floats(-1e3, 1e3).filter(lambda c: c != 0.0)),
    st.floats(-3, 3),
    st.floats(0, 3),
)
def test_quintic_image_fast_path_is_bit_identical_to_the_generic_path(coefficients, lo, width):
    # The quintic image is unrolled for speed (greedy's inner loop); it must give the same bits as the generic
    # critical-point path it replaces, or designs would drift between versions.
    p = OddPolynomial(coefficients)
    got, want = p.image(lo, lo + width), _generic_image(p, lo, lo + width)
    assert repr(got) == repr(want)
