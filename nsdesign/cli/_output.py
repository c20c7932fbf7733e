"""Where a command's human-readable output goes when its result goes to `-o`.

With `-o -` the result (text or JSON) is standard output, so tables, notes and "wrote …" lines move to
standard error; a pipe such as `nsdesign search … -o - | jq` then receives only the document.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator

from nsdesign._files import check_output_path, is_stdout


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
