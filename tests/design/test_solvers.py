import itertools

import pytest

from nsdesign.core.cost import Shape, flops
from nsdesign.design.greedy import greedy
from nsdesign.design.solvers import cheapest_schedule, min_capturable_sigma, min_steps
from nsdesign.errors import InputError


def test_min_steps_matches_the_published_table():
    assert min_steps(1e-3, 0.01) == 6
    assert min_steps(1e-4, 0.3) == 7


def test_min_capturable_sigma_is_the_boundary():
    l = min_capturable_sigma(5, 0.3)
    assert greedy(l, steps=5).error <= 0.3
    assert greedy(l * (1 - 1e-6), steps=5).error > 0.3
    # more steps capture a wider band
    assert min_capturable_sigma(6, 0.3) < l


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["fused", "gram"])
@pytest.mark.parametrize("shape", [Shape(1024, 1024), Shape(1024, 4096)])
def test_cheapest_schedule_is_optimal_among_short_sequences(kernel, shape):
    tol = 0.05
    best = cheapest_schedule(1e-3, tol, shape, kernel, degrees=(3, 5, 7))
    assert best.error <= tol
    cost = flops(best.schedule, shape, kernel)
    # brute force every degree sequence of up to 6 steps
    for k in range(1, 7):
        for seq in itertools.product((3, 5, 7), repeat=k):
            design = greedy(1e-3, degree=seq)
            if design.error <= tol:
                assert flops(design.schedule, shape, kernel) >= cost * (1 - 1e-12), seq


def test_cheapest_schedule_unreachable():
    with pytest.raises(InputError, match="not reachable"):
        cheapest_schedule(1e-3, 1e-6, Shape(8, 8), max_steps=3)


@pytest.mark.slow
def test_cheapest_schedule_with_cushion_and_safety_is_optimal():
    shape, tol = Shape(1024, 4096), 0.1
    best = cheapest_schedule(1e-3, tol, shape, degrees=(3, 5, 7), cushion=0.02, safety=1.02)
    assert best.params["safety"] == 1.02 and best.error <= tol
    cost = flops(best.schedule, shape)
    for k in range(1, 7):
        for seq in itertools.product((3, 5, 7), repeat=k):
            design = greedy(1e-3, degree=seq, cushion=0.02, safety=1.02)
            if design.error <= tol:
                assert flops(design.schedule, shape) >= cost * (1 - 1e-12), seq
