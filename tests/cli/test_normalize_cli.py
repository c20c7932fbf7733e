"""`--normalize` on predict (and later search, evaluate, validate) through the real entry point."""

from __future__ import annotations

import re

import pytest


def test_predict_prints_both_bands(cli):
    result = cli("predict", "--shape", "1024x4096", "--quantile", "0.99", "--normalize", "schatten8")
    assert result.returncode == 0, result.stderr
    assert "frobenius  [σ_q, σ_max] = [0.01645, 0.04688]" in result.stdout
    assert "schatten8  [σ_q, σ_max] = [0.1938, 0.5523]" in result.stdout
    assert "guaranteed bound 1" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["predict", "--shape", "64x64", "--normalize", "schatten6"], "unknown normalizer"),
        (["predict", "--shape", "64x64", "--normalize", "spectral", "--power-iterations", "0"], "power iterations"),
        (["predict", "--shape", "64x64", "--normalize", "spectral", "--power-iterations", "-2"], "power iterations"),
        (["predict", "--shape", "64x64", "--power-iterations", "3"], "--normalize spectral"),
        (["predict", "--shape", "64x64", "--normalize", "schatten4", "--power-iterations", "3"], "spectral"),
        (["predict", "--model-size", "1e9", "--layer", "final.o", "--normalize", "aol"], "matrix"),
    ],
)
def test_normalize_bad_input_is_one_line_exit_2(cli_error, cli, args, fragment):
    assert fragment in cli_error(cli(*args))


def test_search_normalize_writes_a_guarded_schedule_and_evaluate_reports_the_guard(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative path: the width check must not depend on how long tmp_path is
    out = tmp_path / "s.json"
    result = cli("search", "--normalize", "schatten8", "--shape", "1024x4096", "--steps", "2", "-o", "s.json")
    assert result.returncode == 0, result.stderr
    assert "band under schatten8 [0.1938, 0.5523]" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "refined: a local search" in result.stdout and "exact tail" not in result.stdout
    import json

    doc = json.loads(out.read_text())
    assert doc["normalizer"] == {"name": "schatten8"} and doc["band"]["guard_sigma"] == 1.0
    assert doc["metrics"]["guard_error"] <= 0.3 and doc["params"]["refined"] is True
    evaluated = cli("evaluate", str(out), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    guard = json.loads(evaluated.stdout)["guard"]
    assert guard["guard_sigma"] == 1.0 and guard["guard_error"] == pytest.approx(doc["metrics"]["guard_error"])
    compared = cli("compare", str(out), "keller5", "--min-sigma", "0.1938", "--max-sigma", "0.5523", "--guard-sigma", "1")
    assert compared.returncode == 0, compared.stderr
    assert compared.stdout.count("guard up to 1") == 2


def test_search_normalize_says_when_converged_steps_run_the_exact_limit(cli):
    result = cli("search", "--normalize", "schatten8", "--shape", "1024x4096", "--steps", "5")
    assert result.returncode == 0, result.stderr
    assert re.search(r"exact tail: \d converged steps? run \(15/8, −5/4, 3/8\) exactly", result.stdout)
    assert "  [1.875, -1.25, 0.375]" in result.stdout
    assert "refined" not in result.stdout  # the guard is inactive at 5 steps: the design is the optimum
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["search", "--normalize", "schatten8", "--shape", "64x256", "--degree", "3"], "degree ≥ 5"),
        (["search", "--normalize", "schatten4", "--min-sigma", "0.1", "--max-sigma", "0.5", "--guard-sigma", "0.4"], "above the accuracy band"),
        (["search", "--normalize", "spectral", "--shape", "64x256", "--power-iterations", "0"], "power iterations"),
        (["search", "--normalize", "bogus", "--shape", "64x256"], "unknown normalizer"),
        (["compare", "keller5", "--min-sigma", "0.1", "--max-sigma", "0.5", "--guard-sigma", "0.3"], "above the accuracy band"),
    ],
)
def test_search_normalize_bad_input(cli_error, cli, args, fragment):
    assert fragment in cli_error(cli(*args))


@pytest.mark.slow
def test_a_study_under_a_normalizer_records_it_and_meets_the_guard(tmp_path, capsys):
    """`search --normalize NAME` with study options: an Optuna study on the normalizer's band, never worse
    than the guarded engine at the same step count (its design is enqueued), with the guard band kept."""
    import json

    from nsdesign.cli.main import main
    from nsdesign.design.guarded import guarded_greedy

    out = tmp_path / "study.json"
    argv = ["search", "--normalize", "schatten8", "--shape", "1024x4096", "--steps", "3", "--objective", "worst",
            "--trials", "6", "-o", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    doc = json.loads(out.read_text())
    assert doc["normalizer"] == {"name": "schatten8"} and doc["band"]["guard_sigma"] == 1.0
    lo, hi = doc["band"]["min_sigma"], doc["band"]["max_sigma"]
    assert (lo, hi) == pytest.approx((0.1938, 0.5523), rel=1e-3)
    assert "Marchenko" in doc["params"]["band_source"]
    engine = guarded_greedy(lo, hi, 1.0, 0.3, "schatten8", steps=3)
    assert doc["metrics"]["worst_error"] <= engine.error * (1 + 1e-6)
    assert main(["evaluate", str(out), "--json"]) == 0
    guard = json.loads(capsys.readouterr().out)["guard"]
    assert guard["guard_sigma"] == 1.0 and guard["guard_ok"]


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--objective", "weighted", "--spectrum", "mp"], "band's source"),
        (["--objective", "worst", "--degree-choices", "3,5"], "degree ≥ 5"),
        (["--objective", "worst", "--headroom", "0.1"], "old spelling of --guard-sigma"),
    ],
)
def test_bad_normalizer_studies_are_one_line_errors(capsys, extra, fragment):
    from nsdesign.cli.main import main

    assert main(["search", "--normalize", "schatten8", "--shape", "1024x4096", "--steps", "3", "--trials", "2", *extra]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1
