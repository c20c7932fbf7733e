"""Terminal-safe text: the one sanitizer for anything a user or a file supplied that the CLI prints.

A schedule name, a title or a path comes from a file or an argument and may hold control characters: an ANSI
escape such as '\\x1b[2J' clears the screen, '\\r' overwrites the line, a newline forges a second output line.
A lone surrogate ('\\ud800', which JSON's '\\ud800' escape produces) cannot be encoded as UTF-8 at all, so
printing it raises UnicodeEncodeError. `terminal_safe` makes any such text printable and one line.
"""

from __future__ import annotations

import unicodedata

REPLACEMENT = "\ufffd"  # what a lone surrogate becomes: the Unicode replacement character


def _safe_char(ch: str) -> str:
    """One non-printable character as text: a surrogate as U+FFFD, a control character as its escape (\\x1b)."""
    if unicodedata.category(ch) == "Cs":
        return REPLACEMENT
    return ascii(ch)[1:-1]


def terminal_safe(text: object) -> str:
    """`text` with every control or line-break character escaped (\\x1b, \\n, \\u2028) and lone surrogates replaced,
    so it prints as one line that cannot move the cursor or fail to encode. Printable text comes back unchanged."""
    value = text if isinstance(text, str) else str(text)
    if value.isprintable():
        return value
    return "".join(ch if ch.isprintable() else _safe_char(ch) for ch in value)
