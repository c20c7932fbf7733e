"""`search`, `evaluate`, `compare`, `presets` through the real entry point."""

import json
import os

import pytest

from nsdesign.design.greedy import greedy


def test_search_default_prints_table_and_presets(cli):
    result = cli("search", "--min-sigma", "1e-3")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "certified optimal" in out
    assert "8.47032880385" in out  # first greedy step
    assert "0.113448" in out  # E*(5)
    for name in ("keller5", "polar_express_modded5", "deepseek_v4_10"):
        assert name in out


def test_search_warns_when_the_design_has_no_headroom_above_the_band(cli):
    bare = cli("search", "--min-sigma", "1e-3")
    assert "WARNING: F reaches 1.15e+161 just above the band" in bare.stdout
    safe = cli("search", "--min-sigma", "1e-3", "--safety", "1.02", "--cushion", "0.02")
    assert safe.returncode == 0 and "WARNING" not in safe.stdout


def test_search_writes_versioned_json(cli, tmp_path):
    path = tmp_path / "s.json"
    result = cli("search", "--min-sigma", "1e-3", "--steps", "6", "--shape", "1024x4096", "-o", str(path))
    assert result.returncode == 0, result.stderr
    data = json.loads(path.read_text())
    assert data["schema_version"] == 2 and data["degree"] == 5 and data["norm_div"] == 1.0
    assert len(data["coefficients"]) == 6
    assert data["coefficients"] == [list(p.coefficients) for p in greedy(1e-3, steps=6).schedule.steps]
    assert data["metrics"]["worst_error"] == pytest.approx(9.165e-4, rel=1e-3)
    assert data["metrics"]["flops_standard"] > 0 and data["nsdesign_version"]
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
        (["search", "--min-sigma", "abc"], "invalid float"),
        (["search"], "--min-sigma"),
        (["evaluate", "no_such_preset", "--min-sigma", "1e-3"], "neither a preset"),
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
    assert "does not exist" in cli_error(cli("search", "--min-sigma", "1e-3", "-o", str(missing)))
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
