"""Helpers shared by the study scripts: argument parsing, machine description, tables, file output.

Each study is `python studies/NAME/run.py [--quick] [--out DIR] [--quiet]`: the full run regenerates the committed
README.md, figures and results in the study directory; `--quick` runs every code path on small sizes in
seconds (the test suite does this into a temporary directory).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

REPO = Path(__file__).resolve().parents[1]


def start(study_dir: Path, description: str, extra: Any = None) -> tuple[argparse.Namespace, "Timer", int]:
    """Every study's opening: its arguments (`extra(parser)` adds a study's own), threads kept to the machine's
    cores, a wall-clock timer, and the figure resolution (lower for --quick)."""
    args = parse_args(study_dir, description, extra)
    setup_threads()
    return args, Timer(), 60 if args.quick else 100


def figure(size: tuple[float, float], dpi: int) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=dpi, layout="constrained")


def style(ax: Any) -> None:
    """The studies' axes: light grid behind the data, no top/right frame."""
    ax.grid(True, color="#e0e0e0", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def parse_args(study_dir: Path, description: str, extra: Any = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds: checks the script, not the science")
    parser.add_argument("--out", type=Path, default=study_dir, help="output directory (default: the study directory)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    set_quiet(args.quiet)
    return args


# Progress goes to stderr (a line every 10 s off a terminal, nsdesign._progress), so stdout keeps the results
# summary and a redirected full run (minutes to an hour) still shows it is alive; --quiet turns it off.
_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = bool(quiet)


def progress_enabled() -> bool:
    return not _quiet


def progress(total: int | None, label: str, unit: str) -> Any:
    """nsdesign._progress.progress for a study loop, off under --quiet."""
    from nsdesign._progress import progress as lines

    return lines(total, not _quiet, label, unit)


def note(message: str) -> None:
    """One progress message on stderr (a stage starting, a run finished), unless --quiet."""
    if not _quiet:
        print(message, file=sys.stderr, flush=True)


def machine() -> str:
    """One line: CPU count, platform, Python/numpy/torch versions (no GPU is used by any study)."""
    import numpy

    try:
        import torch

        torch_text = f", torch {torch.__version__} (CPU, {torch.get_num_threads()} threads)"
    except ImportError:  # pragma: no cover
        torch_text = ""
    cpu = platform.processor() or platform.machine()
    return (
        f"{os.cpu_count()}-core {cpu} CPU, no GPU; {platform.system()} {platform.release().split('-')[0]}; "
        f"Python {platform.python_version()}, numpy {numpy.__version__}{torch_text}"
    )


def load() -> str:
    """The 1-minute load average at the end of a run (other jobs sharing the cores slow the run down)."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:  # pragma: no cover
        return "unknown"


def command(study: str, quick: bool) -> str:
    return f"python studies/{study}/run.py" + (" --quick" if quick else "")


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.start


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "−inf"
        return f"{value:.{digits}g}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]], digits: int = 4) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(fmt(v, digits) for v in row) + " |")
    return "\n".join(lines)


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(_clean(data), indent=2) + "\n", encoding="utf-8")


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_csv_value(v) for v in row])


def _csv_value(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else ("-inf" if value < 0 else "nan"))
    return "" if value is None else value


def _clean(data: Any) -> Any:
    if isinstance(data, float) and not math.isfinite(data):
        return "nan" if math.isnan(data) else ("inf" if data > 0 else "-inf")
    if isinstance(data, dict):
        return {str(k): _clean(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_clean(v) for v in data]
    if hasattr(data, "item") and not isinstance(data, (str, bytes)):
        return _clean(data.item())
    return data


def save(fig: Any, path: Path) -> str:
    from nsdesign.plot import save_figure

    save_figure(fig, path)
    return path.name


def setup_threads() -> None:
    """Keep BLAS/torch to the machine's cores (the studies are sized for a 2-core CPU)."""
    try:
        import torch

        torch.set_num_threads(max(1, min(os.cpu_count() or 1, 4)))
    except ImportError:  # pragma: no cover
        pass


sys.dont_write_bytecode = True
