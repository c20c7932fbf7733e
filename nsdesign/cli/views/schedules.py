"""Views of schedules measured on a band: `evaluate` (one schedule), `compare` (a table of them), `presets` (the
list, or one), and the summary lines and metrics table that `search` reuses under its design.

Why together: the four commands show the same exact metrics (core.metrics.Metrics) with the same footnotes and
legend, so a number means the same thing wherever it is printed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

from rich import box
from rich.table import Table

from nsdesign.cli.export_commands import next_lines
from nsdesign.cli.views.common import console, is_wide, lines, print_table, steps_table
from nsdesign.core.limits import OVERSHOOT_WARNING  # the warning threshold; a rule, not presentation
from nsdesign.design.safe import MAX_OVERSHOOT as GUARD_OVERSHOOT  # the safe default's guard

if TYPE_CHECKING:
    from nsdesign.core.metrics import Metrics
    from nsdesign.core.schedule import Schedule
    from nsdesign.presets import Preset

# Footnotes for the cells a newcomer cannot read unaided; printed under a table only when the mark appears in it.
FOOTNOTES = {
    "inf": "inf overshoot: F overflows just above the band (no headroom; diverges in bf16)",
    "None": "div None: a list for AOL row scaling; its figures here assume Frobenius",
    "—": "σ@δ —: no σ in the band gets within δ of 1",
    "flip": "flip: some σ in the band turn negative after a step",
    "beaten": "◂: the designed schedule beats it (smaller max|1−F|, no more matmuls)",
    "unsafe": "unsafe: max F above the band exceeds 1.25: can blow up in bf16, do not paste",
}
# One line under every compact table: what each short column means.
LEGEND = "k steps · mm matmuls · div input divisor · over: max F on [0, 1.02·top]"


def _g(value: float | None, digits: int = 6) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}g}"


def _flops(value: float | None) -> str:
    return "—" if value is None else f"{value / 1e9:.4g} GFLOP"


def summary(schedule: Schedule, metrics: Metrics, advise: bool = True) -> list[str]:
    """The schedule's exact figures on its band, as lines; `advise`: warn when F overshoots above the band."""
    said = [
        f"band [{metrics.min_sigma:g}, {metrics.max_sigma:g}]  norm_div {schedule.norm_div}  "
        f"steps {schedule.num_steps}  matmuls {metrics.matmuls}",
        f"worst-case error max|1−F| = {metrics.worst_error:.6g}   F on band ∈ [{metrics.f_min:.6g}, {metrics.f_max:.6g}]",
        f"overshoot max F on [0, {metrics.max_sigma * (1 + metrics.headroom):g}] = {metrics.overshoot:.6g}   "
        f"slope at 0 = {metrics.slope_at_zero:.6g}",
    ]
    if metrics.tol is not None:
        said.append(f"smallest σ captured at δ={metrics.tol:g}: {_g(metrics.captured_min_sigma)}")
    if metrics.shape is not None:
        m, n = metrics.shape
        said.append(
            f"FLOPs on {m}x{n}: standard {_flops(metrics.flops_standard)}, Gram {_flops(metrics.flops_gram)}"
        )
    if metrics.sign_flip_steps:
        said.append(f"WARNING: some σ in the band turn negative after steps {[i + 1 for i in metrics.sign_flip_steps]}")
    if advise and not metrics.overshoot <= OVERSHOOT_WARNING:
        said.append(
            f"WARNING: F reaches {metrics.overshoot:.3g} just above the band: no headroom for σ above "
            f"{metrics.max_sigma:g} or for bf16 rounding (designs: add --safety 1.02 --cushion 0.02, "
            "or search with --objective bf16)"
        )
    return said


def metrics_table(
    names: Sequence[str], schedules: Sequence[Schedule], rows: Sequence[Metrics], title: str,
    beaten: Sequence[bool] | None = None,
) -> tuple[Table, list[str]]:
    """The comparison table and the footnotes its odd cells need.

    Compact by default (fits 80 columns: one space between columns, no min F/max F); --wide adds the columns
    and full-precision cells. Names never wrap.
    """
    wide = is_wide()
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD if not wide else box.HEAVY_HEAD,
                  padding=(0, 1) if wide else (0, 0), collapse_padding=not wide, pad_edge=False)
    table.add_column("schedule", no_wrap=True)
    heads = ("steps", "matmuls", "norm_div", "max|1−F|", "min F", "max F", "overshoot") if wide else (
        "k", "mm", "div", " max|1−F|", " over")
    for column in heads:
        table.add_column(column, justify="right", no_wrap=True)
    with_tol = any(m.tol is not None for m in rows)
    with_shape = any(m.shape is not None for m in rows)
    if with_tol:
        table.add_column(f"σ captured at δ={rows[0].tol:g}" if wide else f" σ@δ={rows[0].tol:g}", justify="right",
                         no_wrap=True)
    if with_shape:
        table.add_column("GFLOP" if wide else " GFLOP", justify="right", no_wrap=True)
    table.add_column(" notes")
    marks: set[str] = set()
    for i, (name, schedule, m) in enumerate(zip(names, schedules, rows)):
        cells = _metrics_cells(name, schedule, m, wide, with_tol, with_shape, marks)
        cells.append(" " + ", ".join(_notes(schedule, m, beaten is not None and beaten[i], marks)))
        table.add_row(*cells)
    footnotes = [FOOTNOTES[k] for k in FOOTNOTES if k in marks]
    return table, footnotes if wide else [LEGEND, *footnotes]


