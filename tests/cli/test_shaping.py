"""`nsdesign search --target MAP`: the shaping design beside current practice, in 80 columns, and its refusals."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_target_prints_design_and_current_practice(cli, tmp_path):
    r = cli("search", "--target", "clip:0.5", "--min-sigma", "1e-3", "--tol", "1e-3", "-o", "c.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "design: polar" in text and "meets the tolerance" in text
    assert "EO spectral_clip 3×PE-8" in text and "EO spectral_hardcap 2×PE-8" in text
    assert "guard:" in text and "passed" in text
    assert all(len(line) <= 80 for line in text.splitlines()), max(text.splitlines(), key=len)
    document = json.loads((tmp_path / "c.json").read_text())
    design = document["design"]
    assert design["target"] == "clip:0.5" and design["met"] and design["error"] <= 1e-3
    assert [s["role"] for s in design["stages"]] == ["polar", "sign"]
    ours, eo = document["comparison"][0], document["comparison"][1]
    assert ours["ours"] and ours["matmuls"] < eo["matmuls"]


def test_the_run_column_is_in_the_dtype_asked_for(cli):
    r = cli("search", "--target", "soft:0.01", "--min-sigma", "1e-3", "--tol", "1e-3", "--dtype", "fp16")
    assert r.returncode == 0, r.stderr
    header = next(line for line in r.stdout.splitlines() if line.startswith("pipeline"))
    assert header.split()[-1] == "fp16" and "fp16: a run on a 128x512 matrix" in r.stdout


def test_power_target_against_dynmuon(cli):
    r = cli("search", "--target", "sigma^-0.25", "--min-sigma", "0.015", "--max-sigma", "0.05", "--tol", "0.01")
    assert r.returncode == 0, r.stderr
    assert "relative error" in r.stdout and "DynMuon fast_spectral" in r.stdout
    assert all(len(line) <= 80 for line in r.stdout.splitlines())


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--target", "sigma^2"], "p in [-0.5, 1)"),
        (["--target", "cube"], "unknown target"),
        (["--target", "clip:0"], "X > 0"),
        (["--target", "sign", "--for", "torch-muon"], "drop --for"),
        (["--target", "sign", "--steps", "5"], "give --tol instead of --steps"),
        (["--target", "sign", "--tol", "2"], "tol must lie in (0, 1)"),
        (["--target", "sign", "--dtype", "fp8"], "choose from bf16, fp16, fp32"),
        (["--dtype", "fp16"], "--dtype goes with --target"),
    ],
)
def test_bad_target_requests_are_one_line_errors(cli, flags, message):
    r = cli("search", "--min-sigma", "1e-3", *flags)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
