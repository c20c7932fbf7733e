"""The studies' shared helpers: progress on stderr, silenced by --quiet."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studies"))

import _common as common  # noqa: E402

from nsdesign._progress import LineProgress, NullProgress  # noqa: E402


@pytest.fixture(autouse=True)
def _restore():
    yield
    common.set_quiet(False)


def test_quiet_flag_parses_and_silences_progress(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["run.py", "--quick", "--out", str(tmp_path), "--quiet"])
    args = common.parse_args(tmp_path, "a study")
    assert args.quiet and not common.progress_enabled()
    with common.progress(3, "study", "shape") as bar:
        bar.update(3)
    common.note("a stage")
    assert isinstance(bar, NullProgress) and capsys.readouterr().err == ""


def test_without_quiet_progress_and_notes_go_to_stderr(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["run.py", "--quick", "--out", str(tmp_path)])
    assert not common.parse_args(tmp_path, "a study").quiet
    with common.progress(2, "study", "shape") as bar:
        bar.update(2)
    common.note("a stage")
    captured = capsys.readouterr()
    assert isinstance(bar, LineProgress) and captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0] == "study: 2 shapes to run" and lines[1].startswith("study: 2/2 shapes in ") and lines[2] == "a stage"
