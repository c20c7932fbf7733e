"""The view of `nsdesign validate`: measured figures per matrix and schedule, then what each column means.

Why its own module: validate reports measurements (real kernels, real precision), not exact figures, and says so
under its table; compact at 80 columns (the measured figures only), --wide adds every column.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from rich import box
from rich.table import Table

from nsdesign.cli.views.common import SafeConsole, console, is_wide, lines

COLUMNS = ("matrix", "shape", "schedule", "steps", "in band", "σ out min", "median", "max",
           "band err", "exact F", "mixing", "polar err", "ms/call")
# By default (80 columns): the measured figures only, one space apart; --wide: every column.
COMPACT = ("schedule", "σ out min", "max", "band err", "polar err")  # each matrix heads its rows
LABELS = {"σ out min": " σ min", "max": " σ max", "band err": " band err", "polar err": " polar err"}


def _measured(value: Any, digits: int = 3) -> str:
    """A measured figure: 3 significant digits, '—' when absent, inf/nan spelled out."""
    if value is None:
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("nan" if math.isnan(value) else "-inf")
    return f"{value:.{digits}g}"


def validation_report(report: Any, written_to: str | None) -> None:
    """`validate`: measured figures per matrix and schedule (compact at 80 columns; --wide: every column)."""
    wide = is_wide()
    table, cells = _table(report, wide)
    # Wide enough that names never wrap (a pipe or a narrow terminal would otherwise fold them).
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(COLUMNS)]
    # --wide: wide enough that no cell wraps; by default the terminal's width (rich wraps cells to fit).
    out = SafeConsole(width=max(console().width, sum(widths) + 3 * len(COLUMNS) + 1), highlight=False,
                      markup=False) if wide else console()
    out.print(table)
    say = lines(out)
    if not wide:
        say("--wide adds shape, steps, σ in band, median, exact F, mixing and ms/call")
    _notes(say, report)
    if written_to:
        say(f"wrote {written_to}")


def _table(report: Any, wide: bool) -> tuple[Table, list[list[str]]]:
    """The table (a section per matrix) and every row's cells in COLUMNS order (for the --wide width)."""
    title = (
        f"validate: {report.dtype}, {report.form} form, {report.settings.get('device_name', report.device)}; "
        f"band σ/‖G‖_F ≥ {report.min_sigma:g}"
    )
    shown = COLUMNS if wide else COMPACT
    if wide:
        table = Table(title=title, title_justify="left")
    else:
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 0), collapse_padding=True,
                      pad_edge=False)
    for column in shown:
        label = column if wide else LABELS.get(column, column)
        table.add_column(label, justify="left" if column in ("matrix", "schedule") else "right", no_wrap=True)
    cells: list[list[str]] = []
    previous = None
    for row in report.rows:
        if previous is not None and row.matrix != previous:
            table.add_section()
        cells.append(_cells(row, previous))
        if not wide and row.matrix != previous:
            table.add_row(f"{row.matrix} ({row.shape[0]}x{row.shape[1]})", *[""] * (len(shown) - 1))
        table.add_row(*[("  " if not wide and name == "schedule" else "") + c
                        for c, name in zip(cells[-1], COLUMNS) if name in shown])
        previous = row.matrix
    return table, cells


def _cells(row: Any, previous: str | None) -> list[str]:
    """One row's cells in COLUMNS order (the matrix name only on its first row)."""
    quantiles = dict(zip((0.1, 0.25, 0.5, 0.75, 0.9), row.sigma_out_quantiles))
    shape = f"{row.shape[0]}x{row.shape[1]}"
    if row.block is not None and row.blocks > 1:  # run per head/shard: each block normalized alone
        shape += f", {row.blocks} blocks of {row.block[0]}x{row.block[1]}"
    return [
        row.matrix if row.matrix != previous else "",
        shape,
        row.schedule + (" DIVERGED" if row.diverged else ""),
        str(row.steps),
        f"{row.band_count}/{row.rank}",
        _measured(row.sigma_out_min),
        _measured(quantiles[0.5]),
        _measured(row.sigma_out_max),
        _measured(row.band_error),
        _measured(row.band_error_exact),
        _measured(row.mixing),
        _measured(row.polar_error),
        _measured(row.time_ms, 4),
    ]


def _notes(say: Callable[..., None], report: Any) -> None:
    """The run's notes, the per-block and normalized bands, and what each column measures."""
    for note in report.notes:
        say(f"note: {note}")
    for matrix, r in {r.matrix: r for r in report.rows if r.block is not None and r.blocks > 1}.items():
        say(f"{matrix}: run as {r.blocks} blocks of {r.block[0]}x{r.block[1]}, each normalized alone; "
            "the figures pool their directions")
    normalized = [r for r in report.rows if r.norm_sigma_max is not None]
    if normalized:
        say(f"normalized band per matrix ({report.settings.get('normalizer')}), [σ of the band's edge, σ_max]:")
        seen = set()
        for r in normalized:
            if r.matrix not in seen:
                seen.add(r.matrix)
                say(f"  {r.matrix}: [{_measured(r.norm_sigma_band_min, 4)}, {_measured(r.norm_sigma_max, 4)}]")
        say("exact F is on the normalized σ of the band's directions; polar err is against polar(G) of the "
            "original matrix (for aol this includes its bias).")
    say(
        "σ in Frobenius-normalized units. band err = max over input directions in the band of |1 − uᵢᵀYvᵢ| "
        "(measured); exact F = the same for the float64 scalar map; mixing = ‖Y − U·diag(uᵢᵀYvᵢ)·Vᵀ‖/√r; "
        "polar err = ‖Y − UVᵀ‖/√r; median = descending-rank q0.5 of σ(Y)."
    )
