"""plans.request: one DesignRequest, one route table; `search` says which engine answered and why."""

from __future__ import annotations

import pytest

from nsdesign.cli.main import invoke
from nsdesign.plans.request import ENGINES, DesignRequest, Route, route


@pytest.mark.parametrize(
    ("request_", "engine"),
    [
        (DesignRequest(1e-3), "safe"),
        (DesignRequest(1e-3, exact=True), "exact"),
        (DesignRequest(1e-3, degrees="auto"), "cheapest-mix"),
        (DesignRequest(1e-3, guard_tol=0.3), "guarded"),
        (DesignRequest(1e-3, normalizer="schatten8"), "guarded"),
        (DesignRequest(1e-3, study=("objective",)), "study"),
        (DesignRequest(1e-3, guard_tol=0.3, study=("trials",)), "study"),
        (DesignRequest(1e-3, normalizer="aol", study=("trials",)), "normalized-study"),
        (DesignRequest(1e-3, consumer="torch-muon", normalizer="aol", exact=True), "consumer"),
        (DesignRequest(1e-3, exact=True, degrees="auto"), "cheapest-mix"),
    ],
)
def test_route_precedence(request_, engine):
    assert route(request_).engine == engine


def test_every_engine_is_reachable_and_its_lines_fit_80_columns():
    requests = [DesignRequest(1e-3, consumer="x"), DesignRequest(normalizer="spectral", study=("proxy_shape",)),
                DesignRequest(guard_tol=0.1), DesignRequest(study=("step_range",)), DesignRequest(degrees="auto"),
                DesignRequest(exact=True), DesignRequest()]
    routes = [route(r) for r in requests]
    assert {r.engine for r in routes} == set(ENGINES)
    for r in routes:
        assert all(len(line) <= 80 for line in r.lines()), r.lines()
    assert Route("study", "x" * 200).lines()[-1].startswith("  ")  # long reasons wrap, never run past 80


def test_the_guard_defaults_to_the_shared_headroom():
    assert DesignRequest(max_sigma=0.5).guard == pytest.approx(0.51)
    assert DesignRequest(guard_sigma=1.3).guard == 1.3


@pytest.mark.parametrize(
    ("flags", "engine"),
    [((), "safe"), (("--exact",), "exact"), (("--guard-tol", "0.3"), "guarded"),
     pytest.param(("--for", "torch-muon", "--steps", "5"), "consumer", marks=pytest.mark.slow)],
)
def test_search_prints_the_engine_that_answered(flags, engine):
    proc = invoke(("search", "--min-sigma", "1e-3", *flags))
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"engine: {engine}, "), first
    assert proc.stdout.splitlines()[1].startswith("chosen by: ")


@pytest.mark.parametrize(("text", "degrees"), [("5", 5), ("3,5,5,7", (3, 5, 5, 7)), ("auto", "auto"), (7, 7)])
def test_degrees_given_as_text_are_parsed(text, degrees):
    assert DesignRequest(1e-3, degrees=text).degrees == degrees


def test_degrees_that_are_not_integers_are_one_line_errors():
    from nsdesign.errors import InputError

    with pytest.raises(InputError, match="`degrees` takes odd integers"):
        DesignRequest(1e-3, degrees="five")


def test_a_normalizer_name_is_resolved_once_when_the_request_is_built():
    from nsdesign.core.normalizers import Normalizer, get
    from nsdesign.errors import InputError

    request = DesignRequest(1e-3, normalizer="schatten8")
    assert isinstance(request.normalizer, Normalizer) and request.normalizer == get("schatten8")
    assert request.normalizer_name == "schatten8" and DesignRequest(1e-3).normalizer_name is None
    custom = get("spectral", power_iterations=3)
    assert DesignRequest(1e-3, normalizer=custom).normalizer is custom  # a Normalizer is kept as given
    with pytest.raises(InputError, match="unknown normalizer 'bogus'"):
        DesignRequest(1e-3, normalizer="bogus")
