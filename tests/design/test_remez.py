import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsdesign.design.remez import limit_coefficients, minimax_odd
from nsdesign.errors import InputError


def test_first_greedy_step_on_reference_band():
    result = minimax_odd(1e-3, 1.0, 5)
    assert result.polynomial.coefficients == pytest.approx((8.4703, -25.1081, 18.6293), abs=5e-5)
    assert result.error == pytest.approx(0.99153, abs=5e-6)
    assert result.certified and result.relative_gap < 1e-9


@settings(max_examples=150, deadline=None)
@given(st.floats(-15.5, -0.01), st.sampled_from([3, 5, 7, 9, 11, 13, 15, 17]))
def test_certified_equioscillation(log_ratio, degree):
    # From degree ~13 on narrow bands the optimal error is so small that the bracket closes only to the
    # double-precision evaluation floor of p; the certificate accepts that and no more.
    lower = 10.0**log_ratio
    result = minimax_odd(lower, 1.0, degree)
    assert result.certified, (lower, degree, result.relative_gap)
    if result.method == "remez" and result.error > result.evaluation_floor:
        d = (degree - 1) // 2
        assert len(result.reference) == d + 2
        errors = [1 - result.polynomial(x) for x in result.reference]
        # alternating signs, equal magnitudes = the optimal error
        assert all(errors[i] * errors[i + 1] < 0 for i in range(len(errors) - 1))
        for e in errors:
            assert abs(e) == pytest.approx(result.error, rel=1e-8, abs=result.evaluation_floor)


@settings(max_examples=60, deadline=None)
@given(st.floats(1e-4, 0.9), st.floats(0.1, 10), st.sampled_from([3, 5, 7]))
def test_scale_invariance(ratio, upper, degree):
    a = minimax_odd(ratio, 1.0, degree)
    b = minimax_odd(ratio * upper, upper, degree)
    assert b.error == pytest.approx(a.error, rel=1e-9, abs=1e-15)
    assert b.polynomial(0.5 * upper) == pytest.approx(a.polynomial(0.5), rel=1e-8)


@settings(max_examples=60, deadline=None)
@given(st.floats(1e-3, 0.95), st.sampled_from([3, 5]), st.lists(st.floats(-1e-3, 1e-3), min_size=3, max_size=3))
def test_perturbations_are_never_better(ratio, degree, noise):
    # Optimality in the minimax sense: nudging the coefficients cannot lower the exact max error.
    best = minimax_odd(ratio, 1.0, degree)
    d = (degree + 1) // 2
    nudged = type(best.polynomial)(tuple(c * (1 + e) for c, e in zip(best.polynomial.coefficients, noise[:d])))
    lo, hi = nudged.image(ratio, 1.0)
    assert max(1 - lo, hi - 1) >= best.error_lower_bound - 1e-15


def test_narrow_interval_returns_the_limit_polynomial():
    assert limit_coefficients(2) == (Fraction(15, 8), Fraction(-10, 8), Fraction(3, 8))
    assert limit_coefficients(1) == (Fraction(3, 2), Fraction(-1, 2))
    result = minimax_odd(1 - 1e-7, 1.0, 5)
    assert result.method == "limit"
    assert result.polynomial.coefficients == (1.875, -1.25, 0.375)
    assert result.error < 1e-15 and result.certified


@pytest.mark.parametrize("d", range(1, 8))
def test_limit_polynomial_is_flat_at_one(d):
    q = limit_coefficients(d)
    assert sum(q) == 1
    # q'(1) = Σ (2j+1) q_j = 0 and higher derivatives vanish too
    for k in range(1, d + 1):
        assert sum(c * math.perm(2 * j + 1, k) for j, c in enumerate(q)) == 0


def test_converges_continuously_into_the_narrow_regime():
    # just outside the threshold the Remez answer is already next to the limit
    near = minimax_odd(1 - 2e-5, 1.0, 5).polynomial.coefficients
    assert near == pytest.approx((1.875, -1.25, 0.375), abs=1e-3)


@pytest.mark.parametrize("args", [(0.0, 1.0, 5), (0.5, 0.5, 5), (0.1, 1.0, 4), (0.1, 1.0, 33), (math.nan, 1.0, 5)])
def test_bad_problems(args):
    with pytest.raises(InputError):
        minimax_odd(*args)


@pytest.mark.parametrize("lower, degree", [(1e-3, 5), (0.3, 9), (0.63, 13)])
def test_certificate_refuses_a_slightly_worse_polynomial(lower, degree):
    """Nudging one coefficient of the optimum by 1e-7 of its size opens the bracket past both thresholds."""
    from dataclasses import replace

    from nsdesign.core.polynomial import OddPolynomial

    best = minimax_odd(lower, 1.0, degree)
    c = list(best.polynomial.coefficients)
    c[1] *= 1 + 1e-7
    worse = OddPolynomial(tuple(c))
    lo, hi = worse.image(lower, 1.0)
    errors = [1 - worse(x) for x in best.reference]
    nudged = replace(best, polynomial=worse, error=max(1 - lo, hi - 1), error_lower_bound=min(abs(e) for e in errors))
    assert not nudged.certified


@pytest.mark.slow
def test_near_converged_bands_never_fail_and_more_degree_never_hurts():
    """Relative widths 1e-7…0.3 (the last steps of long schedules): every degree 3–21 returns a polynomial,
    a higher degree is never worse than a lower one beyond round-off, and where the exchange is swamped by
    round-off (E* ~ 1e-16) the answer is uncertified but still within 1e-12 of 1."""
    import numpy as np

    for width in np.geomspace(1e-7, 0.3, 120):
        previous = None
        for degree in range(3, 23, 2):
            result = minimax_odd(1.0 - width, 1.0, degree)
            assert result.certified or result.error < 1e-12, (width, degree, result.error)
            if previous is not None:
                assert result.error <= previous.error * (1 + 1e-9) + result.evaluation_floor, (width, degree)
            previous = result


@settings(max_examples=200, deadline=None)
@given(st.floats(-15, -1e-6), st.floats(0.8, 1.2), st.floats(0.8, 1.2))
def test_quintic_fast_path_is_the_general_exchange_bit_for_bit(log_r, a, b):
    from nsdesign.design import remez

    r = 10.0**log_r
    reference = remez._initial_reference(r, 2)
    reference[1] = min(max(reference[1] * a, r * 1.0001), 0.999)
    reference[2] = min(max(reference[2] * b, reference[1] * 1.0001), 0.9999)
    assert remez._solve_reference_quintic(list(reference), r) == remez._solve_reference_general(list(reference), r, 2)


@pytest.mark.parametrize("degree", range(3, 32, 2))
def test_widths_at_double_precision_resolution_never_crash(degree):
    """Widths of a few ulp (the last steps of high-degree schedules, e.g. degree 21 from l = 1e-5): the
    reference points coincide in double precision, the exchange has nothing to level and must hand over to the
    round-off fallback instead of dividing by zero; the answer stays within 1e-12 of 1."""
    for width in (1e-16, 3e-16, 1e-15, 1e-14, 1e-13, 1e-12):
        for top in (1.0, 1.0000000000000038):
            result = minimax_odd(top * (1.0 - width), top, degree)
            assert result.certified or result.error < 1e-12, (width, top, result.error, result.method)


def test_high_degree_greedy_runs_into_the_converged_regime():
    from nsdesign import greedy

    design = greedy(1e-5, steps=10, degree=21)  # step 6 onwards lies within a few ulp of 1
    assert design.certified and design.error < 1e-12
