"""The one exception type users see, and the one way an old spelling warns.

Every bad input (an inverted band, an unknown preset, a malformed file …) raises `InputError` with a
one-line message that says what is wrong and what is allowed. The CLI prints it and exits with code 2.
"""

from __future__ import annotations

import sys
import warnings
from typing import Sequence


class InputError(ValueError):
    """A user-facing, one-line description of a bad input."""


def deprecated(message: str) -> None:
    """A DeprecationWarning attributed to the first caller outside nsdesign: however many layers the old keyword
    passed through (`nsdesign.evaluate` → core.metrics → …), the user sees their own line, and Python's default
    filter, which shows DeprecationWarnings raised in `__main__`, shows it."""
    frame, level = sys._getframe(1), 2  # stacklevel 2: the caller of this function
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] == "nsdesign":
        frame, level = frame.f_back, level + 1
    warnings.warn(message, DeprecationWarning, stacklevel=level)


def unknown(what: str, name: object, choices: Sequence[str], more: str = "", label: str = "") -> InputError:
    """The one error for a name that is not among `choices`: the closest match first ("did you mean"), then the
    choices — all of them when they fit a short line, else the first few, "…" and `more` (where to see them all:
    "see `nsdesign presets`"). The name is echoed at most 20 characters long (an argument may be 300). The CLI
    shortens the listing further to fit its 80 columns (cli._text.fit_error)."""
    import difflib

    text = str(name)
    close = difflib.get_close_matches(text, list(choices), n=1, cutoff=0.6)
    message = f"unknown {what} {(text if len(text) <= 20 else text[:14] + '…' + text[-5:])!r}"
    listing = ", ".join(choices)
    if len(listing) > 70 and more:
        listing = f"{', '.join(list(choices)[:4])}, …, {more}"
    label = label or f"{what}s"
    if close:
        return InputError(f"{message}; did you mean {' or '.join(close)}? ({label}: {listing})")
    return InputError(f"{message}; {label}: {listing}")
