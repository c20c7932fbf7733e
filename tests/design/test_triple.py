"""Repeated-triple designs (design.triple): exact figures against dense sampling, the issue's goals, the
bracket, the guard and the rounding-model check, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsdesign.core.polynomial import OddPolynomial
from nsdesign.core.schedule import Schedule
from nsdesign.design.triple import composed_range, fewest_repeats, repeated_triple
from nsdesign.errors import InputError
from nsdesign.presets import preset

KELLER = preset("keller5").steps[0].coefficients


@pytest.fixture(scope="module")
def five():
    return repeated_triple(1e-3, 5)


def _sampled(triple, repeats, lo, hi, count=200_001):
    x = np.linspace(lo, hi, count)
    p = OddPolynomial(triple)
    for _ in range(repeats):
        x = p.evaluate(x)
    return x


@pytest.mark.slow
def test_exact_error_and_guard_agree_with_dense_sampling(five):
    inside = _sampled(five.triple, 5, 1e-3, 1.0)
    sampled = float(np.max(np.abs(1 - inside)))
    assert sampled <= five.error + 1e-12
    assert sampled > five.error - 1e-4  # a fine grid gets close to the exact worst case
    above = _sampled(five.triple, 5, 0.0, 1.02)
    assert above.max() <= five.max_f + 1e-12 and above.max() <= 1.25
    assert above.min() >= 0.0


@pytest.mark.slow
@pytest.mark.parametrize("steps, goal, keller_error", [(5, 0.37, 0.529), (6, 0.125, None)])
def test_goals_met_with_the_bf16_check(steps, goal, keller_error, five):
    design = five if steps == 5 else repeated_triple(1e-3, steps)
    assert design.passed, design.checks
    assert design.error <= goal
    assert [c.kernel for c in design.checks] == ["exact", "fused"]
    keller = Schedule.from_coefficients([KELLER] * steps)
    from nsdesign.core.metrics import worst_error

    assert design.error < worst_error(keller, 1e-3, 1.0)
    if keller_error is not None:
        assert worst_error(keller, 1e-3, 1.0) == pytest.approx(keller_error, abs=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("steps, goal", [(7, 0.045), (8, 0.015)])
def test_goals_at_seven_and_eight_repeats(steps, goal):
    design = repeated_triple(1e-3, steps)
    assert design.passed and design.error <= goal


@pytest.mark.slow
def test_bracket_lower_bound_is_the_greedy_optimum(five):
    from nsdesign.design.greedy import greedy

    assert five.lower_bound == pytest.approx(greedy(1e-3, steps=5).error)
    assert five.lower_bound < five.error


@pytest.mark.slow
def test_unchecked_design_is_the_bare_guarded_optimum(five):
    bare = repeated_triple(1e-3, 5, check=False)
    assert bare.robustness == 0.0 and len(bare.checks) == 1
    assert bare.error <= five.error + 1e-12  # the bf16-robust guard can only cost accuracy
    assert bare.error <= 0.37


@pytest.mark.slow
def test_schedule_is_the_triple_repeated(five):
    s = five.schedule
    assert s.num_steps == 5 and len(set(s.steps)) == 1 and s.extension == "repeat_last" and s.norm_div == 1.0


@pytest.mark.slow
def test_fewest_repeats_reaching_a_tolerance(five):
    design = fewest_repeats(1e-3, 0.13)
    assert design.ns_steps == 6 and design.error <= 0.13
    assert five.error > 0.13  # five = repeated_triple(1e-3, 5): one repeat fewer does not reach it


@pytest.mark.parametrize("steps", [0, -1, True, 2.5, 101, "5"])
def test_bad_step_counts_are_refused(steps):
    with pytest.raises(InputError, match="ns_steps must be an integer"):
        repeated_triple(1e-3, steps)


@pytest.mark.parametrize("tol", [0.0, -0.1, 1.5, float("nan")])
def test_bad_tolerances_are_refused(tol):
    with pytest.raises(InputError, match="tol must be in"):
        fewest_repeats(1e-3, tol)


@settings(max_examples=40, deadline=None)
@given(
    a=st.floats(1.0, 4.0), b=st.floats(-6.0, 0.0), c=st.floats(0.0, 3.0), repeats=st.integers(1, 6),
    lo=st.floats(0.0, 0.9), width=st.floats(0.01, 0.3), delta=st.sampled_from([0.0, 0.01]),
)
def test_composed_range_encloses_every_sampled_value(a, b, c, repeats, lo, width, delta):
    hi = lo + width
    out = composed_range(OddPolynomial((a, b, c)), lo, hi, repeats, delta)
    if out is None:
        return
    values = _sampled((a, b, c), repeats, lo, hi, 2001)
    scale = max(1.0, float(np.max(np.abs(values))))
    assert out[0] <= values.min() + 1e-9 * scale and values.max() <= out[1] + 1e-9 * scale
