"""Progress for long runs when stderr is not a terminal: one plain line every few seconds.

A tqdm bar redraws in place, which only makes sense on a terminal; redirected to a file or a CI log it would
print nothing useful (tqdm disables itself there). So off a terminal, long loops (search and pareto studies,
validate, benchmarks/recipe_70b.py --bf16-check, the study scripts) print `LABEL: done/total UNIT, Ns elapsed,
~Ns left` to stderr, at most once every `every` seconds, plus a first line when they start and a last one when
they end. `--quiet` on any command turns both off.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, TextIO

# Seconds between lines: often enough to show a study is alive, rare enough not to flood a log.
EVERY_SECONDS = 10.0


class LineProgress:
    """Counts work items and prints a one-line status to `stream` at most every `every` seconds."""

    def __init__(self, total: int | None, label: str, unit: str = "trial", stream: TextIO | None = None,
                 every: float = EVERY_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        # total None: the count is not known in advance (validate's file and capture sources); lines then give
        # the count done and the time elapsed, without an estimate of the time left.
        self.total, self.label, self.unit = (None if total is None else int(total)), label, unit
        self.stream = sys.stderr if stream is None else stream
        self.every, self.clock = float(every), clock
        self.done = 0
        self.start = self.last = clock()

    def __enter__(self) -> "LineProgress":
        # With an unknown total a first line says nothing; leaving it out also keeps an early bad-input error
        # the only line on stderr (the CLI's contract).
        if self.total is not None:
            self._print(f"{self.label}: {self.total} {self.unit}s to run")
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is not None:  # the error is what the user needs to read, not a count
            return
        elapsed = self.clock() - self.start
        self._print(f"{self.label}: {self._count()} {self.unit}s in {elapsed:.0f} s")

    def update(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        if now - self.last >= self.every and (self.total is None or self.done < self.total):
            self.last = now
            elapsed = now - self.start
            if self.total is None:
                self._print(f"{self.label}: {self.done} {self.unit}s, {elapsed:.0f} s elapsed")
                return
            left = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
            self._print(f"{self.label}: {self.done}/{self.total} {self.unit}s, {elapsed:.0f} s elapsed, ~{left:.0f} s left")

    def _count(self) -> str:
        return str(self.done) if self.total is None else f"{self.done}/{self.total}"

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


class NullProgress:
    def __enter__(self) -> "NullProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None


def progress(total: int | None, enabled: bool, label: str, unit: str = "trial") -> Any:
    """A tqdm bar on a terminal, periodic lines elsewhere, nothing when disabled (`--quiet`)."""
    if not enabled:
        return NullProgress()
    if sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(total=total, desc=label, unit=unit, file=sys.stderr, leave=False)
    return LineProgress(total, label, unit)
