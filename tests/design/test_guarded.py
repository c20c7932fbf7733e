"""Guarded design: exact accuracy and guard errors, the certified bracket, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsdesign.core.metrics import worst_error
from nsdesign.design.greedy import greedy
from nsdesign.design.guarded import (
    CONVERGED,
    bf16_checks,
    exact_tail,
    guard_error,
    guarded_greedy,
    refine,
)
from nsdesign.design.safe import safe_greedy
from nsdesign.errors import InputError
from nsdesign.precision import matrix_error
from nsdesign.precision import test_matrix as make_test_matrix


@pytest.mark.slow
def test_schatten8_band_meets_the_guard_and_beats_designing_on_the_whole_interval():
    l, u = 0.1938, 0.5523
    result = guarded_greedy(l, u, 1.0, 0.3, "schatten8", steps=2)
    assert result.guard_error <= 0.3
    assert result.guard_error == pytest.approx(guard_error(result.schedule, u, 1.0))
    assert result.error == pytest.approx(worst_error(result.schedule, l, u))
    # designing on the whole guaranteed interval [l, 1] meets the guard too, but is less accurate on [l, u]
    whole = greedy(l, 1.0, steps=2)
    assert worst_error(whole.schedule, l, u) > result.error
    assert result.lower_bound <= result.error
    assert result.lower_bound == pytest.approx(worst_error(greedy(l, u, steps=2).schedule, l, u))
    assert "bracket" in result.status


def test_inactive_guard_is_the_certified_optimum():
    # a guard band barely above the band costs nothing: the plain greedy already stays within τ there
    result = guarded_greedy(0.2, 0.5, 0.5001, 0.3, "schatten4", steps=3)
    assert result.design_max_sigma == 0.5 and result.optimal


def test_frobenius_default_guard_is_two_percent():
    result = guarded_greedy(1e-3, 1.0, None, 0.3, "frobenius", steps=5)
    assert result.guard_sigma == 1.02 and result.guard_error <= 0.3
    assert result.lower_bound == pytest.approx(0.11345, abs=1e-5)  # the published E*(5)
    # every plain greedy design up to 1.02 overflows in bf16 on [1e-3, 1] (a rounded σ ≈ 1 lands above the design
    # top, where F explodes), so the answer is the inflated one — the same error as `search`'s safe default
    bare = greedy(1e-3, 1.02, steps=5).schedule
    assert not all(c.passed for c in bf16_checks(bare, 1e-3, 1.0, worst_error(bare, 1e-3, 1.0)))
    assert result.passed and result.inflated is not None and not result.optimal
    assert result.error == pytest.approx(safe_greedy(1e-3, 1.0, steps=5).error, abs=2e-3)


def _quarter_circle(n: int, low: float, top: float) -> tuple[float, ...]:
    """σ at the quantiles of a square Gaussian's spectrum (Marchenko–Pastur at ratio 1), top scaled to `top`."""
    p = (np.arange(n) + 0.5) / n
    grid = np.linspace(0.0, 2.0, 20001)
    cdf = np.cumsum(np.sqrt(4.0 - grid**2))
    sigma = np.interp(p, cdf / cdf[-1], grid)
    return tuple(float(v) for v in np.maximum(sigma / sigma.max() * top, low))  # clipped to the band


@pytest.mark.parametrize("steps", [4, 5])
def test_a_stretched_guard_design_does_not_blow_up_in_bf16(steps):
    """The 4096² Schatten-8 band: keeping [0.508, 1] within 0.3 stretched the plain design to a top of 0.99996,
    whose first step peaks (≈ 1.97) mid-band where steps 2.. are steep; on a 4096² Gaussian it measured 1.34 in
    bf16 (docs/normalizers.md). On a square spectrum's shape the returned design must stay accurate in both
    kernels' bf16 rounding model (the stretched 5-step one measured 0.35 fused and 3.1 unfused here)."""
    l, u = 0.0040, 0.508
    result = guarded_greedy(l, u, 1.0, 0.3, "schatten8", steps=steps)
    assert result.passed and result.guard_error <= 0.3
    test = make_test_matrix((256, 256), _quarter_circle(256, l, u))
    for kernel in ("fused", "unfused"):
        measured = matrix_error(result.schedule, test, "bf16", kernel=kernel).error
        assert measured <= result.error + 0.05, (kernel, measured)
    assert result.lower_bound <= result.error  # the bracket stays certified


@pytest.mark.slow
def test_a_design_that_passes_the_check_is_not_inflated():
    result = guarded_greedy(0.1938, 0.5523, 1.0, 0.3, "schatten8", steps=3)
    assert result.passed and result.inflated is None
    assert {c.kernel for c in result.checks} == {"fused", "unfused"}


