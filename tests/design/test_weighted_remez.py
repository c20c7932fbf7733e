"""nsdesign.design.weighted_remez: the grid exchange agrees with the exact one where both apply (the sign
target), and its bracket always holds."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsdesign.core.targets import parse_target
from nsdesign.design.remez import minimax_odd
from nsdesign.design.weighted_remez import error_weight, remez


def odd_basis(hi: float, d: int):
    """x, x³, …, x^(2d+1) scaled by hi: a Haar system on any [lo, hi] with lo > 0."""
    return lambda x: np.column_stack([(np.asarray(x, dtype=float) / hi) ** (2 * k + 1) for k in range(d + 1)])


@pytest.mark.parametrize(("lo", "degree"), [(0.1, 3), (0.05, 5), (0.3, 7), (1e-3, 5)])
def test_the_sign_fit_matches_the_exact_minimax_polynomial(lo, degree):
    """Two independent exchanges (a grid with local polishing here, exact critical points in design.remez) find
    the same best odd polynomial for 1 on [lo, 1]."""
    sign = parse_target("sign")
    d = (degree - 1) // 2
    fit = remez(odd_basis(1.0, d), sign, error_weight(sign), lo, 1.0, d + 1)
    exact = minimax_odd(lo, 1.0, degree)
    assert fit.lower_bound <= exact.error * (1 + 1e-9)
    assert fit.grid_error == pytest.approx(exact.error, rel=1e-6)
    assert fit.lower_bound == pytest.approx(exact.error, rel=1e-6)


@given(lo=st.floats(0.01, 0.5), p=st.sampled_from([0.25, 0.5]), d=st.integers(1, 4))
def test_the_bracket_holds_for_a_relative_error(lo, p, d):
    """For σ^p in relative error the alternation's bound never exceeds the error on the grid."""
    target = parse_target(f"sigma^{p}")
    fit = remez(odd_basis(1.0, d), target, error_weight(target), lo, 1.0, d + 1)
    assert 0.0 <= fit.lower_bound <= fit.grid_error * (1 + 1e-9)
    x = np.geomspace(lo, 1.0, 257)
    measured = np.max(np.abs((odd_basis(1.0, d)(x) @ fit.coefficients - target.values(x)) / target.values(x)))
    assert measured <= fit.grid_error * (1 + 1e-3)  # the grid resolves the peaks to well within 0.1%


def test_the_weight_of_an_error():
    x = np.array([0.25, 1.0])
    assert np.allclose(error_weight(parse_target("sign"))(x), 1.0)
    assert np.allclose(error_weight(parse_target("sigma^0.5"))(x), [2.0, 1.0])
