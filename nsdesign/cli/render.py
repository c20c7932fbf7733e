"""Terminal rendering, by command: the names the command modules call, re-exported from `nsdesign.cli.views`.

Presentation only: no computation happens here. Each command's view lives in its own module under
`nsdesign/cli/views/` (`common`: the --wide switch, the console, the line printer and the steps table every view
shares); this module keeps `from nsdesign.cli import render; render.recipe(...)` working for every caller.
"""

from __future__ import annotations

from nsdesign.cli.views.common import WIDE_COLUMNS, SafeConsole, console, is_wide, lines, set_wide, steps_table, width
from nsdesign.cli.views.laws import laws_fit
from nsdesign.cli.views.recipe import recipe, recipe_heads
from nsdesign.cli.views.schedules import FOOTNOTES, LEGEND, comparison, evaluation, metrics_table, preset, preset_table
from nsdesign.cli.views.search import POOR_ERROR, recommendation
from nsdesign.cli.views.study import pareto_front, study_result
from nsdesign.cli.views.validate import validation_report

__all__ = [
    "FOOTNOTES", "LEGEND", "POOR_ERROR", "WIDE_COLUMNS", "SafeConsole", "comparison", "console", "evaluation",
    "is_wide", "laws_fit", "lines", "metrics_table", "pareto_front", "preset", "preset_table", "recipe",
    "recipe_heads", "recommendation", "set_wide", "steps_table", "study_result", "validation_report", "width",
]
