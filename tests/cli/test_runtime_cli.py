"""`nsdesign validate` and `nsdesign capture`, in-process through main(argv) (the `cli` fixture of tests/cli);
the torch-free start-up check runs a subprocess."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # small matrices; avoids OpenMP stalls on a shared 2-core machine

TEXT = b"class Node:\n    def __init__(self, value):\n        self.value = value\n" * 50


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Small matrices: one torch thread is as fast and avoids OpenMP stalls on a shared machine (see tests/torch)."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_validate_prints_a_side_by_side_table_and_writes_reports(cli, tmp_path):
    report = tmp_path / "report.json"
    result = cli("validate", "keller5", "cans5_eo", "--source", "gaussian:32x64", "--source", "spectrum:logu:1e-3:16x48",
                 "--dtype", "fp32", "--repeats", "1", "-o", str(report))
    assert result.returncode == 0, result.stderr
    assert "keller5" in result.stdout and "cans5_eo" in result.stdout and "band err" in result.stdout
    document = json.loads(report.read_text())
    assert [(r["matrix"], r["schedule"]) for r in document["rows"]] == [
        ("gaussian:32x64", "keller5"), ("gaussian:32x64", "cans5_eo"),
        ("spectrum:logu:1e-3:16x48", "keller5"), ("spectrum:logu:1e-3:16x48", "cans5_eo"),
    ]
    assert document["dtype"] == "fp32" and document["min_sigma"] == 1e-3
    table = tmp_path / "report.csv"
    as_json = cli("validate", "polar_express_modded5", "--source", "gaussian:8x16", "--repeats", "1", "--form", "gram",
                  "--json", "-o", str(table))
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["rows"][0]["form"] == "gram"
    assert next(csv.DictReader(table.open()))["schedule"] == "polar_express_modded5"


@pytest.mark.slow
def test_capture_then_validate_its_matrices(cli, tmp_path):
    text = tmp_path / "text.py"
    text.write_bytes(TEXT)
    out = tmp_path / "cap"
    result = cli("capture", "--out", str(out), "--sizes", "nano", "--steps", "4", "--batch", "2", "--seq-len", "16",
                 "--text", str(text), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "nano:" in result.stdout and "momentum_quantiles.csv" in result.stdout
    assert (out / "momentum_quantiles.csv").read_text().startswith("depth,matrix,matrix_printed,quantile,model_params,sigma\n")
    checked = cli("validate", "keller5", "--source", f"capture:{out}", "--match", r"step000004/block1\.(q|mlp_down)$",
                  "--dtype", "fp32", "--repeats", "1", "--json")
    assert checked.returncode == 0, checked.stderr
    rows = json.loads(checked.stdout)["rows"]
    assert [r["matrix"] for r in rows] == ["nano/step000004/block1.mlp_down", "nano/step000004/block1.q"]  # sorted names


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "noise:4x4"], "unknown source 'noise:4x4'"),
        (["--source", "file:/nonexistent/model.safetensors"], "file not found"),
        (["--source", "gaussian:200000x200000"], "needs "),
        (["--source", "gaussian:4x4", "--device", "cuda"], "CUDA is not available"),
        (["--source", "gaussian:4x4", "--dtype", "int8"], "invalid choice"),
        (["--source", "gaussian:4x4", "-o", "report.txt"], ".json or .csv"),
        (["--source", "gaussian:4x4", "--form", "gram", "--restarts", "9"], "restart"),
    ],
)
def test_validate_bad_input_is_one_line_exit_2(cli_error, cli, tmp_path, args, message):
    assert message in cli_error(cli("validate", "keller5", *args, cwd=tmp_path))


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([[1.0, np.inf], [0.0, 1.0]]), "NaN or Inf"),
        (np.zeros((4, 4)), "all zeros"),
        (np.ones(7), "no tensor with ≥ 2 dimensions"),
    ],
)
def test_validate_bad_matrices_are_one_line_exit_2(cli_error, cli, tmp_path, array, message):
    np.save(tmp_path / "m.npy", array)
    assert message in cli_error(cli("validate", "keller5", "--source", f"file:{tmp_path / 'm.npy'}"))


def test_capture_bad_input_is_one_line_exit_2(cli_error, cli, tmp_path):
    assert "unknown model size 'huge'" in cli_error(cli("capture", "--out", str(tmp_path), "--sizes", "huge"))
    assert "text file not found" in cli_error(
        cli("capture", "--out", str(tmp_path), "--sizes", "nano", "--text", str(tmp_path / "missing.txt"))
    )
    assert "--capture-at" in cli_error(cli("capture", "--out", str(tmp_path), "--capture-at", "x,y"))


@pytest.mark.slow
def test_without_torch_the_commands_say_how_to_install_it_and_startup_never_imports_torch(cli_error, tmp_path):
    blocked = (
        "import sys; sys.modules['torch'] = None\n"
        "from nsdesign.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    for command in (["validate", "keller5", "--source", "gaussian:4x4"], ["capture", "--out", str(tmp_path)]):
        result = subprocess.run([sys.executable, "-c", blocked, *command], capture_output=True, text=True, timeout=60, env=ENV)
        assert "pip install 'nsdesign[torch]'" in cli_error(result)
    probe = "import sys; from nsdesign.cli.main import build_parser; build_parser(); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60).stdout.strip() == "False"


def test_library_parameter_names_reach_the_user_as_flags(cli_error, cli, tmp_path):
    """nsdesign.torch names parameters (`min_sigma`, `sizes`); the CLI says the flag the user typed."""
    assert "--min-sigma must lie in (0, 1]" in cli_error(cli("validate", "keller5", "--source", "gaussian:4x4", "--min-sigma", "2"))
    assert "--sizes lists the same size twice" in cli_error(cli("capture", "--out", str(tmp_path), "--sizes", "nano,nano"))


@pytest.mark.slow
def test_capture_train_steps_and_its_old_spelling(cli, tmp_path, warning_lines):
    new = cli("capture", "--out-dir", "a", "--train-steps", "1", "--sizes", "nano", "--batch", "2", "--seq-len", "16",
              "--quiet", cwd=tmp_path)
    assert new.returncode == 0, new.stderr
    old = cli("capture", "--out-dir", "b", "--steps", "1", "--sizes", "nano", "--batch", "2", "--seq-len", "16",
              "--quiet", cwd=tmp_path)
    assert old.returncode == 0, old.stderr
    assert any("old spelling of --train-steps" in w for w in warning_lines(old.stderr))
