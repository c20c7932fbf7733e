"""Gram form in fp16: the restart plan nsdesign designs versus gram-newton-schulz's default [2] (run by hand).

For each schedule: `nsdesign.precision.restarts.design_restarts` picks the fewest restarts whose fp16 Gram
error on a 128×512 proxy (σ log-spaced in [1e-3, 1], seed 0) is ≤ 1.25× the fused kernel's; then both plans
(and Dao-AILab's `autotune_restarts` choice for the same number of restarts, when the package is installed)
run on the benchmark matrix, 1024×4096 with σ log-spaced in [1e-3, 1] (seed 1, not used for the design), in
the fp16 rounding model of the Gram kernel (call for call gram-newton-schulz's sequence). Errors are
max |1 − σ_out|; "inf" is a non-finite output.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/gram_restarts.py
"""

from __future__ import annotations

import contextlib
import io
import math
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nsdesign.precision import band_matrix, matrix_error  # noqa: E402
from nsdesign.precision.restarts import design_restarts  # noqa: E402
from nsdesign.presets import preset  # noqa: E402

SCHEDULES = ("polar_express_gns5", "keller5", "youjiacheng6", "polar_express_eo8", "polar_express_pkg10", "deepseek_v4_10")


def autotune(schedule, count: int):
    try:
        from gram_newton_schulz.restart_autotune import find_best_restarts
    except ImportError:
        return None
    import numpy as np

    rows = [tuple(p.coefficients) for p in schedule.steps]
    if any(len(r) != 3 for r in rows):
        return None
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            return tuple(find_best_restarts(np.logspace(0, -10, 10000), rows, -4e-4, num_restarts=count))
        except ValueError:
            return None


def main() -> int:
    bench = band_matrix(1e-3, 1.0, (1024, 4096), seed=1)
    print(f"machine: {platform.machine()}, {platform.python_version()}; fp16 Gram rounding model, 1024x4096")
    print("| schedule | designed plan (proxy 128x512) | its error | default [2] | autotune (same count) | its error |")
    print("|---|---|---|---|---|---|")
    for name in SCHEDULES:
        s = preset(name)
        t0 = time.time()
        plan = design_restarts(s, "fp16", (128, 512), 1e-3)

        def err(p):
            e = matrix_error(s, bench, "fp16", kernel="gram", restarts=p).error
            return "inf" if not math.isfinite(e) else f"{e:.3g}"

        tuned = autotune(s, len(plan.restarts)) if plan.restarts else None
        print(f"| {name} | {list(plan.restarts)} | {err(plan.restarts)} | {err((2,))} | "
              f"{'—' if tuned is None else list(tuned)} | {'—' if tuned is None else err(tuned)} |  "
              f"<!-- {time.time() - t0:.0f} s -->", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
