"""Singular-value histograms of a matrix before and after Newton–Schulz."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.plot import _render
from nsdesign.plot.matrices import DTYPES, frobenius_normalized, newton_schulz, singular_values

AFTER_RANGE = (0.0, 1.6)  # the right panel's σ axis; values outside are counted in the legend


@dataclass(frozen=True)
class SpectrumRun:
    """Singular values of the Frobenius-normalized input and of NS(input) for each schedule."""

    label: str
    shape: tuple[int, int]
    dtype: str
    before: np.ndarray
    after: dict[str, np.ndarray] = field(default_factory=dict)


def spectrum_run(
    matrix: np.ndarray,
    schedules: Sequence[Schedule],
    names: Sequence[str] | None = None,
    dtype: str = "float32",
    label: str = "matrix",
) -> SpectrumRun:
    if dtype not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    names = list(names) if names is not None else [s.name or f"schedule {i + 1}" for i, s in enumerate(schedules)]
    if len(names) != len(schedules):
        raise InputError(f"{len(names)} names given for {len(schedules)} schedules")
    before = singular_values(frobenius_normalized(matrix))
    after = {n: singular_values(newton_schulz(matrix, s, dtype)) for n, s in zip(names, schedules)}
    return SpectrumRun(label, tuple(np.shape(matrix)), dtype, before, after)


def histogram_figure(
    run: SpectrumRun,
    min_sigma: float | None = None,
    max_sigma: float = 1.0,
    bins: int = 60,
    title: str | None = None,
    size: Sequence[float] | None = None,
    dpi: int = _render.DEFAULT_DPI,
) -> Figure:
    """Left: σ of the Frobenius-normalized input on a log axis (band shaded). Right: σ after NS, per schedule."""
    if not 5 <= bins <= 1000:
        raise InputError(f"bins must be from 5 to 1000, got {bins}")
    if min_sigma is not None and not (math.isfinite(min_sigma) and 0 < min_sigma < max_sigma):
        raise InputError(f"the band needs 0 < min-sigma < max-sigma, got [{min_sigma}, {max_sigma}]")
    fig = _render.new_figure(size, dpi)
    left, right = fig.subplots(1, 2)
    for ax in (left, right):
        _render.style_axes(ax)
        ax.set_ylabel("count")

    before = run.before[run.before > 0]
    lo = min(before.min() if before.size else 1e-3, min_sigma or 1.0) / 1.5
    edges = np.geomspace(lo, max(1.05 * max_sigma, before.max() * 1.05 if before.size else 1.0), bins + 1)
    if min_sigma is not None:
        below = int(np.sum(run.before < min_sigma))
        _render.shade_band(left, min_sigma, max_sigma, label=f"band [{min_sigma:g}, {max_sigma:g}] ({below} σ below)")
    left.hist(before, bins=edges, color="#4a4a4a", alpha=0.85, zorder=3, label=f"before NS ({before.size} σ)")
    left.set_xscale("log")
    left.set_xlabel("σ of X/‖X‖_F (log)")
    left.set_title("before")
    left.legend(fontsize="x-small", loc="upper left", framealpha=0.92)

    a, b = AFTER_RANGE
    after_edges = np.linspace(a, b, bins + 1)
    right.axvline(1.0, color="#555555", linewidth=0.8, linestyle="--", zorder=1)
    for i, (name, values) in enumerate(run.after.items()):
        finite = values[np.isfinite(values)]
        outside = int(values.size - np.sum((finite >= a) & (finite <= b)))
        legend = f"{name}: σ ∈ [{finite.min():.3g}, {finite.max():.3g}]" if finite.size else f"{name}: diverged"
        if outside:
            legend += f", {outside} off-axis"
        right.hist(np.clip(finite, a, b), bins=after_edges, histtype="step", linewidth=1.6, color=_render.color(i),
                   zorder=3, label=legend)
    right.set_xlim(a, b)
    right.set_xlabel("σ after Newton–Schulz")
    right.set_title(f"after ({run.dtype})")
    right.legend(fontsize="x-small", loc="upper left", framealpha=0.92)
    m, n = run.shape
    shape_text = "" if f"{m}×{n}" in run.label else f" ({m}×{n})"
    fig.suptitle(title or f"Singular values before and after NS: {run.label}{shape_text}")
    return fig
