"""Terminal rendering of results (rich tables). Presentation only: no computation happens here."""

from __future__ import annotations

import math
import shutil
import sys
from typing import TYPE_CHECKING, Any, Sequence

from rich.console import Console
from rich.table import Table

from nsdesign.cli._text import terminal_safe

if TYPE_CHECKING:
    from nsdesign.core.metrics import Metrics
    from nsdesign.core.schedule import Schedule
    from nsdesign.design.recommend import Recommendation
    from nsdesign.presets import Preset


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


def _console_fn() -> Console:
    return console()


class _SafeConsole(Console):
    """A rich Console that prints user text as text: every string it renders (titles, cells, lines) passes through
    `terminal_safe` (no ANSI escapes, no lone surrogates) and is not read as markup, so a name such as '[/x]' is
    shown as typed instead of raising rich's MarkupError."""

    def render_str(self, text: str, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().render_str(terminal_safe(text), **kwargs)


def console() -> Console:
    # By default everything fits the terminal (80 columns when piped): compact cells, rich wraps the rest.
    return _SafeConsole(width=width(), highlight=False, markup=False)


def _coef(value: float) -> str:
    """Coefficients: 7 significant digits in the compact table (the schedule file keeps every digit), 12 with --wide."""
    return f"{value:.12g}" if _wide else f"{value:.7g}"


def _g(value: float | None, digits: int = 6) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}g}"


def _flops(value: float | None) -> str:
    return "—" if value is None else f"{value / 1e9:.4g} GFLOP"


def _steps_table(schedule: Schedule, metrics: Metrics, title: str) -> Table:
    from rich import box

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
    coef = (lambda c: f"{c:.6g}") if compact else _coef
    for i, (p, (lo, hi)) in enumerate(zip(schedule.steps, metrics.intervals)):
        table.add_row(str(i + 1), str(p.degree), *[coef(c) for c in p.padded(width)],
                      f"[{lo:.{digits}g}, {hi:.{digits}g}]")
    return table


from nsdesign.core.limits import OVERSHOOT_WARNING  # noqa: E402  (the warning threshold; a rule, not presentation)
from nsdesign.design.safe import MAX_OVERSHOOT as GUARD_OVERSHOOT  # noqa: E402  (the safe default's guard)


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


def _metrics_table(
    names: Sequence[str], schedules: Sequence[Schedule], rows: Sequence[Metrics], title: str,
    beaten: Sequence[bool] | None = None,
) -> tuple[Table, list[str]]:
    """The comparison table and the footnotes its odd cells need.

    Compact by default (fits 80 columns: one space between columns, no min F/max F); --wide adds the columns
    and full-precision cells. Names never wrap.
    """
    from rich import box

    wide = _wide
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
    digits = 4 if wide else 3
    marks: set[str] = set()
    for i, (name, schedule, m) in enumerate(zip(names, schedules, rows)):
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
        notes = []
        if beaten is not None and beaten[i]:
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
        cells.append(" " + ", ".join(notes))
        table.add_row(*cells)
    footnotes = [FOOTNOTES[k] for k in FOOTNOTES if k in marks]
    return table, footnotes if wide else [LEGEND, *footnotes]


def _print_table(out: Console, table: Table, footnotes: Sequence[str]) -> None:
    out.print(table)
    for line in footnotes:
        out.print(line)


def _beaten(designed: Metrics, rows: Sequence[Metrics]) -> list[bool]:
    """Presets the designed schedule beats: smaller worst-case error at no more matmuls."""
    return [designed.matmuls <= m.matmuls and designed.worst_error < m.worst_error for m in rows]


# Above this worst-case error the answer is barely an orthogonalization: say what to change.
POOR_ERROR = 0.5


