"""The one exception type users see.

Every bad input (an inverted band, an unknown preset, a malformed file …) raises `InputError` with a
one-line message that says what is wrong and what is allowed. The CLI prints it and exits with code 2.
"""

from __future__ import annotations

from typing import Sequence


class InputError(ValueError):
    """A user-facing, one-line description of a bad input."""


def unknown(what: str, name: object, choices: Sequence[str], more: str = "", label: str = "") -> InputError:
    """The one error for a name that is not among `choices`: the closest match first ("did you mean"), then the
    choices — all of them when they fit a short line, else the first few and `more` (where to see them all)."""
    import difflib

    text = str(name)
    close = difflib.get_close_matches(text, list(choices), n=3, cutoff=0.6)
    message = f"unknown {what} {text[:60]!r}"
    if close:
        message += f"; did you mean {' or '.join(close)}?"
    listing = ", ".join(choices)
    if len(listing) > 70 and more:
        shown = ", ".join(list(choices)[:4])
        listing = f"{shown}, … ({more})"
    label = label or f"{what}s"
    return InputError(f"{message}; {label}: {listing}" if not close else f"{message} ({label}: {listing})")
