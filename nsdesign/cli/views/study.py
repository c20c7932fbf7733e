"""The views of Optuna studies: `search --objective …` (the best trial beside the greedy optimum) and `pareto`
(the error-versus-FLOPs front).

Why together: both read a study's trials (a candidate's steps, degrees and guard strategy) and name them the
same way (`candidate_text`).
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any

from rich.table import Table

from nsdesign.cli.export_commands import next_lines
from nsdesign.cli.views.common import console, is_wide, lines
from nsdesign.search.space import STORED_GUARD

if TYPE_CHECKING:
    from nsdesign.core.metrics import Metrics


def study_result(result: Any, metrics: Metrics, written_to: str | None) -> None:
    """`search --objective …`: the best trial beside the greedy optimum, its coefficients, its exact metrics."""
    wide = is_wide()
    out = console()
    best, greedy = result.best, result.greedy
    lines(out)(
        f"study {result.study_name} ({_short(result.storage)}): {result.completed} complete trials, "
        f"{result.ran} run here; best trial #{best.number} ({candidate_text(best.candidate)}"
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
            "yes" if greedy.feasible else ("no (below)" if not wide else f"no: {greedy.reason}"),
        )
    out.print(table)
    if greedy is not None and not greedy.feasible and not wide:  # the reason under the table: the column stays narrow
        lines(out)(f"greedy (#{greedy.number}) is infeasible: {greedy.reason}")
    rows = Table(title=f"coefficients (norm_div {best.schedule.input_scale:g}; row 0 first)")
    rows.add_column("step", justify="right")
    width = max(len(r) for r in best.schedule.coefficients())
    for j in range(width):
        rows.add_column(f"c{j}", justify="right")
    for i, row in enumerate(best.schedule.coefficients()):
        rows.add_row(str(i), *[repr(float(v)) if wide else f"{float(v):.7g}" for v in row])
    out.print(rows)
    lines(out)(
        f"exact on [{metrics.min_sigma:g}, {metrics.max_sigma:g}]: worst error {metrics.worst_error:.4g}, "
        f"overshoot {metrics.overshoot:.4g}, {metrics.matmuls} matmuls"
    )
    if written_to:
        out.print(f"wrote {written_to}")
    for line in next_lines(best.schedule, written_to):
        lines(out)(line)
    sys.stdout.flush()


def candidate_text(candidate: dict[str, Any]) -> str:
    """A trial in words: its step count, its degrees when they differ, its guard strategy and size."""
    steps = candidate.get("steps")
    degrees = [candidate[k] for k in sorted((k for k in candidate if k.startswith("degree_")), key=lambda k: int(k[7:]))]
    guard = candidate.get(STORED_GUARD, "none")
    size = candidate.get(f"{guard}_size")
    parts = [f"{steps} steps"]
    if degrees and len(set(degrees)) > 1:
        parts.append("degrees " + ",".join(str(d) for d in degrees))
    parts.append(guard if size is None else f"{guard} {size:.4g}")
    return ", ".join(parts)


def pareto_front(result: Any, written_to: str | None) -> None:
    """`pareto`: the front, cheapest first."""
    table = Table(
        title=f"Pareto front: {result.dtype} error vs {result.cost_model} FLOPs on {result.shape}, "
        f"band [{result.min_sigma:g}, {result.max_sigma:g}] ({result.completed} trials)"
    )
    for name, justify in (("trial", "right"), ("steps", "right"), ("degrees", "left"), ("matmuls", "right"),
                          ("GFLOPs", "right"), ("error", "right"), ("guard", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for point in result.front:
        guard = point.candidate.get(STORED_GUARD, "none")
        size = point.candidate.get(f"{guard}_size")
        table.add_row(
            str(point.trial),
            str(point.schedule.num_steps),
            ",".join(str(d) for d in point.schedule.degrees),
            str(point.matmuls),
            f"{point.flops / 1e9:.1f}",
            f"{point.error:.4g}",
            guard if size is None else f"{guard} {size:.4g}",
        )
    out = console()
    out.print(table)
    if written_to:
        out.print(f"wrote {written_to}")


def _short(storage: str) -> str:
    """The storage as one unbreakable token that still fits a line: a long URL keeps its scheme and file name
    (re-running the same command finds it again; `params.storage` in the file has it whole)."""
    return storage if len(storage) <= 48 else f"{storage[:12]}…{storage[-32:]}"
