"""Regenerate the README figures: `python docs/figures/build.py` (a few seconds, CPU only).

Each figure is also one `nsdesign plot` command (printed below), so readers can reproduce or vary it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nsdesign as ns
from nsdesign.plot import frontier_figure, frontier_points, laws_figure, map_figure, save_figure

HERE = Path(__file__).resolve().parent
DPI = 100


def main() -> None:
    greedy5 = ns.greedy(1e-3, steps=5).schedule.with_name("greedy5 (optimal, no headroom)")
    schedules = [ns.preset("keller5"), greedy5, ns.preset("polar_express_modded5")]
    figures = {
        "map_keller5_greedy_pe.png": (
            map_figure(schedules, 1e-3, tol=0.15, dpi=DPI,
                       title="keller5 vs the greedy optimum vs polar_express_modded5 on [1e-3, 1]"),
            "nsdesign search --min-sigma 1e-3 -o greedy5.json && "
            "nsdesign plot map keller5 greedy5.json polar_express_modded5 --min-sigma 1e-3 --tol 0.15 -o map.png",
        ),
        "frontier_1024x4096.png": (
            frontier_figure(frontier_points(1e-3, ns.Shape(1024, 4096)), 1e-3, ns.Shape(1024, 4096), dpi=DPI),
            "nsdesign plot frontier --min-sigma 1e-3 --shape 1024x4096 -o frontier.png",
        ),
        "momentum_laws_q0.5.png": (
            laws_figure(quantile=0.5, dpi=DPI),
            "nsdesign plot laws --quantile 0.5 -o laws.png",
        ),
    }
    for name, (figure, command) in figures.items():
        save_figure(figure, HERE / name)
        print(f"{name}: {command}")


if __name__ == "__main__":
    sys.exit(main())