def _next_steps(result: Recommendation, written_to: str | None) -> list[str]:
    """What to run next: save, export, a tolerance; and an actionable warning when the error is poor."""
    metrics = result.metrics
    lines = []
    safe = result.safe
    if safe is not None and not safe.passed:  # one consistent answer: the step count that passes, nothing to export
        fix = f"--steps {safe.suggested_steps}" if safe.suggested_steps else "more --steps or a higher band edge"
        return [f"next: rerun with {fix} (this design fails its checks: do not paste it)"]
    if metrics.worst_error > POOR_ERROR:
        lines.append(
            f"WARNING: max|1−F| = {metrics.worst_error:.3g} on [{metrics.min_sigma:g}, {metrics.max_sigma:g}]: "
            f"{result.schedule.num_steps} steps cannot cover this band; add --tol 0.3 (fewest steps reaching "
            "0.3) or --steps N, or use a higher band edge"
        )
    from nsdesign.cli.export_commands import export_hint

    if written_to:
        hint = export_hint(result.schedule, written_to)
        lines += [f"next: {hint[0]}", *(f"      {line}" for line in hint[1:])]
    else:
        lines.append("next: add -o schedule.json to save it, then")
        lines += [f"      {line}" for line in export_hint(result.schedule, "schedule.json")]
    if metrics.tol is None and result.params.get("tol") is None:
        lines.append("      add --tol 0.01 for the fewest steps reaching max|1−F| ≤ 0.01")
    return lines


def recommendation(result: Recommendation, written_to: str | None = None) -> None:
    out = console()
    schedule, metrics = result.schedule, result.metrics
    source = result.params.get("band_source")
    if result.safe is None:
        certified = result.design.certificate_label
        title = "Greedy minimax schedule"
    else:
        knobs = f"cushion {result.params['cushion']:g}, safety {result.params['safety']:g}"
        certified = (
            "certified optimal for its inflated design problem" if result.design.certified
            else result.design.certificate_label
        )
        title = f"Safe default ({knobs})"
    out.print(_steps_table(schedule, metrics, title))
    out.print(certified)  # under the table: a title this long would wrap at 80 columns
    say = _lines(out)
    if source:
        say(f"band edge from {source}")
        if source.startswith("Marchenko"):
            from nsdesign.laws.marchenko_pastur import momentum_note

            say(momentum_note(metrics.min_sigma))
    for line in _summary(schedule, metrics, advise=result.safe is None):
        say(line)
    if result.safe is not None:
        for line in _safe_lines(result):
            say(line)
    for c in result.checks:  # the bf16-safe --degrees auto mix
        m, n = c.shape or (0, 0)
        say(f"{c.dtype} {c.kernel} rounding model, {m}x{n}, σ ≤ {c.guard_sigma:g}: σ_max {c.value:.4g} "
            f"(limit {c.limit:g}) {'passed' if c.passed else 'NOT passed'}")
    from nsdesign.presets import preset

    presets = [preset(n) for n in result.preset_names]
    names = ["designed (above)", *result.preset_names]
    beaten = [False, *_beaten(metrics, result.presets)]
    table, footnotes = _metrics_table(names, [schedule, *presets], [metrics, *result.presets],
                                      "The designed schedule and the published presets on the same band", beaten)
    _print_table(out, table, footnotes)
    if written_to:
        say(f"wrote {written_to}")
    for line in _next_steps(result, written_to):
        say(line)


def _safe_lines(result: Recommendation) -> list[str]:
    """What the safe default was checked for, and where the bare optimum is (fits 80 columns)."""
    safe = result.safe
    assert safe is not None
    exact, *models = safe.checks
    ok = "passed" if safe.passed else "NOT passed"
    lines = [
        f"safe default, {ok}: exact max F on [0, {exact.guard_sigma:g}] = {exact.value:.4g} (limit {exact.limit:g})",
        *(f"  {model.dtype} {model.kernel} rounding model, {(model.shape or (0, 0))[0]}x{(model.shape or (0, 0))[1]}"
          f", σ ≤ {model.guard_sigma:g}: σ_max {model.value:.4g} (limit {model.limit:g})" for model in models),
        "  the bare optimum of the band (no headroom above it): add --exact",
    ]
    if not safe.passed:
        more = f"--steps {safe.suggested_steps} passes" if safe.suggested_steps else "more steps or a narrower band"
        lines.append(f"WARNING: no {result.schedule.num_steps}-step design passes: {more}")
    return lines


def evaluation(schedule: Schedule, metrics: Metrics) -> None:
    out = console()
    out.print(_steps_table(schedule, metrics, schedule.name or "schedule"))
    say = _lines(out)
    for line in _summary(schedule, metrics):
        say(line)


