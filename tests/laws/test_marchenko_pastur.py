"""Marchenko–Pastur band edges (arXiv 2505.04005): exact CDF, quantiles, and a Monte Carlo check."""

import json
import math
import os
import subprocess
import sys

import pytest
from scipy.integrate import quad

from nsdesign.core.cost import Shape
from nsdesign.errors import InputError
from nsdesign.laws import predict_band
from nsdesign.laws import marchenko_pastur as mp

RATIOS = [1.0, 0.5, 0.25, 0.1]


@pytest.mark.parametrize("ratio", RATIOS)
def test_closed_form_cdf_matches_numerical_integral_of_the_density(ratio):
    lo, hi = mp.support(ratio)
    for k in range(1, 10):
        t = lo + (hi - lo) * k / 10
        numeric, _ = quad(mp.density, lo, t, args=(ratio,), limit=200, epsabs=1e-14, epsrel=1e-13)
        assert mp.cdf(t, ratio) == pytest.approx(numeric, abs=1e-12)
    total, _ = quad(mp.density, lo, hi, args=(ratio,), limit=200)
    assert total == pytest.approx(1.0, abs=1e-8)
    assert mp.cdf(lo, ratio) == 0.0 and mp.cdf(hi, ratio) == 1.0


def test_density_is_for_singular_values_not_eigenvalues():
    # square: t = s/√n follows the quarter circle √(4 − t²)/π on [0, 2], reaching down to 0
    assert mp.support(1.0) == (0.0, 2.0)
    for t in (0.1, 0.7, 1.5):
        assert mp.density(t, 1.0) == pytest.approx(math.sqrt(4 - t * t) / math.pi, rel=1e-12)
    # E[t²] = 1 for every ratio (the Frobenius normalization of the law)
    for ratio in RATIOS:
        lo, hi = mp.support(ratio)
        second, _ = quad(lambda t: t * t * mp.density(t, ratio), lo, hi, limit=200)
        assert second == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("ratio", RATIOS)
def test_quantiles_are_descending_rank_and_invert_the_cdf(ratio):
    previous = math.inf
    for q in (1e-6, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999999):
        t = mp.quantile_t(q, ratio)
        assert mp.cdf(t, ratio) == pytest.approx(1 - q, abs=1e-12)
        assert t < previous  # a larger q lies lower in the spectrum
        previous = t


def test_quantile_scaling_and_orientation():
    # the shape depends only on y; the scale is 1/√min(m, n)
    a = mp.quantile(0.9, Shape(512, 2048)) * math.sqrt(512)
    b = mp.quantile(0.9, Shape(1024, 4096)) * math.sqrt(1024)
    assert a == pytest.approx(b, rel=1e-13)
    assert mp.quantile(0.5, Shape(2048, 512)) == mp.quantile(0.5, Shape(512, 2048))
    # square matrices reach 0: the q → 1 quantile goes to 0 (hard edge), F(t) ≈ 2t/π near it
    assert mp.quantile_t(1 - 1e-9, 1.0) == pytest.approx(math.pi / 2 * (1 - (1 - 1e-9)), rel=1e-8)
    lo, hi = mp.band_edge_support(Shape(512, 2048))
    assert lo == pytest.approx(0.5 / math.sqrt(512)) and hi == pytest.approx(1.5 / math.sqrt(512))


_SIM = """
import json, sys
from nsdesign.core.cost import Shape
from nsdesign.laws.marchenko_pastur import simulate_quantiles
qs = [0.1, 0.25, 0.5, 0.75, 0.9]
out = {s: simulate_quantiles(Shape.parse(s), qs, samples=n, seed=7) for s, n in (("512x512", 12), ("512x2048", 6))}
print(json.dumps(out))
"""


@pytest.mark.slow
def test_matches_simulation_within_one_percent():
    # BLAS threads oversubscribe the shared test machine badly; one thread keeps this under a second.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", _SIM], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    simulated = json.loads(result.stdout)
    for text, values in simulated.items():
        shape = Shape.parse(text)
        for q, value in zip([0.1, 0.25, 0.5, 0.75, 0.9], values):
            assert value == pytest.approx(mp.quantile(q, shape), rel=0.01), (text, q)


def test_predict_band_from_shape():
    p = predict_band(0.9, shape=Shape(8192, 32768))
    assert p.min_sigma == mp.quantile(0.9, Shape(8192, 32768))
    assert p.interval == (p.min_sigma, p.min_sigma)
    assert "Marchenko–Pastur 8192x32768" in p.source


@pytest.mark.parametrize("q", [0.0, 1.0, -0.1, 1.5, float("nan"), float("inf")])
def test_bad_quantiles(q):
    with pytest.raises(InputError, match="quantile"):
        mp.quantile(q, Shape(512, 512))
    with pytest.raises(InputError, match="quantile"):
        predict_band(q, shape=Shape(512, 512))


def test_predict_band_needs_a_source():
    with pytest.raises(InputError):
        predict_band(0.5)
    with pytest.raises(InputError):
        predict_band(0.5, shape=Shape(4, 4), model_size=1e9, layer="final.o")
    with pytest.raises(InputError):
        predict_band(0.5, model_size=1e9)
