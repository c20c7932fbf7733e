"""`nsdesign export` through the real entry point (python -m nsdesign)."""

from __future__ import annotations

import json

import pytest

from nsdesign.export import target_names
from nsdesign.documents import read_schedule_file
from nsdesign.presets import preset


def _exec(text: str) -> dict:
    namespace: dict = {}
    exec(compile(text, "<export>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("target", target_names())
def test_every_target_prints_to_stdout(cli, target):
    result = cli("export", "keller5", "--to", target)
    assert result.returncode == 0, result.stderr
    assert "keller5" in result.stdout
    if target == "polar-express":
        assert json.loads(result.stdout)["coefficients"][0] == [3.4445, -4.775, 2.0315]
    else:
        compile(result.stdout, target, "exec")
    if target != "emerging-optimizers":
        assert result.stderr == ""


def test_output_file_is_written_and_matches_stdout(cli, tmp_path):
    path = tmp_path / "pe.json"
    printed = cli("export", "polar_express_modded5", "--to", "polar-express")
    written = cli("export", "polar_express_modded5", "--to", "polar-express", "-o", "pe.json", cwd=tmp_path)
    assert written.returncode == 0 and written.stderr == ""
    # -o says what it wrote and how to use it (issue 21), on stdout, which carries no file text then
    assert written.stdout.startswith("wrote pe.json for Polar Express") and "use: " in written.stdout
    assert all(len(line) <= 80 for line in written.stdout.splitlines())
    assert path.read_text() == printed.stdout
    assert read_schedule_file(path)[0] == preset("polar_express_modded5")
    assert [p.name for p in tmp_path.iterdir()] == ["pe.json"]  # no temporary file left behind


def test_torch_muon_kwargs_and_patch(cli, tmp_path):
    kwargs = _exec(cli("export", "keller5", "--to", "torch-muon").stdout)["muon_kwargs"]
    assert kwargs["ns_coefficients"] == (3.4445, -4.775, 2.0315) and kwargs["ns_steps"] == 5
    path = tmp_path / "patch_modded5.py"
    result = cli("export", "polar_express_modded5", "--to", "torch-muon", "--patch", "-o", str(path))
    assert result.returncode == 0, result.stderr
    text = path.read_text()
    assert "_zeropower_via_newtonschulz" in text and "def install()" in text and "NORM_DIV = 1.02" in text


def test_emerging_optimizers_warns_on_stderr(cli, warning_lines):
    result = cli("export", "polar_express_modded5", "--to", "emerging-optimizers")
    assert result.returncode == 0
    warnings = warning_lines(result.stderr)
    assert len(warnings) == 1 and warnings[0].startswith("nsdesign: warning:") and "cycles" in warnings[0]
    assert len(_exec(result.stdout)["CUSTOM_COEFFICIENT_SETS"]) == 5


def test_steps_applies_the_extension_rule(cli_error, cli):
    kwargs = _exec(cli("export", "keller5", "--to", "torch-muon", "--steps", "7").stdout)["muon_kwargs"]
    assert kwargs["ns_steps"] == 7
    assert "extension 'exact'" in cli_error(cli("export", "quintic5_leloykun_you", "--to", "optax", "--steps", "7"))


def test_schedule_file_input_carries_its_params(cli, tmp_path):
    path = tmp_path / "greedy6.json"
    assert cli("search", "--min-sigma", "1e-3", "--steps", "6", "-o", str(path)).returncode == 0
    result = cli("export", str(path), "--to", "python")
    assert result.returncode == 0, result.stderr
    namespace = _exec(result.stdout)
    assert namespace["NS_COEFFICIENTS"] == [tuple(r) for r in json.loads(path.read_text())["coefficients"]]
    comments = " ".join(line.lstrip("# ") for line in result.stdout.splitlines() if line.startswith("#"))
    assert f"schedule file {path}" in comments and "params" in comments  # comments wrap at 79 columns


# --------------------------------------------------------------------------------------------------
# Bad input: exit 2 and exactly one line on stderr
# --------------------------------------------------------------------------------------------------


def test_unknown_target(cli_error, cli):
    line = cli_error(cli("export", "keller5", "--to", "jax"))
    assert "unknown export target 'jax'" in line and len(line) <= 80
    assert "see `nsdesign export -h`" in line  # the listing is cut to fit 80 columns; the help has them all
    shown = cli("export", "--help").stdout
    for name in target_names():
        assert name in shown


def test_per_step_list_to_torch_muon(cli_error, cli):
    line = cli_error(cli("export", "polar_express_modded5", "--to", "torch-muon"))
    assert "single (a, b, c) triple" in line and "--patch" in line


def test_missing_file(cli_error, cli, tmp_path):
    line = cli_error(cli("export", str(tmp_path / "nope.json"), "--to", "optax"))
    assert "not found" in line


@pytest.mark.parametrize(
    "args, needle",
    [
        (("keller5", "--to", "optax", "--patch"), "--patch applies only to torch-muon"),
        (("keller5",), "--to"),
        (("keller5", "--to", "python", "--steps", "0"), "--steps"),
        (("no_such_preset", "--to", "python"), "not a preset or a schedule"),
    ],
)
def test_other_bad_input(cli_error, cli, args, needle):
    assert needle in cli_error(cli("export", *args))


def test_higher_degree_to_a_quintic_only_target(cli_error, cli, tmp_path):
    path = tmp_path / "deg7.json"
    document = {"schema_version": 1, "coefficients": [[2.1875, -2.1875, 1.3125, -0.3125]], "norm_div": 1.0}
    path.write_text(json.dumps(document))
    line = cli_error(cli("export", str(path), "--to", "gram-newton-schulz"))
    assert "degree 7" in line
    assert cli("export", str(path), "--to", "dion").returncode == 0
