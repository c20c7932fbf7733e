"""Pareto fronts of error versus FLOPs."""

from __future__ import annotations

import pytest

from nsdesign.core.cost import Shape, flops, matmuls
from nsdesign.core.metrics import worst_error
from nsdesign.design.greedy import greedy
from nsdesign.errors import InputError
from nsdesign.search import SearchSpace, run_pareto
from nsdesign.search.pareto import proxy_for
from nsdesign.precision import matrix_error
from nsdesign.search.objectives import Objective

SHAPE = Shape(4096, 16384)


def _non_dominated(front):
    for p in front:
        for q in front:
            if q is not p:
                assert not (q.error <= p.error and q.flops <= p.flops and (q.error < p.error or q.flops < p.flops))


@pytest.mark.slow
def test_exact_front_is_non_dominated_cheapest_first_and_measured_exactly():
    space = SearchSpace(min_steps=2, max_steps=7, degrees=(3, 5, 7))
    result = run_pareto(1e-3, SHAPE, "exact", trials=25, seed=1, space=space)
    front = result.front
    assert len(front) >= 4
    _non_dominated(front)
    assert [p.flops for p in front] == sorted(p.flops for p in front)
    assert [p.error for p in front] == sorted((p.error for p in front), reverse=True)
    for p in front:
        assert p.flops == flops(p.schedule, SHAPE) and p.matmuls == matmuls(p.schedule)
        assert p.error == pytest.approx(worst_error(p.schedule, 1e-3, 1.0), rel=1e-12)
        assert p.schedule(1.02) < 2.0  # guarded
    # the enqueued guarded greedy family bounds the front: at its cost the front is at least as good
    g6 = greedy(1e-3, 1.0, 6, safety=1.02).schedule
    cheaper = [p for p in front if p.flops <= flops(g6, SHAPE)]
    assert cheaper and min(p.error for p in cheaper) <= worst_error(g6, 1e-3, 1.0) * (1 + 1e-12)


def test_bf16_front_uses_matrix_errors_and_the_gram_cost():
    from nsdesign.precision.kernels import default_restarts, kernel_flops

    space = SearchSpace(min_steps=4, max_steps=7, degrees=(5,))
    result = run_pareto(1e-3, SHAPE, "bf16", trials=10, seed=0, space=space, kernel="gram", proxy_shape=(64, 256))
    objective = Objective((("bf16", 1.0),), 1e-3, proxy_shape=(64, 256))
    for p in result.front:  # the Gram kernel runs the errors, and its FLOPs include the restart plan's products
        plan = default_restarts(p.schedule.num_steps, "bf16")
        assert p.flops == kernel_flops(p.schedule, SHAPE.m, SHAPE.n, "gram", plan)
        assert p.flops == flops(p.schedule, SHAPE, "gram") + 4.0 * SHAPE.m**2 * SHAPE.n * len(plan) - 6.0 * SHAPE.m**3 * len(plan)
        run = matrix_error(p.schedule, objective.proxy(), "bf16", kernel="gram", restarts=plan)
        assert p.error == pytest.approx(run.error)
    assert min(p.error for p in result.front) < 0.01  # bf16 reaches its floor within 7 quintic steps
    doc = result.document()
    assert doc["kind"] == "nsdesign-pareto" and doc["form"] == "gram" and doc["dtype"] == "bf16"
    assert doc["params"]["trials"] == 10 and doc["params"]["completed_trials"] == 10
    assert len(doc["front"]) == len(result.front) and "schedule" in doc["front"][0]


def test_proxy_keeps_the_aspect_ratio():
    assert proxy_for(SHAPE) == (256, 1024)
    assert proxy_for(Shape(64, 64)) == (64, 64)


@pytest.mark.parametrize("kwargs, message", [(dict(dtype="int8"), "`dtype` must be one of"), (dict(trials=0), "trials"), (dict(form="x"), "form")])
def test_bad_pareto_requests(kwargs, message):
    with pytest.raises(InputError, match=message):
        run_pareto(1e-3, SHAPE, **{"dtype": "exact", **kwargs})
