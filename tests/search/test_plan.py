"""study_config: every default and rule of a study from plain parameters (no study is run here)."""

import pytest

from nsdesign.core.band import Band
from nsdesign.core.cost import Shape
from nsdesign.errors import InputError
from nsdesign.plans.request import DesignRequest
from nsdesign.search import StudyOptions, study_config, study_config_for
from nsdesign.core.limits import STUDY_GUARD_LIMIT
from nsdesign.search.objectives import DEFAULT_PROXY
from nsdesign.search.space import GUARD_STRATEGIES


def test_defaults_of_a_worst_case_study():
    config = study_config(Band(1e-3))
    space, objective = config.space, config.objective
    assert (space.min_steps, space.max_steps) == (3, 10) and space.degrees == (5,)
    assert space.guards == GUARD_STRATEGIES and space.design_range is None and space.target_range is None
    assert objective.names == ("worst",) and objective.proxy_shape == DEFAULT_PROXY
    assert objective.guard and objective.guard_limit == STUDY_GUARD_LIMIT
    assert (objective.refine_steps, objective.refine_evals) == (2, 150)
    assert (config.trials, config.seed, config.jobs) == (50, 0, 1)
    assert study_config((1e-3, 1.0)).settings() == config.settings() == study_config(1e-3).settings()


def test_low_precision_rules():
    config = study_config(2e-3, objective="bf16", steps=7)
    assert config.space.design_range == pytest.approx((2e-4, 2e-3))  # rounding moves σ_min down: search [l/10, l]
    assert config.space.target_range == (0.9, 1.0)
    assert (config.space.min_steps, config.space.max_steps) == (7, 7)
    assert study_config(2e-3, objective="bf16", target_range=(0.95, 1.0)).space.target_range == (0.95, 1.0)


def test_capture_rules():
    config = study_config(objective="capture", steps=5, tol=0.1, max_sigma=2.0)
    assert config.objective.min_sigma == pytest.approx(2e-3)  # no band given: [1e-3·u, u]
    assert config.space.design_range == pytest.approx((2e-10, 1.0))


def test_shape_sets_the_proxy_and_per_step_degrees_fix_the_count():
    config = study_config(1e-3, shape=Shape(1024, 4096), degrees=(3, 5, 5))
    assert config.objective.proxy_shape == (256, 1024)
    assert config.space.fixed_degrees == (3, 5, 5) and config.space.min_steps == config.space.max_steps == 3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(band=None), "needs the band"),
        (dict(objective="capture", steps=5), "`tol`"),
        (dict(objective="capture", tol=0.1), "fixed `steps`"),
        (dict(tol=0.1), "capture tolerance"),
        (dict(steps=5, step_range=(3, 6)), "not both"),
        (dict(degrees=(3, 5), steps=3), "2 degrees given for 3 steps"),
        (dict(degrees=(3, 5), search_degrees=(3, 5)), "not both"),
        (dict(objective="weighted"), "`spectrum`"),
        (dict(objective="weighted", spectrum="mp"), "`shape`"),
        (dict(band=(2.0, 1.0)), "0 < min_sigma"),
    ],
)
def test_inconsistent_parameters_are_named(kwargs, message):
    kwargs = {"band": 1e-3, **kwargs}
    with pytest.raises(InputError, match=message):
        study_config(kwargs.pop("band"), **kwargs)


@pytest.mark.slow
def test_a_study_under_a_normalizer_guards_its_band_and_starts_from_the_guarded_design():
    from nsdesign.design.guarded import guarded_greedy
    from nsdesign.search.space import build_schedule
    from nsdesign.search.study import seed_candidates, with_guarded_seeds

    lo, hi = 0.1938, 0.5523  # Schatten-8 band of a Gaussian 1024x4096 (docs/normalizers.md)
    config = with_guarded_seeds(study_config((lo, hi), steps=3, normalizer="schatten8"))
    objective = config.objective
    assert (objective.guard_sigma, objective.guard_tol, objective.normalizer.name) == (1.0, 0.3, "schatten8")
    assert config.space.ranges["norm_div"] == pytest.approx((1.0, 1.0 / hi))  # reaches the guard band's top
    first = seed_candidates(config)[0]
    assert first.guard == "norm_div" and first in config.seeds
    seeded = build_schedule(first, config.space, lo, hi)
    from nsdesign.core.metrics import worst_error

    assert worst_error(seeded, lo, hi) == pytest.approx(guarded_greedy(lo, hi, 1.0, 0.3, "schatten8", steps=3).error, rel=1e-6)
    assert "normalizer" in objective.to_dict() and "normalizer" not in study_config((lo, hi), steps=3).objective.to_dict()
    assert study_config((lo, hi), steps=3, normalizer="spectral").objective.guard_sigma == 1.02
    assert study_config((lo, hi), steps=3, normalizer="schatten4", guard_sigma=0.9, guard_tol=0.2).objective.guard_tol == 0.2


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"objective": "weighted", "spectrum": "mp", "shape": Shape(64, 256)}, "Frobenius-normalized"),
        ({"search_degrees": (3, 5)}, "degree ≥ 5"),
        ({"degrees": (3, 5, 5)}, "degree ≥ 5"),
        ({"guard_sigma": 0.4}, "above the accuracy band"),
    ],
)
def test_bad_normalizer_studies_are_refused(kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        study_config((0.1938, 0.5523), **{"steps": 3, **kwargs}, normalizer="schatten8") if "degrees" not in kwargs \
            else study_config((0.1938, 0.5523), **kwargs, normalizer="schatten8")


@pytest.mark.parametrize(
    "request_, options, keywords",
    [
        (DesignRequest(1e-3, steps=(4, 6)), StudyOptions(objective="bf16", trials=7),
         dict(band=(1e-3, 1.0), step_range=(4, 6), objective="bf16", trials=7)),
        (DesignRequest(2e-3, 0.9, steps=5, degrees=(3, 5, 5, 5, 5), shape=Shape(512, 2048), kernel="unfused"),
         StudyOptions(strategies=("safety",), seed=3),
         dict(band=(2e-3, 0.9), steps=5, degrees=(3, 5, 5, 5, 5), shape=Shape(512, 2048), kernel="unfused",
              strategies=("safety",), seed=3)),
        (DesignRequest(steps=6, tol=1e-2, max_sigma=0.8), StudyOptions(objective="capture"),
         dict(max_sigma=0.8, steps=6, tol=1e-2, objective="capture")),
        (DesignRequest(1e-3, steps=5, guard_sigma=1.05, guard_tol=0.2, cushion=0.01, safety=1.01),
         StudyOptions(guard_limit=3.0),
         dict(band=(1e-3, 1.0), steps=5, guard_sigma=1.05, guard_tol=0.2, cushion=0.01, safety=1.01, guard_limit=3.0)),
    ],
)
def test_a_request_and_study_options_give_the_keyword_study(request_, options, keywords):
    assert study_config_for(request_, options) == study_config(**keywords)


def test_a_study_refuses_the_greedy_degree_mix():
    with pytest.raises(InputError, match="auto is for the greedy design"):
        study_config_for(DesignRequest(1e-3, degrees="auto"))
