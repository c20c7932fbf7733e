"""The search space: candidates ↔ Optuna parameters, candidates → exact schedules, and bad spaces."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest

from nsdesign.core.cost import matmuls
from nsdesign.core.metrics import overshoot, worst_error
from nsdesign.design.greedy import greedy
from nsdesign.errors import InputError
from nsdesign.presets import preset
from nsdesign.search.space import Candidate, SearchSpace, build_schedule, inflated_greedy, retarget, suggest

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _suggest_enqueued(space: SearchSpace, candidate: Candidate) -> Candidate:
    study = optuna.create_study()
    study.enqueue_trial(candidate.params())
    return suggest(study.ask(), space)


@pytest.mark.parametrize(
    "candidate",
    [
        Candidate((5, 5, 5, 5, 5), "none", 0.0),
        Candidate((7, 5, 3, 5), "safety", 1.03),
        Candidate((5, 5, 5, 3), "inflate", 1.05, target=0.97),
        Candidate((5, 5, 5, 5), "polar_express", 1.01, cushion=0.024),
        Candidate((3, 3, 5, 5, 5, 5), "cushion", 0.02),
        Candidate((5, 5, 5, 5, 5), "norm_div", 1.02),
    ],
)
def test_enqueued_params_reproduce_the_candidate(candidate):
    space = SearchSpace(min_steps=3, max_steps=8, degrees=(3, 5, 7), target_range=(0.9, 1.0))
    assert _suggest_enqueued(space, candidate) == candidate


def test_sampled_candidates_stay_in_the_space():
    space = SearchSpace(min_steps=4, max_steps=6, degrees=(3, 7), guards=("safety", "cushion"))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for _ in range(30):
        c = suggest(study.ask(), space)
        assert 4 <= c.steps <= 6 and set(c.degrees) <= {3, 7}
        assert c.guard in ("safety", "cushion")
        lo, hi = space.ranges[c.guard]
        assert lo <= c.size <= hi


def test_knob_strategies_are_greedy_with_that_knob():
    space = SearchSpace()
    cases = {
        ("none", 0.0): greedy(1e-3, 1.0, 5),
        ("safety", 1.02): greedy(1e-3, 1.0, 5, safety=1.02),
        ("norm_div", 1.05): greedy(1e-3, 1.0, 5, norm_div=1.05),
        ("cushion", 0.03): greedy(1e-3, 1.0, 5, cushion=0.03),
    }
    for (h, size), design in cases.items():
        got = build_schedule(Candidate((5,) * 5, h, size), space, 1e-3)
        assert got.coefficients() == design.schedule.coefficients()
        assert got.norm_div == design.schedule.norm_div


def test_polar_express_strategy_reproduces_the_modded_nanogpt_list():
    got = build_schedule(Candidate((5,) * 5, "polar_express", 1.02, cushion=0.02), SearchSpace(), 1e-3)
    want = preset("polar_express_modded5")
    assert got.norm_div == want.norm_div
    assert np.allclose(got.coefficients(), want.coefficients(), rtol=1e-12, atol=1e-12)


def test_fixed_knobs_compose_with_the_strategy():
    space = SearchSpace(base_safety=1.01, base_norm_div=1.01, base_cushion=0.02)
    got = build_schedule(Candidate((5,) * 5, "safety", 1.01), space, 1e-3)
    want = greedy(1e-3, 1.0, 5, cushion=0.02, safety=1.01 * 1.01, norm_div=1.01).schedule
    assert got.coefficients() == want.coefficients()


def test_inflated_design_stays_bounded_above_the_band():
    pure = greedy(1e-3, 1.0, 6).schedule
    inflated = inflated_greedy(1e-3, 1.0, (5,) * 6, 1.03)
    # The exact optimum explodes just above the band; the inflated design is bounded up to 1.03 by construction.
    assert overshoot(pure, 1.0, guard_sigma=1.02) > 1e6
    bound = 1.0 + worst_error(inflated, 1e-3, 1.03)
    assert overshoot(inflated, 1.0, guard_sigma=1.03) <= bound + 1e-12
    assert worst_error(inflated, 1e-3, 1.0) < 0.01
    # …at a price in the band: never better than the exact optimum there
    assert worst_error(inflated, 1e-3, 1.0) >= worst_error(pure, 1e-3, 1.0)


def test_inflation_one_is_plain_greedy():
    a = build_schedule(Candidate((5,) * 4, "inflate", 1.0), SearchSpace(), 1e-2)
    assert a.coefficients() == greedy(1e-2, 1.0, 4).schedule.coefficients()


def test_retarget_keeps_the_exact_map_and_moves_the_inner_values():
    s = greedy(1e-3, 1.0, 6, safety=1.02, cushion=0.02).schedule
    t = retarget(s, 0.97)
    assert t.coefficients() != s.coefficients()
    for sigma in np.geomspace(1e-3, 1.02, 200):
        assert math.isclose(t(sigma), s(sigma), rel_tol=1e-11, abs_tol=1e-13)
    # the inner steps now converge to 0.97 instead of 1: the partial maps are scaled copies
    inner_t, inner_s = type(t)(t.steps[:-1], t.norm_div), type(s)(s.steps[:-1], s.norm_div)
    for sigma in (1e-3, 0.1, 0.7, 1.0):
        assert math.isclose(inner_t(sigma), 0.97 * inner_s(sigma), rel_tol=1e-12)
    assert retarget(s, 1.0) is s


def test_matmul_budget_trims_the_greedy_candidate():
    space = SearchSpace(min_steps=4, max_steps=8, degrees=(3, 5), max_matmuls=20)
    c = space.greedy_candidate(7)
    assert c.matmuls <= 20 and c.steps == 7


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(min_steps=5, max_steps=4), "step range"),
        (dict(min_steps=0, max_steps=4), "step range"),
        (dict(degrees=(4,)), "odd"),
        (dict(degrees=()), "at least one"),
        (dict(guards=("magic",)), "unknown guard"),
        (dict(guards=()), "at least one guard"),
        (dict(ranges={"safety": (1.2, 1.1)}), "range"),
        (dict(ranges={"cushion": (0.0, 1.5)}), "range"),
        (dict(min_steps=5, max_steps=8, max_matmuls=12), "no schedule in the space fits"),
        (dict(target_range=(0.2, 1.0)), "target"),
        (dict(min_steps=3, max_steps=4, fixed_degrees=(5, 5, 5)), "fixed step count"),
    ],
)
def test_impossible_spaces_are_input_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        SearchSpace(**kwargs)


def test_candidate_cost():
    c = Candidate((3, 5, 7))
    assert c.matmuls == 2 + 3 + 4
    assert matmuls(build_schedule(c, SearchSpace(degrees=(3, 5, 7)), 1e-2)) == c.matmuls
