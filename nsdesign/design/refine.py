"""Refinement: SciPy over a schedule's coefficients, after the exact engine has designed it.

Why one module: two engines polish a designed schedule. The guarded engine lowers its exact penalised error
(every coefficient, Nelder–Mead restarted from its last point: `polish`, used by design.guarded), and a study
lowers its trial's objective (the last steps' coefficients as relative changes, by SLSQP, Nelder–Mead or
differential evolution within a budget of evaluations: `perturb`, used by search.objectives). How a vector of
numbers becomes a schedule (`Coefficients`) and how SciPy is called is one question, answered here. Each caller
keeps its loss and decides whether the refined schedule is better.

Depends on: core.polynomial, core.schedule, errors. scipy is imported when a refinement runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np

from nsdesign.core.polynomial import OddPolynomial
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError

PERTURB_METHODS: tuple[str, ...] = ("slsqp", "nelder-mead", "de")
SLSQP_BOUND = 0.2  # relative change per coefficient SLSQP may take
DE_BOUND = 0.05  # differential evolution samples the box: a narrower one keeps its population near the design
SIMPLEX_STEP = 0.01  # Nelder–Mead's first simplex: a 1% change of one coefficient per vertex

Loss = Callable[[np.ndarray], float]


@dataclass(frozen=True)
class Coefficients:
    """The coefficients a refinement moves, as a vector: those of steps `first`…last of `schedule`, each as
    itself, or (`relative`) as its relative change x, the coefficient becoming c·(1 + x)."""

    schedule: Schedule
    first: int = 0
    relative: bool = False

    @cached_property
    def rows(self) -> tuple[tuple[float, ...], ...]:
        """The schedule's coefficients, step by step (the vector's base)."""
        return tuple(p.coefficients for p in self.schedule.steps)

    @cached_property
    def slots(self) -> tuple[tuple[int, int], ...]:
        """(step, coefficient) of each entry of the vector."""
        return tuple((i, j) for i in range(self.first, len(self.rows)) for j in range(len(self.rows[i])))

    def start(self) -> np.ndarray:
        """The vector of `schedule` itself: no change (zeros), or its coefficients."""
        if self.relative:
            return np.zeros(len(self.slots))
        return np.array([self.rows[i][j] for i, j in self.slots], dtype=float)

    def build(self, x: np.ndarray) -> Schedule:
        """The schedule the vector `x` stands for (an InputError where no schedule can hold it)."""
        new = [list(r) for r in self.rows]
        for (i, j), v in zip(self.slots, x):
            new[i][j] = self.rows[i][j] * (1.0 + float(v)) if self.relative else float(v)
        s = self.schedule
        return Schedule(tuple(OddPolynomial(tuple(r)) for r in new), s.norm_div, s.extension, s.name)


def polish(loss: Loss, x: np.ndarray, rounds: int) -> np.ndarray:
    """Adaptive Nelder–Mead on `loss` from `x`, restarted `rounds` times from its last point (deterministic:
    no random start). Its tolerances reach the exact metrics' own precision."""
    from scipy.optimize import minimize

    for _ in range(rounds):
        x = minimize(loss, x, method="Nelder-Mead",
                     options={"maxiter": 4000, "xatol": 1e-10, "fatol": 1e-12, "adaptive": True}).x
    return x


def perturb(loss: Loss, size: int, method: str, budget: int) -> np.ndarray:
    """The relative change (a vector of `size`) that `method` finds for `loss` in about `budget` evaluations,
    starting from no change: SLSQP within ±SLSQP_BOUND, Nelder–Mead from a SIMPLEX_STEP simplex, or seeded
    differential evolution within ±DE_BOUND."""
    from scipy.optimize import differential_evolution, minimize

    x0 = np.zeros(size)
    with np.errstate(all="ignore"):
        if method == "slsqp":
            result = minimize(loss, x0, method="SLSQP", bounds=[(-SLSQP_BOUND, SLSQP_BOUND)] * size,
                              options={"maxiter": max(1, budget // (size + 1)), "eps": 1e-6, "ftol": 1e-12})
        elif method == "nelder-mead":
            simplex = np.vstack([x0] + [np.where(np.arange(size) == k, SIMPLEX_STEP, 0.0) for k in range(size)])
            result = minimize(loss, x0, method="Nelder-Mead",
                              options={"maxfev": budget, "initial_simplex": simplex, "xatol": 1e-5, "fatol": 1e-7})
        elif method == "de":
            result = differential_evolution(loss, [(-DE_BOUND, DE_BOUND)] * size, x0=x0, seed=0,
                                            maxiter=max(1, budget // (15 * size)), polish=False, tol=1e-8)
        else:
            raise InputError(f"`method` must be one of {', '.join(PERTURB_METHODS)}, got {method!r}")
    return np.asarray(result.x, dtype=float)
