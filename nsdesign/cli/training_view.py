"""What `train-compare` prints: at most 80 columns, on stderr when the JSON goes to standard output.

Three tables: final TEST loss with the paired difference to the baseline at each comparison's Holm level, its
minimum detectable difference and Holm's verdict; the lr tuning grid (when the lr was tuned); the steps, NS FLOPs
and seconds to a validation loss fixed before the runs (when `--target-loss` was given). The reach of the
baseline's own final loss stays in the JSON only (`reach_baseline_final_secondary`): its target is chosen after the
runs, by one of the compared schedules, so it is no headline.
"""

from __future__ import annotations

import math
from typing import Any

from nsdesign.cli._text import terminal_safe

WIDTH = 80
LABEL = 15  # characters of a schedule name in a table cell


def _number(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}g}"


def _signed(value: float) -> str:
    return f"{value:+.4f}" if math.isfinite(value) else "—"


def _verdict(d: Any) -> str:
    return {"better": "better", "worse": "worse"}.get(d.verdict, "n.s.")


def _console(stream: Any) -> Any:
    from rich.console import Console

    return Console(width=WIDTH, highlight=False, soft_wrap=False, file=stream, markup=False)


def _table(title: str, columns: tuple[str, ...]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, justify="left" if column == "schedule" else "right", no_wrap=True)
    return table


def header(comparison: Any) -> list[str]:
    """The setup in two lines: model and data, then how the lr was set."""
    s = comparison.settings
    n = len(comparison.seeds)
    lines = [f"{s.model} ({s.width}×{s.n_layer}), {s.train_steps} steps, batch {s.batch}×{s.seq_len}, "
             f"{n} seed{'s' if n != 1 else ''}, {s.device}, NS in {s.ns_dtype}; text {s.text_bytes:,} bytes"]
    rms = "; update RMS matched to the polar factor's" if s.match_rms else ""
    if comparison.tuning:
        grid = sorted({t.lr for t in comparison.tuning})
        lines.append(f"Muon lr tuned per schedule on {','.join(f'{v:g}' for v in grid)} (validation loss){rms}")
    else:
        lines.append(f"Muon lr {s.muon_lr:g} for every schedule (not tuned: step size and schedule are confounded){rms}")
    return lines


def loss_table(comparison: Any) -> Any:
    """Final test loss; Δ vs the baseline with its Holm-level interval, MDD and verdict."""
    diffs = {d.label: d for d in comparison.differences}
    table = _table(f"Final test loss; Δ vs {terminal_safe(comparison.baseline)[:LABEL]} (Holm-corrected)",
                   ("schedule", "lr", "loss", "Δ", "Δ low", "Δ high", "MDD", "Holm"))
    for summary in comparison.summaries:
        d = diffs.get(summary.label)
        lr = comparison.lrs.get(summary.label, comparison.settings.muon_lr)
        loss = f"{summary.mean:.4f}" if math.isfinite(summary.mean) else "diverged"
        if d is None:
            cells = ["—", "", "", "", "base"]
        else:
            cells = [_signed(d.mean), _signed(d.holm_low), _signed(d.holm_high), _number(d.mdd, 2), _verdict(d)]
        table.add_row(terminal_safe(summary.label)[:LABEL], f"{lr:g}", loss, *cells)
    return table


def tuning_table(comparison: Any) -> Any:
    """Mean final validation loss of every schedule × grid lr; the chosen one marked *."""
    grid = sorted({t.lr for t in comparison.tuning})
    table = _table("lr tuning: final validation loss (* chosen)", ("schedule", *(f"{v:g}" for v in grid)))
    for label in comparison.labels:
        rows = {t.lr: t for t in comparison.tuning if t.label == label}
        cells = [("diverged" if not math.isfinite(rows[v].val_loss) else f"{rows[v].val_loss:.4f}")
                 + ("*" if rows[v].chosen else " ") for v in grid]
        table.add_row(terminal_safe(label)[:LABEL], *cells)
    return table


def reach_table(comparison: Any) -> Any:
    """Steps, NS GFLOP and seconds to the fixed target (means over seeds; "—" unless every seed got there)."""
    from nsdesign.torch.training import ns_share

    table = _table(f"To reach validation loss {comparison.target_loss:g} (fixed before the runs)",
                   ("schedule", "seeds", "steps", "NS GFLOP", "wall s", "CPU s", "NS %"))
    for r in comparison.target_reach:
        share = ns_share(comparison.runs_of(r.label))
        gflop = r.mean("ns_flops")
        table.add_row(terminal_safe(r.label)[:LABEL], f"{r.reached}/{len(r.steps)}", _number(r.mean("steps")),
                      _number(None if gflop is None else gflop / 1e9), _number(r.mean("wall_seconds"), 3),
                      _number(r.mean("cpu_seconds"), 3), "—" if share is None else f"{100 * share:.0f}%")
    return table


def legend(comparison: Any) -> list[str]:
    """How to read the loss table: the Holm family, the interval levels, the MDD formula."""
    m = sum(math.isfinite(d.p_value) for d in comparison.differences)
    return ["Δ low/high: paired t-interval over seeds at the comparison's Holm level",
            f"α_i = 0.05/(m−i+1), i its rank by p-value, m = {m} comparisons;",
            "MDD = (t(1−α_i/2) + t(0.8))·s_d/√n, n−1 dof: the Δ found 80% of the time;",
            "Holm: better/worse where Holm's step-down test rejects Δ = 0, else n.s."]


def train_comparison(comparison: Any, written: list[str] | None = None, runs_dir: str | None = None,
                     stream: Any = None) -> None:
    """The whole report (see the module docstring)."""
    out = _console(stream)
    for line in header(comparison):
        out.print(line)
    out.print()
    out.print(loss_table(comparison))
    for line in legend(comparison):
        out.print(line)
    if comparison.tuning:
        out.print()
        out.print(tuning_table(comparison))
    out.print()
    if comparison.target_loss is not None:
        out.print(reach_table(comparison))
    else:
        out.print("steps to a fixed loss: give --target-loss (chosen before the runs)")
    if comparison.skipped:
        out.print(f"{comparison.skipped} finished run(s) reused from {terminal_safe(runs_dir)}")
    for note in comparison.notes:
        out.print(f"note: {terminal_safe(note)}")
    for path in written or []:
        out.print(f"wrote {terminal_safe(path)}")
