"""Where a command's human-readable output goes when its result goes to `-o`.

With `-o -` the result (text or JSON) is standard output, so tables, notes and "wrote …" lines move to
standard error; a pipe such as `nsdesign search … -o - | jq` then receives only the document.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Iterator, Sequence

from nsdesign._files import check_output_path, is_stdout, strict_json, write_text_atomic
from nsdesign.cli._text import terminal_safe
from nsdesign.design.checks import record_checks
from nsdesign.documents import save_document
from nsdesign.errors import InputError
from nsdesign.export import export


def check_output(path: str | None) -> None:
    """Refuse a bad `-o` (empty, missing folder, a device/FIFO/directory/symlink) before any work starts."""
    if path is not None:
        check_output_path(path)


@contextlib.contextmanager
def report_stream(path: str | None) -> Iterator[None]:
    """Send what is printed inside to stderr when the result itself went to stdout (`-o -`)."""
    if is_stdout(path):
        with contextlib.redirect_stdout(sys.stderr):
            yield
    else:
        yield


def print_json(document: Any) -> None:
    """A command's `--json` report on stdout as strict JSON (±inf and NaN written "inf", "-inf", "nan")."""
    print(strict_json(document))


def warn(message: str) -> None:
    """One `nsdesign: warning: …` on stderr, wrapped at spaces to 80 columns (continuations indented) so a
    warning fits the same terminal as the tables; long tokens such as paths are never split."""
    import textwrap

    text = textwrap.fill(f"nsdesign: warning: {terminal_safe(message)}", 80, subsequent_indent="  ",
                         break_long_words=False, break_on_hyphens=False)
    print(text, file=sys.stderr)


def print_route(lines: Sequence[str]) -> None:
    """The engine that answered and why (`plans.route`), as the report's first lines: printed only after the
    engine succeeded, so an error leaves stdout empty."""
    if lines:
        print("\n".join(lines))


def print_band_warnings(warnings: Sequence[str]) -> None:
    """The warnings about a band (a predicted edge's, a normalizer band's), once the command has succeeded:
    a failure prints its one error line and nothing else."""
    for warning in warnings:
        warn(warning)


def write_schedule(path: str, fmt: str, document: dict[str, Any], schedule: Any) -> None:
    """`-o PATH --format json|python|polar-express`: the schedule document, or the schedule as code (atomically)."""
    if fmt == "json":
        save_document(path, record_checks(document, schedule))
        return

    target = {"python": "python", "polar-express": "polar-express"}.get(fmt)
    if target is None:
        raise InputError(f"--format must be json, python or polar-express, got {fmt!r}")
    write_text_atomic(path, export(schedule, target).text)
