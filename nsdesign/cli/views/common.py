"""What every view shares: the --wide switch, a console fitted to the terminal, a prose-line printer and the
steps table of a schedule.

Why one module: each view decides its own table, but the width rule (80 columns when piped, at least
WIDE_COLUMNS with --wide), the refusal to read user text as markup, and the wrapping of prose lines must be the
same in every command; views import these names and never each other's private helpers.
"""

from __future__ import annotations

import shutil
import textwrap
from typing import TYPE_CHECKING, Any, Callable, Sequence

from rich import box
from rich.console import Console
from rich.table import Table

from nsdesign.cli._text import terminal_safe

if TYPE_CHECKING:
    from nsdesign.core.metrics import Metrics
    from nsdesign.core.schedule import Schedule

# `--wide` (every command has it): full-precision cells and at least this many columns, for logs and wide terminals.
WIDE_COLUMNS = 200
_wide = False


def set_wide(wide: bool) -> None:
    """Called once by `nsdesign.cli.main` from the command's `--wide` flag."""
    global _wide
    _wide = bool(wide)


def is_wide() -> bool:
    return _wide


def width() -> int:
    """The terminal's width ($COLUMNS when set; 80 when piped), or at least WIDE_COLUMNS with --wide."""
    columns = shutil.get_terminal_size((80, 24)).columns
    return max(columns, WIDE_COLUMNS) if _wide else columns


class SafeConsole(Console):
    """A rich Console that prints user text as text: every string it renders (titles, cells, lines) passes through
    `terminal_safe` (no ANSI escapes, no lone surrogates) and is not read as markup, so a name such as '[/x]' is
    shown as typed instead of raising rich's MarkupError."""

    def render_str(self, text: str, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().render_str(terminal_safe(text), **kwargs)


def console() -> Console:
    # By default everything fits the terminal (80 columns when piped): compact cells, rich wraps the rest.
    return SafeConsole(width=width(), highlight=False, markup=False)


def coef(value: float) -> str:
    """Coefficients: 7 significant digits in the compact table (the schedule file keeps every digit), 12 with --wide."""
    return f"{value:.12g}" if _wide else f"{value:.7g}"


def steps_table(schedule: Schedule, metrics: Metrics, title: str) -> Table:
    """One row per step: its degree, coefficients and the exact range of σ after it."""
    width = max(5, schedule.degree)
    # Up to quintic steps the boxed table fits 80 columns; with more coefficient columns (degree ≥ 7) the compact
    # form drops the box lines and a digit, so a degree-9 step still fits without a cell wrapping.
    compact = not _wide and width > 5
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
                  padding=(0, 0) if compact else (0, 1), pad_edge=not compact)
    table.add_column("step", justify="right", no_wrap=True)
    table.add_column("deg", justify="right", no_wrap=True)
    for j in range((width + 1) // 2):
        table.add_column(f"x^{2 * j + 1}", justify="right", no_wrap=True)
    table.add_column("range after step (exact)" if _wide else "range after step", justify="left", no_wrap=True)
    digits = 6 if _wide else 5
    cell = (lambda c: f"{c:.6g}") if compact else coef
    for i, (p, (lo, hi)) in enumerate(zip(schedule.steps, metrics.intervals)):
        table.add_row(str(i + 1), str(p.degree), *[cell(c) for c in p.padded(width)],
                      f"[{lo:.{digits}g}, {hi:.{digits}g}]")
    return table


def print_table(out: Console, table: Table, footnotes: Sequence[str]) -> None:
    out.print(table)
    for line in footnotes:
        out.print(line)


def lines(out: Console) -> Callable[..., None]:
    """A printer of plain lines: the first of each call as given, the others indented by two; each wrapped at
    spaces to the console's width, so prose lines break where a reader expects instead of where rich cuts."""
    limit = out.width if _wide else min(out.width, 80)  # prose stays readable on a wide terminal too

    def say(first: str, *more: str) -> None:
        for k, text in enumerate((first, *more)):
            indent = "" if k == 0 else "  "
            lead = indent + " " * (len(text) - len(text.lstrip(" ")))  # a line's own indentation is kept
            for line in textwrap.wrap(text.strip(" "), max(40, limit - 1), initial_indent=lead,
                                      subsequent_indent=lead + "  ", break_on_hyphens=False,
                                      break_long_words=False) or [""]:
                out.print(line, soft_wrap=True, markup=False, highlight=False)

    return say
