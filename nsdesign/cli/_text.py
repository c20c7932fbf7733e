"""Terminal-safe text: the one sanitizer for anything a user or a file supplied that the CLI prints.

A schedule name, a title or a path comes from a file or an argument and may hold control characters: an ANSI
escape such as '\\x1b[2J' clears the screen, '\\r' overwrites the line, a newline forges a second output line.
A lone surrogate ('\\ud800', which JSON's '\\ud800' escape produces) cannot be encoded as UTF-8 at all, so
printing it raises UnicodeEncodeError. `terminal_safe` makes any such text printable and one line.
"""

from __future__ import annotations

import re
import unicodedata

from rich.cells import cell_len

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


ERROR_PREFIX = "nsdesign: error: "
ERROR_WIDTH = 80
"""An error is one line of at most 80 columns, its prefix included."""

_QUOTED = re.compile(r"(?<!\w)'((?:[^'\\\n]|\\.){13,}?)'(?!\w)|(?<!\w)\"((?:[^\"\\\n]|\\.){13,}?)\"(?!\w)")  # an echoed value (not "fp32's")
_LONG_TOKEN = re.compile(r"(?<![\w'\"`])([^\s'\"`]{25,})")  # a long path or word that is not quoted
_NO_LISTING = re.compile(r" ?[\w ]+: …, (see [^;]*)$| \([\w ]+: …\)$")  # a listing cut to "…" alone
_POINTER = re.compile(r" \(see `[^`]*`\)$")  # a closing "(see `nsdesign search --help`)"
_LIST = re.compile(r"(?:[^\s,;()]+, )+[^\s,;()]+(?=[;),]| \(|$)")  # a listing: comma-separated names (and "…")


def fit_error(message: str, width: int = ERROR_WIDTH - len(ERROR_PREFIX)) -> str:
    """An error message shortened to `width` columns with as little lost as possible, one step at a time until it
    fits: echoed values and long paths shortened with "…" (a 300-character argument), argparse's "argument " prefix
    dropped, a trailing "(see `…`)" pointer dropped (a short listing then stays whole), listings cut to their first
    name and "…", listings cut to "…"
    alone (what follows says where to see them: "…, see `nsdesign presets`"), then the pointer alone. Prose is never cut: a message still
    too long after these steps is too long at its source and is printed whole (benchmarks/adversarial_run.py
    lists them)."""
    text = terminal_safe(message)
    steps = (_shorten_values, lambda t: t.removeprefix("argument "), lambda t: _POINTER.sub("", t),
             lambda t: _shorten_lists(t, width, 1), lambda t: _shorten_lists(t, width, 0),
             lambda t: _NO_LISTING.sub(_pointer_only, t))
    for step in steps:
        if _columns(text) <= width:
            break
        text = step(text)
    return text


def _pointer_only(match: re.Match[str]) -> str:
    """A listing cut to "…" alone gives way to its pointer ("see `…`"), keeping the space before it if any."""
    if match.group(1) is None:
        return ""
    return (" " if match.group(0).startswith(" ") else "") + match.group(1)


def _columns(text: str) -> int:
    return cell_len(text)


def _shorten_values(text: str) -> str:
    def quoted(match: re.Match[str]) -> str:
        value, quote = (match.group(1), "'") if match.group(1) is not None else (match.group(2), '"')
        return f"{quote}{value[:8]}…{value[-3:]}{quote}"

    text = _QUOTED.sub(quoted, text)
    return _LONG_TOKEN.sub(lambda m: f"{m.group(1)[:6]}…{m.group(1)[-14:]}", text)  # a path keeps its name


def _shorten_lists(text: str, width: int, keep: int) -> str:
    """The longest listing cut to as many leading names as fit (at least `keep`), then "…" (once)."""
    listings = sorted(_LIST.finditer(text), key=lambda m: len(m.group(0)), reverse=True)
    if not listings:
        return text
    match = listings[0]
    names = [name for name in match.group(0).split(", ") if name != "…"]
    excess = _columns(text) - width
    while len(names) > keep and len(", ".join([*names, "…"])) > len(match.group(0)) - excess:
        names.pop()
    return text[: match.start()] + ", ".join([*names, "…"]) + text[match.end():]
