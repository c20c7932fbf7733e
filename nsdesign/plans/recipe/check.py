"""The rounding-model check a recipe vets every candidate schedule with, and the cheapest design that passes it.

Why: pure greedy steps have no margin and some degree mixes blow σ just above 1 up to 1e30 or more; in bf16
that diverges (docs/laws.md). So a candidate degree mix is accepted only if the kernel the user trains with,
run in the user's dtype on a proxy matrix with the layer's aspect ratio and σ log-spaced over the design band,
stays within δ (`check_schedule`); `checked_cheapest` is the FLOP-cheapest such design.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from nsdesign.core.cost import Shape, flops, resolve_kernel
from nsdesign.design.greedy import greedy
from nsdesign.design.solvers import cheapest_schedule
from nsdesign.errors import InputError
from nsdesign.precision import log_spaced, matrix_error, test_matrix
from nsdesign.precision.kernels import default_restarts

CHECK_DTYPES: tuple[str, ...] = ("bf16", "fp16", "fp32", "exact")  # "exact": no rounding-model check
# Margin of the rounding-model check: a candidate is accepted only if its error is ≤ δ·(1 − CHECK_MARGIN).
# Measured (benchmarks/recipe_70b.py --bf16-check, docs/laws.md): with no margin, real torch bf16 on the
# check's own proxies exceeded δ = 0.3 by up to 0.018 in 5 of 24 groups, and a 256-row proxy by up to 0.04;
# 0.15 (0.045 at δ = 0.3) covers both observed gaps. Not a bound: a different proxy or matrix can still differ.
CHECK_MARGIN = 0.15

# Proxy for the rounding-model check: at most CHECK_ROWS rows, the layer's aspect ratio (columns ≤ 4096).
# Each candidate is checked on CHECK_ROWS and 2·CHECK_ROWS rows (`proxy_rows`): 128 rows alone sample the band
# too coarsely (a 256-row proxy found errors up to 0.04 higher on the 70B recipe); 256 rows keep the check
# affordable on 2 cores (benchmarks/recipe_70b.py cross-checks both in real torch bf16; docs/laws.md).
CHECK_ROWS = 128
MAX_FALLBACK_STEPS = 30  # single-degree step counts tried when the degree-mix solver finds nothing accepted


def proxy_rows(rows: int) -> tuple[int, int]:
    """The two proxy sizes a candidate is checked on: `rows` and 2·`rows` (each capped at the layer's rows by
    `check_schedule`). One proxy samples the band at only `rows` singular values; measured on the 70B recipe,
    a 256-row proxy found errors up to 0.04 above a 128-row check's (docs/laws.md), so both must pass."""
    return (int(rows), 2 * int(rows))


def check_schedule(
    schedule: Any, min_sigma: float, max_sigma: float, shape: Shape | tuple[int, int], kernel: str = "fused",
    dtype: str = "bf16", rows: int = CHECK_ROWS, seed: int = 0,
) -> Any:
    """The rounding-model run a recipe vets each candidate with (a `nsdesign.precision.MatrixRun`).

    The proxy keeps the layer's aspect ratio (at most `rows` rows, at most 4096 columns; a 70B-sized matrix
    is out of reach on a small CPU) and has its singular values log-spaced over [min_sigma, max_sigma] — the
    whole design band, headroom included, so one run checks both accuracy on the band and no blow-up above 1.
    The kernel is the one the user trains with (Gram: nsdesign's default restart plan for the dtype)."""
    dims = (shape.m, shape.n) if isinstance(shape, Shape) else tuple(shape)
    m, n = sorted((int(dims[0]), int(dims[1])))
    r = max(2, min(m, int(rows)))
    cols = min(4096, max(r, round(n * r / m)))
    plan = default_restarts(schedule.num_steps, dtype) if kernel == "gram" else ()
    test = test_matrix((r, cols), log_spaced(min_sigma, max_sigma, r), seed)
    return matrix_error(schedule, test, dtype, kernel=kernel, restarts=plan)


