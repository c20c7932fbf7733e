"""CLI tests run in-process (`nsdesign.cli.main.invoke`, i.e. main(argv) with captured output): no interpreter
start-up and no torch import per case. `cli_subprocess` keeps the real entry point for the few smoke tests."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nsdesign.cli.main import invoke


def run_in_process(*args: str, cwd: str | os.PathLike[str] | None = None, timeout: float | None = None):
    """`nsdesign ARGS` through main(argv); `timeout` is accepted for the subprocess runner's signature."""
    return invoke(args, cwd=cwd)


@pytest.fixture
def cli():
    return run_in_process


@pytest.fixture
def cli_subprocess():
    """python -m nsdesign in a subprocess (the real entry point, for smoke tests)."""

    def run(*args: str, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        return subprocess.run([sys.executable, "-m", "nsdesign", *args], capture_output=True, text=True, cwd=cwd,
                              timeout=timeout, env=env)

    return run


def _warning_lines(stderr: str) -> list[str]:
    """The `nsdesign: warning: …` messages on stderr, each one string again: the CLI wraps a warning at
    80 columns with indented continuation lines. Fails if any stderr line is wider than 80 columns."""
    lines = stderr.strip().splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    messages: list[str] = []
    for line in lines:
        if line.startswith("  ") and messages:
            messages[-1] += " " + line.strip()
        else:
            messages.append(line)
    return messages



@pytest.fixture
def warning_lines():
    """`warning_lines(stderr)`: the warnings a command printed, rejoined (see `_warning_lines`)."""
    return _warning_lines
