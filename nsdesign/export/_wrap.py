"""Generated Python code that fits 79 columns (PEP 8's limit), without changing what it does.

The writers build their text from long descriptive lines (provenance, extension rules, coefficient rows with a
comment). Rather than hand-wrap every template, `fit_python` reflows the finished source with the tokenizer, so
only comments and the text of triple-quoted strings move and every other token is untouched:

* a comment line too long is rewrapped into several comment lines with the same indentation;
* a trailing comment that pushes its code line past the limit moves onto its own line just above it;
* a docstring paragraph with a line too long is rewrapped at spaces, keeping its indentation (a line break at
  a space changes only the docstring's layout); indented example lines keep their layout.

What cannot be wrapped without changing the code (a single word or token longer than the limit) is left as it
is; the writers keep their code lines short themselves.
"""

from __future__ import annotations

import io
import re
import textwrap
import tokenize

WIDTH = 79

# A docstring line that starts a field of its own ("Extension: …", "Provenance: …"): never joined to the line
# above when a paragraph is rewrapped.
FIELD = re.compile(r"^[A-Z][\w ()-]{0,30}: ")


def fit_python(source: str, width: int = WIDTH) -> str:
    """`source` with its comments and docstring prose wrapped to `width` columns (other tokens unchanged)."""
    if all(len(line) <= width for line in source.splitlines()):
        return source
    lines = source.splitlines(keepends=True)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):  # not Python: leave it alone
        return source
    replace: dict[int, str] = {}  # line number (1-based) → the text replacing that whole line
    for token in tokens:
        row, col = token.start
        if token.type == tokenize.COMMENT:
            line = lines[row - 1]
            if len(line.rstrip("\n")) <= width:
                continue
            code = line[:col].rstrip()
            indent = " " * (col if not code else len(line) - len(line.lstrip()))
            parts = _wrap(token.string[1:].strip(), width - len(indent) - 2)
            comment = "".join(f"{indent}# {part}\n" for part in parts)
            replace[row] = comment + (code + "\n" if code else "")
        elif token.type == tokenize.STRING and token.string.lstrip("rRbBuUfF").startswith(('"""', "'''")):
            first, last = token.start[0], token.end[0]
            if not any(len(lines[n - 1].rstrip("\n")) > width for n in range(first, last + 1)):
                continue
            if first == last:
                line = lines[first - 1]
                if not line[:col].strip() and not line[token.end[1]:].strip():  # a one-line docstring
                    replace[first] = _one_line_string(token.string, col, width)
                continue
            replace[first] = _reflow_string(lines[first - 1:last], col, width)
            for n in range(first + 1, last + 1):
                replace[n] = ""
    return "".join(replace.get(i + 1, line) for i, line in enumerate(lines))


def _reflow_string(block: list[str], col: int, width: int) -> str:
    """The lines of a multi-line triple-quoted string (the first holds the opening quotes, the last the closing
    ones) with each paragraph that has a too-long line rewrapped. A paragraph is a run of lines with the same
    indentation, ended by a blank line or a FIELD line; more deeply indented lines (code examples) are kept,
    a trailing `  # comment` that makes one too long moving onto the line above."""
    first = block[0].rstrip("\n")
    quote = first.index(first[col:].lstrip("rRbBuUfF")[:3], col) + 3
    head = first[:quote]
    base = " " * (len(first) - len(first.lstrip()))
    rows = [(base, first[quote:].strip())] + [_split_indent(line.rstrip("\n")) for line in block[1:-1]]
    out: list[str] = []
    unit: list[tuple[str, str]] = []
    pad = len(head) - len(base)  # the summary line shares its line with the opening quotes

    def flush() -> None:
        if unit:
            indent = unit[0][0]
            opening = not out  # the summary paragraph: its first line sits beside the quotes
            widths = [len(i) + len(t) + (pad if opening and k == 0 else 0) for k, (i, t) in enumerate(unit)]
            if max(widths) > width:
                text = " ".join(t for _, t in unit)
                parts = textwrap.wrap(text, max(20, width - len(indent)), initial_indent=" " * pad if opening else "",
                                      break_long_words=False, break_on_hyphens=False)
                out.extend(indent + part.lstrip(" ") if k == 0 else indent + part for k, part in enumerate(parts))
            else:
                out.extend(i + t for i, t in unit)
            unit.clear()

    for indent, text in rows:
        if not text:
            flush()
            out.append("")
        elif len(indent) > len(base):
            flush()
            if len(indent) + len(text) > width and "  # " in text:
                code, comment = text.split("  # ", 1)
                out.extend(f"{indent}# {part}" for part in _wrap(comment.strip(), width - len(indent) - 2))
                out.append(indent + code.rstrip())
            else:
                out.append(indent + text)
        else:
            if unit and (indent != unit[0][0] or FIELD.match(text)):
                flush()
            unit.append((indent, text))
    flush()
    summary = out[0][len(base):] if out[0].startswith(base) else out[0]
    body = [head + summary, *out[1:]]
    return "".join(line.rstrip() + "\n" for line in body) + block[-1]


def _one_line_string(string: str, col: int, width: int) -> str:
    """A one-line docstring too long: its text wrapped, the closing quotes after the last piece."""
    prefix = string[: len(string) - len(string.lstrip("rRbBuUfF"))]
    quotes = string[len(prefix): len(prefix) + 3]
    text = string[len(prefix) + 3: -3]
    indent = " " * col
    parts = _wrap(text, width - col - len(prefix) - 3)
    body = [f"{indent}{prefix}{quotes}{parts[0]}", *(f"{indent}{part}" for part in parts[1:])]
    body[-1] += quotes
    return "".join(line + "\n" for line in body)


def _split_indent(line: str) -> tuple[str, str]:
    stripped = line.lstrip()
    return line[: len(line) - len(stripped)], stripped


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, max(20, width), break_long_words=False, break_on_hyphens=False) or [""]
