"""design.refine: the one refiner (the guarded engine's polish, a study's perturbation)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsdesign.core.metrics import worst_error
from nsdesign.design.greedy import greedy
from nsdesign.design.refine import Coefficients, perturb, polish
from nsdesign.errors import InputError
from nsdesign.presets import preset


@given(first=st.integers(0, 4), relative=st.booleans())
def test_the_start_vector_builds_the_schedule_itself(first, relative):
    schedule = preset("keller5")
    space = Coefficients(schedule, first=first, relative=relative)
    assert len(space.slots) == 3 * (5 - first) and all(i >= first for i, _ in space.slots)
    assert space.build(space.start()) == schedule and space.build(space.start()).name == schedule.name


def test_a_relative_vector_scales_only_its_slots():
    schedule = preset("keller5")
    space = Coefficients(schedule, first=4, relative=True)
    x = np.zeros(3)
    x[0] = 0.5
    built = space.build(x)
    assert built.steps[:4] == schedule.steps[:4]
    assert built.steps[4].coefficients[0] == schedule.steps[4].coefficients[0] * 1.5


def test_a_vector_no_schedule_holds_is_an_input_error():
    space = Coefficients(preset("keller5"))
    x = space.start()
    x[0] = math.inf
    with pytest.raises(InputError):
        space.build(x)


def test_polish_lowers_the_exact_error_of_a_detuned_design():
    design = greedy(1e-2, 1.0, 3).schedule
    space = Coefficients(design, relative=True)
    detuned = space.build(np.full(len(space.slots), 0.01))
    target = Coefficients(detuned)

    def loss(x):
        return worst_error(target.build(x), 1e-2, 1.0)

    x = polish(loss, target.start(), rounds=1)
    assert loss(x) < loss(target.start())


@pytest.mark.parametrize("method", ["slsqp", "nelder-mead", "de"])
def test_perturb_finds_a_relative_change_that_lowers_the_loss(method):
    target = np.array([0.03, -0.02])

    def loss(x):
        return float(np.sum((np.asarray(x) - target) ** 2))

    x = perturb(loss, 2, method, budget=200)
    assert x.shape == (2,) and loss(x) < loss(np.zeros(2))


def test_perturb_names_its_methods():
    with pytest.raises(InputError, match="slsqp, nelder-mead, de"):
        perturb(lambda x: 0.0, 2, "bfgs", 10)
