"""The one guard check every engine runs: exact max F on [0, g], and the rounding model on a proxy matrix.

Why one module: "safe above the band" used to be decided by three engines with their own copies of the proxy
run (design/safe.py, design/guarded.py, plans/consumer.py). The thresholds live in one table
(core.limits, "the guard"); this module runs them, so a `Check` means the same thing in every file it is
written to.

Depends on: core.limits (thresholds, proxy), core.metrics (exact overshoot), core.schedule,
precision (the numpy rounding model; real torch only when a caller passes torch/'s runner).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nsdesign.core.limits import CHECKED_KERNELS, MAX_OVERSHOOT, PROXY_SHAPE, default_guard_sigma
from nsdesign.core.metrics import overshoot
from nsdesign.core.schedule import Schedule
from nsdesign.precision import Runner, log_spaced, matrix_error, test_matrix

CHECK_KERNEL, CHECK_DTYPE = "fused", "bf16"  # torch.optim.Muon's addmm sequence, the default kernel


@dataclass(frozen=True)
class Check:
    """One check a schedule was put through (JSON-ready via `to_dict`)."""

    kernel: str  # "exact" for interval propagation, else the kernel the rounding model (or torch) ran
    dtype: str
    guard_sigma: float  # largest input σ checked
    value: float  # max F (exact) or output σ_max (a matrix run)
    limit: float
    shape: tuple[int, int] | None = None

    @property
    def passed(self) -> bool:
        return math.isfinite(self.value) and self.value <= self.limit

    def to_dict(self) -> dict[str, Any]:
        value = self.value if math.isfinite(self.value) else "inf"
        out: dict[str, Any] = {"kernel": self.kernel, "dtype": self.dtype, "guard_sigma": self.guard_sigma}
        if self.shape is not None:
            out["shape"] = list(self.shape)
            out["max_sigma_out"] = value
        else:
            out["max_f"] = value
        out.update({"limit": self.limit, "passed": self.passed})
        return out


def exact_check(schedule: Schedule, max_sigma: float, guard_sigma: float, limit: float = MAX_OVERSHOOT) -> Check:
    """Exact max F on [0, guard_sigma] (interval propagation through critical points) against `limit`."""
    return Check("exact", "exact", guard_sigma, overshoot(schedule, max_sigma, guard_sigma=guard_sigma), limit)


def rounding_check(
    schedule: Schedule,
    sigma: Sequence[float],
    limit: float,
    kernel: str = CHECK_KERNEL,
    shape: tuple[int, int] = PROXY_SHAPE,
    dtype: str = CHECK_DTYPE,
    restarts: Sequence[int] = (),
    backend: str | Runner = "emulate",
) -> Check:
    """One matrix run on a `shape` proxy with singular values `sigma` (one per row): the numpy rounding model
    (`backend="emulate"`) or a runner the caller passes (`nsdesign.torch.crosscheck.run_torch`: real torch,
    labelled torch-KERNEL). Passes when the output σ_max is finite and ≤ `limit`."""
    run = matrix_error(schedule, test_matrix(shape, sigma), dtype, kernel=kernel, restarts=restarts, backend=backend)
    value = math.inf if run.diverged or not math.isfinite(run.sigma_max) else run.sigma_max
    label = kernel if run.backend == "emulate" else f"{run.backend}-{kernel}"
    return Check(label, dtype, max(sigma), value, limit, shape)


def model_checks(
    schedule: Schedule, sigma: Sequence[float], limit: float, kernels: Sequence[str] = CHECKED_KERNELS
) -> tuple[Check, ...]:
    """The bf16 rounding model in each kernel users paste a schedule into (core.limits.CHECKED_KERNELS)."""
    return tuple(rounding_check(schedule, sigma, limit, kernel=k) for k in kernels)


def log_sigma(min_sigma: float, guard_sigma: float, rows: int = min(PROXY_SHAPE)) -> tuple[float, ...]:
    """σ log-spaced over [min_sigma, guard]: every decade of the band and the guard's top (the safe default)."""
    return tuple(log_spaced(min_sigma, guard_sigma, rows))


def even_sigma(min_sigma: float, max_sigma: float, rows: int = min(PROXY_SHAPE)) -> tuple[float, ...]:
    """σ evenly spaced over [l, u]: where a normalized spectrum's mass is (the guarded engine's check)."""
    return tuple(min_sigma + (max_sigma - min_sigma) * i / (rows - 1) for i in range(rows))


def record_checks(document: dict[str, Any], schedule: Schedule) -> dict[str, Any]:
    """A schedule document that says, at top level, what it was designed and checked for, whatever made it.

    Every engine writes `checked_for` where it ran checks; this fills the rest the same way for all of them:
    the guard band's top (`band.guard_sigma`, `core.limits.default_guard_sigma` when the engine had none), and
    there the exact overshoot check on [0, g] if none was recorded (the bare optimum's 1e161 is then in the
    file, not only on the terminal), `dtype` the rounding model's format ("exact" when none ran) and `kernel`
    the kernel it ran (null when none did). Values an engine wrote are kept."""
    band = document.get("band")
    if not isinstance(band, dict) or "max_sigma" not in band:
        return document
    out = dict(document, band=dict(band))
    guarded = "guard_sigma" in band  # a guarded design states its own guard (|1 − F| ≤ τ above the band)
    guard = out["band"].setdefault("guard_sigma", default_guard_sigma(band["max_sigma"]))
    checks = [dict(c) for c in out.get("checked_for") or []]
    if not guarded and not any(c.get("kernel") == "exact" for c in checks):
        checks.insert(0, exact_check(schedule, band["max_sigma"], guard).to_dict())
    out["checked_for"] = checks
    model = [c for c in checks if c.get("kernel") != "exact"]
    out.setdefault("dtype", model[0]["dtype"] if model else "exact")
    out.setdefault("kernel", model[0]["kernel"].removeprefix("torch-") if model else None)
    return out
