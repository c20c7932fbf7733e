"""Momentum-quantile power laws (arXiv 2606.04058) with their 95% prediction bands, extrapolated.

Uses `nsdesign.laws`: the fitted law table (shipped, or a file from `nsdesign fit`) and, for the
shipped table, the measured points it was fitted to.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from nsdesign.core.limits import check_model_size
from nsdesign.errors import InputError
from nsdesign.laws.marchenko_pastur import check_quantile
from nsdesign.laws.momentum import load_laws, read_measurements, shipped_csv_path
from nsdesign.laws.predict import predict_momentum
from nsdesign.plot import _render

DEFAULT_LAYERS: tuple[str, ...] = ("mid_late.q", "final.q", "final.o", "final.mlp_down")
SIZE_NAMES = {7e9: "7B", 7e10: "70B", 3e11: "300B", 1e12: "1T"}


def size_name(size: float) -> str:
    for value, name in SIZE_NAMES.items():
        if math.isclose(size, value, rel_tol=1e-9):
            return name
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6)):
        if size >= scale:
            return f"{size / scale:.3g}{unit}"
    return f"{size:.3g}"


def laws_figure(
    layers: Sequence[str] | None = None,
    quantile: float = 0.5,
    sizes: Sequence[float] = (7e9, 7e10, 3e11, 1e12),
    laws_path: str | None = None,
    title: str | None = None,
    size: Sequence[float] | None = None,
    dpi: int = _render.DEFAULT_DPI,
) -> Figure:
    """σ_q(M) per layer: measured points, the fitted line with its 95% prediction band from the smallest fitted
    model to past the largest marked size (dashed beyond the data), and the predicted band edge at `sizes`."""
    q = check_quantile(quantile)
    marks = [check_model_size(s) for s in sizes]
    table = load_laws(laws_path)
    chosen = list(layers) if layers else [l for l in DEFAULT_LAYERS if l in table.layers()] or list(table.layers()[:4])
    if len(chosen) > 10:
        raise InputError(f"at most 10 layers fit on one figure, got {len(chosen)}")
    points = read_measurements(shipped_csv_path()).measurements if laws_path is None else ()

    fig = _render.new_figure(size or (9.0, 5.6), dpi)
    ax = fig.subplots()
    _render.style_axes(ax)
    for i, layer in enumerate(chosen):
        laws = table.for_layer(layer)  # unknown layers fail with the list of valid ones
        m_min, m_max = laws[0].m_min, laws[0].m_max
        top = max([m_max] + marks) * 1.6
        grid = np.geomspace(m_min, top, 200)
        predictions = [predict_momentum(table, layer, q, float(m)) for m in grid]
        edge = np.array([p.min_sigma for p in predictions])
        lo = np.array([p.interval[0] for p in predictions])
        hi = np.array([p.interval[1] for p in predictions])
        c = _render.color(i)
        fitted = grid <= m_max * (1 + 1e-9)
        exact = [law for law in laws if math.isclose(law.quantile, q, abs_tol=1e-12)]
        if exact:
            law = exact[0]
            label = f"{layer}: α = {law.alpha:.3f} ± {law.alpha_se:.3f}"
        else:
            label = f"{layer} (q interpolated)"
        ax.fill_between(grid, lo, hi, color=c, alpha=0.14, linewidth=0, zorder=1)
        ax.plot(grid[fitted], edge[fitted], color=c, linewidth=1.8, zorder=3, label=label)
        ax.plot(grid[~fitted], edge[~fitted], color=c, linewidth=1.4, linestyle="--", zorder=3)
        measured = [p for p in points if f"{p.depth}.{p.matrix}" == layer and math.isclose(p.quantile, q, abs_tol=1e-12)] if points else []
        if measured:
            ax.plot([p.model_params for p in measured], [p.sigma for p in measured], "o", color=c, markersize=4.5,
                    markeredgecolor="white", markeredgewidth=0.6, zorder=4)
        for m in marks:
            p = predict_momentum(table, layer, q, m)
            ax.errorbar([m], [p.min_sigma], yerr=[[p.min_sigma - p.interval[0]], [p.interval[1] - p.min_sigma]],
                        fmt="D", color=c, markersize=4, capsize=2.5, linewidth=0.9, zorder=4)
    ymin, ymax = ax.get_ylim()
    for m in marks:
        ax.axvline(m, color="#999999", linewidth=0.7, linestyle=":", zorder=0)
        ax.annotate(size_name(m), (m, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -10),
                    textcoords="offset points", fontsize=8, color="#555555")
    ax.axvspan(laws_fitted_range(table)[0], laws_fitted_range(table)[1], color=_render.BAND_COLOR, zorder=0,
               linewidth=0, label="fitted model sizes")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("model parameters M")
    ax.set_ylabel(f"σ_q of the Frobenius-normalized momentum, q = {q:g} (descending rank)")
    ax.legend(fontsize="small", loc="lower left", framealpha=0.92)
    fig.suptitle(title or f"Momentum quantile laws σ_q ≈ C·M^−α ({table.source}); shaded: 95% prediction interval")
    return fig


def laws_fitted_range(table) -> tuple[float, float]:
    return min(l.m_min for l in table.laws), max(l.m_max for l in table.laws)