def comparison(names: Sequence[str], schedules: Sequence[Schedule], rows: Sequence[Metrics], note: str = "") -> None:
    title = f"Band [{rows[0].min_sigma:g}, {rows[0].max_sigma:g}]{note}"
    table, footnotes = _metrics_table(names, schedules, rows, title)
    _print_table(console(), table, footnotes)


def preset(info: Preset, metrics: Metrics) -> None:
    """One preset with its steps' exact ranges on the band `metrics` was measured on."""
    out = console()
    band = f"[{metrics.min_sigma:g}, {metrics.max_sigma:g}]"
    out.print(_steps_table(info.schedule, metrics, f"{info.name} (on the reference band {band})"))
    say = _lines(out)
    say(f"norm_div {info.schedule.norm_div}, extension {info.schedule.extension}")
    say(f"source: {info.source}")
    say(f"note: {info.note}")


def preset_table(infos: Sequence[Preset]) -> None:
    table = Table(title="Published Newton–Schulz schedules", title_justify="left")
    columns = ("name", "steps", "degree", "norm_div", "extension") + (("source",) if _wide else ())
    for column in columns:
        table.add_column(column, no_wrap=column != "source")
    for info in infos:
        s = info.schedule
        cells = [info.name, str(s.num_steps), str(s.degree), str(s.norm_div), s.extension]
        table.add_row(*cells, *([info.source] if _wide else []))
    out = console()
    out.print(table)
    if not _wide:
        out.print("sources: nsdesign presets show NAME, or nsdesign presets --wide")


# -- studies -----------------------------------------------------------------------------------------


def study_result(result: Any, metrics: Metrics, written_to: str | None) -> None:
    """`search --objective …`: the best trial beside the greedy optimum, its coefficients, its exact metrics."""
    console = _console_fn()
    best, greedy = result.best, result.greedy
    _lines(console)(
        f"study {result.study_name} ({result.storage}): {result.completed} complete trials, "
        f"{result.ran} run here; best trial #{best.number} ({_candidate_text(best.candidate)}"
        f"{', refined' if best.refined else ''})"
    )
    table = Table(title="objective values (lower is better)")
    table.add_column("schedule")
    for name in best.components:
        table.add_column(name, justify="right")
    table.add_column("score", justify="right")
    table.add_column("feasible")
    table.add_row("best", *[f"{v:.4g}" for v in best.components.values()], f"{best.score:.4g}", "yes")
    if greedy is not None:
        table.add_row(
            f"greedy (#{greedy.number})",
            *[f"{greedy.components.get(k, math.nan):.4g}" for k in best.components],
            f"{greedy.score:.4g}",
            "yes" if greedy.feasible else ("no (below)" if not _wide else f"no: {greedy.reason}"),
        )
    console.print(table)
    if greedy is not None and not greedy.feasible and not _wide:  # the reason under the table: the column stays narrow
        _lines(console)(f"greedy (#{greedy.number}) is infeasible: {greedy.reason}")
    rows = Table(title=f"coefficients (norm_div {best.schedule.input_scale:g}; row 0 first)")
    rows.add_column("step", justify="right")
    width = max(len(r) for r in best.schedule.coefficients())
    for j in range(width):
        rows.add_column(f"c{j}", justify="right")
    for i, row in enumerate(best.schedule.coefficients()):
        rows.add_row(str(i), *[repr(float(v)) if _wide else f"{float(v):.7g}" for v in row])
    console.print(rows)
    _lines(console)(
        f"exact on [{metrics.min_sigma:g}, {metrics.max_sigma:g}]: worst error {metrics.worst_error:.4g}, "
        f"overshoot {metrics.overshoot:.4g}, {metrics.matmuls} matmuls"
    )
    if written_to:
        console.print(f"wrote {written_to}")
    sys.stdout.flush()


def _candidate_text(candidate: dict[str, Any]) -> str:
    steps = candidate.get("steps")
    degrees = [candidate[k] for k in sorted((k for k in candidate if k.startswith("degree_")), key=lambda k: int(k[7:]))]
    headroom = candidate.get("headroom", "none")
    size = candidate.get(f"{headroom}_size")
    parts = [f"{steps} steps"]
    if degrees and len(set(degrees)) > 1:
        parts.append("degrees " + ",".join(str(d) for d in degrees))
    parts.append(headroom if size is None else f"{headroom} {size:.4g}")
    return ", ".join(parts)


