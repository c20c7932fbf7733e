"""Figures of schedules, spectra, costs and laws (matplotlib, headless).

Every function builds a `matplotlib.figure.Figure` without pyplot (so it works with any backend, in CI and
in notebooks) and returns it; `save_figure(fig, path)` writes PNG or SVG by the suffix, atomically.

    map_figure(schedules, min_sigma)        F(σ) on [0, 1.05] and on a log-σ axis, band shaded
    intervals_figure(schedules, min_sigma)  exact image of the band after each step, worst error per step
    spectrum_run(matrix, schedules)         singular values before/after NS (numpy or nsdesign.torch)
    histogram_figure(run, min_sigma)        their histograms
    frontier_points(min_sigma, shape)       presets + greedy designs as (FLOPs, exact worst error)
    frontier_figure(points, min_sigma, shape)
    frontier(min_sigma, pareto=PATH)        what `plot frontier` draws: a Pareto file's band and shape win
    laws_figure(...)                        momentum-quantile power laws with extrapolation bands

This is the only layer of nsdesign that imports matplotlib.
"""

from __future__ import annotations

from nsdesign.plot._render import BAND_COLOR, PALETTE, TOLERANCE_COLOR, figure_bytes, save_figure
from nsdesign.plot.frontier import (
    Frontier,
    FrontierPoint,
    frontier,
    frontier_figure,
    frontier_points,
    load_pareto,
    pareto_front,
)
from nsdesign.plot.laws import laws_figure
from nsdesign.plot.histogram import SpectrumRun, histogram_figure, spectrum_run
from nsdesign.plot.maps import intervals_figure, map_figure, map_values
from nsdesign.plot.matrices import load_matrix, newton_schulz, newton_schulz_numpy, singular_values

__all__ = [
    "BAND_COLOR",
    "Frontier",
    "FrontierPoint",
    "PALETTE",
    "SpectrumRun",
    "TOLERANCE_COLOR",
    "figure_bytes",
    "frontier",
    "frontier_figure",
    "frontier_points",
    "histogram_figure",
    "intervals_figure",
    "laws_figure",
    "load_matrix",
    "load_pareto",
    "map_figure",
    "map_values",
    "newton_schulz",
    "newton_schulz_numpy",
    "pareto_front",
    "save_figure",
    "singular_values",
    "spectrum_run",
]
