"""The `--quiet` flag every command has: whether long commands may print progress lines on stderr."""

from __future__ import annotations

_quiet = False


def set_quiet(quiet: bool) -> None:
    """Called once by `nsdesign.cli.main` from the command's `--quiet` flag."""
    global _quiet
    _quiet = bool(quiet)


def enabled() -> bool:
    return not _quiet
