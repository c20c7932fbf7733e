"""The safe default of `nsdesign search`: the best greedy design that does not blow up just above the band.

Why: the bare worst-case optimum for [1e-3, 1] at 5 steps has max F = 1.1e161 on [0, 1.02]. A σ 2% above
the band (an underestimated norm, bf16 rounding of the input) is then amplified without bound, and in bf16 the
run returns NaN. A user who pastes the first answer into a bf16 optimizer must not get that.

What is chosen: among greedy designs of an *inflated* problem — Polar Express's cushion λ and safety factor s
(Amsel et al. 2025, arXiv 2505.16932, §4.4; s ≥ g/max_sigma so inputs up to the guard g stay in every next
step's interval) — the one with the smallest exact worst-case error on the band that passes two checks:

1. exact: max F on [0, g] ≤ MAX_OVERSHOOT, g = `guard_sigma` (default 1.02·max_sigma; interval propagation through
   critical points, `core.metrics.overshoot`; no sampling);
2. rounding model: the output σ_max ≤ MAX_OUTPUT_SIGMA when the fused kernel (torch.optim.Muon's `addmm`
   sequence) and the unfused one (Keller Jordan's muon.py, modded-nanogpt) run in bf16 on a PROXY_SHAPE matrix
   whose singular values are log-spaced over [min_sigma, guard] (`nsdesign.precision`, numpy only): users paste
   the answer into both.

MAX_OVERSHOOT = 1.25 leaves room for the band's own ripple (the 5-step optimum on [1e-3, 1] already swings to
1.113 inside the band) and nothing more. The winner is *certified optimal for its inflated design problem*
(every Remez step certified), not the bare optimum of the band, which `greedy` (and `search --exact`) gives.

When no candidate passes — the band is too wide for the step count, so the in-band ripple alone exceeds the
limit — the candidate with the smallest exact overshoot is returned with `passed=False` and the fewest steps
that would pass (if any within SUGGEST_STEPS), so the caller can say so instead of pretending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from nsdesign.core.limits import MAX_OUTPUT_SIGMA, MAX_OVERSHOOT, PROXY_SHAPE
from nsdesign.core.metrics import overshoot, resolve_guard, worst_error
from nsdesign.design.checks import CHECK_DTYPE, CHECK_KERNEL, Check, log_sigma, model_checks, rounding_check
from nsdesign.design.greedy import DEFAULT_MAX_STEPS, Design, greedy

__all__ = [  # the thresholds and the check are re-exported: callers import the safe default's vocabulary here
    "CHECK_DTYPE", "CHECK_KERNEL", "MAX_OUTPUT_SIGMA", "MAX_OVERSHOOT", "PROXY_SHAPE", "Check", "SafeDesign",
    "bf16_safe", "mix_check", "rounding_check", "safe_greedy",
]
CUSHIONS: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05)  # Polar Express uses 0.02 (modded-nanogpt list)
SAFETY_STEPS: tuple[float, ...] = (1.0, 1.5, 2.5)  # s = 1 + k·(g/u − 1): at the guard, then wider margins
SUGGEST_STEPS = 12  # how far to look for a step count that passes when the requested one cannot


@dataclass(frozen=True)
class SafeDesign:
    design: Design
    error: float  # exact worst-case error on the band
    checks: tuple[Check, ...]
    candidates: int  # how many inflated designs were considered
    suggested_steps: int | None  # fewest steps that pass, when this one does not (None if it passes or none found)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def safe_greedy(
    min_sigma: float,
    max_sigma: float = 1.0,
    steps: int | None = None,
    degree: int | Sequence[int] = 5,
    norm_div: float = 1.0,
    tol: float | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    guard_sigma: float | None = None,
    *,
    headroom: float | None = None,
) -> SafeDesign:
    """The best inflated greedy design for the band that passes the exact and the bf16 checks (see module doc).
    `guard_sigma` is the guard band's top g (default 1.02·max_sigma); `headroom=h` its old spelling."""
    guard, margin = resolve_guard(max_sigma, guard_sigma, headroom)
    ranked = _ranked(min_sigma, max_sigma, steps, degree, norm_div, tol, max_steps, guard, margin)
    for error, over, design in ranked:
        exact = Check("exact", "exact", guard, over, MAX_OVERSHOOT)
        if not exact.passed:
            continue
        models = _model_checks(design, min_sigma, guard)
        if all(m.passed for m in models):
            return SafeDesign(design, error, (exact, *models), len(ranked), None)
    error, over, design = min(ranked, key=lambda r: (r[1], r[0]))
    checks = (Check("exact", "exact", guard, over, MAX_OVERSHOOT), *_model_checks(design, min_sigma, guard))
    suggested = None
    if tol is None:
        start = steps if steps is not None else design.schedule.num_steps
        suggested = _fewest_passing_steps(min_sigma, max_sigma, start, degree, norm_div, guard, margin)
    return SafeDesign(design, error, checks, len(ranked), suggested)