def checked_cheapest(
    band: Any, tol: float, shape: Shape, degrees: Sequence[int], knobs: Sequence[tuple[float, float]],
    kernel: str, dtype: str, rows: int, top: float, shapes: Sequence[Shape] | None = None,
    accept_tol: float | None = None, *, form: str | None = None,
) -> tuple[Any, Any]:
    """The cheapest (design, check run) over the knob pairs whose rounding-model check stays within accept_tol
    (default tol; the recipe passes tol·(1 − check_margin)) while the exact design meets tol.

    dtype "exact" skips the check (the exact-arithmetic design, run None). The check runs on `shapes` (default:
    `shape`; the run kept is the worst). The solver prunes states by interval ratio, which saturates at 1 after
    a few steps, so when no mix it reaches is accepted, single-degree greedy schedules of 1 … MAX_FALLBACK_STEPS
    steps are tried in turn (in bf16 the input's rounding floor can sit above a low band edge, and only more
    steps lift it). If still none passes, the candidate with the smallest check error is returned: the caller
    reports it as failing (`Recipe.lowp_failures`), never as passing. FLOPs are the kernel's (`form=` is the
    deprecated spelling of the cost model and must agree with `kernel`)."""
    kernel = resolve_kernel(kernel, form)
    targets = tuple(shapes) if shapes else (shape,)
    limit = tol if accept_tol is None else accept_tol
    runs: dict[int, Any] = {}
    tried: list[tuple[float, Any, Any]] = []
    small, large = proxy_rows(rows)

    def worst(design: Any, sizes: Sequence[int], done: dict[tuple[int, int], Any]) -> Any:
        """The worst run over `targets` × `sizes` (in that order), reusing the runs in `done`."""
        for i, s in enumerate(targets):
            for k in sizes:
                if (i, k) not in done:
                    done[(i, k)] = check_schedule(design.schedule, band.min_sigma, top, s, kernel, dtype, k)
        ordered = [done[(i, k)] for i in range(len(targets)) for k in (small, large) if (i, k) in done]
        return max(ordered, key=lambda r: r.error if r.error == r.error else math.inf)

    partial: dict[int, dict[tuple[int, int], Any]] = {}

    def vet(design: Any) -> bool:
        """Both proxies must pass; the larger one (8× the work) runs only once the smaller one has passed."""
        done: dict[tuple[int, int], Any] = {}
        run = worst(design, (small,), done)
        if run.error <= limit:
            run = worst(design, (small, large), done)
        else:
            partial[id(design)] = done  # completed only if no candidate passes (the fallback needs its worst)
        runs[id(design)] = run
        tried.append((run.error, design, run))
        return run.error <= limit

    found: list[tuple[float, float, Any, Any]] = []
    for cushion, safety in knobs:
        try:
            design = cheapest_schedule(
                band, tol, shape, kernel, degrees, cushion=cushion, safety=safety,
                accept=None if dtype == "exact" else vet,
            )
        except InputError:
            continue
        run = runs.get(id(design))
        found.append((flops(design.schedule, shape, kernel), 0.0 if run is None else run.error, design, run))
    if not found:
        degree = 5 if 5 in degrees else min(degrees)
        for cushion, safety in knobs:
            for steps in range(1, MAX_FALLBACK_STEPS + 1):
                design = greedy(band, steps=steps, degree=degree, cushion=cushion, safety=safety)
                if design.error <= tol and vet(design):
                    found.append((flops(design.schedule, shape, kernel), runs[id(design)].error, design, runs[id(design)]))
                    break
    if not found:
        if not tried:
            raise InputError(f"tolerance {tol:g} is not reachable with degrees {list(degrees)} on [{band.min_sigma:.3g}, {top:g}]")
        complete = [(d, worst(d, (small, large), partial[id(d)]) if id(d) in partial else r) for _, d, r in tried]
        _, design, run = min(((r.error, d, r) for d, r in complete),
                             key=lambda row: row[0] if row[0] == row[0] else math.inf)
        return design, run
    _, _, design, run = min(found, key=lambda row: (row[0], row[1]))
    return design, run
