"""Momentum power laws (arXiv 2606.04058): fitting, the shipped law table, predictions and bad input."""

import json
import math
from importlib import resources

import numpy as np
import pytest
from scipy import stats

from nsdesign.errors import InputError
from nsdesign.laws import predict_band
from nsdesign.laws import momentum as mo
from nsdesign.laws.predict import predict_momentum

QUOTED = {  # arXiv 2606.04058 / docs/background.md §4
    ("final", "q"): 0.46,
    ("final", "k"): 0.38,
    ("final", "v"): 0.58,
    ("final", "o"): 0.66,
    ("final", "mlp_up"): 0.52,
    ("final", "mlp_down"): 0.96,
    ("mid_late", "q"): 0.27,
}


@pytest.fixture(scope="module")
def fitted():
    return mo.regenerate_shipped()


def _approx_equal(a, b, path="$"):
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            _approx_equal(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _approx_equal(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(b, str):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12), path
    else:
        assert a == b, path


def test_shipped_law_file_is_the_fit_of_the_shipped_data(fitted):
    shipped = json.loads(resources.files("nsdesign.laws").joinpath("data", mo.SHIPPED_LAWS).read_text())
    _approx_equal(fitted.document(), shipped)
    csv_bytes = resources.files("nsdesign.laws").joinpath("data", mo.SHIPPED_CSV).read_bytes()
    import hashlib

    assert shipped["provenance"]["data_sha256"] == hashlib.sha256(csv_bytes).hexdigest()
    assert shipped["source"] == "arXiv 2606.04058 Fig. 16"
    assert len(shipped["laws"]) == 4 * 6 * 5  # depths × matrices × quantiles


@pytest.mark.parametrize("key", list(QUOTED))
def test_quoted_exponents(fitted, key):
    depth, matrix = key
    median = next(law for law in fitted.for_layer(f"{depth}.{matrix}") if law.quantile == 0.5)
    assert median.alpha == pytest.approx(QUOTED[key], abs=0.02)
    # the shared-exponent fit over all five quantiles matches the quotes even more closely
    assert fitted.pooled_exponent(depth, matrix).alpha == pytest.approx(QUOTED[key], abs=0.01)


def test_exponent_ranges_match_the_paper(fitted):
    pooled = {(p.depth, p.matrix): p.alpha for p in fitted.pooled}
    below_final = [a for (d, _), a in pooled.items() if d != "final"]
    assert 0.15 <= min(below_final) and max(below_final) <= 0.33  # "α ≈ 0.16–0.33 up to mid-late"
    assert max(pooled.values()) == pytest.approx(0.96, abs=0.01)


def test_fit_statistics_match_scipy_linregress(fitted):
    rows = [m for m in mo.read_measurements(mo.shipped_csv_path()).measurements
            if (m.depth, m.matrix, m.quantile) == ("final", "o", 0.5)]
    ref = stats.linregress(np.log([m.model_params for m in rows]), np.log([m.sigma for m in rows]))
    law = next(law for law in fitted.for_layer("final.o") if law.quantile == 0.5)
    assert law.alpha == pytest.approx(-ref.slope, rel=1e-12)
    assert law.alpha_se == pytest.approx(ref.stderr, rel=1e-9)
    assert law.log_c == pytest.approx(ref.intercept, rel=1e-12)
    assert law.log_c_se == pytest.approx(ref.intercept_stderr, rel=1e-9)
    assert law.r2 == pytest.approx(ref.rvalue**2, rel=1e-12)
    assert law.n == 7 and law.t95 == pytest.approx(2.5706, abs=1e-4)


def _synthetic(alpha, c, sizes, noise=None, depth="mid", matrix="q", q=0.5):
    rng = np.random.default_rng(3)
    lines = ["# synthetic", "depth,matrix,quantile,model_params,sigma"]
    for m in sizes:
        s = c * m ** (-alpha) * (math.exp(rng.normal(0, noise)) if noise else 1.0)
        lines.append(f"{depth},{matrix},{q},{m:.6g},{s:.12g}")
    return "\n".join(lines) + "\n"


def test_fit_recovers_a_known_law(tmp_path):
    path = tmp_path / "exact.csv"
    path.write_text(_synthetic(0.4, 3.0, [1e8, 3e8, 1e9, 3e9]))
    law = mo.fit_file(path).for_layer("mid.q")[0]
    assert law.alpha == pytest.approx(0.4, abs=1e-9)
    assert math.exp(law.log_c) == pytest.approx(3.0, rel=1e-8)
    assert law.r2 == pytest.approx(1.0) and law.alpha_se < 1e-9
    noisy = tmp_path / "noisy.csv"
    noisy.write_text(_synthetic(0.4, 3.0, np.geomspace(1e8, 1e10, 12), noise=0.05))
    law = mo.fit_file(noisy).for_layer("mid.q")[0]
    assert abs(law.alpha - 0.4) < 3 * law.alpha_se and 0 < law.alpha_se < 0.05
    edge, (lo, hi) = law.predict(1e9)
    assert lo < edge < hi and edge == pytest.approx(3.0 * 1e9**-0.4, rel=0.1)


def test_prediction_interval_widens_with_extrapolation(fitted):
    near = predict_momentum(fitted, "mid.q", 0.5, 5e8)
    far = predict_momentum(fitted, "mid.q", 0.5, 7e10)
    assert near.interval[0] < near.min_sigma < near.interval[1]
    assert math.log(far.interval[1] / far.interval[0]) > math.log(near.interval[1] / near.interval[0])
    assert near.warnings == ()
    assert far.min_sigma < near.min_sigma  # band edges fall with size


def test_predict_band_source_and_warnings():
    p = predict_band(0.5, model_size=70e9, layer="final.o")
    assert p.source == "momentum law final.o q=0.5 (arXiv 2606.04058 Fig. 16)"
    assert any("outside the fitted range" in w for w in p.warnings)
    assert any("curved" in w for w in p.warnings)
    inside = predict_band(0.5, model_size=1e9, layer="final.o")
    assert not any("outside" in w for w in inside.warnings) and any("curved" in w for w in inside.warnings)
    down = predict_band(0.5, model_size=1e9, layer="final.mlp_down")
    assert any("labels appear swapped" in w and "'mlp_up'" in w for w in down.warnings)
    assert not any("swapped" in w for w in predict_band(0.5, model_size=1e9, layer="mid.q").warnings)


def test_point_prediction_is_the_power_law(fitted):
    law = next(law for law in fitted.for_layer("mid_late.q") if law.quantile == 0.9)
    p = predict_band(0.9, model_size=2e10, layer="mid_late.q")
    assert p.min_sigma == pytest.approx(math.exp(law.log_c) * 2e10 ** (-law.alpha), rel=1e-12)


def test_between_fitted_quantiles_is_interpolated(fitted):
    lo = predict_band(0.5, model_size=1e9, layer="mid.k").min_sigma
    hi = predict_band(0.75, model_size=1e9, layer="mid.k").min_sigma
    mid = predict_band(0.6, model_size=1e9, layer="mid.k")
    assert hi < mid.min_sigma < lo and any("interpolated" in w for w in mid.warnings)
    with pytest.raises(InputError, match="outside the fitted quantiles"):
        predict_band(0.95, model_size=1e9, layer="mid.k")


def test_unknown_layer_lists_valid_names():
    with pytest.raises(InputError) as exc:
        predict_band(0.5, model_size=1e9, layer="final.mlp")
    message = str(exc.value)
    assert "final.mlp" in message and "final.mlp_down" in message and "mid_early.q" in message


@pytest.mark.parametrize("size", [0, -1e9, float("nan"), float("inf")])
def test_bad_model_sizes(size):
    with pytest.raises(InputError, match="model size"):
        predict_band(0.5, model_size=size, layer="final.o")


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("depth,matrix,quantile,model_params,sigma\nmid,q,0.5,1e8,abc\n", "line 2: sigma must be a number"),
        ("# c\ndepth,matrix,quantile,model_params,sigma\nmid,q,0.5,1e8,0.1\nmid,q,1.5,1e9,0.1\n", "line 4: quantile"),
        ("depth,matrix,quantile,model_params,sigma\nmid,q,0.5,-3,0.1\n", "line 2: model_params must be positive"),
        ("depth,matrix,quantile,model_params,sigma\nearly,q,0.5,1e8,0.1\n", "line 2: depth 'early'"),
        ("depth,matrix,quantile,model_params,sigma\nmid,q,0.5,1e8\n", "line 2: expected 5"),
        ("depth,matrix,quantile,model_params\nmid,q,0.5,1e8\n", "lacks column(s) sigma"),
        ("depth,matrix,quantile,model_params,sigma\nmid,q,0.5,1e8,2.0\n", "line 2: sigma must be in (0, 1]"),
        ("# only comments\n", "no header"),
        ("depth,matrix,quantile,model_params,sigma\n", "no data rows"),
        ("depth,matrix,quantile,model_params,sigma\nmid,Q!,0.5,1e8,0.1\n", "line 2: matrix"),
        ("depth,matrix,quantile,model_params,sigma\nmid,q,0.5,1e8,0.1\nmid,q,0.5,1e9,0.05\n", "at least 3"),
    ],
)
def test_malformed_measurement_files(tmp_path, body, fragment):
    path = tmp_path / "m.csv"
    path.write_text(body)
    with pytest.raises(InputError) as exc:
        mo.fit_file(path)
    assert fragment in str(exc.value) and "\n" not in str(exc.value)


