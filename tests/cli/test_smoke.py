"""A few runs of the real entry point (`python -m nsdesign` in a subprocess); every other CLI test runs in-process."""

from __future__ import annotations

import json

import pytest

from nsdesign import __version__


@pytest.mark.slow
def test_design_path_runs_and_writes_a_file(cli_subprocess, tmp_path):
    out = tmp_path / "s.json"
    result = cli_subprocess("search", "--min-sigma", "1e-3", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "worst-case error" in result.stdout and json.loads(out.read_text())["schema_version"] == 2


@pytest.mark.slow
def test_version_and_bad_input_through_the_entry_point(cli_subprocess, cli_error):
    result = cli_subprocess("-V")
    assert result.returncode == 0 and result.stdout.strip() == f"nsdesign {__version__}"
    assert "--min-sigma" in cli_error(cli_subprocess("search", "--min-sigma", "2"))


@pytest.mark.slow
def test_a_ctrl_c_after_the_command_finished_leaves_its_exit_code():
    """`run` (the console script and `python -m nsdesign`) ignores Ctrl-C once `main` returned: a SIGINT during
    interpreter shutdown used to end a finished command by signal (rc -2), with no message."""
    import subprocess
    import sys

    script = ("import os, signal; from nsdesign.cli.main import run; code = run(); "
              "os.kill(os.getpid(), signal.SIGINT); print('still here', code)")
    done = subprocess.run([sys.executable, "-c", script, "presets"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.rstrip().endswith("still here 0"), (done.returncode, done.stderr)
