"""A few runs of the real entry point (`python -m nsdesign` in a subprocess); every other CLI test runs in-process."""

from __future__ import annotations

import json

from nsdesign import __version__


def test_design_path_runs_and_writes_a_file(cli_subprocess, tmp_path):
    out = tmp_path / "s.json"
    result = cli_subprocess("search", "--min-sigma", "1e-3", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "worst-case error" in result.stdout and json.loads(out.read_text())["schema_version"] == 2


def test_version_and_bad_input_through_the_entry_point(cli_subprocess, cli_error):
    result = cli_subprocess("-V")
    assert result.returncode == 0 and result.stdout.strip() == f"nsdesign {__version__}"
    assert "--min-sigma" in cli_error(cli_subprocess("search", "--min-sigma", "2"))