def test_unreadable_measurement_files(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        mo.fit_file(tmp_path / "missing.csv")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match="UTF-8"):
        mo.fit_file(binary)


def test_user_law_file_round_trip(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(_synthetic(0.3, 2.0, [1e8, 1e9, 1e10], depth="final", matrix="o"))
    table = mo.fit_file(path, source="my runs")
    out = tmp_path / "laws.json"
    out.write_text(json.dumps(table.document()))
    p = predict_band(0.5, model_size=3e9, layer="final.o", laws_path=str(out))
    assert p.min_sigma == pytest.approx(2.0 * 3e9**-0.3, rel=1e-8)
    assert p.source == "momentum law final.o q=0.5 (my runs)"
    with pytest.raises(InputError, match="valid layers: final.o"):
        predict_band(0.5, model_size=3e9, layer="mid.q", laws_path=str(out))


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda d: d.update(kind="other"), "not a law file"),
        (lambda d: d.update(schema_version=2), "schema_version"),
        (lambda d: d["laws"][0].pop("alpha"), "laws[0]: missing 'alpha'"),
        (lambda d: d["laws"][0].update(alpha="x"), "'alpha' must be a finite number"),
        (lambda d: d.update(laws=[]), "non-empty"),
    ],
)
def test_malformed_law_files(tmp_path, mutate, fragment):
    document = mo.shipped_laws().document()
    mutate(document)
    path = tmp_path / "laws.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InputError) as exc:
        mo.load_laws(path)
    assert fragment in str(exc.value)
