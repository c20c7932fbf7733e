"""The NS map F(σ) of one or more schedules, and the per-step shrinkage of the band's image."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from nsdesign.core.metrics import check_band, evaluate, intervals
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.plot import _render

OFF_SCALE = 1e6  # values beyond the plot: drawn off the top of the axes (not a divergence rule: core.limits.DIVERGED)
MAP_SPAN = 1.05  # the linear panel covers σ ∈ [0, 1.05·max σ]


def map_values(schedule: Schedule, sigma: np.ndarray) -> np.ndarray:
    """F(σ) on an array, with overflow drawn as a large finite value of the right sign (for plotting)."""
    x = np.asarray(sigma, dtype=np.float64) / schedule.input_scale
    with np.errstate(over="ignore", invalid="ignore"):
        for p in schedule.steps:
            x = p.evaluate(x)
    return np.nan_to_num(np.clip(x, -OFF_SCALE, OFF_SCALE), nan=OFF_SCALE)


def _names(schedules: Sequence[Schedule], names: Sequence[str] | None) -> list[str]:
    if not schedules:
        raise InputError("give at least one schedule to plot")
    if names is None:
        names = [s.name or f"schedule {i + 1}" for i, s in enumerate(schedules)]
    if len(names) != len(schedules):
        raise InputError(f"{len(names)} names given for {len(schedules)} schedules")
    return list(names)


def _check_tol(tol: float | None) -> None:
    if tol is not None and not (math.isfinite(tol) and 0 < tol < 1):
        raise InputError(f"tolerance must be a number in (0, 1), got {tol}")


def map_figure(
    schedules: Sequence[Schedule],
    min_sigma: float,
    max_sigma: float = 1.0,
    names: Sequence[str] | None = None,
    tol: float | None = None,
    zoom_from: float | None = None,
    ylim: tuple[float, float] = (-0.05, 1.5),
    title: str | None = None,
    size: Sequence[float] | None = None,
    dpi: int = _render.DEFAULT_DPI,
) -> Figure:
    """F(σ) on [0, 1.05·max σ] (left) and on a log-σ axis from near 0 (right), the band shaded.

    Legend entries carry the exact worst error on the band and the exact overshoot (max F up to
    1.02·max σ) from `nsdesign.core.metrics.evaluate`.
    """
    check_band(min_sigma, max_sigma)
    _check_tol(tol)
    labels = _names(schedules, names)
    zoom_lo = zoom_from if zoom_from is not None else min_sigma / 30.0
    if not (math.isfinite(zoom_lo) and 0 < zoom_lo < max_sigma):
        raise InputError(f"the zoom panel must start in (0, max-sigma), got {zoom_lo}")
    if not (ylim[0] < ylim[1]):
        raise InputError(f"y limits must be increasing, got {ylim}")

    fig = _render.new_figure(size or (10.0, 4.3 + 0.22 * ((len(schedules) + 3) // 2)), dpi)
    linear, zoom = fig.subplots(1, 2, width_ratios=(0.85, 1.15))
    top = MAP_SPAN * max_sigma
    sigma_lin = np.union1d(np.linspace(0.0, top, 40001), [min_sigma, max_sigma])
    sigma_log = np.union1d(np.geomspace(zoom_lo, top, 40001), [min_sigma, max_sigma])
    for ax in (linear, zoom):
        _render.style_axes(ax)
        _render.shade_band(ax, min_sigma, max_sigma, label=f"band [{min_sigma:g}, {max_sigma:g}]" if ax is zoom else None)
        if tol is not None:
            ax.axhspan(1 - tol, 1 + tol, color=_render.TOLERANCE_COLOR, zorder=0.5, linewidth=0,
                       label=f"1 ± {tol:g}" if ax is zoom else None)
        ax.axhline(1.0, color="#555555", linewidth=0.8, linestyle="--", zorder=1)
        ax.set_ylim(*ylim)
        ax.set_xlabel("σ (Frobenius-normalized singular value)")
    for i, (schedule, label) in enumerate(zip(schedules, labels)):
        metrics = evaluate(schedule, min_sigma, max_sigma)
        legend = (f"{label}: max|1−F| {metrics.worst_error:.3g} on band, "
                  f"max F {metrics.overshoot:.3g} on [0, {metrics.guard_sigma:g}]")
        linear.plot(sigma_lin, map_values(schedule, sigma_lin), color=_render.color(i), linewidth=1.4, zorder=3)
        zoom.plot(sigma_log, map_values(schedule, sigma_log), color=_render.color(i), linewidth=1.4, zorder=3,
                  label=legend)
    linear.set_xlim(0.0, top)
    linear.set_ylabel("F(σ) after all steps")
    linear.set_title("F(σ) on [0, 1.05]")
    zoom.set_xscale("log")
    zoom.set_xlim(zoom_lo, top)
    zoom.set_title("log σ: the small singular values")
    fig.legend(*zoom.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize="small", frameon=False)
    fig.suptitle(title or f"Newton–Schulz map on the band [{min_sigma:g}, {max_sigma:g}]")
    return fig


def intervals_figure(
    schedules: Sequence[Schedule],
    min_sigma: float,
    max_sigma: float = 1.0,
    names: Sequence[str] | None = None,
    tol: float | None = None,
    title: str | None = None,
    size: Sequence[float] | None = None,
    dpi: int = _render.DEFAULT_DPI,
) -> Figure:
    """Exact range of the band's image after each step (left) and the worst error after each step (right)."""
    check_band(min_sigma, max_sigma)
    _check_tol(tol)
    labels = _names(schedules, names)
    fig = _render.new_figure(size, dpi)
    ranges, errors = fig.subplots(1, 2)
    for ax in (ranges, errors):
        _render.style_axes(ax)
        ax.set_xlabel("step")
    ranges.axhline(1.0, color="#555555", linewidth=0.8, linestyle="--", zorder=1)
    if tol is not None:
        ranges.axhspan(1 - tol, 1 + tol, color=_render.TOLERANCE_COLOR, zorder=0.5, linewidth=0, label=f"1 ± {tol:g}")
        errors.axhline(tol, color="#555555", linewidth=0.8, linestyle=":", label=f"tol {tol:g}")
    count = len(schedules)
    width = 0.6 / max(count, 1)
    most_steps = 0
    extremes = [0.0, 1.0]
    for i, (schedule, label) in enumerate(zip(schedules, labels)):
        steps = [(min_sigma / schedule.input_scale, max_sigma / schedule.input_scale)]
        steps += intervals(schedule, min_sigma, max_sigma)
        most_steps = max(most_steps, len(steps) - 1)
        extremes += [min(s[0] for s in steps), max(s[1] for s in steps)]
        lo = np.array([s[0] for s in steps])
        hi = np.array([s[1] for s in steps])
        x = np.arange(len(steps)) + (i - (count - 1) / 2) * width
        c = _render.color(i)
        ranges.vlines(x, lo, np.minimum(hi, OFF_SCALE), color=c, linewidth=max(1.5, 14 * width), label=label, zorder=3)
        ranges.plot(x, lo, "_", color=c, markersize=8, zorder=4)
        error = np.maximum(1.0 - lo, hi - 1.0)
        errors.plot(np.arange(len(steps)), np.clip(error, 1e-17, OFF_SCALE), "o-", color=c, markersize=3.5,
                    linewidth=1.3, label=label, zorder=3)
    ranges.set_title("exact image of the band after each step")
    ranges.set_ylabel("range of the partial map")
    ranges.set_ylim(max(-1.5, min(-0.05, 1.1 * min(extremes))), min(3.0, max(1.5, 1.1 * max(extremes))))
    errors.set_yscale("log")
    errors.set_title("worst error max|1 − F| after each step")
    errors.set_ylabel("max|1 − F| on the band")
    for ax in (ranges, errors):
        ax.set_xticks(range(most_steps + 1))
        ax.legend(fontsize="x-small", loc="best", framealpha=0.92)
    fig.suptitle(title or f"Interval shrinkage on the band [{min_sigma:g}, {max_sigma:g}]")
    return fig
