"""The `nsdesign` command: a thin layer over the library.

Each command lives in a module of this package that exposes `register(subparsers)`; a command parses its
arguments, calls one library function, and prints or writes the result. Heavy imports (scipy, optuna,
torch, matplotlib) happen inside the command handlers, so `nsdesign search` starts fast.

Every user error is an `InputError`: it is printed as one line on stderr and the exit code is 2.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import io
import os
import re
import signal
import sys
from dataclasses import dataclass
from typing import Sequence

from nsdesign._version import __version__
from nsdesign.cli import progress
from nsdesign.cli._text import fit_error
from nsdesign.cli._output import warn
from nsdesign.cli._vocabulary import DEPRECATIONS, NEGATIVE_NUMBER, STRICT_TYPES
from nsdesign.cli.views.common import set_wide
from nsdesign.errors import InputError, unknown

# One module per group of commands; each defines register(subparsers).
COMMAND_MODULES: tuple[str, ...] = (
    "nsdesign.cli.design_commands",
    "nsdesign.cli.export_commands",
    "nsdesign.cli.pareto_commands",
    "nsdesign.cli.laws_commands",
    "nsdesign.cli.runtime_commands",
    "nsdesign.cli.plot_commands",
    "nsdesign.cli.schema_commands",
    "nsdesign.cli.training_commands",
)


# Library errors name parameters: bare for the band edges (`min_sigma`), in backticks for the rest (`tol`).
# The CLI says the flag a user typed instead (`--min-sigma`, `--tol`); unknown names are left as they are.
PARAMETER_FLAGS: dict[str, str] = {
    "min_sigma": "--min-sigma",
    "max_sigma": "--max-sigma",
    "guard_sigma": "--guard-sigma",
    "guard_tol": "--guard-tol",
    "tol": "--tol",
    "check_margin": "--check-margin",
    "quantile": "--quantile",
    "steps": "--steps",
    "step_range": "--steps",
    "max_steps": "--max-steps",
    "degrees": "--degrees",
    "search_degrees": "--degrees",
    "spectrum": "--spectrum",
    "shape": "--shape",
    "model_size": "--model-size",
    "layer": "--layer",
    "trials": "--trials",
    "jobs": "--jobs",
    "seed": "--seed",
    "study_name": "--study-name",
    "refine": "--refine",
    "refine_steps": "--refine-steps",
    "refine_evals": "--refine-evals",
    "guard_limit": "--guard-limit",
    "target_range": "--target-range",
    "dtype": "--dtype",
    "kernel": "--kernel",
    "pareto": "--pareto",
    "degree": "--degrees",
    "cushion": "--cushion",
    "safety": "--safety",
    "norm_div": "--norm-div",
    "headroom": "--headroom",
    "max_matmuls": "--max-matmuls",
    "objective": "--objective",
    "guard=False": "--no-guard",
    "normalizer": "--normalize",
    "patch": "--patch",
    "patch=True": "--patch",
    "storage": "--storage",
    "config": "--config",
    "edge": "--band-edge",
    "BF16": "--bf16",
    "bf16=True": "--bf16",
    "sources": "--source",
    "match": "--match",
    "train_steps": "--train-steps",
    "eval_every": "--eval-every",
    "seeds": "--seeds",
    "sizes": "--sizes",
    "text": "--text",
    "batch": "--batch",
    "seq_len": "--seq-len",
    "repeats": "--repeats",
    "out_dir": "--out-dir",
}
_BARE = ("min_sigma", "max_sigma", "guard_sigma")
# `name` or `name=value` (a boolean switch: `guard=False` is --no-guard), or a bare band edge.
_PARAMETER = re.compile(r"`(\w+(?:=\w+)?)`|(?<![\w'\"`-])(" + "|".join(_BARE) + r")(?![\w'\"`])")


def flag_message(message: str) -> str:
    """The library's message with parameter names replaced by the flags that set them."""

    def flag(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return PARAMETER_FLAGS.get(name, match.group(0))

    return _PARAMETER.sub(flag, message)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit code 2, negative numbers such as -1e-3 read as values
    (so a range check can refuse them), and strict ASCII numbers for every `type=float`/`type=int` flag."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

        self._negative_number_matcher = NEGATIVE_NUMBER  # argparse's own misses '-1e-3': "expected one argument"

    def _get_value(self, action: argparse.Action, arg_string: str) -> object:
        """float('١e-3') is 1e-3 to Python; here a number flag takes ASCII notation only (cli._vocabulary.real)."""
        strict = STRICT_TYPES.get(action.type)
        if strict is None:
            return super()._get_value(action, arg_string)
        try:
            return strict(arg_string)
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentError(action, str(exc)) from None

    def error(self, message: str) -> None:  # type: ignore[override]
        message = _with_suggestion(self, message)
        raise InputError(message if "see `" in message else f"{message} (see `{self.prog} --help`)")

    def _get_formatter(self) -> argparse.HelpFormatter:
        """Help fits 80 columns (or a narrower terminal), whatever COLUMNS says."""
        import shutil

        width = min(78, shutil.get_terminal_size((80, 24)).columns - 2)
        return self.formatter_class(prog=self.prog, width=width, max_help_position=30)


def _with_suggestion(parser: argparse.ArgumentParser, message: str) -> str:
    """argparse's message for a typo, with the closest command or flag ("did you mean")."""
    import difflib

    choice = re.match(r"argument (\w+): invalid choice: '([^']*)'", message)
    if choice and choice.group(1) in ("command", "COMMAND"):
        return str(_commands_error(choice.group(2)))
    extra = re.match(r"(?:unrecognized|unknown) arguments: (\S+)", message)
    if extra:
        flags = [f for action in parser._actions for f in action.option_strings]
        close = difflib.get_close_matches(extra.group(1).split("=")[0], flags, n=1, cutoff=0.7)
        if close:
            return f"{message}; did you mean {close[0]}?"
    return message


def _commands_error(name: str) -> InputError:
    return unknown("command", name, _command_names(), "see `nsdesign --help`")


def _command_names() -> list[str]:
    return [name for name, _ in OVERVIEW]


# `nsdesign` alone: what each command is for, in the order a newcomer meets them.
OVERVIEW: tuple[tuple[str, str], ...] = (
    ("search", "design a schedule for a band (--for TARGET: for your optimizer)"),
    ("evaluate", "exact metrics of a schedule file or preset"),
    ("compare", "schedules and presets side by side on a band"),
    ("presets", "the published schedules"),
    ("export", "write a schedule for torch, optax, dion, …"),
    ("predict", "the band a layer's update has at a model size"),
    ("recipe", "a schedule per layer for a whole model"),
    ("validate", "run schedules on real matrices in torch"),
    ("pareto", "error against cost: the non-dominated designs"),
    ("fit", "fit momentum laws to measured spectra"),
    ("capture", "train a small GPT and save its momentum spectra"),
    ("train-compare", "train with several schedules and compare"),
    ("plot", "figures: maps, frontiers, histograms, laws"),
    ("schema", "the JSON Schema of each file kind"),
)


def overview() -> str:
    lines = [f"nsdesign {__version__}: Newton–Schulz coefficient schedules for Muon-family optimizers.", "",
             "Start here:  nsdesign search --min-sigma 1e-3 --for torch-muon", "", "Commands:"]
    lines += [f"  {name:<14} {text}" for name, text in OVERVIEW]
    lines += ["", "`nsdesign COMMAND --help` for a command's flags; docs/ for the details."]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nsdesign", description="Design and analyse Newton–Schulz schedules for Muon.")
    parser.add_argument("-V", "--version", action="version", version=f"nsdesign {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    for command in subparsers.choices.values():
        _add_common_flags(command)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """parse_args, except that a flag the command does not know is reported by that command (its help, its
    closest flag) rather than by the top-level parser."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        command = _subparsers(parser).choices[args.command]
        command.error(f"unknown arguments: {' '.join(e if len(e) <= 20 else e[:14] + '…' for e in extras[:3])}")
    return args


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def _add_common_flags(command: argparse.ArgumentParser) -> None:
    """`--wide` and `--quiet` on every command (a command that defines its own keeps it)."""
    for flags, kwargs in (
        (("--wide",), {"action": "store_true", "help": "full tables and full-precision cells (default: fit the terminal)"}),
        (("--quiet",), {"action": "store_true", "help": "no progress lines on stderr"}),
    ):
        try:
            command.add_argument(*flags, **kwargs)
        except argparse.ArgumentError:
            pass


def run() -> int:
    """The `nsdesign` process: `main`, then Ctrl-C is ignored while the interpreter shuts down. The work is done
    and its exit code stands; a Ctrl-C landing in those last milliseconds used to end a finished command by
    signal, with no message (the adversarial run's SIGINT cases, 2 in 10 at the end of `plot frontier`)."""
    code = main()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    _encode_anything()
    try:
        if not argv:
            print(overview())
            return _flushed(0)
        args = _parse(build_parser(), argv)

        set_wide(getattr(args, "wide", False))
        progress.set_quiet(getattr(args, "quiet", False))
        code = int(args.handler(args) or 0)
        for note in getattr(args, DEPRECATIONS, []):  # after the work: an error before it stays one line
            warn(note)
        return _flushed(code)
    except InputError as exc:
        print(f"nsdesign: error: {fit_error(flag_message(str(exc)))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while we exit must not kill us by signal
        print("nsdesign: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _stdout_lost(0)
    except SystemExit:  # --help and --version print, then exit through argparse
        _flushed(0)
        raise
    except OSError as exc:
        if exc.errno not in _OUTPUT_ERRNOS:  # not a full disk or a lost device: a bug, keep its traceback
            raise
        print(f"nsdesign: error: cannot write the output: {exc.strerror}", file=sys.stderr)
        return _stdout_lost(1)


# A write that fails because of where the output goes (stdout on /dev/full, a full or lost disk), not because of us.
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG, errno.ENXIO}


def _encode_anything() -> None:
    """Standard output and error that cannot encode a character (PYTHONIOENCODING=ascii, a latin-1 terminal) write
    it as an escape (\\u03c3) instead of failing half-way with UnicodeEncodeError; JSON stays valid that way."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _flushed(code: int) -> int:
    """`code` once standard output is flushed: a full disk shows here, as one line, rather than at exit."""
    sys.stdout.flush()
    return code


def _stdout_lost(code: int) -> int:
    """`code`, with standard output pointed at /dev/null so the interpreter's own flush at exit cannot fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass
    return code


@dataclass(frozen=True)
class Completed:
    """What one in-process run of the CLI printed and returned (the fields of subprocess.CompletedProcess)."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def invoke(argv: Sequence[str], cwd: str | os.PathLike[str] | None = None) -> Completed:
    """Run `nsdesign ARGV` in this process and capture its output: the CLI tests' runner (no interpreter start-up).

    `--help` and `--version` exit through argparse's SystemExit; its code becomes the return code.
    """
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.chdir(here)
    return Completed(tuple(argv), code, out.getvalue(), err.getvalue())


if __name__ == "__main__":
    sys.exit(main())
