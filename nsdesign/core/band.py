"""The band: the interval [min_sigma, max_sigma] of (normalized) singular values a schedule is designed for.

One value, validated once, accepted by every public function that takes a band. The positional pair
`(min_sigma, max_sigma)` is still accepted everywhere (`as_band`). `guard_sigma`, when given, is the top
of a guard interval above the band: σ ∈ (max_sigma, guard_sigma] may occur (an underestimated norm,
low-precision rounding of the input) and must not be blown up, though it need not map near 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Union

from nsdesign.errors import InputError


MAX_BAND_EDGE = 1e3
"""Largest max-sigma accepted. Newton–Schulz inputs are divided by norm_div·‖X‖_F, so σ ≤ 1 by construction;
an upper edge above 1 only models headroom. At σ = 1e3 a five-step quintic composite is already ~10^9375,
past float64, so larger edges can only yield ±inf tables and overflowing plots (issue 14)."""


@dataclass(frozen=True)
class Band:
    """σ ∈ [min_sigma, max_sigma] (0 < min_sigma < max_sigma, finite); optional guard top ≥ max_sigma."""

    min_sigma: float
    max_sigma: float = 1.0
    guard_sigma: float | None = None

    def __post_init__(self) -> None:
        for name in ("min_sigma", "max_sigma"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError(f"{name} must be a number, got {value!r}")
        lo, hi = _as_float(self.min_sigma), _as_float(self.max_sigma)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise InputError(f"band edges must be finite numbers, got [{lo}, {hi}]")
        if not 0 < lo < hi:
            raise InputError(f"the band needs 0 < min_sigma < max_sigma, got [{lo}, {hi}]")
        if hi > MAX_BAND_EDGE:
            raise InputError(f"max-sigma must be at most {MAX_BAND_EDGE:g} (inputs are normalized to σ ≤ 1), got {hi:g}")
        object.__setattr__(self, "min_sigma", lo)
        object.__setattr__(self, "max_sigma", hi)
        if self.guard_sigma is not None:
            guard = self.guard_sigma
            if isinstance(guard, bool) or not isinstance(guard, (int, float)) or not math.isfinite(_as_float(guard)):
                raise InputError(f"guard_sigma must be a finite number, got {str(guard)[:40]}")
            if guard < hi:
                raise InputError(f"guard_sigma must be at least max_sigma ({hi:g}), got {guard:g}")
            object.__setattr__(self, "guard_sigma", float(guard))

    @property
    def ratio(self) -> float:
        """min_sigma / max_sigma: all a scale-invariant design depends on."""
        return self.min_sigma / self.max_sigma

    @property
    def edges(self) -> tuple[float, float]:
        return (self.min_sigma, self.max_sigma)

    def __iter__(self):  # type: ignore[no-untyped-def]
        """Unpacks as the pair `lo, hi = band` (the guard is not part of the pair)."""
        return iter((self.min_sigma, self.max_sigma))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"min_sigma": self.min_sigma, "max_sigma": self.max_sigma}
        if self.guard_sigma is not None:
            data["guard_sigma"] = self.guard_sigma
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "band") -> Band:
        if not isinstance(data, dict) or "min_sigma" not in data:
            raise InputError(f"{where}: expected {{'min_sigma': …, 'max_sigma': …}}, got {data!r}")
        return cls(data["min_sigma"], data.get("max_sigma", 1.0), data.get("guard_sigma"))


def _as_float(value: int | float) -> float:
    """A number as a float; an int past float range (10**400) becomes inf, which the finiteness checks then refuse
    with their message instead of an OverflowError."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


BandLike = Union[Band, "tuple[float, float]", float]


def as_band(band: Any, max_sigma: float | None = None) -> Band:
    """A Band from a Band, a (min, max) pair, or a min_sigma number with an optional max_sigma.

    `as_band(b)`, `as_band((1e-3, 1.0))` and `as_band(1e-3, 1.0)` give the same value; a Band given together
    with a max_sigma must agree with it (a second, different upper edge is a mistake, not an override).
    """
    if isinstance(band, Band):
        if max_sigma is not None and float(max_sigma) != band.max_sigma:
            raise InputError(f"max_sigma {max_sigma:g} given with a band whose max_sigma is {band.max_sigma:g}")
        return band
    if isinstance(band, (tuple, list)):
        if len(band) != 2:
            raise InputError(f"a band is a (min_sigma, max_sigma) pair, got {band!r}")
        if max_sigma is not None:
            raise InputError("max_sigma given twice (in the band pair and as an argument)")
        return Band(band[0], band[1])
    return Band(band, 1.0 if max_sigma is None else max_sigma)
