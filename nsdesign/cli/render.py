"""Terminal rendering of results (rich tables). Presentation only: no computation happens here."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Sequence

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from nsdesign.core.metrics import Metrics
    from nsdesign.core.schedule import Schedule
    from nsdesign.design.recommend import Recommendation
    from nsdesign.presets import Preset


def console() -> Console:
    # Wide enough for coefficient tables when piped (rich would otherwise assume 80 columns).
    width = max(shutil.get_terminal_size((140, 40)).columns, 140)
    return Console(width=width, highlight=False)


def _g(value: float | None, digits: int = 6) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}g}"


def _flops(value: float | None) -> str:
    return "—" if value is None else f"{value / 1e9:.4g} GFLOP"


def _steps_table(schedule: Schedule, metrics: Metrics, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("step", justify="right")
    table.add_column("deg", justify="right")
    width = max(5, schedule.degree)
    for j in range((width + 1) // 2):
        table.add_column(f"x^{2 * j + 1}", justify="right")
    table.add_column("range after step (exact)", justify="left")
    for i, (p, (lo, hi)) in enumerate(zip(schedule.steps, metrics.intervals)):
        table.add_row(str(i + 1), str(p.degree), *[f"{c:.12g}" for c in p.padded(width)], f"[{lo:.6g}, {hi:.6g}]")
    return table


# Above this, a σ slightly past the band edge (or a rounding error) is amplified instead of pulled back to 1;
# every published preset meant for bf16 stays below 1.21 (keller5 1.202).
OVERSHOOT_WARNING = 1.5


def _summary(schedule: Schedule, metrics: Metrics, advise: bool = True) -> list[str]:
    lines = [
        f"band [{metrics.min_sigma:g}, {metrics.max_sigma:g}]  norm_div {schedule.norm_div}  "
        f"steps {schedule.num_steps}  matmuls {metrics.matmuls}",
        f"worst-case error max|1−F| = {metrics.worst_error:.6g}   F on band ∈ [{metrics.f_min:.6g}, {metrics.f_max:.6g}]",
        f"overshoot max F on [0, {metrics.max_sigma * (1 + metrics.headroom):g}] = {metrics.overshoot:.6g}   "
        f"slope at 0 = {metrics.slope_at_zero:.6g}",
    ]
    if metrics.tol is not None:
        lines.append(f"smallest σ captured at δ={metrics.tol:g}: {_g(metrics.captured_min_sigma)}")
    if metrics.shape is not None:
        m, n = metrics.shape
        lines.append(
            f"FLOPs on {m}x{n}: standard {_flops(metrics.flops_standard)}, Gram {_flops(metrics.flops_gram)}"
        )
    if metrics.sign_flip_steps:
        lines.append(f"WARNING: some σ in the band turn negative after steps {[i + 1 for i in metrics.sign_flip_steps]}")
    if advise and not metrics.overshoot <= OVERSHOOT_WARNING:
        lines.append(
            f"WARNING: F reaches {metrics.overshoot:.3g} just above the band: no headroom for σ above "
            f"{metrics.max_sigma:g} or for bf16 rounding (designs: add --safety 1.02 --cushion 0.02, "
            "or search with --objective bf16)"
        )
    return lines


def _metrics_table(names: Sequence[str], schedules: Sequence[Schedule], rows: Sequence[Metrics], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("schedule", "steps", "matmuls", "norm_div", "max|1−F|", "min F", "max F", "overshoot"):
        table.add_column(column, justify="left" if column == "schedule" else "right")
    with_tol = any(m.tol is not None for m in rows)
    with_shape = any(m.shape is not None for m in rows)
    if with_tol:
        table.add_column(f"σ captured at δ={rows[0].tol:g}", justify="right")
    if with_shape:
        table.add_column("GFLOP", justify="right")
    table.add_column("notes")
    for name, schedule, m in zip(names, schedules, rows):
        cells = [
            name,
            str(schedule.num_steps),
            str(m.matmuls),
            str(schedule.norm_div),
            f"{m.worst_error:.4g}",
            f"{m.f_min:.4g}",
            f"{m.f_max:.4g}",
            f"{m.overshoot:.4g}",
        ]
        if with_tol:
            cells.append(_g(m.captured_min_sigma, 4))
        if with_shape:
            cells.append(f"{(m.flops_standard or 0) / 1e9:.4g}")
        notes = []
        if m.sign_flip_steps:
            notes.append("sign flip")
        if schedule.norm_div is None:
            notes.append("AOL scaling")
        cells.append(", ".join(notes))
        table.add_row(*cells)
    return table


def recommendation(result: Recommendation, written_to: str | None = None) -> None:
    out = console()
    schedule, metrics = result.schedule, result.metrics
    source = result.params.get("band_source")
    if result.safe is None:
        certified = "certified optimal (de la Vallée Poussin bracket closed at every step)" if result.design.certified else "NOT certified"
        title = f"Greedy minimax schedule — {certified}"
    else:
        knobs = f"cushion {result.params['cushion']:g}, safety {result.params['safety']:g}"
        certified = "certified optimal for its inflated design problem" if result.design.certified else "NOT certified"
        title = f"Safe default ({knobs}) — {certified}"
    out.print(_steps_table(schedule, metrics, title))
    if source:
        out.print(f"band edge from {source}")
    for line in _summary(schedule, metrics, advise=result.safe is None):
        out.print(line)
    if result.safe is not None:
        for line in _safe_lines(result):
            out.print(line)
    from nsdesign.presets import preset

    presets = [preset(n) for n in result.preset_names]
    out.print(_metrics_table(result.preset_names, presets, result.presets, "Published presets on the same band"))
    if written_to:
        out.print(f"wrote {written_to}")


def _safe_lines(result: Recommendation) -> list[str]:
    """What the safe default was checked for, and where the bare optimum is (fits 80 columns)."""
    safe = result.safe
    assert safe is not None
    exact, model = safe.checks
    ok = "passed" if safe.passed else "NOT passed"
    m, n = model.shape or (0, 0)
    lines = [
        f"safe default, {ok}: exact max F on [0, {exact.guard_sigma:g}] = {exact.value:.4g} (limit {exact.limit:g})",
        f"  {model.dtype} {model.kernel} kernel, rounding model on {m}x{n}, σ ≤ {model.guard_sigma:g}: "
        f"σ_max {model.value:.4g} (limit {model.limit:g})",
        "  the bare optimum of the band (no headroom above it): add --exact",
    ]
    if not safe.passed:
        more = f"--steps {safe.suggested_steps} passes" if safe.suggested_steps else "more steps or a narrower band"
        lines.append(f"WARNING: no {result.schedule.num_steps}-step design passes: {more}")
    return lines


def evaluation(schedule: Schedule, metrics: Metrics) -> None:
    out = console()
    out.print(_steps_table(schedule, metrics, schedule.name or "schedule"))
    for line in _summary(schedule, metrics):
        out.print(line)


def comparison(names: Sequence[str], schedules: Sequence[Schedule], rows: Sequence[Metrics]) -> None:
    console().print(_metrics_table(names, schedules, rows, f"Band [{rows[0].min_sigma:g}, {rows[0].max_sigma:g}]"))


def preset(info: Preset) -> None:
    from nsdesign.core.metrics import evaluate

    out = console()
    metrics = evaluate(info.schedule, 1e-3, 1.0)
    out.print(_steps_table(info.schedule, metrics, f"{info.name} (on the reference band [1e-3, 1])"))
    out.print(f"norm_div {info.schedule.norm_div}, extension {info.schedule.extension}")
    out.print(f"source: {info.source}")
    out.print(f"note: {info.note}")


def preset_table(infos: Sequence[Preset]) -> None:
    table = Table(title="Published Newton–Schulz schedules", title_justify="left")
    for column in ("name", "steps", "degree", "norm_div", "extension", "source"):
        table.add_column(column)
    for info in infos:
        s = info.schedule
        table.add_row(info.name, str(s.num_steps), str(s.degree), str(s.norm_div), s.extension, info.source)
    console().print(table)