def pareto_front(result: Any, written_to: str | None) -> None:
    """`pareto`: the front, cheapest first."""
    table = Table(
        title=f"Pareto front: {result.dtype} error vs {result.form} FLOPs on {result.shape}, "
        f"band [{result.min_sigma:g}, {result.max_sigma:g}] ({result.completed} trials)"
    )
    for name, justify in (("trial", "right"), ("steps", "right"), ("degrees", "left"), ("matmuls", "right"),
                          ("GFLOPs", "right"), ("error", "right"), ("headroom", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for point in result.front:
        headroom = point.candidate.get("headroom", "none")
        size = point.candidate.get(f"{headroom}_size")
        table.add_row(
            str(point.trial),
            str(point.schedule.num_steps),
            ",".join(str(d) for d in point.schedule.degrees),
            str(point.matmuls),
            f"{point.flops / 1e9:.1f}",
            f"{point.error:.4g}",
            headroom if size is None else f"{headroom} {size:.4g}",
        )
    console = _console_fn()
    console.print(table)
    if written_to:
        console.print(f"wrote {written_to}")


# -- laws: fit, recipe ------------------------------------------------------------------------------


def laws_fit(table: Any, measurements: str, written_to: str) -> None:
    """`fit`: one row per layer, α per quantile with its standard error, the pooled α, min R² and the sizes."""
    from rich import box

    quantiles = sorted({law.quantile for law in table.laws})
    sizes = {(law.m_min, law.m_max) for law in table.laws}
    # Compact (80 columns): α per quantile without its standard error, the sizes once below when all layers share
    # them; --wide: every α ± se and a sizes column.
    compact = not _wide
    view = Table(title=f"Power laws σ_q(M) = C·M^(−α) fitted to {measurements}", title_justify="left",
                 box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD, padding=(0, 0) if compact else (0, 1),
                 pad_edge=not compact)
    view.add_column("layer", no_wrap=True)
    for q in quantiles:
        view.add_column(f"q={q:g}" if compact else f"α (q={q:g})", justify="right", no_wrap=True)
    view.add_column("pooled α", justify="right", no_wrap=True)
    view.add_column("min R²", justify="right", no_wrap=True)
    with_sizes = not compact or len(sizes) > 1
    if with_sizes:
        view.add_column("sizes", justify="right", no_wrap=True)
    for layer in table.layers():
        laws = {law.quantile: law for law in table.for_layer(layer)}
        cells = [("—" if q not in laws else f"{laws[q].alpha:.3f}" if compact
                  else f"{laws[q].alpha:.3f} ± {laws[q].alpha_se:.3f}") for q in quantiles]
        depth, matrix = layer.split(".", 1)
        pooled = next((p for p in table.pooled if (p.depth, p.matrix) == (depth, matrix)), None)
        first = next(iter(laws.values()))
        view.add_row(
            layer,
            *cells,
            "—" if pooled is None else f"{pooled.alpha:.3f} ± {pooled.alpha_se:.3f}",
            f"{min(law.r2 for law in laws.values()):.3f}",
            *([f"{first.m_min:.3g}–{first.m_max:.3g}"] if with_sizes else []),
        )
    out = console()
    out.print(view)
    if compact:
        line = "α at each quantile q (--wide: ± standard errors)"
        if not with_sizes:
            (lo, hi), = sizes
            line += f"; sizes {lo:.3g}–{hi:.3g}"
        out.print(line)
    out.print(f"wrote {len(table.laws)} laws for {len(table.layers())} layers to {written_to}")


def recipe(recipe: Any, written_to: str | None = None) -> None:
    """The recipe as a table: one row per designed schedule (law × shape), then totals and keller5 failures."""
    from nsdesign.plans.recipe import BASELINES

    out = console()
    m = recipe.model
    say = _lines(out)
    say(f"{m.name or 'model'}: {recipe.config_source}",
        f"d_model {m.d_model}, {m.n_layers} blocks, {m.n_heads} heads ({m.n_kv_heads} kv, head_dim "
        f"{m.head_dim}), d_ff {m.d_ff}{' gated' if m.gated_mlp else ''}")
    knobs = (
        f"cushion {recipe.cushion:g}, safety {recipe.safety:g}" if recipe.cushion is not None
        else "cushion/safety " + " or ".join(f"{c:g}/{s:g}" for c, s in recipe.knobs_tried) + " per layer"
    )
    check = (
        "exact arithmetic, no rounding check" if recipe.dtype == "exact"
        else f"every schedule checked in the {recipe.dtype} {recipe.kernel} rounding model (proxies ≤ "
        f"{recipe.check_rows} and ≤ {2 * recipe.check_rows} rows, the layer's aspect ratio; accepted at ≤ "
        f"δ·(1 − {recipe.check_margin:g}))"
    )
    say(f"size {recipe.model_size:.3g}, δ = {recipe.tol:g} on bands [edge, 1] with q = {recipe.quantile:g} "
        f"({recipe.edge} edge, headroom {recipe.headroom:g})",
        f"degrees {','.join(map(str, recipe.degrees))}, {knobs}, {recipe.kernel} kernel"
        f"{'' if recipe.normalizer is None else ', under ' + recipe.normalizer.label() + ' (baselines: frobenius)'}",
        check, f"laws: {recipe.laws_source}")
    from rich import box

    # Compact (80 columns): no matrices or interval column, short cells; --wide: every column, full digits.
    compact = not _wide
    table = Table(
        title="Per-layer schedules (GFLOP per matrix; keller5: its error, ✗ = fails δ)" if compact
        else "Per-layer schedules (GFLOP per matrix; keller5: its worst error on the band, ✗ = fails δ)",
        title_justify="left", box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
        padding=(0, 0) if compact else (0, 1), pad_edge=not compact,
    )
    columns = (("law", "blocks", "shape", "edge", "degrees", "max|1−F|", "GFLOP", "keller5") if compact else
               ("law", "blocks", "matrices", "shape", "edge", "~95% interval", "degrees", "max|1−F|", "GFLOP", "keller5"))
    for column in columns:
        table.add_column(column, justify="left" if column in ("law", "blocks", "matrices", "degrees") else "right",
                         no_wrap=True)
    for g in recipe.groups:
        layers = [layer for layer in recipe.layers if layer.schedule == g.name]
        blocks = sorted({layer.block for layer in layers})
        suffixes = list(dict.fromkeys(layer.name.split(".")[-2].removesuffix("_proj") for layer in layers))
        keller = g.baseline_errors["keller5"]
        gflop = layers[0].flops / 1e9
        cells = {
            "law": g.name, "blocks": _ranges(blocks), "matrices": ",".join(suffixes), "shape": str(g.shape),
            "edge": f"{g.edge:.{2 if compact else 3}g}",
            "~95% interval": f"[{g.band.interval[0]:.2g}, {g.band.interval[1]:.2g}]",
            "degrees": _runs(g.design.schedule.degrees) if compact else ",".join(map(str, g.design.schedule.degrees)),
            "max|1−F|": f"{g.metrics.worst_error:.3g}" if compact else f"{g.metrics.worst_error:.4f}",
            "GFLOP": f"{gflop:.0f}" if compact and gflop >= 1000 else f"{gflop:.4g}",
            "keller5": f"{keller:.3f}{('✗' if keller > recipe.tol else '✓') if compact else (' ✗' if keller > recipe.tol else ' ✓')}",
        }
        table.add_row(*[cells[c] for c in columns])
    out.print(table)
    if compact:
        say("degrees 5×4,7: four quintic steps, then one of degree 7 (--wide: all columns)")
    total = recipe.total_flops()
    baselines = recipe.baseline_flops()
    say(f"recipe: {total / 1e12:.4g} TFLOP per optimizer step over {len(recipe.layers)} matrices")
    say(f"every layer meets δ: {'yes' if recipe.all_meet_tol() else 'NO'}")
    if recipe.dtype != "exact":
        failed = recipe.lowp_failures()
        say(
            f"{recipe.dtype} {recipe.kernel} check within δ: {len(recipe.groups) - len(failed)} of {len(recipe.groups)} "
            "schedule groups" + (f" (leave δ: {', '.join(g.name for g in failed)})" if failed else "")
        )
    references = recipe.reference_flops()
    uniform = recipe.uniform_quintic
    labels = {
        "deepseek_v4_10": "uniform deepseek_v4_10",
        "uniform_quintic_greedy": f"uniform quintic greedy ({uniform.schedule.num_steps if uniform else '—'} steps)",
        "per_layer_quintic_greedy": "quintic greedy per layer (k*)",
    }
    say("recipe saves, against the three baselines (same matrices and checks):")
    for name, value in references.items():
        say(f"  {labels[name]:<34} {value / 1e12:>10.4g} TFLOP  saves {100 * (1 - total / value):5.1f}%")
    if uniform is not None:
        say(f"  (uniform quintic greedy: designed for the lowest edge, {uniform.params['min_sigma']:.3g})")
    say("uniform presets:")
    for name in BASELINES:
        fails = len(recipe.failures(name))
        say(f"  uniform {name}: {baselines[name] / 1e12:.4g} TFLOP, recipe saves "
                  f"{100 * (1 - total / baselines[name]):.1f}%")
        say(f"    it fails δ on {fails} of {len(recipe.layers)} layers")
    failing = recipe.failures("keller5")
    if failing:
        order = list(dict.fromkeys(g.law for g in recipe.groups))
        laws = sorted({layer.law for layer in failing}, key=order.index)
        say(f"uniform keller5 fails δ = {recipe.tol:g} on {len(failing)} layers, laws: {', '.join(laws)}")
    else:
        say(f"uniform keller5 meets δ = {recipe.tol:g} on every layer")
    if written_to:
        say(f"wrote {written_to}")
    path = written_to or "recipe.json"
    say("next:" if written_to else f"next: add -o {path}, then",
        f"nsdesign.torch.Muon(model.named_parameters(), recipe=\"{path}\") runs a schedule per layer",
        "(layer names are matched by pattern, docs/laws.md); one layer for another optimizer:",
        "nsdesign search --model-size M --layer NAME --quantile Q --for torch-muon")


def recipe_heads(per_head: Any, fused: Any) -> None:
    """`recipe --heads`: steps and GFLOP per attention matrix, per head against the fused-matrix recipe."""
    out = console()
    say = _lines(out)
    m = per_head.model
    say(f"per-head attention: q/k/v as head_dim×d_model blocks ({m.n_heads} q, {m.n_kv_heads} k/v heads), "
        f"o as d_model×head_dim blocks (its columns hold the heads); band edge × the Marchenko–Pastur ratio "
        "block/fused; the rest of the model as fused")
    say(f"{'law':<14}{'fused':>10}{'steps':>6}{'GFLOP':>8}  {'per head':<15}{'steps':>5}{'GFLOP':>8}")
    fused_groups = {g.law: g for g in reversed(fused.groups)}
    attention = {"fused": 0.0, "head": 0.0}
    for g in per_head.groups:
        layers = [layer for layer in per_head.layers if layer.schedule == g.name]
        if layers[0].block_shape is None or g.law not in fused_groups:
            continue
        f = fused_groups[g.law]
        f_layers = [layer for layer in fused.layers if layer.schedule == f.name]
        attention["fused"] += sum(layer.flops for layer in f_layers)
        attention["head"] += sum(layer.flops for layer in layers)
        blocks = f"{g.shape.m}x{g.shape.n} ×{layers[0].blocks}"
        say(f"{g.name[:14]:<14}{str(f.shape):>10}{f.design.schedule.num_steps:>6}{_gflop(f_layers[0].flops):>8}  "
            f"{blocks:<15}{g.design.schedule.num_steps:>5}{_gflop(layers[0].flops):>8}")
    for what, a, b in (("attention", attention["fused"], attention["head"]),
                       ("model", fused.total_flops(), per_head.total_flops())):
        change = 100 * (b / a - 1) if a else 0.0
        say(f"{what}: fused {a / 1e12:.4g} TFLOP, per head {b / 1e12:.4g} TFLOP ({change:+.1f}%)")


def _gflop(flops: float) -> str:
    """GFLOP in at most 6 characters: 4 significant digits, whole numbers from 1000 on."""
    value = flops / 1e9
    return f"{value:.4g}" if value < 1000 else f"{value:.0f}"


def _lines(out: Console):
    """A printer of plain lines: the first of each call as given, the others indented by two; each wrapped at
    spaces to the console's width, so prose lines break where a reader expects instead of where rich cuts."""
    import textwrap

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


def _runs(degrees: Sequence[int]) -> str:
    """Step degrees with runs of three or more written d×n (5,5,5,5,7 → 5×4,7): a column that fits."""
    parts: list[str] = []
    k = 0
    while k < len(degrees):
        n = 1
        while k + n < len(degrees) and degrees[k + n] == degrees[k]:
            n += 1
        parts.append(f"{degrees[k]}×{n}" if n >= 3 else ",".join([str(degrees[k])] * n))
        k += n
    return ",".join(parts)


def _ranges(values: list[int]) -> str:
    parts: list[str] = []
    start = prev = values[0]
    for v in values[1:] + [None]:  # type: ignore[list-item]
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(str(start) if start == prev else f"{start}–{prev}")
        if v is not None:
            start = prev = v
    return ",".join(parts)


# -- runtime: validate -----------------------------------------------------------------------------


def _measured(value: Any, digits: int = 3) -> str:
    """A measured figure: 3 significant digits, '—' when absent, inf/nan spelled out."""
    if value is None:
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("nan" if math.isnan(value) else "-inf")
    return f"{value:.{digits}g}"


def validation_report(report: Any, written_to: str | None) -> None:
    """`validate`: measured figures per matrix and schedule (compact at 80 columns; --wide: every column)."""
    title = (
        f"validate: {report.dtype}, {report.form} form, {report.settings.get('device_name', report.device)}; "
        f"band σ/‖G‖_F ≥ {report.min_sigma:g}"
    )
    from rich import box

    wide = is_wide()
    columns = ("matrix", "shape", "schedule", "steps", "in band", "σ out min", "median", "max",
               "band err", "exact F", "mixing", "polar err", "ms/call")
    # By default (80 columns): the measured figures only, one space apart; --wide: every column.
    compact = ("schedule", "σ out min", "max", "band err", "polar err")  # each matrix heads its rows
    shown = columns if wide else compact
    if wide:
        table = Table(title=title, title_justify="left")
    else:
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 0), collapse_padding=True,
                      pad_edge=False)
    for column in shown:
        label = column if wide else {"σ out min": " σ min", "max": " σ max", "band err": " band err",
                                     "polar err": " polar err"}.get(column, column)
        table.add_column(label, justify="left" if column in ("matrix", "schedule") else "right", no_wrap=True)
    cells: list[list[str]] = []
    previous = None
    for row in report.rows:
        if previous is not None and row.matrix != previous:
            table.add_section()
        quantiles = dict(zip((0.1, 0.25, 0.5, 0.75, 0.9), row.sigma_out_quantiles))
        shape = f"{row.shape[0]}x{row.shape[1]}"
        if row.block is not None and row.blocks > 1:  # run per head/shard: each block normalized alone
            shape += f", {row.blocks} blocks of {row.block[0]}x{row.block[1]}"
        cells.append([
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
        ])
        if not wide and row.matrix != previous:
            table.add_row(f"{row.matrix} ({row.shape[0]}x{row.shape[1]})", *[""] * (len(shown) - 1))
        table.add_row(*[("  " if not wide and name == "schedule" else "") + c
                        for c, name in zip(cells[-1], columns) if name in shown])
        previous = row.matrix
    # Wide enough that names never wrap (a pipe or a narrow terminal would otherwise fold them).
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    # --wide: wide enough that no cell wraps; by default the terminal's width (rich wraps cells to fit).
    out = _SafeConsole(width=max(console().width, sum(widths) + 3 * len(columns) + 1), highlight=False, markup=False) if is_wide() else console()
    out.print(table)
    say = _lines(out)
    if not wide:
        say("--wide adds shape, steps, σ in band, median, exact F, mixing and ms/call")
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
    if written_to:
        say(f"wrote {written_to}")
