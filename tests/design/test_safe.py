"""The safe default: best inflated design passing the exact overshoot and bf16 checks (nsdesign.design.safe)."""

import math

import pytest

from nsdesign.core.metrics import overshoot, worst_error
from nsdesign.design import safe
from nsdesign.design.greedy import greedy
from nsdesign.precision import log_spaced, matrix_error
from nsdesign.precision import test_matrix as proxy_matrix


def _bf16_sigma_max(schedule, min_sigma, shape=(128, 512), seed=0):
    run = matrix_error(schedule, proxy_matrix(shape, log_spaced(min_sigma, 1.02, min(shape)), seed), "bf16")
    return math.inf if run.diverged else run.sigma_max


def test_the_bare_optimum_fails_both_checks_so_they_can_fail():
    bare = greedy(1e-3, steps=5).schedule
    assert overshoot(bare, 1.0, guard_sigma=1.02) > 1e100
    assert _bf16_sigma_max(bare, 1e-3) > safe.MAX_OUTPUT_SIGMA


@pytest.mark.parametrize("min_sigma,steps", [(1e-2, 5), (1e-3, 5), (1e-3, 6), (1e-4, 8)])
def test_safe_design_passes_and_is_no_worse_than_the_polar_express_knobs(min_sigma, steps):
    result = safe.safe_greedy(min_sigma, steps=steps)
    assert result.passed and result.suggested_steps is None
    s = result.design.schedule
    assert s.num_steps == steps and result.design.certified
    assert overshoot(s, 1.0, guard_sigma=1.02) <= safe.MAX_OVERSHOOT  # independent of the recorded check
    assert _bf16_sigma_max(s, min_sigma, (96, 384), seed=5) <= safe.MAX_OUTPUT_SIGMA  # another proxy
    modded = greedy(min_sigma, steps=steps, cushion=0.02, safety=1.02).schedule
    assert result.error == pytest.approx(worst_error(s, min_sigma, 1.0))
    assert result.error <= worst_error(modded, min_sigma, 1.0) * (1 + 1e-9)
    assert result.error >= worst_error(greedy(min_sigma, steps=steps).schedule, min_sigma, 1.0)


def test_checks_record_kernel_dtype_and_guard():
    result = safe.safe_greedy(1e-3, steps=5, guard_sigma=1.05)
    exact, model, unfused = result.checks  # users paste the answer into both bf16 kernels
    assert (unfused.kernel, unfused.dtype) == ("unfused", "bf16") and unfused.passed
    assert exact.guard_sigma == pytest.approx(1.05) and exact.kernel == "exact"
    assert (model.kernel, model.dtype, model.shape) == ("fused", "bf16", (128, 512))
    d = model.to_dict()
    assert d["passed"] is True and d["max_sigma_out"] <= 1.25 and d["guard_sigma"] == pytest.approx(1.05)
    assert overshoot(result.design.schedule, 1.0, guard_sigma=1.05) <= 1.25


def test_a_band_too_wide_for_the_steps_is_reported_not_hidden():
    result = safe.safe_greedy(1e-4, steps=5)
    assert not result.passed
    assert result.checks[0].value > safe.MAX_OVERSHOOT  # the in-band ripple alone exceeds the limit
    assert result.suggested_steps == 7
    assert safe.safe_greedy(1e-4, steps=7).passed and not safe.safe_greedy(1e-4, steps=6).passed


def test_tolerance_route_is_safe_too():
    result = safe.safe_greedy(1e-3, tol=1e-2)
    assert result.passed and result.error <= 1e-2


def test_degree_mix_is_bf16_safe_by_default_and_exact_on_request():
    from nsdesign.core.cost import Shape
    from nsdesign.design.recommend import recommend

    shape = Shape.parse("1024x4096")
    mixed = recommend(1e-3, tol=0.01, shape=shape, degree="auto")
    bare = recommend(1e-3, tol=0.01, shape=shape, degree="auto", exact=True)
    assert mixed.params["design"] == "bf16-safe-mix" and mixed.metrics.worst_error <= 0.01
    assert safe.bf16_safe(mixed.design, 1e-3, (1024, 4096))
    assert not safe.bf16_safe(bare.design, 1e-3, (1024, 4096))  # the FLOP-optimal pure mix diverges: the check can fail
    # on another proxy draw with the true aspect ratio too
    assert _bf16_sigma_max(mixed.schedule, 1e-3, (64, 256), seed=7) <= safe.MAX_OUTPUT_SIGMA
