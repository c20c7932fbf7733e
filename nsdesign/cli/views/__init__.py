"""Terminal views: one module per command's output (rich tables and plain lines). Presentation only: no
computation happens here.

`common` holds what every view shares (the --wide switch, the console, the line printer, the steps table);
`schedules` (evaluate, compare, presets, and the metrics table search reuses), `search` (the designed schedule),
`study` (search studies and pareto), `laws` (fit), `recipe` (recipe, recipe --heads), `validate` (validate).
Every view fits 80 columns when piped; --wide shows every column with full precision.
"""
