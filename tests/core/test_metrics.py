import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsdesign.core.cost import Shape
from nsdesign.core.metrics import (
    captured_min_sigma,
    evaluate,
    intervals,
    overshoot,
    sign_flip_steps,
    slope_at_zero,
    value_range,
    worst_error,
)
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.presets import preset, preset_names


def test_keller5_range_on_reference_band():
    lo, hi = value_range(preset("keller5"), 1e-3, 1.0)
    assert lo == pytest.approx(0.470544, abs=5e-7)
    assert hi == pytest.approx(1.202369, abs=5e-7)


def test_deepseek_v4_max_on_unit_interval():
    assert value_range(preset("deepseek_v4_10"), 0.0, 1.0)[1] == pytest.approx(1.002017, abs=5e-7)
    assert overshoot(preset("deepseek_v4_10"), 1.0, guard_sigma=1.0) == pytest.approx(1.002017, abs=5e-7)


def test_aol_list_flips_sign_under_frobenius_scaling():
    schedule = preset("aol4_eo")
    assert schedule.steps[0](1.0) == pytest.approx(-0.5852)
    assert sign_flip_steps(schedule, 1e-3, 1.0)[0] == 0


def test_pure_greedy_list_has_no_headroom():
    # cans5_eo is greedy without safety: finite on the band, astronomically large just above it
    assert worst_error(preset("cans5_eo"), 1e-3, 1.0) < 0.2
    assert overshoot(preset("cans5_eo"), 1.0, guard_sigma=1.02) > 1e100


def test_slope_at_zero_is_product_of_linear_coefficients():
    s = preset("polar_express_modded5")
    assert slope_at_zero(s) == pytest.approx(math.prod(p.coefficients[0] for p in s.steps) / 1.02)


@pytest.mark.slow
@pytest.mark.parametrize("name", preset_names())
def test_exact_range_contains_dense_samples_and_is_tight(name):
    schedule = preset(name)
    lo, hi = value_range(schedule, 1e-3, 1.0)
    sigma = np.concatenate([np.geomspace(1e-3, 1.0, 20001), np.linspace(1e-3, 1.0, 20001)])
    values = np.array([schedule(s) for s in sigma])
    assert values.min() >= lo - 1e-12 and values.max() <= hi + 1e-12
    # tight: sampling gets close to the exact extremes (narrow peaks may need a finer grid)
    assert values.min() == pytest.approx(lo, abs=1e-3 * max(1.0, abs(lo)))
    assert values.max() == pytest.approx(hi, abs=1e-3 * max(1.0, abs(hi)))


def test_intervals_are_nested_propagation():
    schedule = preset("polar_express_modded5")
    steps = intervals(schedule, 1e-3, 1.0)
    assert len(steps) == 5
    assert steps[-1] == value_range(schedule, 1e-3, 1.0)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["keller5", "polar_express_modded5", "cans5_eo", "deepseek_v4_10", "su5"]), st.floats(0.05, 0.6))
def test_captured_min_sigma_is_the_boundary(name, tol):
    schedule = preset(name)
    s = captured_min_sigma(schedule, tol)
    if s is None:
        assert abs(1 - schedule(1.0)) > tol or worst_error(schedule, 1.0 - 1e-9, 1.0) > tol
        return
    assert worst_error(schedule, s, 1.0) <= tol
    if s > 1e-29:
        assert worst_error(schedule, s * (1 - 1e-9), 1.0) > tol


def test_evaluate_collects_everything():
    m = evaluate(preset("polar_express_modded5"), 1e-3, 1.0, tol=0.2, shape=Shape(1024, 4096))
    assert m.worst_error == pytest.approx(max(1 - m.f_min, m.f_max - 1))
    assert m.matmuls == 15
    assert m.flops_standard == pytest.approx(5 * (4 * 1024**2 * 4096 + 2 * 1024**3))
    assert m.captured_min_sigma is not None and m.captured_min_sigma < 1e-3
    assert len(m.fixed_points) == 5
    assert m.to_dict()["shape"] == [1024, 4096]


