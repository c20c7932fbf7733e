"""The one exception type users see.

Every bad input (an inverted band, an unknown preset, a malformed file …) raises `InputError` with a
one-line message that says what is wrong and what is allowed. The CLI prints it and exits with code 2.
"""

from __future__ import annotations


class InputError(ValueError):
    """A user-facing, one-line description of a bad input."""
