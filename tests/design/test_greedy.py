"""Greedy design: the public numbers of docs/background.md §2 and the Polar Express reproductions."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsdesign.core.metrics import worst_error
from nsdesign.core.schedule import Schedule
from nsdesign.design.greedy import greedy
from nsdesign.errors import InputError
from nsdesign.presets import preset

# Amsel et al. 2025: optimal worst-case error of k quintic steps on [1e-3, 1]
E_STAR = [0.99153, 0.96457, 0.85977, 0.54589, 0.11345, 9.165e-4, 4.81e-10]


def _relative(a, b):
    return max(abs(x - y) / abs(y) for x, y in zip(a, b))


@pytest.mark.parametrize("k, expected", list(enumerate(E_STAR, start=1)))
def test_optimal_errors(k, expected):
    design = greedy(1e-3, steps=k)
    assert design.certified
    assert design.error == pytest.approx(expected, rel=5e-4)
    # the recursion's bound is the exact worst error of the emitted schedule
    assert worst_error(design.schedule, 1e-3, 1.0) == pytest.approx(design.error, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(
    "l, tol, k",
    [(1e-2, 0.3, 3), (1e-2, 0.1, 4), (1e-2, 0.01, 5), (1e-3, 0.3, 5), (1e-3, 0.1, 6), (1e-3, 0.01, 6),
     (1e-4, 0.3, 7), (1e-4, 0.1, 7), (1e-4, 0.01, 8)],
)
def test_minimal_step_table(l, tol, k):
    assert greedy(l, tol=tol).schedule.num_steps == k


def test_reproduces_modded_nanogpt_list():
    design = greedy(1e-3, steps=5, cushion=0.02, safety=1.02)
    published = preset("polar_express_modded5")
    for ours, theirs in zip(design.schedule.steps, published.steps):
        assert _relative(ours.coefficients, theirs.coefficients) <= 1e-10


def test_reproduces_polar_express_paper_list():
    raw = greedy(1e-3, steps=8, cushion=0.02407327424182761)
    published = preset("polar_express_paper8").steps
    # the published list applies p(x/1.01) to every step but the last
    ours = [p.input_scaled(1.01) for p in raw.schedule.steps[:-1]] + [raw.schedule.steps[-1]]
    # Rows whose input interval is wider than 1% are non-converged designs: 1e-10. The last two act on
    # intervals within 0.3% of 1, where the monomial coefficients are ill-conditioned on both sides.
    for i, step in enumerate(raw.steps):
        lo, hi = step.input_interval
        limit = 1e-10 if 1 - lo / hi > 1e-2 else 1e-8
        assert _relative(ours[i].coefficients, published[i].coefficients) <= limit, i
    assert sum(1 - s.input_interval[0] / s.input_interval[1] > 1e-2 for s in raw.steps) == 6


def test_reproduces_polar_express_package_lists():
    for name, l, k in (("polar_express_pkg10", 1e-3, 10), ("polar_express_l1e-4_12", 1e-4, 12)):
        design = greedy(l, steps=k, cushion=0.02, safety=1.01)
        for step, ours, theirs in zip(design.steps, design.schedule.steps, preset(name).steps):
            lo, hi = step.input_interval
            if 1 - lo / hi > 1e-2:  # non-converged rows; the converged ones are ill-conditioned to ~1e-5
                assert _relative(ours.coefficients, theirs.coefficients) <= 1e-10, name


def test_cans_list_is_rounded_greedy():
    design = greedy(1e-3, steps=5)
    for ours, theirs in zip(design.schedule.steps, preset("cans5_eo").steps):
        assert ours.coefficients == pytest.approx(theirs.coefficients, abs=6e-5)


def test_mixed_degrees_and_monotone_errors():
    design = greedy(1e-3, degree=(3, 5, 7, 9))
    assert design.schedule.degrees == (3, 5, 7, 9)
    errors = [s.error for s in design.steps]
    assert errors == sorted(errors, reverse=True)


def test_safety_buys_headroom():
    from nsdesign.core.metrics import overshoot

    plain = greedy(1e-3, steps=5).schedule
    safe = greedy(1e-3, steps=5, safety=1.02, cushion=0.02).schedule
    assert overshoot(plain, 1.0, guard_sigma=1.02) > 1e100
    assert overshoot(safe, 1.0, guard_sigma=1.02) < 1.5


def test_norm_div_buys_real_headroom_above_the_band():
    from nsdesign.core.metrics import overshoot

    design = greedy(1e-3, steps=5, norm_div=1.05)
    assert design.schedule.norm_div == 1.05
    # designed on x ∈ [1e-3/1.05, 1]: σ from 1e-3 up to 1.05 is inside the design
    inside = greedy(1e-3 / 1.05, 1.0, steps=5).error
    assert worst_error(design.schedule, 1e-3, 1.05) == pytest.approx(inside, rel=1e-9)
    assert overshoot(design.schedule, 1.0, guard_sigma=1.04) <= 1 + inside + 1e-12
    assert overshoot(greedy(1e-3, steps=5).schedule, 1.0, guard_sigma=1.04) > 1e100  # no divisor: no headroom


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"band": 1e-3, "tol": 1e-3, "max_steps": 3}, "not reachable within 3 steps"),
        ({"band": 1e-3, "steps": 0}, "steps"),
        ({"band": 1e-3, "steps": 5, "tol": 0.1}, "either"),
        ({"band": 1e-3, "degree": 4}, "odd"),
        ({"band": 1e-3, "degree": (3, 5), "steps": 3}, "one per step"),
        ({"band": 1e-3, "cushion": 1.5}, "cushion"),
        ({"band": 1e-3, "safety": 0.9}, "safety"),
        ({"band": 1e-20}, "at least"),
        ({"band": 2.0}, "band"),
        ({"band": 1e-3, "tol": 1e-30}, "tolerance"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(InputError, match=message):
        greedy(**kwargs)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(-4, -1),
    st.integers(1, 6),
    st.lists(st.floats(-2e-3, 2e-3), min_size=18, max_size=18),
)
def test_no_nearby_composition_beats_greedy(log_l, k, noise):
    # Polar Express Thm. 4.1: greedy is optimal among all compositions of the same degrees.
    l = 10.0**log_l
    design = greedy(l, steps=k)
    rows = [
        [c * (1 + noise[3 * i + j]) for j, c in enumerate(p.coefficients)] for i, p in enumerate(design.schedule.steps)
    ]
    perturbed = Schedule.from_coefficients(rows)
    assert worst_error(perturbed, l, 1.0) >= design.error * (1 - 1e-9)
