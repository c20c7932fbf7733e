"""How far the guarded design is from the constrained optimum: greedy family, its refinement, a global search.

    python benchmarks/guarded_refinement.py        # Gaussian 1024x4096 bands, about 1 min on 2 cores

For each normalizer's Marchenko–Pastur band (q = 0.99) and the default guard (|1 − F| ≤ 0.3 up to g), with k
quintic steps: the best member of the family "greedy designed on [l, v]" (the design top v the guarded engine
chose), the engine's result (`nsdesign.design.guarded`: that member refined by Nelder–Mead), and SciPy's
differential evolution over all 3k coefficients (seed 0, exact metrics, the guard as the same penalty),
started from the engine's result. Every error is the exact max |1 − F| on [l, u]; the guard error is exact too.
The unconstrained greedy optimum on [l, u] is the certified lower bound.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time
from functools import partial

import numpy as np
from scipy.optimize import differential_evolution

from nsdesign.core.cost import Shape
from nsdesign.core.metrics import worst_error
from nsdesign.core.polynomial import OddPolynomial
from nsdesign.core.schedule import Schedule
from nsdesign.design.greedy import greedy
from nsdesign.design.guarded import UNUSABLE, exact_tail, guard_error, penalised_error
from nsdesign.errors import InputError
from nsdesign.plans.normalizer import design_for_normalizer

CASES = (("schatten8", 2), ("aol", 2), ("schatten4", 2), ("frobenius", 3))


def build(x: np.ndarray, k: int, norm_div: float | None) -> Schedule:
    return Schedule(tuple(OddPolynomial(tuple(x[3 * i: 3 * i + 3])) for i in range(k)), norm_div)


def penalised(x: np.ndarray, k: int, l: float, u: float, top: float, tau: float, norm_div: float | None) -> float:
    """`nsdesign.design.guarded.penalised_error`, the objective `refine` minimises, of a coefficient vector."""
    try:
        return penalised_error(build(x, k, norm_div), l, u, top, tau)
    except InputError:
        return UNUSABLE


def main() -> None:
    shape = Shape.parse(sys.argv[1] if len(sys.argv) > 1 else "1024x4096")
    start = time.time()
    rows = []
    print(f"Gaussian {shape}: exact max|1−F| on the accuracy band (guard |1−F| ≤ 0.3 met by every entry)")
    print(f"{'normalizer':10s} {'k':>2s} {'lower bound':>11s} {'family':>9s} {'refined':>9s} {'DE':>9s} {'DE s':>6s}")
    for norm, k in CASES:
        g = design_for_normalizer(norm, steps=k, shape=shape).guarded
        l, u, top, tau = g.min_sigma, g.max_sigma, g.guard_sigma, g.guard_tol
        family = exact_tail(greedy(l, g.design_max_sigma, k, norm_div=g.schedule.input_scale)).schedule
        x0 = np.array([c for p in g.schedule.steps for c in p.coefficients])

        objective = partial(penalised, k=k, l=l, u=u, top=top, tau=tau, norm_div=g.schedule.norm_div)
        bounds = [(min(0.0, 3 * c), max(0.0, 3 * c)) if abs(c) > 1 else (-3.0, 3.0) for c in x0]
        t0 = time.time()
        found = differential_evolution(objective, bounds, seed=0, maxiter=300, popsize=30, tol=1e-10, x0=x0)
        seconds = time.time() - t0
        de = build(found.x, k, g.schedule.norm_div)
        de_error = worst_error(de, l, u) if guard_error(de, u, top) <= tau else float("nan")
        row = {"normalizer": norm, "steps": k, "band": [l, u], "guard_sigma": top, "lower_bound": g.lower_bound,
               "family": worst_error(family, l, u), "refined": g.error, "differential_evolution": de_error,
               "de_seconds": seconds, "de_coefficients": [list(p.coefficients) for p in de.steps]}
        rows.append(row)
        print(f"{norm:10s} {k:2d} {g.lower_bound:11.3g} {row['family']:9.4g} {g.error:9.4g} {de_error:9.4g} "
              f"{seconds:6.1f}")
    meta = {"command": " ".join(sys.argv), "seconds": time.time() - start, "machine": "2-core x86_64 CPU, no GPU"}
    out = pathlib.Path("benchmarks/guarded_refinement.json")
    out.write_text(json.dumps({"meta": meta, "results": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
