"""Design for a normalizer's band: the pipeline behind `nsdesign search --normalize NAME`.

Why a plan: it combines a band source (nsdesign.laws.normalized.resolve_band: Marchenko–Pastur closed forms, a
momentum law, a spectrum file) with the guarded design (nsdesign.design.guarded) and sets every preset beside
it under Frobenius on the same matrices. laws/ stays a pure band source below design/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nsdesign.core.band import Band
from nsdesign.core.limits import GUARD_TOL
from nsdesign.core.metrics import evaluate, worst_error
from nsdesign.core.normalizers import Normalizer, get
from nsdesign.design.guarded import guarded_greedy
from nsdesign.documents import schedule_document
from nsdesign.errors import InputError
from nsdesign.laws.normalized import BandSource, NormalizedBand, resolve_band
from nsdesign.presets import preset, preset_names


@dataclass(frozen=True)
class NormalizedDesign:
    """The guarded design for a normalizer's band, with every preset measured under Frobenius on the same matrices."""

    band: NormalizedBand | None  # None when the band was given directly (--min-sigma/--max-sigma)
    guarded: Any  # nsdesign.design.guarded.GuardedDesign
    presets: tuple[tuple[str, int, float], ...]  # (name, steps, exact error on the Frobenius band), best first

    def document(self) -> dict[str, Any]:
        """A version-2 schedule document recording the normalizer and the guard band (nsdesign.documents)."""
        g = self.guarded
        params = g.params()
        if self.band is not None:
            params["band_source"] = self.band.source
            params["frobenius_band"] = list(self.band.frobenius)
        metrics = evaluate(g.schedule, g.min_sigma, g.max_sigma).to_dict()
        metrics.update(guard_sigma=g.guard_sigma, guard_tol=g.guard_tol, guard_error=g.guard_error)
        doc = schedule_document(
            g.schedule.with_name(f"guarded-{g.normalizer.name}"),
            Band(g.min_sigma, g.max_sigma, g.guard_sigma),
            params,
            normalizer=g.normalizer.to_dict(),
            checked_for=[c.to_dict() for c in g.checks] or None,
        )
        doc["metrics"] = metrics
        return doc


def design_for_normalizer(
    normalizer: str | Normalizer,
    band: BandSource | None = None,
    *,
    guard_sigma: float | None = None,
    guard_tol: float | None = None,
    steps: int | None = None,
    degree: Any = 5,
    tol: float | None = None,
    cushion: float = 0.0,
    safety: float = 1.0,
    norm_div: float = 1.0,
    max_steps: int = 30,
    **band_fields: Any,
) -> NormalizedDesign:
    """Band under the normalizer (given, or from MP / a law / a file) → guarded greedy design → presets under Frobenius.

    The band is a `BandSource` (resolved by `resolve_band`, with its defaults), or its fields as keywords
    (`min_sigma=…, max_sigma=…` or `shape=…`, `model_size=…, layer=…`, `spectrum=…`, with `quantile`).
    """
    norm = get(normalizer)
    if band is not None and band_fields:
        raise InputError("give the band as a BandSource or as keywords, not both")
    source = band if band is not None else BandSource(**band_fields)
    lo, hi, band = resolve_band(norm, source)
    guarded = guarded_greedy(
        lo, hi, guard_sigma, GUARD_TOL if guard_tol is None else guard_tol, norm, steps, degree, tol,
        cushion, safety, norm_div, max_steps,
    )
    presets: tuple[tuple[str, int, float], ...] = ()
    if band is not None:
        f_lo, f_hi = band.frobenius
        rows = [(name, preset(name).num_steps, worst_error(preset(name), f_lo, f_hi)) for name in preset_names()]
        presets = tuple(sorted(rows, key=lambda r: r[2]))
    return NormalizedDesign(band, guarded, presets)
