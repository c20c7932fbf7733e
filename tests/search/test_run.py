"""search.run: the study of a design request, run and measured (what `nsdesign search --objective …` calls)."""

import pytest

from nsdesign.core.metrics import evaluate
from nsdesign.errors import InputError
from nsdesign.laws.normalized import BandSource
from nsdesign.plans import DesignRequest
from nsdesign.search import StudyOptions, plan_study, run_search, run_study, study_config_for

QUICK = StudyOptions(trials=3, refine="none")


def test_run_study_is_the_study_of_the_request_measured_on_its_band():
    request = DesignRequest(1e-3, steps=5)
    answer = run_study(request, QUICK)
    alone = run_search(study_config_for(request, QUICK))
    assert answer.schedule.to_dict() == alone.schedule.to_dict()
    assert answer.metrics == evaluate(alone.best.schedule, 1e-3, 1.0, guard_sigma=None)
    assert answer.band is None and answer.warnings == ()
    assert answer.document()["band"]["min_sigma"] == 1e-3


def test_a_normalizers_band_comes_from_its_source_and_the_study_starts_from_the_guarded_design():
    request = DesignRequest(steps=3, normalizer="schatten4")
    config, band = plan_study(request, QUICK, BandSource(min_sigma=0.2, max_sigma=0.5))
    assert band is None and (config.objective.min_sigma, config.objective.max_sigma) == (0.2, 0.5)
    answer = run_study(request, QUICK, BandSource(min_sigma=0.2, max_sigma=0.5))
    seeds = answer.result.config.seeds
    assert seeds and all(c.guard == "norm_div" for c in seeds)  # the guarded engine's designs, added by the run
    assert answer.document()["normalizer"]["name"] == "schatten4"


def test_a_predicted_normalizer_band_records_where_it_came_from():
    from nsdesign.core.cost import Shape

    config, band = plan_study(DesignRequest(steps=3, normalizer="schatten8"), QUICK,
                              BandSource(shape=Shape(256, 1024), quantile=0.99))
    assert band is not None and band.source and config.objective.min_sigma == pytest.approx(band.normalized[0])


def test_a_band_source_without_a_normalizer_is_refused():
    with pytest.raises(InputError, match="give `normalizer`"):
        run_study(DesignRequest(steps=3), QUICK, BandSource(min_sigma=0.2, max_sigma=0.5))


def test_building_a_study_config_runs_no_design(monkeypatch):
    """The issue's complaint: the config's seeds were designed while it was built, and again by the study."""
    import nsdesign.search.study as study

    def refuse(*args, **kwargs):
        raise AssertionError("a design ran while the config was built")

    monkeypatch.setattr(study, "guarded_greedy", refuse)
    config = study_config_for(DesignRequest(0.2, 0.5, steps=3, normalizer="schatten4"), QUICK)
    assert config.seeds == ()
    with pytest.raises(AssertionError, match="a design ran"):
        study.with_guarded_seeds(config)


def test_run_front_is_run_pareto_of_the_request():
    from nsdesign.core.cost import Shape
    from nsdesign.search import SearchSpace, run_pareto
    from nsdesign.search.run import run_front

    request = DesignRequest(1e-3, steps=(2, 4), shape=Shape(64, 256), kernel="unfused", guard_sigma=1.05)
    front = run_front(request, StudyOptions(search_degrees=(3, 5), strategies=("none", "safety"), trials=4), "exact")
    space = SearchSpace(min_steps=2, max_steps=4, degrees=(3, 5), guards=("none", "safety"))
    alone = run_pareto(1e-3, Shape(64, 256), "exact", 4, space=space, kernel="unfused", guard_sigma=1.05)
    assert front.front and front.study_name == alone.study_name  # the same settings name the same study
    assert front.settings == alone.settings and [p.trial for p in front.front] == [p.trial for p in alone.front]
    assert (front.kernel, front.trials) == ("unfused", 4)


def test_a_front_needs_a_shape():
    from nsdesign.search.run import run_front

    with pytest.raises(InputError, match="needs `shape`"):
        run_front(DesignRequest(1e-3), QUICK)


def test_a_front_needs_a_band():
    from nsdesign.core.cost import Shape
    from nsdesign.search.run import run_front

    with pytest.raises(InputError, match="needs the band"):
        run_front(DesignRequest(shape=Shape(8, 8)), QUICK)
