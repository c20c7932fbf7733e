"""Momentum laws: the band edge of a real Muon momentum buffer as a power law in model size.

Why: users know their model, not their `--min-sigma`. arXiv 2606.04058 ("Spectral Scaling Laws of Muon")
measures the stabilized singular-value quantiles of the Frobenius-normalized momentum buffer across seven
model sizes (77M–2.8B) and finds σ_q(M) ≈ C_q · M^(−α) per block depth and matrix, with α ≈ 0.16–0.33 up
to mid-late depth and up to ≈ 0.96 in the final block. This module fits that law to measurements by least
squares on (ln M, ln σ), keeps the fit's standard errors, R², a curvature check, and turns it into a band
edge with a ~95% prediction interval.

Data, not code: the shipped law table `data/laws_2606.04058.json` is exactly `nsdesign fit` applied to the
shipped measurements `data/momentum_quantiles_2606.04058.csv` (values read off the paper's Fig. 16) with
source label "arXiv 2606.04058 Fig. 16"; `python -m nsdesign.laws.momentum` regenerates it and a test
checks that regenerating gives the same numbers.

Caveats the predictions carry as warnings:
- the fits cover 77M–2.8B; beyond that the line is extrapolated;
- the final-block laws are curved (concave in log–log: σ falls faster than the line at large M), so a
  straight-line extrapolation there overstates σ_q, i.e. predicts a band that is too narrow;
- the figure's MLP up/down labels appear swapped; the data file's `matrix` column holds the likely true
  matrix (the steep final-block law printed as "MLP Up" belongs to the down-projection) and
  `matrix_printed` the figure's label. Laws are named by `matrix`.

Quantiles are descending-rank (q = 0.9 is near the bottom of the spectrum), as in the paper.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from nsdesign._files import read_bytes, read_json, write_json_atomic
from nsdesign.core.limits import DEPTH_POSITIONS, DEPTHS  # noqa: F401  (DEPTH_POSITIONS: re-exported)
from nsdesign.documents import LAWS_KIND, check_document
from nsdesign.documents import LAWS_VERSION as LAWS_SCHEMA_VERSION
from nsdesign.errors import InputError, unknown

CURVED_DEPTHS: tuple[str, ...] = ("final",)  # arXiv 2606.04058: the final-block law is curved

SHIPPED_CSV = "momentum_quantiles_2606.04058.csv"
SHIPPED_LAWS = "laws_2606.04058.json"
SHIPPED_SOURCE = "arXiv 2606.04058 Fig. 16"
REQUIRED_COLUMNS: tuple[str, ...] = ("depth", "matrix", "quantile", "model_params", "sigma")
MIN_SIZES = 3  # a straight line with standard errors needs at least one residual degree of freedom
MLP_LABEL_NOTE = (
    "The source figure's MLP up/down labels appear swapped: the steep final-block law printed as 'MLP Up' "
    "belongs to the down-projection (c_proj, d x 4d). Laws are named by the data file's 'matrix' column "
    "(the likely true matrix); 'matrix_printed' keeps the figure's label."
)
_NAME = re.compile(r"[a-z][a-z0-9_]*")


# --------------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """One stabilized quantile σ_q of one matrix at one depth, for one model size."""

    depth: str
    matrix: str
    matrix_printed: str
    quantile: float
    model_params: float
    sigma: float
    line: int  # 1-based line in the source file (for error messages)


@dataclass(frozen=True)
class MeasurementFile:
    measurements: tuple[Measurement, ...]
    comments: tuple[str, ...]  # the '#' lines, without the '#' (provenance travels with the data)
    sha256: str
    name: str


def read_measurements(path: str | Path) -> MeasurementFile:
    """Parse a measurement CSV (columns depth, matrix, quantile, model_params, sigma; optional
    matrix_printed; lines starting with '#' are comments). Every malformed row raises an InputError that
    names the file, the line and the reason."""
    path = Path(path)
    raw = read_bytes(path, "CSV file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a UTF-8 text file") from None
    measurements, comments = parse_measurements(text, where=str(path))
    return MeasurementFile(measurements, comments, hashlib.sha256(raw).hexdigest(), path.name)


def parse_measurements(text: str, where: str = "measurements") -> tuple[tuple[Measurement, ...], tuple[str, ...]]:
    comments: list[str] = []
    rows: list[tuple[int, list[str]]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            comments.append(stripped[1:].strip())
            continue
        if not stripped:
            continue
        try:
            fields = next(csv.reader(io.StringIO(line)))
        except csv.Error as exc:
            raise InputError(f"{where} line {lineno}: not valid CSV ({exc})") from None
        rows.append((lineno, [f.strip() for f in fields]))
    if not rows:
        raise InputError(f"{where}: no header line; expected columns {', '.join(REQUIRED_COLUMNS)}")
    header_line, header = rows[0]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"{where} line {header_line}: header lacks column(s) {', '.join(missing)}; "
            f"expected {', '.join(REQUIRED_COLUMNS)} (and optionally matrix_printed)"
        )
    if len(set(header)) != len(header):
        raise InputError(f"{where} line {header_line}: duplicate column names in the header")
    index = {name: i for i, name in enumerate(header)}
    measurements = tuple(_measurement(lineno, fields, index, len(header), where) for lineno, fields in rows[1:])
    if not measurements:
        raise InputError(f"{where}: no data rows after the header")
    return measurements, tuple(comments)


def _measurement(lineno: int, fields: list[str], index: dict[str, int], width: int, where: str) -> Measurement:
    at = f"{where} line {lineno}"
    if len(fields) != width:
        raise InputError(f"{at}: expected {width} comma-separated fields like the header, got {len(fields)}")
    depth = fields[index["depth"]]
    if depth not in DEPTHS:
        raise InputError(f"{at}: depth {depth!r} is not one of {', '.join(DEPTHS)}")
    matrix = fields[index["matrix"]]
    if not _NAME.fullmatch(matrix):
        raise InputError(f"{at}: matrix {matrix!r} must be a lower-case name like q, o or mlp_down")
    printed = fields[index["matrix_printed"]] if "matrix_printed" in index else matrix
    if not _NAME.fullmatch(printed):
        raise InputError(f"{at}: matrix_printed {printed!r} must be a lower-case name like q, o or mlp_down")
    quantile = _number(at, "quantile", fields[index["quantile"]])
    if not 0.0 < quantile < 1.0:
        raise InputError(f"{at}: quantile must be strictly between 0 and 1, got {fields[index['quantile']]!r}")
    size = _number(at, "model_params", fields[index["model_params"]])
    if size <= 0:
        raise InputError(f"{at}: model_params must be positive, got {fields[index['model_params']]!r}")
    sigma = _number(at, "sigma", fields[index["sigma"]])
    if not 0.0 < sigma <= 1.0:
        raise InputError(
            f"{at}: sigma must be in (0, 1] (a Frobenius-normalized singular value), got {fields[index['sigma']]!r}"
        )
    return Measurement(depth, matrix, printed, quantile, size, sigma, lineno)


def _number(at: str, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{at}: {column} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise InputError(f"{at}: {column} must be a finite number, got {text!r}")
    return value


# --------------------------------------------------------------------------------------------------
# One law
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PowerLaw:
    """σ_q(M) = exp(log_c) · M^(−alpha), fitted by ordinary least squares on (ln M, ln σ).

    Standard errors and the covariance come from the residual variance with n − 2 degrees of freedom;
    `t95` is the two-sided 95% Student-t factor for that many. `curvature` is the coefficient of
    (ln M − mean)² in a quadratic fit and `curvature_t` its t statistic (n − 3 dof; 0 when n = 3).
    """

    depth: str
    matrix: str
    matrix_printed: str
    quantile: float
    alpha: float
    alpha_se: float
    log_c: float
    log_c_se: float
    cov_log_c_alpha: float
    residual_std: float
    r2: float
    n: int
    t95: float
    m_min: float
    m_max: float
    curvature: float
    curvature_t: float

    @property
    def layer(self) -> str:
        return f"{self.depth}.{self.matrix}"

    @property
    def curved(self) -> bool:
        return self.depth in CURVED_DEPTHS

    def log_sigma(self, model_size: float) -> tuple[float, float]:
        """ln σ̂ at M and the standard error of a new observation there (line uncertainty + scatter)."""
        x = math.log(model_size)
        mean = self.log_c - self.alpha * x
        # Var(log_c − α x) from the fit's covariance, plus the residual scatter of a new model.
        var_line = self.log_c_se**2 + x * x * self.alpha_se**2 - 2.0 * x * self.cov_log_c_alpha
        return mean, math.sqrt(max(var_line, 0.0) + self.residual_std**2)

    def predict(self, model_size: float) -> tuple[float, tuple[float, float]]:
        """σ̂_q(M) and its ~95% prediction interval (exp of ln σ̂ ± t95 · se)."""
        mean, se = self.log_sigma(model_size)
        return math.exp(mean), (math.exp(mean - self.t95 * se), math.exp(mean + self.t95 * se))

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _LAW_FIELDS}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> PowerLaw:
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected a JSON object describing one law")
        values: dict[str, Any] = {}
        for name, kind in _LAW_FIELDS.items():
            if name not in data:
                raise InputError(f"{where}: missing {name!r}")
            value = data[name]
            if kind is str:
                if not isinstance(value, str) or not _NAME.fullmatch(value):
                    raise InputError(f"{where}: {name!r} must be a lower-case name, got {value!r}")
            elif kind is int:
                if not isinstance(value, int) or isinstance(value, bool) or value < MIN_SIZES:
                    raise InputError(f"{where}: {name!r} must be an integer ≥ {MIN_SIZES}, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError(f"{where}: {name!r} must be a finite number, got {value!r}")
            values[name] = float(value) if kind is float else value
        if values["depth"] not in DEPTHS:
            raise InputError(f"{where}: depth {values['depth']!r} is not one of {', '.join(DEPTHS)}")
        if not 0 < values["quantile"] < 1:
            raise InputError(f"{where}: quantile must be strictly between 0 and 1, got {values['quantile']}")
        if not 0 < values["m_min"] <= values["m_max"]:
            raise InputError(f"{where}: the fitted range needs 0 < m_min ≤ m_max")
        if min(values["alpha_se"], values["log_c_se"], values["residual_std"], values["t95"]) < 0:
            raise InputError(f"{where}: standard errors and t95 must be non-negative")
        return cls(**values)


_LAW_FIELDS: dict[str, type] = {
    "depth": str,
    "matrix": str,
    "matrix_printed": str,
    "quantile": float,
    "alpha": float,
    "alpha_se": float,
    "log_c": float,
    "log_c_se": float,
    "cov_log_c_alpha": float,
    "residual_std": float,
    "r2": float,
    "n": int,
    "t95": float,
    "m_min": float,
    "m_max": float,
    "curvature": float,
    "curvature_t": float,
}


def fit_power_law(points: Sequence[Measurement]) -> PowerLaw:
    """Least squares on (ln M, ln σ) for the measurements of one (depth, matrix, quantile)."""
    import numpy as np
    from scipy import stats

    first = points[0]
    sizes = sorted({p.model_params for p in points})
    if len(sizes) < MIN_SIZES:
        lines = ", ".join(str(p.line) for p in points)
        raise InputError(
            f"law {first.depth}.{first.matrix} q={first.quantile:g} has measurements at {len(sizes)} model size(s) "
            f"(lines {lines}); a fit with standard errors needs at least {MIN_SIZES}"
        )
    x = np.log(np.array([p.model_params for p in points], dtype=float))
    y = np.log(np.array([p.sigma for p in points], dtype=float))
    n = len(points)
    design = np.column_stack([np.ones(n), x])
    (log_c, slope), *_ = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ np.array([log_c, slope])
    ssr = float(residuals @ residuals)
    sst = float(((y - y.mean()) ** 2).sum())
    dof = n - 2
    s2 = ssr / dof
    cov = s2 * np.linalg.inv(design.T @ design)
    curvature, curvature_t = _curvature(x, y)
    return PowerLaw(
        depth=first.depth,
        matrix=first.matrix,
        matrix_printed=first.matrix_printed,
        quantile=first.quantile,
        alpha=float(-slope),
        alpha_se=float(math.sqrt(cov[1, 1])),
        log_c=float(log_c),
        log_c_se=float(math.sqrt(cov[0, 0])),
        cov_log_c_alpha=float(-cov[0, 1]),  # cov(log_c, α) = −cov(log_c, slope)
        residual_std=float(math.sqrt(s2)),
        r2=1.0 if sst == 0.0 else float(1.0 - ssr / sst),
        n=n,
        t95=float(stats.t.ppf(0.975, dof)),
        m_min=float(sizes[0]),
        m_max=float(sizes[-1]),
        curvature=curvature,
        curvature_t=curvature_t,
    )


def _curvature(x: Any, y: Any) -> tuple[float, float]:
    """Coefficient of (x − x̄)² in a quadratic least-squares fit, and its t statistic."""
    import numpy as np

    n = len(x)
    centred = x - x.mean()
    design = np.column_stack([np.ones(n), x, centred**2])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    if n <= 3:
        return float(coef[2]), 0.0
    residuals = y - design @ coef
    s2 = float(residuals @ residuals) / (n - 3)
    var = s2 * np.linalg.inv(design.T @ design)[2, 2]
    return float(coef[2]), float(coef[2] / math.sqrt(var)) if var > 0 else 0.0


# --------------------------------------------------------------------------------------------------
# A table of laws
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PooledExponent:
    """One exponent per (depth, matrix) shared by all quantiles (separate intercepts), with its standard error.

    With the same model sizes at every quantile this equals the mean of the per-quantile exponents; it is
    the reading of the paper's quoted exponents that matches the data best (see docs/laws.md).
    """

    depth: str
    matrix: str
    alpha: float
    alpha_se: float

    def to_dict(self) -> dict[str, Any]:
        return {"depth": self.depth, "matrix": self.matrix, "alpha": self.alpha, "alpha_se": self.alpha_se}


@dataclass(frozen=True)
class LawTable:
    laws: tuple[PowerLaw, ...]
    source: str  # short label used in prediction sources, e.g. "arXiv 2606.04058 Fig. 16"
    provenance: Mapping[str, Any] = field(default_factory=dict)
    pooled: tuple[PooledExponent, ...] = ()

    def layers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(law.layer for law in self.laws))

    def for_layer(self, layer: str) -> tuple[PowerLaw, ...]:
        """The laws of one layer (all quantiles, ascending); unknown names list the valid ones."""
        laws = tuple(sorted((law for law in self.laws if law.layer == layer), key=lambda law: law.quantile))
        if not laws:
            raise unknown("layer", layer, self.layers(), label="valid layers")  # all of them: tests and users grep it
        return laws

    def pooled_exponent(self, depth: str, matrix: str) -> PooledExponent:
        for p in self.pooled:
            if (p.depth, p.matrix) == (depth, matrix):
                return p
        raise InputError(f"no pooled exponent for {depth}.{matrix}; valid layers: {', '.join(self.layers())}")

    def document(self) -> dict[str, Any]:
        return {
            "schema_version": LAWS_SCHEMA_VERSION,
            "kind": LAWS_KIND,
            "law": "sigma_q(M) = exp(log_c) * M^(-alpha); least squares on (ln M, ln sigma) per depth x matrix x quantile",
            "source": self.source,
            "provenance": dict(self.provenance),
            "laws": [law.to_dict() for law in self.laws],
            "pooled_exponents": [p.to_dict() for p in self.pooled],
        }


def fit_laws(measurements: Iterable[Measurement], source: str, provenance: Mapping[str, Any] | None = None) -> LawTable:
    """Fit one power law per (depth, matrix, quantile), plus the pooled exponent per (depth, matrix)."""
    groups: dict[tuple[str, str, float], list[Measurement]] = {}
    for m in measurements:
        groups.setdefault((m.depth, m.matrix, m.quantile), []).append(m)
    order = {d: i for i, d in enumerate(DEPTHS)}
    keys = sorted(groups, key=lambda k: (order[k[0]], k[1], k[2]))
    laws = tuple(fit_power_law(groups[k]) for k in keys)
    pairs = list(dict.fromkeys((k[0], k[1]) for k in keys))
    pooled = tuple(_pooled([groups[k] for k in keys if (k[0], k[1]) == pair]) for pair in pairs)
    return LawTable(laws, source, dict(provenance or {}), pooled)


def _pooled(groups: Sequence[Sequence[Measurement]]) -> PooledExponent:
    """Common slope with one intercept per quantile (within-group least squares)."""
    import numpy as np

    sxy = sxx = ssr = 0.0
    total = 0
    centred = []
    for points in groups:
        x = np.log([p.model_params for p in points])
        y = np.log([p.sigma for p in points])
        x, y = x - x.mean(), y - y.mean()
        centred.append((x, y))
        sxy += float(x @ y)
        sxx += float(x @ x)
        total += len(points)
    slope = sxy / sxx
    for x, y in centred:
        r = y - slope * x
        ssr += float(r @ r)
    dof = total - len(groups) - 1
    se = math.sqrt(ssr / dof / sxx) if dof > 0 else 0.0
    first = groups[0][0]
    return PooledExponent(first.depth, first.matrix, -slope, se)


def fit_file(path: str | Path, source: str | None = None) -> LawTable:
    """`nsdesign fit`: read a measurement CSV and fit its laws; provenance records the file and its hash."""
    data = read_measurements(path)
    provenance = {
        "data_file": data.name,
        "data_sha256": data.sha256,
        "data_comments": list(data.comments),
        "generated_by": "nsdesign fit (nsdesign.laws.momentum.fit_file)",
        "method": "ordinary least squares on (ln M, ln sigma); standard errors from the residual variance "
        "(n - 2 dof); intervals are 95% Student-t prediction intervals for a new model",
        "notes": [MLP_LABEL_NOTE] if any(m.matrix != m.matrix_printed for m in data.measurements) else [],
    }
    return fit_laws(data.measurements, source or data.name, provenance)


def table_from_document(document: Any, where: str) -> LawTable:
    if not isinstance(document, dict):
        raise InputError(f"{where}: expected a JSON object from `nsdesign fit`")
    if document.get("kind") != LAWS_KIND:
        raise InputError(f"{where}: not a law file (make one with `nsdesign fit`)")
    if document.get("schema_version") != LAWS_SCHEMA_VERSION:
        raise InputError(f"{where}: schema_version must be {LAWS_SCHEMA_VERSION}, got {document.get('schema_version')!r}")
    rows = document.get("laws")
    if not isinstance(rows, list) or not rows:
        raise InputError(f"{where}: 'laws' must be a non-empty list")
    check_document("laws", document, where)
    laws = tuple(PowerLaw.from_dict(row, f"{where}: laws[{i}]") for i, row in enumerate(rows))
    seen: set[tuple[str, str, float]] = set()
    for law in laws:
        key = (law.depth, law.matrix, law.quantile)
        if key in seen:
            raise InputError(f"{where}: two laws for {law.layer} q={law.quantile:g}")
        seen.add(key)
    pooled = []
    for i, row in enumerate(document.get("pooled_exponents") or []):
        try:
            pooled.append(PooledExponent(str(row["depth"]), str(row["matrix"]), float(row["alpha"]), float(row["alpha_se"])))
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{where}: pooled_exponents[{i}] needs depth, matrix, alpha, alpha_se") from None
    source = document.get("source")
    if not isinstance(source, str) or not source:
        raise InputError(f"{where}: 'source' must be a non-empty string")
    provenance = document.get("provenance") if isinstance(document.get("provenance"), dict) else {}
    return LawTable(laws, source, provenance, tuple(pooled))


def load_laws(path: str | Path | None = None) -> LawTable:
    """A law file written by `nsdesign fit`, or the shipped arXiv 2606.04058 laws when `path` is None."""
    if path is None:
        return shipped_laws()

    return table_from_document(read_json(path), str(path))


@lru_cache(maxsize=1)
def shipped_laws() -> LawTable:
    import json

    text = resources.files("nsdesign.laws").joinpath("data", SHIPPED_LAWS).read_text(encoding="utf-8")
    return table_from_document(json.loads(text), SHIPPED_LAWS)


def shipped_csv_path() -> Path:
    return Path(str(resources.files("nsdesign.laws").joinpath("data", SHIPPED_CSV)))


def regenerate_shipped() -> LawTable:
    """The shipped law table, recomputed from the shipped measurements (what the data file must equal)."""
    return fit_file(shipped_csv_path(), source=SHIPPED_SOURCE)


def main() -> None:
    """`python -m nsdesign.laws.momentum`: rewrite data/laws_2606.04058.json from the shipped CSV."""
    target = shipped_csv_path().with_name(SHIPPED_LAWS)
    write_json_atomic(target, regenerate_shipped().document())
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