def _ranked(
    min_sigma: float,
    max_sigma: float,
    steps: int | None,
    degree: int | Sequence[int],
    norm_div: float,
    tol: float | None,
    max_steps: int,
    guard: float,
    margin: float,
) -> list[tuple[float, float, Design]]:
    """Every (cushion, safety) candidate as (exact error, exact overshoot on [0, guard], design), best error first;
    the safeties step from 1 + margin (margin = guard/max_sigma − 1)."""
    rows = []
    safeties = sorted({min(2.0, 1.0 + k * margin) for k in SAFETY_STEPS})
    for cushion in CUSHIONS:
        for safety in safeties:
            design = greedy(
                min_sigma, max_sigma, steps, degree, cushion=cushion, safety=safety, norm_div=norm_div, tol=tol,
                max_steps=max_steps,
            )
            s = design.schedule
            rows.append((worst_error(s, min_sigma, max_sigma), overshoot(s, max_sigma, guard_sigma=guard), design))
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def _model_checks(design: Design, min_sigma: float, guard: float) -> tuple[Check, ...]:
    """The bf16 rounding model of each kernel users paste a schedule into, σ log-spaced up to the guard."""
    return model_checks(design.schedule, log_sigma(min_sigma, guard), MAX_OUTPUT_SIGMA)


def _fewest_passing_steps(
    min_sigma: float, max_sigma: float, start: int, degree: int | Sequence[int], norm_div: float, guard: float,
    margin: float,
) -> int | None:
    if not isinstance(degree, int):  # a per-step degree list fixes the step count
        return None
    for count in range(start + 1, SUGGEST_STEPS + 1):
        ranked = _ranked(min_sigma, max_sigma, count, degree, norm_div, None, DEFAULT_MAX_STEPS, guard, margin)
        for _, over, design in ranked:
            checks = () if over > MAX_OVERSHOOT else _model_checks(design, min_sigma, guard)
            if checks and all(c.passed for c in checks):
                return count
    return None


def bf16_safe(design: Design, min_sigma: float, shape: tuple[int, int], guard_sigma: float | None = None) -> bool:
    """No divergence in bf16 (`mix_check` passes): the acceptance rule of the FLOP-cheapest `--degrees auto` mix."""
    return mix_check(design, min_sigma, shape, guard_sigma).passed


def mix_check(design: Design, min_sigma: float, shape: tuple[int, int], guard_sigma: float | None = None) -> Check:
    """The fused kernel's bf16 rounding model on a proxy with `shape`'s aspect ratio (≤ 128 rows), σ log-spaced
    over [min_sigma, g] (g = `guard_sigma`, default 1.02·max_sigma of the design): output σ_max ≤ 1.25.

    A 70B-sized matrix is out of reach on a small CPU; the aspect ratio is what the bf16 behaviour depends on."""
    m, n = sorted(shape)
    rows = min(m, 128)
    cols = min(4096, max(rows, round(n * rows / m)))
    top = resolve_guard(float(design.params.get("max_sigma", 1.0)), guard_sigma)[0]  # type: ignore[arg-type]
    return rounding_check(design.schedule, log_sigma(min_sigma, top, rows), MAX_OUTPUT_SIGMA, shape=(rows, cols))
