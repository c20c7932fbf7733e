"""Laws: where the band [σ_q, 1] a schedule must cover comes from.

- `predict_band` turns a model size and layer (momentum power laws, arXiv 2606.04058) or a matrix shape
  (Marchenko–Pastur, arXiv 2505.04005) into a band edge with an uncertainty interval and warnings.
- `nsdesign.laws.momentum` fits and loads law tables (data files with provenance).
- `nsdesign.laws.marchenko_pastur` has the exact random-matrix quantiles.
- whole-model recipes (per-layer bands and designs) live above design/, in `nsdesign.plans.recipe`.

Importing this package is cheap (no scipy); the heavy work happens inside the functions.
"""

from nsdesign.laws.predict import BandPrediction, predict_band

__all__ = ["BandPrediction", "predict_band"]
