"""The `nsdesign` command: a thin layer over the library.

Each command lives in a module of this package that exposes `register(subparsers)`; a command parses its
arguments, calls one library function, and prints or writes the result. Heavy imports (scipy, optuna,
torch, matplotlib) happen inside the command handlers, so `nsdesign search` starts fast.

Every user error is an `InputError`: it is printed as one line on stderr and the exit code is 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from nsdesign._version import __version__
from nsdesign.errors import InputError

# One module per group of commands; each defines register(subparsers).
COMMAND_MODULES: tuple[str, ...] = (
    "nsdesign.cli.design_commands",
    "nsdesign.cli.export_commands",
    "nsdesign.cli.pareto_commands",
    "nsdesign.cli.laws_commands",
    "nsdesign.cli.runtime_commands",
    "nsdesign.cli.plot_commands",
    "nsdesign.cli.training_commands",
)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nsdesign", description="Design and analyse Newton–Schulz schedules for Muon.")
    parser.add_argument("--version", action="version", version=f"nsdesign {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    for command in subparsers.choices.values():
        _add_common_flags(command)
    return parser


def _add_common_flags(command: argparse.ArgumentParser) -> None:
    """`--wide` and `--quiet` on every command (a command that defines its own keeps it)."""
    for flags, kwargs in (
        (("--wide",), {"action": "store_true", "help": "full tables and full-precision cells (default: fit the terminal)"}),
        (("--quiet", "-q"), {"action": "store_true", "help": "no progress lines on stderr"}),
    ):
        try:
            command.add_argument(*flags, **kwargs)
        except argparse.ArgumentError:
            pass


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        from nsdesign.cli import progress, render

        render.set_wide(getattr(args, "wide", False))
        progress.set_quiet(getattr(args, "quiet", False))
        return int(args.handler(args) or 0)
    except InputError as exc:
        print(f"nsdesign: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nsdesign: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
