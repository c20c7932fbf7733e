"""The view of `nsdesign fit`: one row per layer, α per quantile, the pooled α, min R² and the sizes fitted.

Why its own module: a fit's table has its own compact form (α without standard errors, the sizes once below when
all layers share them) that no other command uses.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from nsdesign.cli.views.common import console, is_wide


def laws_fit(table: Any, measurements: str, written_to: str) -> None:
    """`fit`: one row per layer, α per quantile with its standard error, the pooled α, min R² and the sizes."""
    quantiles = sorted({law.quantile for law in table.laws})
    sizes = {(law.m_min, law.m_max) for law in table.laws}
    # Compact (80 columns): α per quantile without its standard error, the sizes once below when all layers share
    # them; --wide: every α ± se and a sizes column.
    compact = not is_wide()
    view = Table(title=f"Power laws σ_q(M) = C·M^(−α) fitted to {measurements}", title_justify="left",
                 box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD, padding=(0, 0) if compact else (0, 1),
                 pad_edge=not compact)
    view.add_column("layer", no_wrap=True)
    for q in quantiles:
        view.add_column(f"q={q:g}" if compact else f"α (q={q:g})", justify="right", no_wrap=True)
    view.add_column("pooled α", justify="right", no_wrap=True)
    view.add_column("min R²", justify="right", no_wrap=True)
    with_sizes = not compact or len(sizes) > 1
    if with_sizes:
        view.add_column("sizes", justify="right", no_wrap=True)
    for layer in table.layers():
        laws = {law.quantile: law for law in table.for_layer(layer)}
        cells = [("—" if q not in laws else f"{laws[q].alpha:.3f}" if compact
                  else f"{laws[q].alpha:.3f} ± {laws[q].alpha_se:.3f}") for q in quantiles]
        depth, matrix = layer.split(".", 1)
        pooled = next((p for p in table.pooled if (p.depth, p.matrix) == (depth, matrix)), None)
        first = next(iter(laws.values()))
        view.add_row(
            layer,
            *cells,
            "—" if pooled is None else f"{pooled.alpha:.3f} ± {pooled.alpha_se:.3f}",
            f"{min(law.r2 for law in laws.values()):.3f}",
            *([f"{first.m_min:.3g}–{first.m_max:.3g}"] if with_sizes else []),
        )
    out = console()
    out.print(view)
    if compact:
        line = "α at each quantile q (--wide: ± standard errors)"
        if not with_sizes:
            (lo, hi), = sizes
            line += f"; sizes {lo:.3g}–{hi:.3g}"
        out.print(line)
    out.print(f"wrote {len(table.laws)} laws for {len(table.layers())} layers to {written_to}")
