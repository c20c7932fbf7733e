"""Gram restart plans designed on the rounding model (nsdesign.precision.restarts)."""

import math

import pytest

from nsdesign.errors import InputError
from nsdesign.precision.restarts import design_restarts, gram_error
from nsdesign.presets import preset


def test_plan_is_the_fewest_restarts_within_the_target():
    s = preset("polar_express_gns5")
    plan = design_restarts(s, "fp16", (64, 256))
    assert plan.met and plan.error <= plan.target
    assert plan.target == pytest.approx(1.25 * plan.baselines["fused_standard"][1])
    assert gram_error(s, plan.restarts, "fp16", (64, 256)) == plan.error  # reproducible
    # no plan with fewer restarts meets the target (it diverges without any)
    assert len(plan.restarts) >= 1 and not gram_error(s, (), "fp16", (64, 256)) <= plan.target
    assert plan.to_dict()["gram_newton_schulz_reset_iterations"] == list(plan.restarts)


def test_an_unreachable_target_is_reported_not_met():
    plan = design_restarts(preset("keller5"), "fp16", (32, 128), target=1e-6)
    assert not plan.met and plan.error > 1e-6 and math.isfinite(plan.error)


def test_bad_inputs():
    with pytest.raises(InputError, match="target"):
        design_restarts(preset("keller5"), target=-1.0)
    with pytest.raises(InputError, match="min_sigma"):
        design_restarts(preset("keller5"), min_sigma=2.0)
