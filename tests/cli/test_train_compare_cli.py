"""`nsdesign train-compare` in-process: a --quick run (tables, JSON, plot, resume) and one-line errors for bad input."""

from __future__ import annotations

import json

import pytest

from nsdesign.cli.main import main

torch = pytest.importorskip("torch")

TEXT = b"for i in range(10):\n    print(i * i, end=' ')\n" * 500


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def text_file(tmp_path):
    path = tmp_path / "corpus.py"
    path.write_bytes(TEXT)
    return path


@pytest.mark.slow
def test_quick_run_writes_json_plot_and_resumes(tmp_path, text_file, capsys):
    out = tmp_path / "cmp.json"
    plot = tmp_path / "cmp.png"
    argv = ["train-compare", "keller5", "cubic5_eo", "--quick", "--train-steps", "4", "--batch", "4", "--seq-len", "32",
            "--text", str(text_file), "--target-loss", "5.5",
            "-o", str(out), "--plot", str(plot)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert all(len(line) <= 80 for line in captured.out.splitlines()), captured.out
    assert "cubic5_eo" in captured.out and "Δ vs keller5" in captured.out
    header = next(line for line in captured.out.splitlines() if "NS GFLOP" in line)
    assert header.split() == ["schedule", "seeds", "steps", "NS", "GFLOP", "wall", "s", "CPU", "s", "NS", "%"]
    assert "[2/4] cubic5_eo seed 0" in captured.err  # one line per run when stderr is not a terminal
    document = json.loads(out.read_text())
    assert document["kind"] == "nsdesign-train-compare" and document["baseline"] == "keller5"
    assert len(document["runs"]) == 4 and document["seeds"] == [0, 1]
    assert all(len(r["cpu_seconds"]) == len(r["wall_seconds"]) and r["cpu_seconds"][-1] > 0 for r in document["runs"])
    assert {d["label"] for d in document["paired_differences"]} == {"cubic5_eo"}
    assert plot.stat().st_size > 1000
    assert len(list((tmp_path / "cmp.runs").glob("*.json"))) == 4
    assert main(argv) == 0
    again = capsys.readouterr()
    assert "4 finished run(s) reused" in again.out and "already done" in again.err


@pytest.mark.parametrize("extra, message", [
    (["no_such_schedule"], "neither a preset name nor a schedule file"),
    (["keller5", "--seeds", "0"], "--seeds must be a positive integer"),
    (["keller5", "--train-steps", "0"], "--train-steps must be a positive integer"),
    (["keller5", "--train-steps", "-2"], "--train-steps must be a positive integer"),
    (["keller5", "--text", "/nonexistent/corpus.txt"], "text file not found"),
    (["keller5", "--model", "enormous"], "unknown model size"),
    (["keller5", "-o", "out.txt"], "give a path ending in .json"),
    (["keller5", "-o", "missing/out.json"], "does not exist"),
    (["keller5", "--plot", "out.pdf"], "--plot writes .png or .svg"),
])
def test_bad_input_is_one_line_exit_2(extra, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train-compare", *extra, "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nsdesign: error: ") and message in err and err.count("\n") == 1, err
    assert not list(tmp_path.iterdir())  # nothing half-written
