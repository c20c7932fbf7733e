"""`search`, `evaluate`, `compare`, `presets` through the real entry point."""

import json
import os

import pytest

from nsdesign.design.greedy import greedy


def test_search_exact_prints_the_bare_optimum_and_presets(cli):
    result = cli("search", "--min-sigma", "1e-3", "--exact")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "certified optimal" in out
    assert "8.470329" in out  # first greedy step (7 digits by default; the file and --wide keep them all)
    assert "0.113448" in out  # E*(5)
    for name in ("keller5", "polar_express_modded5", "deepseek_v4_10"):
        assert name in out


def test_search_exact_warns_when_the_design_has_no_headroom_above_the_band(cli):
    bare = cli("search", "--min-sigma", "1e-3", "--exact")
    assert "WARNING: F reaches 1.15e+161 just above the band" in bare.stdout
    safe = cli("search", "--min-sigma", "1e-3", "--safety", "1.02", "--cushion", "0.02")
    assert safe.returncode == 0 and "WARNING" not in safe.stdout


def test_search_default_is_the_safe_design_labelled_as_such(cli, tmp_path):
    path = tmp_path / "safe.json"
    result = cli("search", "--min-sigma", "1e-3", "-o", str(path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "certified optimal for its inflated design problem" in out
    assert "safe default, passed" in out and "--exact" in out
    assert "WARNING" not in out and "8.47032880385" not in out  # not the bare optimum's first step
    data = json.loads(path.read_text())
    assert data["kernel"] == "fused" and data["dtype"] == "bf16"
    exact, model, unfused = data["checked_for"]
    assert unfused["kernel"] == "unfused" and unfused["passed"] is True
    assert exact["guard_sigma"] == pytest.approx(1.02) and exact["passed"] and model["passed"]
    assert model["shape"] == [128, 512] and model["max_sigma_out"] <= 1.25
    assert data["params"]["design"] == "safe-default" and data["params"]["safety"] >= 1.02
    # independent re-checks: exact overshoot through critical points, and the bf16 fused model on a fresh proxy
    from nsdesign.core.metrics import overshoot, worst_error
    from nsdesign.documents import read_schedule_file
    from nsdesign.precision import log_spaced, matrix_error, test_matrix

    schedule, _ = read_schedule_file(path)
    assert overshoot(schedule, 1.0, guard_sigma=1.02) <= 1.25
    run = matrix_error(schedule, test_matrix((256, 1024), log_spaced(1e-3, 1.02, 256), seed=3), "bf16")
    assert not run.diverged and run.sigma_max <= 1.25
    # it gives up some worst-case error for that, and no more than the cushion/safety design of the issue
    error = worst_error(schedule, 1e-3, 1.0)
    assert 0.113448 < error <= 0.141


def test_search_default_says_when_no_design_of_that_length_is_safe(cli):
    result = cli("search", "--min-sigma", "1e-4")
    assert result.returncode == 0, result.stderr
    assert "safe default, NOT passed" in result.stdout
    assert "WARNING: no 5-step design passes: --steps 7 passes" in result.stdout
    again = cli("search", "--min-sigma", "1e-4", "--steps", "7")
    assert "safe default, passed" in again.stdout


def test_search_writes_versioned_json(cli, tmp_path):
    path = tmp_path / "s.json"
    result = cli("search", "--min-sigma", "1e-3", "--steps", "6", "--exact", "--shape", "1024x4096", "-o", str(path))
    assert result.returncode == 0, result.stderr
    data = json.loads(path.read_text())
    assert data["schema_version"] == 2 and data["degree"] == 5 and data["norm_div"] == 1.0
    assert len(data["coefficients"]) == 6
    assert data["coefficients"] == [list(p.coefficients) for p in greedy(1e-3, steps=6).schedule.steps]
    assert data["metrics"]["worst_error"] == pytest.approx(9.165e-4, rel=1e-3)
    assert data["metrics"]["flops_standard"] > 0 and data["nsdesign_version"]
    # the bare optimum ran no rounding model: it says so, and records its exact overshoot on [0, 1.02] (failing)
    assert data["dtype"] == "exact" and data["kernel"] is None and data["band"]["guard_sigma"] == 1.02
    [check] = data["checked_for"]
    assert check["kernel"] == "exact" and check["passed"] is False and float(check["max_f"]) > 1e10
    # evaluate reads it back, band included
    again = cli("evaluate", str(path), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["metrics"]["worst_error"] == data["metrics"]["worst_error"]


def test_search_with_tolerance_and_degree_auto(cli, tmp_path):
    path = tmp_path / "auto.json"
    result = cli("search", "--min-sigma", "1e-3", "--tol", "0.01", "--shape", "1024x4096", "--degree", "auto", "-o", str(path))
    assert result.returncode == 0, result.stderr
    data = json.loads(path.read_text())
    assert data["metrics"]["worst_error"] <= 0.01


def test_evaluate_preset_and_latex(cli):
    result = cli("evaluate", "keller5", "--min-sigma", "1e-3", "--tol", "0.3", "--json")
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["f_min"] == pytest.approx(0.470544, abs=1e-6)
    assert metrics["f_max"] == pytest.approx(1.202369, abs=1e-6)
    latex = cli("evaluate", "cubic5_eo", "--min-sigma", "1e-3", "--latex")
    assert latex.returncode == 0 and "\\begin{aligned}" in latex.stdout


def test_compare_and_presets(cli):
    result = cli("compare", "keller5", "cans5_eo", "--min-sigma", "1e-3", "--json")
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["keller5", "cans5_eo"]
    assert rows[1]["overshoot"] > 1e100
    listing = cli("presets")
    assert listing.returncode == 0 and "aol4_eo" in listing.stdout
    shown = cli("presets", "show", "deepseek_v4_10", "--json")
    assert json.loads(shown.stdout)["source"].startswith("DeepSeek")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["search", "--min-sigma", "0"], "band"),
        (["search", "--min-sigma", "-1"], "band"),
        (["search", "--min-sigma", "nan"], "finite"),
        (["search", "--min-sigma", "0.5", "--max-sigma", "0.1"], "band"),
        (["search", "--min-sigma", "1e-3", "--tol", "1e-4", "--max-steps", "3"], "not reachable within 3 steps"),
        (["search", "--min-sigma", "1e-3", "--steps", "100000"], "steps"),
        (["search", "--min-sigma", "1e-3", "--degree", "6"], "odd"),
        (["search", "--min-sigma", "1e-3", "--degree", "x"], "--degree"),
        (["search", "--min-sigma", "abc"], "is not a number"),
        (["search"], "--min-sigma"),
        (["evaluate", "no_such_preset", "--min-sigma", "1e-3"], "not a preset or a schedule"),
        (["compare", "keller5", "--min-sigma", "1e-3", "--shape", "12"], "shape"),
        (["presets", "show", "nope"], "unknown preset"),
    ],
)
def test_bad_input_one_line_exit_2(cli_error, cli, args, fragment):
    assert fragment in cli_error(cli(*args))


def test_malformed_schedule_files(cli_error, cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1, "coefficients": [[1, 2], "x"]}')
    assert "row 1" in cli_error(cli("evaluate", str(bad), "--min-sigma", "1e-3"))
    bad.write_text("{")
    assert "not valid JSON" in cli_error(cli("evaluate", str(bad), "--min-sigma", "1e-3"))


def test_unwritable_output_leaves_nothing(cli_error, cli, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    target = locked / "s.json"
    missing = tmp_path / "nowhere" / "s.json"
    assert "no such folder" in cli_error(cli("search", "--min-sigma", "1e-3", "-o", str(missing)))
    if os.geteuid() != 0:  # root ignores directory permissions
        locked.chmod(0o500)
        cli_error(cli("search", "--min-sigma", "1e-3", "-o", str(target)))
        assert not target.exists()
        locked.chmod(0o700)
    assert list(tmp_path.rglob("*.tmp")) == []


def test_failed_design_does_not_overwrite_existing_file(cli_error, cli, tmp_path):
    path = tmp_path / "keep.json"
    path.write_text("precious")
    cli_error(cli("search", "--min-sigma", "1e-3", "--tol", "1e-6", "--max-steps", "2", "-o", str(path)))
    assert path.read_text() == "precious"
