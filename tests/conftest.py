"""Shared fixtures. Tests mirror the package layout: tests/core, tests/design, tests/laws, tests/search, …"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def run_cli(*args: str, cwd: str | os.PathLike[str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real `nsdesign` entry point in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "nsdesign", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def shared_data():
    """../shared/data beside the checkout (CI provides it); tests compare against it, the package never reads it."""
    return SHARED_DATA


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """Bad input's contract: exit 2, one line `nsdesign: error: …` on stderr, no traceback; returns the line."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("nsdesign: error:"), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == "", result.stdout
    return lines[0]


@pytest.fixture
def cli_error():
    return one_line_error
