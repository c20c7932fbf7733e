"""Study options of `nsdesign search` (Optuna objectives, trials, storage). Filled in by the search module."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the study options to the `search` parser."""


def wants_study(args: argparse.Namespace) -> bool:
    """True when the arguments ask for more than the exact greedy design."""
    return False


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError
