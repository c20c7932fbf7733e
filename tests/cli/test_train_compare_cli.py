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
    (["no_such_schedule"], "not a preset or a schedule file"),
    (["keller5", "--seeds", "0"], "--seeds must be a positive integer"),
    (["keller5", "--train-steps", "0"], "--train-steps must be a positive integer"),
    (["keller5", "--train-steps", "-2"], "--train-steps must be a positive integer"),
    (["keller5", "--text", "/nonexistent/corpus.txt"], "text file not found"),
    (["keller5", "--model", "enormous"], "unknown model size"),
    (["keller5", "-o", "out.txt"], "takes a .json path"),
    (["keller5", "-o", "missing/out.json"], "no such folder"),
    (["keller5", "--plot", "out.pdf"], "--plot writes .png or .svg"),
])
def test_bad_input_is_one_line_exit_2(extra, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train-compare", *extra, "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nsdesign: error: ") and message in err and err.count("\n") == 1, err
    assert not list(tmp_path.iterdir())  # nothing half-written


@pytest.mark.slow
def test_lr_grid_tunes_per_schedule_and_the_report_fits_80_columns(tmp_path, text_file, capsys):
    out = tmp_path / "tuned.json"
    argv = ["train-compare", "keller5", "cubic5_eo", "--quick", "--train-steps", "2", "--batch", "4", "--seq-len", "32",
            "--text", str(text_file), "--lr-grid", "--tune-steps", "1", "--match-rms", "--ns-dtype", "bf16",
            "--target-loss", "5.0", "--quiet", "-o", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "lr tuning: final validation loss (* chosen)" in text and "Final test loss" in text
    assert "MDD" in text and "Holm" in text and "To reach validation loss 5" in text
    document = json.loads(out.read_text())
    assert sorted({t["lr"] for t in document["lr_tuning"]}) == [0.005, 0.01, 0.02, 0.04]
    assert set(document["lrs"]) == {"keller5", "cubic5_eo"}
    assert document["settings"]["match_rms"] is True and document["settings"]["ns_dtype"] == "bf16"
    assert {"p_holm", "mdd", "verdict", "holm_low"} <= set(document["paired_differences"][0])


def test_without_a_target_the_report_says_how_to_get_one(text_file, capsys):
    argv = ["train-compare", "keller5", "--quick", "--seeds", "1", "--train-steps", "2", "--batch", "4", "--seq-len", "32",
            "--text", str(text_file), "--lr", "0.01", "--quiet"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "Muon lr 0.01 for every schedule (not tuned" in text and "give --target-loss" in text


@pytest.mark.parametrize("extra, message", [
    (["--lr-grid", "0.01,0.02,0.04"], "--lr-grid needs at least 4"),
    (["--lr-grid", "0.01,x,0.04,0.08"], "--lr-grid takes numbers like"),
    (["--lr", "0"], "--lr must be a positive number"),
    (["--target-loss", "-1"], "--target-loss must be a positive number"),
    (["--tune-steps", "5"], "need --lr-grid"),
    (["--lr-grid", "--tune-seeds", "0"], "--tune-seeds must be from 1 to 100"),
    (["--ns-dtype", "fp8"], "invalid choice"),
])
def test_bad_step_size_flags_are_one_line_exit_2(extra, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train-compare", "keller5", *extra, "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nsdesign: error: ") and message in err and err.count("\n") == 1, err
