"""Speed of the design path, run by hand: `python benchmarks/core_speed.py`.

Targets: greedy design of 10 quintic steps ≤ 1 ms in-process; exact metrics of a 10-step schedule ≤ 5 ms;
`nsdesign search --min-sigma 1e-3` ≤ 1.0 s wall. Each figure is the median of repeated runs taken in this
one process (machines are shared and noisy: medians, not minima or means).
"""

from __future__ import annotations

import platform
import statistics
import subprocess
import sys
import time
import timeit

from nsdesign import evaluate, greedy, preset
from nsdesign.design.recommend import recommend


def median_seconds(fn, number: int, repeat: int) -> float:
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number


def main() -> None:
    schedule = preset("polar_express_pkg10")
    rows = [
        ("greedy, 10 quintic steps, l=1e-3", median_seconds(lambda: greedy(1e-3, steps=10), 50, 21)),
        ("greedy to tol 1e-2 (6 steps), l=1e-3", median_seconds(lambda: greedy(1e-3, tol=1e-2), 50, 21)),
        ("exact metrics, 10-step preset", median_seconds(lambda: evaluate(schedule, 1e-3, 1.0), 50, 21)),
        ("exact metrics + capture at δ=0.01", median_seconds(lambda: evaluate(schedule, 1e-3, 1.0, tol=0.01), 20, 21)),
        ("recommend(1e-3): safe default (12 designs + bf16 check)", median_seconds(lambda: recommend(1e-3), 3, 11)),
        ("recommend(1e-3, exact=True): bare optimum", median_seconds(lambda: recommend(1e-3, exact=True), 3, 11)),
    ]
    walls = []
    for _ in range(11):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nsdesign", "search", "--min-sigma", "1e-3"], check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    rows.append(("`nsdesign search --min-sigma 1e-3` wall (subprocess)", statistics.median(walls)))
    walls = []
    for _ in range(11):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nsdesign", "search", "--min-sigma", "1e-3", "--exact"], check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    rows.append(("`nsdesign search --min-sigma 1e-3 --exact` wall (subprocess)", statistics.median(walls)))
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print("| what | median |")
    print("|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds * 1e3:.3g} ms |")


if __name__ == "__main__":
    main()