def test_diverged_values_serialize_as_strings():
    m = evaluate(preset("polar_express_eo8"), 1e-3, 1.0)
    assert m.overshoot == math.inf
    assert m.to_dict()["overshoot"] == "inf"


@pytest.mark.parametrize("band", [(0.0, 1.0), (-1.0, 1.0), (0.5, 0.1), (math.nan, 1.0), (1e-3, math.inf)])
def test_bad_bands(band):
    with pytest.raises(InputError, match="band"):
        evaluate(preset("keller5"), *band)


def test_norm_div_none_is_analysed_as_one():
    s = Schedule.from_coefficients([[2.0, -1.5, 0.5]], norm_div=None)
    assert s(0.5) == Schedule.from_coefficients([[2.0, -1.5, 0.5]])(0.5)


@pytest.mark.parametrize("h", [0.0, 0.02, 0.05, 0.3])
def test_the_old_relative_headroom_warns_and_means_its_guard(h):
    """`guard_sigma` (the guard band's top, as on the CLI and in files) replaced the relative `headroom=h`; the
    old spelling means g = (1 + h)·max_sigma for one release, with a DeprecationWarning naming the new one."""
    s = preset("keller5")
    with pytest.warns(DeprecationWarning, match="guard_sigma"):
        old = overshoot(s, 0.5, headroom=h)
    with pytest.warns(DeprecationWarning, match="guard_sigma"):
        positional = overshoot(s, 0.5, h)
    assert old == positional == overshoot(s, 0.5, guard_sigma=0.5 * (1 + h))
    with pytest.warns(DeprecationWarning) as record:
        metrics = evaluate(s, 1e-3, 0.5, headroom=h)
    assert record[0].filename == __file__  # the user's own line, however deep the old keyword went
    import nsdesign

    with pytest.warns(DeprecationWarning) as record:
        nsdesign.recommend(1e-3, steps=3, exact=True, headroom=h)
    assert record[0].filename == __file__
    assert metrics.headroom == h and metrics.guard_sigma == pytest.approx(0.5 * (1 + h))
    assert metrics.overshoot == old


def test_the_guard_is_checked_once_the_same_way():
    s = preset("keller5")
    assert evaluate(s, 1e-3).headroom == 0.02 and evaluate(s, 1e-3).guard_sigma == pytest.approx(1.02)
    with pytest.raises(InputError, match="must lie above the accuracy band"):
        overshoot(s, 1.0, guard_sigma=0.9)
    with pytest.raises(InputError, match="no normalizer needs that"):
        evaluate(s, 1e-3, guard_sigma=2.5)
    with pytest.raises(InputError, match="guard_sigma .* or the old headroom, not both"):
        evaluate(s, 1e-3, guard_sigma=1.1, headroom=0.1)
    with pytest.raises(InputError, match="positive number"):
        overshoot(s, 1.0, guard_sigma=float("nan"))


@pytest.mark.parametrize("name", preset_names())
def test_no_headroom_is_the_overshoot_rule_in_half_precision_only(name):
    from nsdesign.core.limits import HALF_PRECISION, OVERSHOOT_WARNING
    from nsdesign.core.metrics import no_headroom

    schedule = preset(name)
    risky = overshoot(schedule, 1.0) > OVERSHOOT_WARNING
    for dtype in ("bf16", "fp16", "fp32", "fp64"):
        reason = no_headroom(schedule, dtype)
        assert (reason is not None) == (risky and dtype in HALF_PRECISION), (name, dtype)
        if reason is not None:
            assert reason.startswith(f"{name} has no headroom: max F on [0, 1.02] = ")


def test_the_bare_optimum_has_no_headroom_and_the_safe_default_has():
    from nsdesign.core.metrics import no_headroom

    assert no_headroom(preset("cans5_eo"), "bf16") is not None
    assert no_headroom(preset("keller5"), "bf16") is None
