"""Bands under a normalizer: Marchenko–Pastur, momentum laws, singular-value and matrix files."""

from __future__ import annotations

import numpy as np
import pytest

from nsdesign.core.cost import Shape
from nsdesign.core.normalizers import Normalizer
from nsdesign.errors import InputError
from nsdesign.laws import predict_band
from nsdesign.laws.normalized import model_spectrum, normalized_band


def test_mp_band_is_the_frobenius_band_times_the_closed_form_factor():
    shape = Shape(1024, 4096)
    frob = normalized_band("frobenius", 0.99, shape=shape)
    s8 = normalized_band("schatten8", 0.99, shape=shape)
    assert frob.frobenius == frob.normalized == s8.frobenius
    assert frob.normalized[0] == pytest.approx(predict_band(0.99, shape=shape).min_sigma)
    factor = Normalizer("schatten8").mp_factor(shape)
    assert s8.normalized == pytest.approx((frob.normalized[0] * factor, frob.normalized[1] * factor))
    assert s8.bound == 1.0 and s8.guaranteed
    spectral = normalized_band("spectral", 0.99, shape=shape)
    assert not spectral.guaranteed and spectral.bound == pytest.approx(spectral.normalized[1])


@pytest.mark.slow
def test_matrix_file_agrees_with_mp_and_applies_aol(tmp_path):
    x = np.random.default_rng(0).standard_normal((512, 2048))
    path = tmp_path / "m.npy"
    np.save(path, x)
    for name in ("frobenius", "schatten4", "aol"):
        got = normalized_band(name, 0.9, spectrum=path)
        mp = normalized_band(name, 0.9, shape=Shape(512, 2048))
        assert got.normalized[0] == pytest.approx(mp.normalized[0], rel=0.01)
        assert got.normalized[1] <= got.bound
    sigma = tmp_path / "s.npy"
    np.save(sigma, np.linalg.svd(x, compute_uv=False) * 37.0)  # any scale
    a = normalized_band("schatten8", 0.9, spectrum=sigma)
    b = normalized_band("schatten8", 0.9, spectrum=path)
    assert a.normalized == pytest.approx(b.normalized, rel=1e-9)
    with pytest.raises(InputError, match="aol"):
        normalized_band("aol", 0.9, spectrum=sigma)


def test_law_band_reproduces_the_fitted_quantiles():
    band = normalized_band("frobenius", 0.5, model_size=1e9, layer="mid_late.q")
    assert band.normalized[0] == pytest.approx(predict_band(0.5, model_size=1e9, layer="mid_late.q").min_sigma, rel=0.02)
    s4 = normalized_band("schatten4", 0.5, model_size=1e9, layer="mid_late.q")
    assert s4.normalized[0] > band.normalized[0] and s4.normalized[1] <= 1.0
    assert "linear" in s4.assumption
    with pytest.raises(InputError, match="matrix"):
        normalized_band("aol", 0.5, model_size=1e9, layer="mid_late.q")


def test_model_spectrum_is_frobenius_normalized_and_passes_through_the_points():
    qs, sig = (0.1, 0.5, 0.9), (0.05, 0.01, 0.002)
    s = model_spectrum(qs, sig)
    assert np.linalg.norm(s) == pytest.approx(1.0)
    assert np.all(np.diff(s) <= 0)


def test_one_source_only(tmp_path):
    with pytest.raises(InputError, match="one source"):
        normalized_band("schatten4", 0.5)
    with pytest.raises(InputError, match="one source"):
        normalized_band("schatten4", 0.5, shape=Shape(8, 8), model_size=1e9, layer="final.o")
    bad = tmp_path / "bad.npy"
    bad.write_text("not numpy")
    with pytest.raises(InputError, match="readable"):
        normalized_band("schatten4", 0.5, spectrum=bad)
