"""From what a user knows (model size and layer, or a matrix shape) to a band edge σ_q with its uncertainty.

Two sources, one answer type:
- model size + layer → the momentum power law of arXiv 2606.04058 (or a law file from `nsdesign fit`),
  see `nsdesign.laws.momentum`;
- a shape alone → the Marchenko–Pastur quantile of an i.i.d. matrix (arXiv 2505.04005), see
  `nsdesign.laws.marchenko_pastur`; it is exact in the large-matrix limit, so its interval is a point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nsdesign.core.cost import Shape
from nsdesign.core.limits import check_model_size
from nsdesign.errors import InputError
from nsdesign.laws.blocks import blocks_of
from nsdesign.laws.marchenko_pastur import check_quantile
from nsdesign.laws.marchenko_pastur import quantile as mp_quantile
from nsdesign.laws.momentum import load_laws

if TYPE_CHECKING:
    from nsdesign.core.cost import Shape
    from nsdesign.laws.momentum import LawTable, PowerLaw


@dataclass(frozen=True)
class BandPrediction:
    min_sigma: float  # the predicted band edge σ_q
    interval: tuple[float, float]  # ~95% uncertainty interval (prediction interval for the momentum laws)
    source: str  # e.g. "momentum law final.o q=0.5 (arXiv 2606.04058 Fig. 16)" or "Marchenko–Pastur 8192x32768"
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "min_sigma": self.min_sigma,
            "interval": list(self.interval),
            "source": self.source,
            "warnings": list(self.warnings),
        }


def predict_band(
    quantile: float,
    model_size: float | None = None,
    layer: str | None = None,
    shape: Shape | None = None,
    laws_path: str | None = None,
    heads: int | None = None,
    block: Shape | tuple[int, int] | str | None = None,
) -> BandPrediction:
    """The band edge σ_q: from a momentum law (model_size + layer) or from Marchenko–Pastur (shape alone).

    `heads`/`block` (`nsdesign.laws.blocks`): the shape is orthogonalized per head or per shard, so the
    Marchenko–Pastur band is that of one block (give the shape as 'RxC' or (rows, cols): heads split rows)."""
    q = check_quantile(quantile)
    split = None
    if heads is not None or block is not None:
        if model_size is not None or layer is not None:
            raise InputError("heads and block apply to a shape (Marchenko–Pastur); the momentum laws describe whole matrices")
        if shape is None:
            raise InputError("heads and block split a matrix shape (Marchenko–Pastur); give the shape too")

        split = blocks_of(shape, heads, block)
    if shape is not None:
        shape = Shape.coerce(shape) if split is None else split.shape
    if model_size is not None or layer is not None:
        if model_size is None or layer is None:
            raise InputError("a momentum-law prediction needs both a model size and a layer (e.g. final.o)")
        if shape is not None:
            raise InputError("give either a model size and layer (momentum law) or a shape (Marchenko–Pastur), not both")

        return predict_momentum(load_laws(laws_path), layer, q, model_size)
    if shape is None:
        raise InputError("give a model size and layer (momentum law) or a shape (Marchenko–Pastur)")
    if laws_path is not None:
        raise InputError("a law file applies to model-size predictions; a shape alone uses Marchenko–Pastur")
    return predict_random(q, shape, "" if split is None or split.count == 1 else f"one of {split.label()}")


def predict_random(quantile: float, shape: Shape, blocks: str = "") -> BandPrediction:
    """The Marchenko–Pastur edge of `shape`; `blocks` ('one of 64 blocks of 128x7168 in 8192x7168') names a split."""
    edge = mp_quantile(quantile, shape)
    where = f"{blocks}; " if blocks else ""
    return BandPrediction(
        edge,
        (edge, edge),
        f"Marchenko–Pastur {shape} q={quantile:g} ({where}arXiv 2505.04005)",
        (),
    )


def predict_momentum(table: LawTable, layer: str, quantile: float, model_size: float) -> BandPrediction:
    """σ_q from the law table; a quantile between two fitted ones is interpolated linearly in ln σ."""
    size = check_model_size(model_size)
    laws = table.for_layer(layer)
    fitted = [law.quantile for law in laws]
    warnings: list[str] = []
    exact = [law for law in laws if math.isclose(law.quantile, quantile, rel_tol=0, abs_tol=1e-12)]
    if exact:
        law = exact[0]
        edge, interval = law.predict(size)
        used: tuple[PowerLaw, ...] = (law,)
    else:
        if not fitted[0] < quantile < fitted[-1]:
            raise InputError(
                f"quantile {quantile:g} is outside the fitted quantiles of {layer} "
                f"({', '.join(f'{q:g}' for q in fitted)}); pick one in [{fitted[0]:g}, {fitted[-1]:g}]"
            )
        upper = next(i for i, q in enumerate(fitted) if q > quantile)
        below, above = laws[upper - 1], laws[upper]
        w = (quantile - below.quantile) / (above.quantile - below.quantile)
        (e0, (l0, h0)), (e1, (l1, h1)) = below.predict(size), above.predict(size)
        edge = _log_mix(e0, e1, w)
        interval = (_log_mix(l0, l1, w), _log_mix(h0, h1, w))
        used = (below, above)
        warnings.append(
            f"q={quantile:g} is interpolated (linear in ln σ) between the fitted q={below.quantile:g} and q={above.quantile:g}"
        )
    law = used[0]
    if not law.m_min <= size <= law.m_max:
        factor = size / law.m_max if size > law.m_max else law.m_min / size
        text = (
            f"model size {size:.3g} is outside the fitted range {law.m_min:.3g}–{law.m_max:.3g} of {layer}: "
            f"the power law is extrapolated {factor:.3g}x beyond it"
        )
        bent = [u for u in used if u.curvature < 0 and abs(u.curvature_t) > 2.0]
        if bent and not law.curved:
            text += f" (its log–log data bend downward, curvature t={bent[0].curvature_t:.2g}: the true edge is likely lower)"
        warnings.append(text)
    if law.curved:
        warnings.append(
            f"{layer} is a final-block law, which is curved (concave in log–log, arXiv 2606.04058; here curvature "
            f"t={law.curvature_t:.2g}): a straight line overstates σ_q beyond the data, so the band is likely wider "
            "than predicted"
        )
    if law.matrix != law.matrix_printed:
        warnings.append(
            f"{layer}: the source figure labels this law {law.matrix_printed!r}; its MLP up/down labels appear "
            f"swapped and this law follows the data file's attribution ({law.matrix})"
        )
    source = f"momentum law {layer} q={quantile:g} ({table.source})"
    return BandPrediction(edge, interval, source, tuple(warnings))


def _log_mix(a: float, b: float, w: float) -> float:
    return math.exp((1.0 - w) * math.log(a) + w * math.log(b))