def _metrics_cells(
    name: str, schedule: Schedule, m: Metrics, wide: bool, with_tol: bool, with_shape: bool, marks: set[str]
) -> list[str]:
    """One row's figures; the footnote marks its odd cells need are added to `marks`."""
    digits = 4 if wide else 3
    cells = [name, str(schedule.num_steps), str(m.matmuls), str(schedule.norm_div), f"{m.worst_error:.{digits}g}"]
    if wide:
        cells += [f"{m.f_min:.4g}", f"{m.f_max:.4g}"]
    cells.append(f"{m.overshoot:.{digits}g}")
    if math.isinf(m.overshoot):
        marks.add("inf")
    if schedule.norm_div is None:
        marks.add("None")
    if with_tol:
        cells.append(_g(m.captured_min_sigma, 4 if wide else 3))
        if m.captured_min_sigma is None:
            marks.add("—")
    if with_shape:
        cells.append(f"{(m.flops_standard or 0) / 1e9:.4g}")
    return cells


def _notes(schedule: Schedule, m: Metrics, beaten: bool, marks: set[str]) -> list[str]:
    """The notes column of one row (◂, flip, unsafe, AOL); their footnote marks are added to `marks`."""
    notes = []
    if beaten:
        notes.append("◂")
        marks.add("beaten")
    if m.sign_flip_steps:
        notes.append("flip")
        marks.add("flip")
    if not m.overshoot <= GUARD_OVERSHOOT:
        notes.append("unsafe")
        marks.add("unsafe")
    if schedule.norm_div is None:
        notes.append("AOL")
    return notes


def beaten(designed: Metrics, rows: Sequence[Metrics]) -> list[bool]:
    """Presets the designed schedule beats: smaller worst-case error at no more matmuls."""
    return [designed.matmuls <= m.matmuls and designed.worst_error < m.worst_error for m in rows]


def evaluation(schedule: Schedule, metrics: Metrics) -> None:
    """`evaluate`: the steps table and the summary lines."""
    out = console()
    out.print(steps_table(schedule, metrics, schedule.name or "schedule"))
    say = lines(out)
    for line in summary(schedule, metrics):
        say(line)


def comparison(names: Sequence[str], schedules: Sequence[Schedule], rows: Sequence[Metrics], note: str = "") -> None:
    """`compare`: one row per schedule on the same band."""
    title = f"Band [{rows[0].min_sigma:g}, {rows[0].max_sigma:g}]{note}"
    table, footnotes = metrics_table(names, schedules, rows, title)
    print_table(console(), table, footnotes)


def evaluation_next(reference: str, schedule: Schedule, metrics: Metrics) -> list[str]:
    """What to run after `evaluate REF`: the export that works for it, and the presets beside it on this band."""
    band = f"--min-sigma {metrics.min_sigma:g}" + (f" --max-sigma {metrics.max_sigma:g}" if metrics.max_sigma != 1 else "")
    other = "keller5" if reference != "keller5" else "polar_express_modded5"
    compare = f"      nsdesign compare {reference} {other} {band}"
    return [*next_lines(schedule, reference), compare + ("  (beside a preset)" if len(compare) <= 62 else "")]


def comparison_next(references: Sequence[str], schedules: Sequence[Schedule], rows: Sequence[Metrics]) -> list[str]:
    """What to run after `compare`: export the most accurate row that is safe above the band (the `unsafe` rule of
    the table), or design one when none is."""
    safe = [i for i, m in enumerate(rows) if m.overshoot <= GUARD_OVERSHOOT and not m.sign_flip_steps]
    if not safe:
        return [f"next: none is safe above the band; nsdesign search --min-sigma {rows[0].min_sigma:g} designs one"]
    best = min(safe, key=lambda i: (rows[i].worst_error, rows[i].matmuls))
    said = next_lines(schedules[best], references[best])
    return [f"next: {references[best]} is the most accurate safe row:", "      " + said[0][len("next: "):], *said[1:]]


def preset(info: Preset, metrics: Metrics) -> None:
    """One preset with its steps' exact ranges on the band `metrics` was measured on."""
    out = console()
    band = f"[{metrics.min_sigma:g}, {metrics.max_sigma:g}]"
    out.print(steps_table(info.schedule, metrics, f"{info.name} (on the reference band {band})"))
    say = lines(out)
    say(f"norm_div {info.schedule.norm_div}, extension {info.schedule.extension}")
    say(f"source: {info.source}")
    say(f"note: {info.note}")


def preset_table(infos: Sequence[Preset]) -> None:
    """`presets`: the published schedules (--wide adds their sources)."""
    wide = is_wide()
    table = Table(title="Published Newton–Schulz schedules", title_justify="left")
    columns = ("name", "steps", "degree", "norm_div", "extension") + (("source",) if wide else ())
    for column in columns:
        table.add_column(column, no_wrap=column != "source")
    for info in infos:
        s = info.schedule
        cells = [info.name, str(s.num_steps), str(s.degree), str(s.norm_div), s.extension]
        table.add_row(*cells, *([info.source] if wide else []))
    out = console()
    out.print(table)
    if not wide:
        out.print("sources: nsdesign presets show NAME, or nsdesign presets --wide")