@pytest.mark.slow
def test_tolerance_mode_gives_the_fewest_steps():
    result = guarded_greedy(0.1938, 0.5523, 1.0, 0.3, "schatten8", tol=1e-3)
    assert result.error <= 1e-3 and result.guard_error <= 0.3
    fewer = guarded_greedy(0.1938, 0.5523, 1.0, 0.3, "schatten8", steps=result.schedule.num_steps - 1)
    assert fewer.error > 1e-3


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"guard_sigma": 0.4}, "above the accuracy band"),
        ({"guard_tol": 0.0}, "`guard_tol` must be in"),
        ({"normalizer": "schatten8", "degree": 3}, "degree ≥ 5"),
        ({"normalizer": "nope"}, "unknown normalizer"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"min_sigma": 0.1, "max_sigma": 0.5, "steps": 3, **kwargs}
    with pytest.raises(InputError, match=match):
        guarded_greedy(**args)


def test_unreachable_guard_is_an_error():
    with pytest.raises(InputError, match="guard band"):
        guarded_greedy(1e-4, 0.5, 1.0, 0.01, "schatten4", steps=1)


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(st.floats(1e-3, 0.3), st.floats(0.4, 0.95), st.integers(2, 5), st.floats(0.1, 0.5))
def test_result_always_satisfies_its_guard_exactly(l, u, steps, tau):
    try:
        result = guarded_greedy(l, u, 1.0, tau, "schatten4", steps=steps)
    except InputError:
        return  # unreachable guard: refused, never a violating schedule
    assert guard_error(result.schedule, u, 1.0) <= tau
    assert result.lower_bound <= result.error * (1 + 1e-9) + 1e-15


def test_bracket_stays_ordered_when_both_designs_reach_round_off():
    # found by hypothesis: both greedy runs converge to round-off and the unconstrained one's exact error
    # (3.0e-15) exceeded the guarded one's (2.2e-16); the bracket must still read lower ≤ upper
    result = guarded_greedy(0.14684694734879897, 0.9235855225624635, 1.0, 0.5, "schatten4", steps=4)
    assert result.lower_bound <= result.error


def test_converged_steps_run_the_exact_limit():
    # Schatten-8 band of a Gaussian 1024x4096 (issue 9): 5 steps converge after the third.
    result = guarded_greedy(0.184, 0.552, 1.0, normalizer="schatten8", steps=5)
    records = result.design.steps
    converged = [j for j, r in enumerate(records) if j > 0 and max(abs(1 - v) for v in r.input_interval) <= CONVERGED]
    assert converged, "the 5-step design should converge on this band"
    for j in converged:
        assert result.schedule.steps[j].coefficients == (1.875, -1.25, 0.375)
    # the greedy record keeps what was designed: the rescaled limit, a hair off the exact one
    assert any(records[j].polynomial.coefficients != (1.875, -1.25, 0.375) for j in converged)
    assert result.params()["exact_tail_steps"] >= 1
    assert result.error == worst_error(result.schedule, 0.184, 0.552) <= 1e-12
    assert result.guard_error == guard_error(result.schedule, 0.552, 1.0) <= 0.3
    assert result.optimal


def test_unconverged_designs_are_left_as_designed():
    for design in (greedy(0.184, 0.552, 3), greedy(1e-3, 1.0, 5)):  # the last input interval is ≥ 4e-3 from 1
        assert exact_tail(design) is design


@pytest.mark.slow
def test_refinement_lowers_the_error_and_keeps_the_guard_exactly():
    # the Schatten-8 band of a Gaussian 1024x4096 at 2 steps: the guard is active, the family is not optimal
    l, u, g, tau = 0.1938, 0.5523, 1.0, 0.3
    result = guarded_greedy(l, u, g, normalizer="schatten8", steps=2)
    family = greedy(l, result.design_max_sigma, 2)  # the best family member, before refinement
    assert guard_error(family.schedule, u, g) <= tau
    better = refine(family.schedule, l, u, g, tau)
    assert better is not None
    assert worst_error(better, l, u) < 0.9 * worst_error(family.schedule, l, u)
    assert guard_error(better, u, g) <= tau
    assert result.params()["refined"] and result.passed and not result.optimal
    assert result.error == worst_error(result.schedule, l, u) < result.design.steps[-1].error
    assert result.lower_bound <= result.error


def test_refinement_gives_up_rather_than_break_the_guard():
    # an optimal design (guard inactive) cannot be improved: refine returns None, the design stays as it was
    design = greedy(0.3, 0.5, 2)
    assert refine(design.schedule, 0.3, 0.5, 0.5, 0.3) is None


@pytest.mark.slow
def test_refinement_can_be_skipped_for_studies():
    family = guarded_greedy(0.1938, 0.5523, 1.0, normalizer="schatten8", steps=2, refine_design=False)
    refined = guarded_greedy(0.1938, 0.5523, 1.0, normalizer="schatten8", steps=2)
    assert "refined" not in family.params() and refined.params()["refined"]
    assert family.schedule == greedy(0.1938, family.design_max_sigma, 2).schedule
    assert refined.error < family.error
