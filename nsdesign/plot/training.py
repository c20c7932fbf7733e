"""The training comparison's figure (`train-compare --plot`): loss curves and paired differences per schedule.

It takes the `nsdesign.torch.training.Comparison` a run returned (or read back), never runs torch itself, so
matplotlib stays in plot/ and torch in torch/.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nsdesign.core.paired import CONFIDENCE
from nsdesign.plot._render import PALETTE


def comparison_figure(comparison: Any, dpi: int = 100, confidence: float = CONFIDENCE) -> Any:
    """Validation loss (mean over seeds, ±1 std shaded) versus step, cumulative NS FLOPs and training wall time,
    and the paired difference to the baseline versus step (mean over seeds, 95% t-interval shaded): at the same
    seed the runs share initialization and data, so the difference is far less noisy than either curve."""
    from matplotlib.figure import Figure
    from scipy import stats

    fig = Figure(figsize=(11, 7.5), dpi=dpi, layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    curves, base = {}, None
    for label in comparison.labels:
        runs = [r for r in comparison.runs_of(label) if r.diverged_at is None]
        if len(runs) == len(comparison.seeds):
            curves[label] = runs
    if comparison.baseline in curves:
        base = np.array([r.val_loss for r in curves[comparison.baseline]])
    tops = []
    for i, label in enumerate(comparison.labels):
        if label not in curves:
            continue
        runs = curves[label]
        steps = np.asarray(runs[0].eval_steps, dtype=float)
        losses = np.array([r.val_loss for r in runs])
        n = len(runs)
        mean, std = losses.mean(axis=0), (losses.std(axis=0, ddof=1) if n > 1 else np.zeros(len(steps)))
        wall = np.array([r.wall_seconds for r in runs]).mean(axis=0)
        color = PALETTE[i % len(PALETTE)]
        tops.append(mean[min(len(mean) - 1, max(1, len(mean) // 5))])
        for ax, x in zip(axes[:3], (steps, steps * runs[0].ns_flops_per_step / 1e9, wall)):
            ax.plot(x, mean, color=color, linewidth=1.3, label=label)
            ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.12, linewidth=0)
        if base is not None and base.shape == losses.shape:
            d = losses - base
            dm = d.mean(axis=0)
            axes[3].plot(steps, dm, color=color, linewidth=1.3, label=label)
            if n > 1 and label != comparison.baseline:
                half = stats.t.ppf(0.5 + confidence / 2, n - 1) * d.std(axis=0, ddof=1) / math.sqrt(n)
                axes[3].fill_between(steps, dm - half, dm + half, color=color, alpha=0.12, linewidth=0)
    finals = [s.mean for s in comparison.summaries if math.isfinite(s.mean)]
    if finals and tops:
        lo, hi = min(finals), max(tops)
        for ax in axes[:3]:
            ax.set_ylim(lo - 0.05 * (hi - lo), hi)
    if base is not None:
        late = [np.array([r.val_loss for r in runs]) - base for runs in curves.values()]
        k = max(1, base.shape[1] // 3)
        spread = max(float(np.abs(d.mean(axis=0)[k:]).max()) for d in late) if late else 0.0
        if spread > 0:
            axes[3].set_ylim(-2.5 * spread, 2.5 * spread)
    labels = ("step", "cumulative NS GFLOP", "training wall time [s] (mean over seeds)", "step")
    for ax, xlabel in zip(axes, labels):
        ax.set_xlabel(xlabel)
        ax.grid(True, color="#e0e0e0", linewidth=0.6)
    for ax in axes[:3]:
        ax.set_ylabel("validation loss [nats/byte]")
    axes[3].set_ylabel(f"Δ val loss vs {comparison.baseline} (same seed)")
    axes[0].legend(fontsize=7)
    s = comparison.settings
    fig.suptitle(f"{s.model} ({s.width}×{s.n_layer}), {len(comparison.seeds)} seeds, {s.train_steps} steps on {s.device}",
                 fontsize=10)
    return fig


def band_layers_figure(panels: Any, dpi: int = 100) -> Any:
    """Predicted against measured momentum band per layer, one panel per model size.

    `panels`: [{"title": str, "edge_q": float, "rows": [{"name", "measured": [σ_q per captured step],
    "edge": the value the designs used, "mp": Marchenko–Pastur σ_q of the shape, "law": the momentum law's σ_q
    or None}]}]. Per matrix: the span of the measured σ_q over the captured steps (a bar), the value the designs
    used (a dot), and the two predictions (markers), on a log axis: the gap between them is the point."""
    from matplotlib.figure import Figure

    panels = list(panels)
    fig = Figure(figsize=(max(6.5, 0.45 * max((len(p["rows"]) for p in panels), default=1) + 2), 3.6 * max(1, len(panels))),
                 dpi=dpi, layout="constrained")
    axes = fig.subplots(max(1, len(panels)), 1, squeeze=False)[:, 0]
    for ax, panel in zip(axes, panels):
        rows = panel["rows"]
        x = np.arange(len(rows))
        low = [min(r["measured"]) for r in rows]
        high = [max(r["measured"]) for r in rows]
        ax.vlines(x, low, high, color=PALETTE[0], linewidth=3, alpha=0.45, label="measured, span over captured steps")
        ax.scatter(x, [r["edge"] for r in rows], color=PALETTE[0], zorder=3, label="measured, used by the designs")
        ax.scatter(x, [r["mp"] for r in rows], color=PALETTE[1], marker="x", zorder=3, label="Marchenko–Pastur (shape)")
        laws = [(i, r["law"]) for i, r in enumerate(rows) if r.get("law") is not None]
        if laws:
            ax.scatter([i for i, _ in laws], [v for _, v in laws], color=PALETTE[2], marker="^", zorder=3,
                       label="momentum law (depth, extrapolated)")
        ax.set_yscale("log")
        ax.set_xticks(x, [r["name"] for r in rows], rotation=45, ha="right", fontsize=7)
        ax.set_ylabel(f"σ at q={panel['edge_q']:g} of M/‖M‖_F")
        ax.set_title(panel["title"], fontsize=10)
        ax.grid(True, color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(fontsize=7, loc="best")
    return fig
