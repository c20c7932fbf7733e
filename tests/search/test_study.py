"""search.study: a study's result carries its exact metrics and its schedule document (the CLI only writes it)."""

from __future__ import annotations

from nsdesign.core.metrics import evaluate
from nsdesign.documents import check_document, read_schedule_document
from nsdesign.plans.request import DesignRequest
from nsdesign.search import StudyOptions, run_search, study_config_for


def _study(**request):
    options = StudyOptions(trials=4, refine="none", storage=None)
    return run_search(study_config_for(DesignRequest(1e-3, steps=5, **request), options))


def test_the_result_measures_and_documents_its_best_schedule():
    result = _study(kernel="unfused")
    metrics = result.metrics()
    assert metrics == evaluate(result.best.schedule, 1e-3, 1.0, tol=None)
    document = check_document("schedule", result.document(metrics))  # the shipped schema's checks
    assert read_schedule_document(document) == result.schedule
    assert (document["kernel"], document["dtype"]) == ("unfused", "exact")
    assert document["name"] == result.schedule.name == "search-worst"
    assert document["params"]["best_trial"] == result.best.number
    assert document["metrics"] == metrics.to_dict()


def test_a_study_under_a_normalizer_documents_its_guard_band_and_normalizer():
    result = _study(max_sigma=0.5, normalizer="schatten8")
    document = result.document(result.metrics(), band_source="a spectrum file")
    assert document["normalizer"]["name"] == "schatten8"
    assert document["band"]["guard_sigma"] > document["band"]["max_sigma"] == 0.5
    assert document["params"]["band_source"] == "a spectrum file"
