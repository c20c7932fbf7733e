"""Paired statistics over seeds: what a comparison of schedules trained on the same seeds can and cannot resolve.

Why here, below torch/: these are pure functions of recorded numbers (numpy, scipy), used by
`nsdesign train-compare` (`nsdesign.torch.training`), the training studies and anyone re-analysing stored runs
without torch. For each schedule against a baseline, the per-seed differences d_i = loss_i − baseline_i give a
Student-t interval and a paired t-test p-value (`paired_differences`); Holm's step-down correction runs across
every comparison of a family (`holm`), each interval then at its Holm level, with the minimum detectable
difference beside it (`minimum_detectable`); `first_reach` is the interpolated step at which a curve first
reaches a target loss fixed before the runs (modded-nanogpt's record rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from nsdesign.errors import InputError

CONFIDENCE = 0.95
POWER = 0.8  # of the minimum detectable difference


@dataclass(frozen=True)
class Summary:
    """A schedule's final loss over seeds (the test loss in train-compare; std with ddof=1; nan for one seed)."""

    label: str
    n: int
    mean: float
    std: float
    diverged: int


@dataclass(frozen=True)
class PairedDifference:
    """Mean of (schedule − baseline) final test loss over seeds, with a Student-t interval at `confidence`, the
    paired t-test p-value, and (after `holm`) the Holm-adjusted p-value, an interval at the comparison's Holm
    level, the Holm verdict and the minimum detectable difference at that level."""

    label: str
    n: int
    mean: float
    std: float
    low: float
    high: float
    confidence: float = CONFIDENCE
    p_value: float = math.nan
    p_holm: float = math.nan
    holm_confidence: float = math.nan
    holm_low: float = math.nan
    holm_high: float = math.nan
    holm_rejects: bool = False
    mdd: float = math.nan

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    @property
    def verdict(self) -> str:
        """'better'/'worse' when Holm rejects a zero difference (lower loss is better), else 'unresolved'."""
        if not self.holm_rejects:
            return "unresolved"
        return "better" if self.mean < 0 else "worse"



def summarize(label: str, finals: Sequence[float]) -> Summary:
    """Mean and sample standard deviation (ddof=1) of final losses; a diverged run (inf) makes the mean inf."""
    values = np.asarray(finals, dtype=float)
    if values.size == 0:
        raise InputError(f"{label}: no runs to summarize")
    finite = np.isfinite(values)
    mean = float(values.mean()) if finite.all() else math.inf
    std = float(values.std(ddof=1)) if values.size > 1 and finite.all() else math.nan
    return Summary(label, int(values.size), mean, std, int((~finite).sum()))


def paired_differences(label: str, values: Sequence[float], baseline: Sequence[float], confidence: float = CONFIDENCE) -> PairedDifference:
    """d_i = values_i − baseline_i over seeds i; mean ± t_{(1+c)/2, n−1}·s_d/√n (nan interval for n < 2)."""
    from scipy import stats

    a, b = np.asarray(values, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape or a.size == 0:
        raise InputError(f"{label}: paired differences need the same non-zero number of seeds ({a.size} vs {b.size})")
    d = a - b
    n = int(d.size)
    if not np.isfinite(d).all():
        return PairedDifference(label, n, math.nan, math.nan, math.nan, math.nan, confidence)
    mean = float(d.mean())
    if n < 2:
        return PairedDifference(label, n, mean, math.nan, math.nan, math.nan, confidence)
    std = float(d.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    if std > 0:
        p = float(2 * stats.t.sf(abs(mean) / (std / math.sqrt(n)), n - 1))
    else:
        p = 1.0 if mean == 0 else 0.0
    return PairedDifference(label, n, mean, std, mean - half, mean + half, confidence, p_value=p)


def minimum_detectable(std: float, n: int, alpha: float, power: float = POWER) -> float:
    """MDD = (t_{1−α/2, n−1} + t_{power, n−1})·s_d/√n: the true paired difference a two-sided paired t-test at
    level α detects with probability ≈ `power` (the usual normal-theory formula with t quantiles); nan for n < 2.

    Why beside each verdict: "unresolved" with an MDD of 0.05 says nothing about a 0.01 effect."""
    from scipy import stats

    if n < 2 or not math.isfinite(std):
        return math.nan
    return float(stats.t.ppf(1 - alpha / 2, n - 1) + stats.t.ppf(power, n - 1)) * std / math.sqrt(n)


def holm(differences: Sequence[PairedDifference], alpha: float = 1 - CONFIDENCE) -> tuple[PairedDifference, ...]:
    """Holm's step-down correction across all comparisons with the baseline (family size m = those with a
    p-value). Sorted by raw p ascending, the i-th (i = 1…m) is tested at α/(m − i + 1) and rejected only when every
    earlier one was; adjusted p_(i) = max_{j≤i} min(1, (m − j + 1)·p_(j)). Each comparison's interval and MDD are
    at its own Holm level α/(m − i + 1) (confidence 1 − α/(m − i + 1)); comparisons without a p-value (one seed,
    a diverged run) stay unresolved. Why: with 4–7 schedules against one baseline, 95% intervals one by one
    exclude 0 by chance far more often than 5% of the time."""
    from scipy import stats

    tested = sorted((i for i, d in enumerate(differences) if math.isfinite(d.p_value)), key=lambda i: differences[i].p_value)
    m = len(tested)
    out = list(differences)
    running, rejecting = 0.0, True
    for rank, i in enumerate(tested):
        d = differences[i]
        level = alpha / (m - rank)
        running = max(running, min(1.0, (m - rank) * d.p_value))
        rejecting = rejecting and d.p_value <= level
        half = float(stats.t.ppf(1 - level / 2, d.n - 1)) * d.std / math.sqrt(d.n)
        out[i] = replace(d, p_holm=running, holm_confidence=1 - level, holm_low=d.mean - half, holm_high=d.mean + half,
                         holm_rejects=rejecting, mdd=minimum_detectable(d.std, d.n, level))
    return tuple(out)


def first_reach(steps: Sequence[float], losses: Sequence[float], target: float) -> float | None:
    """The (linearly interpolated) step at which the loss curve first drops to `target`, or None.

    Interpolates between the two evaluations that bracket the first crossing, so the answer is not quantized to
    the evaluation interval; an evaluation exactly at the target counts as reached."""
    for i, (s, v) in enumerate(zip(steps, losses)):
        if not math.isfinite(v):
            return None
        if v <= target:
            if i == 0:
                return float(s)
            s0, v0 = steps[i - 1], losses[i - 1]
            return float(s0 + (s - s0) * (v0 - target) / (v0 - v)) if v0 != v else float(s)
    return None


