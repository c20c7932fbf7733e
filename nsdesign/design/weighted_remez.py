"""Weighted Remez exchange on a Haar system: min over a of max over [lo, hi] of |w·(Σ a_k φ_k − g)|.

The spectral-shaping designs (nsdesign.design.shaping) fit odd polynomials, and polynomials of the Gram matrix
after a polar stage, to a target g in its own error (absolute, or relative: w = 1/g). Unlike design/remez.py,
which solves the one problem of approximating 1 with exact critical points, this exchange runs on a dense grid
(log- and linearly spaced, with the target's breakpoints) and polishes each extremum locally: the exact error
of a fit is measured afterwards by interval arithmetic (core.targets.error_bracket), so the grid only has to
find the optimum, and the alternation it finds gives de la Vallée Poussin's lower bound on the best error.

Depends on: core.targets (Target).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nsdesign.core.targets import Target

_GRID = 3000  # points of each of the two spacings


@dataclass(frozen=True)
class RemezResult:
    coefficients: np.ndarray  # in the basis given
    reference: tuple[float, ...]
    lower_bound: float  # de la Vallée Poussin: min |e| on an alternating reference (0 if none)
    grid_error: float  # max |e| on the dense grid (the exact value comes from error_bracket)
    iterations: int


def remez(
    basis: Callable[[np.ndarray], np.ndarray], target: Target, weight: Callable[[np.ndarray], np.ndarray],
    lo: float, hi: float, n: int, iterations: int = 40,
) -> RemezResult:
    """min over a of max over [lo, hi] of |w·(Σ a_k φ_k − g)| by multi-point exchange on a dense grid.

    The basis must be a Haar system on [lo, hi] (odd monomials times a function without zeros are), so the
    optimum alternates at n+1 points and any alternation gives the de la Vallée Poussin lower bound."""
    grid = _grid(target, lo, hi)
    ref = _initial_reference(lo, hi, n + 1, log=target.error == "relative")
    best: RemezResult | None = None
    for it in range(1, iterations + 1):
        coef = _level(basis, target, weight, ref)
        e = _residual(basis, target, weight, coef, grid)
        xs, es = _extrema(basis, target, weight, coef, grid, e)
        alternating = _alternating(xs, es, n + 1)
        lower = float(np.min(np.abs(alternating[1]))) if alternating is not None else 0.0
        top = float(np.max(np.abs(e))) if np.isfinite(e).all() else math.inf
        result = RemezResult(coef, tuple(ref), lower, top, it)
        if best is None or top < best.grid_error or (top == best.grid_error and lower > best.lower_bound):
            best = result
        if top <= lower * (1 + 1e-9):
            break
        if alternating is not None and lower > 1e-3 * top:
            ref = list(alternating[0])
        else:  # a degenerate levelled solution: the classical one-point exchange of the worst point
            ref = _single_exchange(ref, _residual(basis, target, weight, coef, np.asarray(ref)), grid, e)
    assert best is not None
    return best


def _grid(target: Target, lo: float, hi: float) -> np.ndarray:
    inner = [b for b in target.breakpoints if lo < b < hi]
    pts = np.concatenate([np.geomspace(lo, hi, _GRID), np.linspace(lo, hi, _GRID), np.array(inner + [lo, hi])])
    return np.unique(pts)


def _initial_reference(lo: float, hi: float, count: int, log: bool) -> list[float]:
    """Chebyshev extrema, spread in log σ for a relative error (the singular end of σ^p sits at lo), else in σ²
    (as design.remez starts the sign target)."""
    u = (1 - np.cos(np.pi * np.arange(count) / (count - 1))) / 2
    if log:
        return list(np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo))))
    return list(np.sqrt(lo * lo + u * (hi * hi - lo * lo)))


def _single_exchange(ref: list[float], e_ref: np.ndarray, grid: np.ndarray, e: np.ndarray) -> list[float]:
    """Swap the grid's worst point into the reference, keeping the signs alternating."""
    i = int(np.argmax(np.abs(e)))
    x, sign = float(grid[i]), np.sign(e[i])
    ref = list(ref)
    if x in ref:
        return ref
    if x < ref[0]:
        return [x] + (ref[1:] if np.sign(e_ref[0]) == sign else ref[:-1])
    if x > ref[-1]:
        return (ref[:-1] if np.sign(e_ref[-1]) == sign else ref[1:]) + [x]
    j = int(np.searchsorted(ref, x)) - 1
    k = j if np.sign(e_ref[j]) == sign else j + 1
    ref[k] = x
    return ref


def _level(basis: Callable, target: Target, weight: Callable, ref: Sequence[float]) -> np.ndarray:
    x = np.asarray(ref, dtype=float)
    phi = basis(x)
    signs = (-1.0) ** np.arange(len(x))
    system = np.column_stack([phi, -signs / weight(x)])
    try:
        solution = np.linalg.solve(system, target.values(x))
    except np.linalg.LinAlgError:
        solution = np.linalg.lstsq(system, target.values(x), rcond=None)[0]
    return solution[:-1]


def _residual(basis: Callable, target: Target, weight: Callable, coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    return weight(x) * (basis(x) @ coef - target.values(x))


def _extrema(
    basis: Callable, target: Target, weight: Callable, coef: np.ndarray, grid: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Local extrema of e on the grid (ends included), each polished on 65 points between its neighbours."""
    a = np.abs(e)
    inner = np.where((a[1:-1] >= a[:-2]) & (a[1:-1] >= a[2:]))[0] + 1
    idx = np.unique(np.concatenate([[0], inner, [len(grid) - 1]]))
    left, right = grid[np.maximum(idx - 1, 0)], grid[np.minimum(idx + 1, len(grid) - 1)]
    sign = np.sign(e[idx])[:, None]
    steps = np.linspace(0.0, 1.0, 65)[None, :]
    rows = np.arange(len(idx))
    for _ in range(2):  # two rounds, all extrema at once: each to ~(2/64)² of a grid cell
        local = left[:, None] + (right - left)[:, None] * steps
        le = _residual(basis, target, weight, coef, local.ravel()).reshape(local.shape)
        j = np.argmax(np.abs(le) * (np.sign(le) == sign), axis=1)
        left, right = local[rows, np.maximum(j - 1, 0)], local[rows, np.minimum(j + 1, 64)]
    xs, es = local[rows, j], le[rows, j]
    return xs, es


def _alternating(xs: np.ndarray, es: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray] | None:
    """`count` extrema of alternating sign keeping the largest: merge equal-sign runs, then drop the smaller end."""
    keep_x, keep_e = [], []
    for x, e in zip(xs, es):
        if e == 0:
            continue
        if keep_e and np.sign(e) == np.sign(keep_e[-1]):
            if abs(e) > abs(keep_e[-1]):
                keep_x[-1], keep_e[-1] = x, e
            continue
        keep_x.append(x)
        keep_e.append(e)
    if len(keep_e) < count:
        return None
    while len(keep_e) > count:
        if abs(keep_e[0]) < abs(keep_e[-1]):
            keep_x.pop(0)
            keep_e.pop(0)
        else:
            keep_x.pop()
            keep_e.pop()
    return np.array(keep_x), np.array(keep_e)


def error_weight(target: Target) -> Callable[[np.ndarray], np.ndarray]:
    """w(σ) of the target's error: 1 for an absolute error, 1/g(σ) for a relative one."""
    if target.error == "absolute":
        return lambda x: np.ones_like(np.asarray(x, dtype=float))
    return lambda x: 1.0 / target.values(x)
