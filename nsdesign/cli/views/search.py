"""The view of `nsdesign search` (the designed schedule): its steps, its checks, the presets on the same band, and
what to run next.

Why its own module: this is the first screen a user sees, and it must end with one consistent next step (export
the schedule, or rerun with the step count that passes); the tables and footnotes come from `schedules`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nsdesign.cli.export_commands import export_hint
from nsdesign.cli.views.common import console, lines, print_table, steps_table
from nsdesign.cli.views.schedules import beaten, metrics_table, summary
from nsdesign.laws.marchenko_pastur import momentum_note
from nsdesign.presets import preset

if TYPE_CHECKING:
    from nsdesign.design.recommend import Recommendation

# Above this worst-case error the answer is barely an orthogonalization: say what to change.
POOR_ERROR = 0.5


def next_steps(result: Recommendation, written_to: str | None) -> list[str]:
    """What to run next: save, export, a tolerance; and an actionable warning when the error is poor."""
    metrics = result.metrics
    said = []
    safe = result.safe
    if safe is not None and not safe.passed:  # one consistent answer: the step count that passes, nothing to export
        fix = f"--steps {safe.suggested_steps}" if safe.suggested_steps else "more --steps or a higher band edge"
        return [f"next: rerun with {fix} (this design fails its checks: do not paste it)"]
    if metrics.worst_error > POOR_ERROR:
        said.append(
            f"WARNING: max|1−F| = {metrics.worst_error:.3g} on [{metrics.min_sigma:g}, {metrics.max_sigma:g}]: "
            f"{result.schedule.num_steps} steps cannot cover this band; add --tol 0.3 (fewest steps reaching "
            "0.3) or --steps N, or use a higher band edge"
        )
    if written_to:
        hint = export_hint(result.schedule, written_to)
        said += [f"next: {hint[0]}", *(f"      {line}" for line in hint[1:])]
    else:
        said.append("next: add -o schedule.json to save it, then")
        said += [f"      {line}" for line in export_hint(result.schedule, "schedule.json")]
    if metrics.tol is None and result.params.get("tol") is None:
        said.append("      add --tol 0.01 for the fewest steps reaching max|1−F| ≤ 0.01")
    return said


def recommendation(result: Recommendation, written_to: str | None = None) -> None:
    """`search`: the design's steps, where its band came from, its checks, the presets beside it, the next step."""
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
    out.print(steps_table(schedule, metrics, title))
    out.print(certified)  # under the table: a title this long would wrap at 80 columns
    say = lines(out)
    if source:
        say(f"band edge from {source}")
        if source.startswith("Marchenko"):
            say(momentum_note(metrics.min_sigma))
    for line in summary(schedule, metrics, advise=result.safe is None):
        say(line)
    if result.safe is not None:
        for line in safe_lines(result):
            say(line)
    for c in result.checks:  # the bf16-safe --degrees auto mix
        m, n = c.shape or (0, 0)
        say(f"{c.dtype} {c.kernel} rounding model, {m}x{n}, σ ≤ {c.guard_sigma:g}: σ_max {c.value:.4g} "
            f"(limit {c.limit:g}) {'passed' if c.passed else 'NOT passed'}")
    presets = [preset(n) for n in result.preset_names]
    names = ["designed (above)", *result.preset_names]
    marked = [False, *beaten(metrics, result.presets)]
    table, footnotes = metrics_table(names, [schedule, *presets], [metrics, *result.presets],
                                     "The designed schedule and the published presets on the same band", marked)
    print_table(out, table, footnotes)
    if written_to:
        say(f"wrote {written_to}")
    for line in next_steps(result, written_to):
        say(line)


def safe_lines(result: Recommendation) -> list[str]:
    """What the safe default was checked for, and where the bare optimum is (fits 80 columns)."""
    safe = result.safe
    assert safe is not None
    exact, *models = safe.checks
    ok = "passed" if safe.passed else "NOT passed"
    said = [
        f"safe default, {ok}: exact max F on [0, {exact.guard_sigma:g}] = {exact.value:.4g} (limit {exact.limit:g})",
        *(f"  {model.dtype} {model.kernel} rounding model, {(model.shape or (0, 0))[0]}x{(model.shape or (0, 0))[1]}"
          f", σ ≤ {model.guard_sigma:g}: σ_max {model.value:.4g} (limit {model.limit:g})" for model in models),
        "  the bare optimum of the band (no headroom above it): add --exact",
    ]
    if not safe.passed:
        more = f"--steps {safe.suggested_steps} passes" if safe.suggested_steps else "more steps or a narrower band"
        said.append(f"WARNING: no {result.schedule.num_steps}-step design passes: {more}")
    return said
