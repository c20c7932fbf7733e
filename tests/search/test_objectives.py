"""Objectives, the divergence guard, the low-precision model and refinement."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nsdesign.core.metrics import captured_min_sigma, worst_error
from nsdesign.design.greedy import greedy
from nsdesign.design.solvers import min_capturable_sigma
from nsdesign.errors import InputError
from nsdesign.presets import preset
from nsdesign.search import Objective, SearchSpace, StudyConfig, parse_objective, run_search, score
from nsdesign.search.objectives import guard, refine, weighted_error
from nsdesign.precision import band_matrix, matrix_error, round_bf16, round_fp16, run_emulated
from nsdesign.search.spectra import Spectrum, from_npy, marchenko_pastur
from nsdesign.torch.crosscheck import run_torch
from nsdesign.core.cost import Shape
from nsdesign.core.schedule import Schedule

SMALL = (64, 256)


# -- parsing ----------------------------------------------------------------------------------------


def test_parse_objective_single_and_weighted():
    assert parse_objective("bf16") == (("bf16", 1.0),)
    assert parse_objective("worst=1, bf16=0.5") == (("worst", 1.0), ("bf16", 0.5))


@pytest.mark.parametrize("text", ["", "best", "worst=0", "worst=-1", "worst=abc", "worst,worst", "bf16=inf"])
def test_bad_objectives_are_input_errors(text):
    with pytest.raises(InputError):
        parse_objective(text)


def test_objective_needs_what_it_measures():
    with pytest.raises(InputError, match="spectrum"):
        Objective((("weighted", 1.0),), 1e-3)
    with pytest.raises(InputError, match="tolerance"):
        Objective((("capture", 1.0),), 1e-3)
    with pytest.raises(InputError, match="band"):
        Objective((("worst", 1.0),), 2.0)


# -- the rounding model -----------------------------------------------------------------------------


def test_bf16_and_fp16_rounding_match_torch_casts():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(10_000) * 10.0 ** rng.uniform(-8, 8, 10_000)).astype(np.float32)
    want_bf16 = torch.from_numpy(x).to(torch.bfloat16).to(torch.float32).numpy()
    want_fp16 = torch.from_numpy(x).to(torch.float16).to(torch.float32).numpy()
    assert np.array_equal(round_bf16(x), want_bf16)
    assert np.array_equal(round_fp16(x), want_fp16)


def test_emulated_bf16_run_agrees_with_torch_bf16():
    s = preset("polar_express_modded5")
    test = band_matrix(1e-3, 1.0, SMALL, seed=0)
    emulated = run_emulated(s, test.matrix, "bf16")
    real = run_torch(s, test.matrix, "bf16")
    # Same op sequence and one rounding per fused op: outputs agree to a few bf16 ulps, and so do the errors.
    assert np.max(np.abs(emulated - real)) < 0.05 * np.max(np.abs(real))
    e1 = matrix_error(s, test, "bf16").error
    e2 = matrix_error(s, test, "bf16", backend=run_torch).error
    assert abs(e1 - e2) < 0.2 * max(e1, e2)


def test_bf16_error_of_exact_greedy_is_larger_than_fp32():
    s = greedy(1e-3, 1.0, 6).schedule  # the exact optimum: no headroom
    test = band_matrix(1e-3, 1.0, SMALL, seed=0)
    fp32 = matrix_error(s, test, "fp32").error
    bf16 = matrix_error(s, test, "bf16").error
    exact = worst_error(s, 1e-3, 1.0)
    assert fp32 < 10 * exact + 1e-4  # fp32 follows the exact map
    assert bf16 > 100 * fp32  # bf16 round-off lifts σ above the band, where the exact optimum explodes


def test_matrix_error_reports_divergence_as_infinite():
    s = preset("cans5_eo").extended(8)
    run = matrix_error(s, band_matrix(1e-3, 1.0, SMALL, 0), "bf16", scale=1.02)
    assert run.diverged and math.isinf(run.error)


# -- guard ------------------------------------------------------------------------------------------


def test_guard_rejects_the_exact_optimum_and_accepts_polar_express():
    objective = Objective((("worst", 1.0),), 1e-3, proxy_shape=SMALL)
    ok, reason, peak, _ = guard(greedy(1e-3, 1.0, 6).schedule, objective)
    assert not ok and "overshoot" in reason and peak > 1e6
    ok, reason, peak, bf16_max = guard(preset("polar_express_modded5"), objective)
    assert ok and peak < 1.2 and bf16_max < 1.2
    result = score(greedy(1e-3, 1.0, 6).schedule, objective)
    assert not result.feasible and result.value > 1e3
    unguarded = Objective((("worst", 1.0),), 1e-3, proxy_shape=SMALL, guard=False)
    assert score(greedy(1e-3, 1.0, 6).schedule, unguarded).feasible


def test_guard_band_top_and_tolerance_move_the_guard():
    """guard_sigma is the top of the checked range (default 1.02·u); guard_tol adds |1 − F| ≤ τ on [u, g]."""
    from nsdesign.core.metrics import overshoot
    from nsdesign.design.guarded import guard_error

    keller = preset("keller5")
    default = Objective((("worst", 1.0),), 1e-3, proxy_shape=SMALL)
    explicit = Objective((("worst", 1.0),), 1e-3, proxy_shape=SMALL, guard_sigma=1.02)
    assert guard(keller, explicit)[:3] == guard(keller, default)[:3]
    assert default.to_dict() == {k: v for k, v in explicit.to_dict().items() if k != "guard_sigma"}
    e = guard_error(keller, 1.0, 1.05)
    strict = Objective((("worst", 1.0),), 1e-3, proxy_shape=SMALL, guard_sigma=1.05, guard_tol=0.9 * e)
    loose = Objective((("worst", 1.0),), 1e-3, proxy_shape=SMALL, guard_sigma=1.05, guard_tol=min(0.99, 1.1 * e))
    ok, reason, peak, _ = guard(keller, strict)
    assert not ok and "guard band" in reason and peak == pytest.approx(overshoot(keller, 1.0, guard_sigma=1.05))
    assert guard(keller, loose)[0]
    # a band far below 1 (a tight normalizer's) may guard up to 1: overshoot then spans [0, 1]
    low = Objective((("worst", 1.0),), 0.2, 0.5, proxy_shape=SMALL, guard_sigma=1.0)
    assert guard(keller, low)[2] == pytest.approx(overshoot(keller, 0.5, guard_sigma=1.0))
    for bad in ({"guard_sigma": 0.9}, {"guard_sigma": 2.5}, {"guard_tol": 1.5}):
        with pytest.raises(InputError):
            Objective((("worst", 1.0),), 1e-3, proxy_shape=SMALL, **bad)


# -- weighted ---------------------------------------------------------------------------------------


def test_weighted_objective_uses_the_spectrum():
    s = preset("polar_express_modded5")
    near_one = Spectrum((0.5, 0.8, 1.0), "test")
    near_edge = Spectrum((1e-3, 2e-3), "test")
    assert weighted_error(s, near_one) == pytest.approx(np.mean([abs(1 - s(x)) for x in near_one.sigma]), rel=1e-12)
    assert weighted_error(s, near_edge) == pytest.approx(np.mean([abs(1 - s(x)) for x in near_edge.sigma]), rel=1e-12)
    assert abs(weighted_error(s, near_edge) - weighted_error(s, near_one)) > 0.02
    o1 = Objective((("weighted", 1.0),), 1e-3, spectrum=near_one, proxy_shape=SMALL)
    o2 = Objective((("weighted", 1.0),), 1e-3, spectrum=near_edge, proxy_shape=SMALL)
    assert score(s, o1).value != score(s, o2).value


def test_marchenko_pastur_spectrum_scales_with_the_shape():
    small, large = marchenko_pastur(Shape(256, 1024)), marchenko_pastur(Shape(1024, 4096))
    assert np.median(small.array) == pytest.approx(2 * np.median(large.array), rel=0.05)
    assert large.array.max() < 1.6 / 32


def test_npy_spectrum_is_frobenius_normalized(tmp_path):
    path = tmp_path / "s.npy"
    np.save(path, np.array([3.0, 4.0, 0.0]))
    spec = from_npy(path)
    assert spec.sigma == (0.6, 0.8)
    bad = tmp_path / "bad.npy"
    np.save(bad, np.ones((2, 2)))
    with pytest.raises(InputError, match="1-D"):
        from_npy(bad)
    with pytest.raises(InputError, match="not found"):
        from_npy(tmp_path / "missing.npy")


def test_slsqp_refinement_lowers_the_weighted_error():
    spectrum = marchenko_pastur(Shape(128, 512))
    lo = float(spectrum.array.min())
    s = greedy(lo, 1.0, 4, safety=1.02).schedule
    objective = Objective((("weighted", 1.0),), lo, spectrum=spectrum, proxy_shape=SMALL, refine_evals=60,
                          refine_steps=4)
    start = score(s, objective)
    refined, after = refine(s, objective, start)
    assert after.feasible and after.value < start.value
    assert refined.coefficients() != s.coefficients()


# -- searches ---------------------------------------------------------------------------------------


def test_search_never_worse_than_greedy_on_the_worst_case():
    objective = Objective((("worst", 1.0),), 1e-3, proxy_shape=SMALL, guard=False)
    result = run_search(StudyConfig(SearchSpace(min_steps=5, max_steps=5), objective, trials=8, seed=2))
    exact = worst_error(greedy(1e-3, 1.0, 5).schedule, 1e-3, 1.0)
    assert result.greedy is not None and result.greedy.number == 0
    assert result.best.score <= exact * (1 + 1e-12)
    assert worst_error(result.best.schedule, 1e-3, 1.0) <= exact * (1 + 1e-12)


def test_guarded_worst_case_search_returns_a_bounded_schedule():
    objective = Objective((("worst", 1.0),), 1e-3, proxy_shape=SMALL)
    result = run_search(StudyConfig(SearchSpace(min_steps=5, max_steps=5), objective, trials=10, seed=0))
    assert result.greedy is not None and not result.greedy.feasible  # the exact optimum blows up at 1.02
    assert result.best.feasible
    modded = greedy(1e-3, 1.0, 5, safety=1.02).schedule  # enqueued as the safety seed
    assert result.best.score <= worst_error(modded, 1e-3, 1.0) * (1 + 1e-12)
    assert result.best.schedule(1.02) < 2.0


def test_capture_search_matches_the_greedy_optimum():
    tol, steps = 0.1, 4
    objective = Objective((("capture", 1.0),), 1e-3, tol=tol, proxy_shape=SMALL, guard=False)
    space = SearchSpace(min_steps=steps, max_steps=steps, design_range=(1e-8, 0.5))
    result = run_search(StudyConfig(space, objective, trials=8, seed=0))
    optimum = min_capturable_sigma(steps, tol)
    captured = captured_min_sigma(result.best.schedule, tol)
    assert captured is not None
    assert captured <= optimum * (1 + 1e-6)  # the enqueued greedy design reaches the optimum
    assert result.best.components["capture"] == pytest.approx(captured)


def test_bf16_search_beats_the_exact_optimum_and_stays_bounded():
    objective = Objective((("bf16", 1.0),), 1e-3, proxy_shape=SMALL, refine="none")
    space = SearchSpace(min_steps=6, max_steps=6, target_range=(0.9, 1.0))
    result = run_search(StudyConfig(space, objective, trials=10, seed=0))
    best = result.best.schedule
    exact_run = matrix_error(greedy(1e-3, 1.0, 6).schedule, objective.proxy(), "bf16").error
    assert result.best.components["bf16"] < 0.01 < exact_run
    assert matrix_error(best, objective.proxy(), "bf16", 1.02).sigma_max < 2.0


def test_combined_objective_is_the_weighted_sum():
    objective = Objective((("worst", 1.0), ("bf16", 0.5)), 1e-3, proxy_shape=SMALL)
    result = score(preset("polar_express_modded5"), objective)
    assert result.value == pytest.approx(result.components["worst"] + 0.5 * result.components["bf16"])


def test_zero_trials_is_an_input_error():
    objective = Objective((("worst", 1.0),), 1e-3, proxy_shape=SMALL)
    with pytest.raises(InputError, match="trials"):
        StudyConfig(SearchSpace(), objective, trials=0)


def test_extra_seeds_are_enqueued_and_recorded():
    from nsdesign.search.space import Candidate, build_schedule

    seed = Candidate((5,) * 5, "polar_express", 1.01, cushion=0.0)
    objective = Objective((("worst", 1.0),), 1e-3, proxy_shape=SMALL)
    config = StudyConfig(SearchSpace(min_steps=5, max_steps=5), objective, trials=12, seeds=(seed,))
    assert config.settings()["seeds"] == [seed.params()]
    result = run_search(config)
    assert any(r.candidate == seed.params() for r in result.trials)
    # s = 1.01 without a cushion is bounded at 1.02 and closer to the optimum than the s = 1.02 recipes
    seeded = build_schedule(seed, SearchSpace(min_steps=5, max_steps=5), 1e-3)
    assert result.best.score <= worst_error(seeded, 1e-3, 1.0) + 1e-12


def test_law_spectrum_follows_the_predicted_quantiles():
    from nsdesign.laws import predict_band
    from nsdesign.search.spectra import from_law

    spectrum = from_law(1e9, "final.mlp_down")
    assert len(spectrum.sigma) == 17
    assert spectrum.sigma[0] == pytest.approx(predict_band(0.1, model_size=1e9, layer="final.mlp_down").min_sigma)
    assert list(spectrum.sigma) == sorted(spectrum.sigma, reverse=True)  # descending-rank quantiles


def _fp16_overflowing_keller5():
    """keller5 behind X ↦ 1e7·X ↦ 1e-7·X: the same exact map, but the scaled iterate (entries ~1e5) overflows
    fp16 (max 65504) and not bf16."""
    k = preset("keller5")
    rows = [[1e7], [1e-7]] + [list(p.coefficients) for p in k.steps]
    return Schedule.from_coefficients(rows, k.norm_div)


def test_guard_runs_in_the_users_format():
    s = _fp16_overflowing_keller5()
    kw = dict(min_sigma=1e-3, proxy_shape=(64, 256))
    bf16 = Objective(terms=(("worst", 1.0),), **kw)
    assert bf16.guard_format == "bf16"
    assert guard(s, bf16)[0]
    fp16 = Objective(terms=(("worst", 1.0),), guard_dtype="fp16", **kw)
    ok, reason, _, top = guard(s, fp16)
    assert not ok and reason.startswith("fp16 run") and top == math.inf
    # a matrix objective guards in its own format unless told otherwise
    assert Objective(terms=(("fp16", 1.0),), **kw).guard_format == "fp16"
    fp32 = Objective(terms=(("fp32", 1.0),), **kw)
    result = score(preset("keller5"), fp32)
    assert result.guard_dtype == "fp32"
    expected = matrix_error(preset("keller5"), fp32.proxy(), "fp32", 1.02).sigma_max
    assert result.guard_bf16_max == expected
    assert result.guard_bf16_max != matrix_error(preset("keller5"), fp32.proxy(), "bf16", 1.02).sigma_max
    assert Objective(terms=(("fp16", 1.0),), **kw).to_dict()["guard_dtype"] == "fp16"
    assert "guard_dtype" not in bf16.to_dict()  # bf16 studies keep their names
    with pytest.raises(InputError):
        Objective(terms=(("worst", 1.0),), guard_dtype="fp64", **kw)


def test_pareto_guards_in_its_dtype():
    from nsdesign.search.pareto import run_pareto

    space = SearchSpace(min_steps=5, max_steps=5, degrees=(5,))
    result = run_pareto(1e-3, Shape(64, 256), "fp16", trials=2, space=space)
    assert result.settings["objective"]["guard_dtype"] == "fp16"
