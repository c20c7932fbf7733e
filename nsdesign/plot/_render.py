"""Figure plumbing shared by every plot: headless figures, a fixed palette, atomic PNG/SVG writing.

Figures are built with `matplotlib.figure.Figure` directly (never pyplot), so nothing depends on the
process's backend or display: the same code runs in a terminal, in CI and inside a notebook.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Sequence

from matplotlib.figure import Figure

from nsdesign._files import write_bytes_atomic
from nsdesign.errors import InputError

FORMATS: tuple[str, ...] = ("png", "svg")
BAND_COLOR = "#fbe8b4"  # the design band [min σ, max σ]: opaque, drawn under everything (tests look for it)
TOLERANCE_COLOR = "#dfe9f5"  # the target strip 1 ± tol
PALETTE: tuple[str, ...] = (
    "#1f5fa8",  # blue
    "#d1495b",  # red
    "#2a9d55",  # green
    "#7b3fa0",  # purple
    "#e07b00",  # orange
    "#00838f",  # teal
    "#6d4c41",  # brown
    "#c2185b",  # pink
    "#455a64",  # slate
    "#9e9d24",  # olive
)
DEFAULT_DPI = 120
DEFAULT_SIZE = (10.0, 4.2)  # inches


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def new_figure(size: Sequence[float] | None = None, dpi: int = DEFAULT_DPI) -> Figure:
    width, height = size or DEFAULT_SIZE
    if not (0.5 <= width <= 40 and 0.5 <= height <= 40):
        raise InputError(f"figure size must be from 0.5 to 40 inches per side, got {width}x{height}")
    if not 30 <= dpi <= 600:
        raise InputError(f"dpi must be from 30 to 600, got {dpi}")
    return Figure(figsize=(width, height), dpi=dpi, layout="constrained")


def style_axes(ax: Any) -> None:
    ax.grid(True, which="major", color="#d9d9d9", linewidth=0.6)
    ax.grid(True, which="minor", color="#eeeeee", linewidth=0.4)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def shade_band(ax: Any, lo: float, hi: float, label: str | None = "band") -> None:
    ax.axvspan(lo, hi, color=BAND_COLOR, alpha=1.0, linewidth=0, zorder=0, label=label)


def output_format(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise InputError(f"output must end in .png or .svg, got {str(path)!r}")
    return suffix


def figure_bytes(figure: Figure, fmt: str = "png") -> bytes:
    if fmt not in FORMATS:
        raise InputError(f"format must be png or svg, got {fmt!r}")
    _check_texts(figure)
    buffer = io.BytesIO()
    metadata = {"Software": None} if fmt == "png" else {"Date": None}  # reproducible bytes
    figure.savefig(buffer, format=fmt, dpi=figure.dpi, metadata=metadata)
    return buffer.getvalue()


def _check_texts(figure: Figure) -> None:
    """Every text of the figure drawable: a lone surrogate (which the font engine refuses with a TypeError) becomes
    U+FFFD, and a title with bad mathtext ('$x^$', an unknown command) is an InputError naming it, not a parser
    traceback from inside savefig."""
    from matplotlib.mathtext import MathTextParser
    from matplotlib.text import Text

    parser = MathTextParser("path")
    for item in figure.findobj(Text):
        text = item.get_text()
        if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
            text = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
            item.set_text(text)
        if text.replace("\\$", "").count("$") >= 2 and item.get_usetex() is False:
            try:
                parser.parse(text)
            except ValueError:
                raise InputError(f"title {text[:12]!r} is not mathtext; write a literal $ as \\$") from None


def save_figure(figure: Figure, path: str | os.PathLike[str]) -> Path:
    """Write the figure as PNG or SVG (chosen by the suffix), atomically."""
    return write_bytes_atomic(path, figure_bytes(figure, output_format(path)))


def plain_log_ticks(axis: Any) -> None:
    """Log-axis tick labels written as plain numbers (20, 50, 100) instead of 2×10¹."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def place_labels(ax: Any, points: Sequence[tuple[float, float, str]], fontsize: float = 6.5) -> None:
    """Annotate data points with short texts, pushing a label down until it overlaps no earlier one."""
    fig = ax.figure
    fig.canvas.draw()  # fixes the layout so data → pixel transforms are final
    to_pixels = ax.transData.transform
    char = fontsize * 0.6 * fig.dpi / 72.0
    line = fontsize * 1.3 * fig.dpi / 72.0
    placed: list[tuple[float, float, float]] = []  # x0, x1, y (pixels)
    for x, y, text in sorted(points, key=lambda p: (p[0], -p[1])):
        px, py = to_pixels((x, y))
        x0, x1 = px + 4, px + 4 + char * len(text)
        dy = 0.0
        while any(a < x1 and x0 < b and abs((py - dy) - c) < line for a, b, c in placed):
            dy += line
        placed.append((x0, x1, py - dy))
        ax.annotate(text, (x, y), textcoords="offset pixels", xytext=(4, 2 - dy), fontsize=fontsize,
                    color="#333333", arrowprops=None if dy == 0 else {"arrowstyle": "-", "color": "#aaaaaa",
                                                                       "linewidth": 0.5})
