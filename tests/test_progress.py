"""Progress off a terminal: periodic one-line status on stderr; --quiet silences it."""

from __future__ import annotations

import io

from nsdesign._progress import LineProgress, NullProgress, progress
from nsdesign.cli.main import main


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_line_progress_prints_at_most_every_interval_and_at_both_ends():
    stream, clock = io.StringIO(), _Clock()
    with LineProgress(10, "search worst", stream=stream, every=5.0, clock=clock) as bar:
        for _ in range(10):
            clock.now += 2.0  # one trial every 2 s: a status line every third trial (≥ 5 s apart)
            bar.update(1)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "search worst: 10 trials to run"
    assert lines[-1] == "search worst: 10/10 trials in 20 s"
    middle = lines[1:-1]
    assert middle == ["search worst: 3/10 trials, 6 s elapsed, ~14 s left",
                      "search worst: 6/10 trials, 12 s elapsed, ~8 s left",
                      "search worst: 9/10 trials, 18 s elapsed, ~2 s left"]


def test_disabled_progress_prints_nothing(capsys):
    with progress(5, False, "x") as bar:
        bar.update(5)
    assert isinstance(bar, NullProgress) and capsys.readouterr().err == ""


def test_off_a_terminal_progress_is_line_based():
    assert isinstance(progress(5, True, "x"), LineProgress)  # pytest's captured stderr is not a TTY


STUDY = ["search", "--min-sigma", "1e-3", "--objective", "worst", "--trials", "2", "--steps", "5", "--refine", "none"]


def test_a_study_reports_progress_on_stderr_and_quiet_silences_it(capsys):
    assert main(STUDY) == 0
    err = capsys.readouterr().err
    assert "2 trials to run" in err and "2/2 trials in" in err
    assert main([*STUDY, "--quiet"]) == 0
    assert "trials" not in capsys.readouterr().err


def test_line_progress_without_a_known_total_counts_and_times():
    stream, clock = io.StringIO(), _Clock()
    with LineProgress(None, "validate bf16", unit="run", stream=stream, every=5.0, clock=clock) as bar:
        for _ in range(4):
            clock.now += 3.0
            bar.update(1)
    assert stream.getvalue().splitlines() == ["validate bf16: 2 runs, 6 s elapsed",
                                              "validate bf16: 4 runs, 12 s elapsed", "validate bf16: 4 runs in 12 s"]


def test_validate_reports_progress_on_stderr_and_quiet_silences_it(capsys):
    import pytest

    pytest.importorskip("torch")
    argv = ["validate", "keller5", "cans5_eo", "--source", "gaussian:16x32", "--repeats", "1"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "validate bf16: 2 runs in" in err
    assert main([*argv, "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_capture_reports_training_steps_and_quiet_silences_it(tmp_path, capsys, monkeypatch):
    import pytest

    pytest.importorskip("torch")
    import nsdesign._progress

    monkeypatch.setattr(nsdesign._progress, "EVERY_SECONDS", 0.0)  # a line at every step instead of every 10 s
    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 400)
    argv = ["capture", "--sizes", "nano", "--train-steps", "3", "--batch", "2", "--seq-len", "16", "--text", str(text)]
    assert main([*argv, "--out-dir", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "nano: step 1/3, loss" in err and "nano: step 2/3, loss" in err and "step 3/3" not in err
    assert main([*argv, "--out-dir", str(tmp_path / "b"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_an_error_inside_a_progress_loop_prints_no_final_count():
    import pytest

    stream = io.StringIO()
    with pytest.raises(ValueError):
        with LineProgress(None, "validate bf16", unit="run", stream=stream, clock=_Clock()) as bar:
            bar.update(1)
            raise ValueError("bad input")
    assert stream.getvalue() == ""
