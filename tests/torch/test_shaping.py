"""The torch runtime of shaping pipelines (nsdesign.torch.shaping) against the numpy model and the exact maps."""

import numpy as np
import pytest
import torch

from nsdesign.core.targets import parse_target
from nsdesign.design.shaping import design_target
from nsdesign.design.shaping_practice import current_practice
from nsdesign.design.shaping_runs import run_pipeline, shaping_accuracy
from nsdesign.torch.shaping import apply_pipeline, shape


def _matrix(lo=1e-2, hi=1.0, m=24, n=48, seed=1):
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((m, m)))
    v, _ = np.linalg.qr(rng.standard_normal((n, m)))
    return (u * np.geomspace(lo, hi, m)) @ v.T


@pytest.mark.slow
@pytest.mark.parametrize("text", ["clip:0.5", "soft:0.05", "sigma^-0.25", "sign"])
def test_torch_fp64_is_the_numpy_model(text):
    target = parse_target(text)
    x = _matrix()
    for p in [design_target(target, 1e-2, 1.0, 0.01).pipeline] + current_practice(target):
        y_torch = apply_pipeline(torch.from_numpy(x), p).numpy()
        y_numpy = run_pipeline(p, x, "fp64")
        assert np.allclose(y_torch, y_numpy, atol=1e-10), p.name


def test_bf16_runs_track_the_model():
    """bf16 in torch and in the numpy model: both within the same few bf16 ulps of the exact map."""
    target = parse_target("clip:0.5")
    x = _matrix()
    p = design_target(target, 1e-2, 1.0, 1e-3).pipeline
    exact = shaping_accuracy(x, run_pipeline(p, x, "fp64"), target)["direction_error"]
    torch_err = shaping_accuracy(x, apply_pipeline(torch.from_numpy(x).to(torch.bfloat16), p).double().numpy(), target)
    model_err = shaping_accuracy(x, run_pipeline(p, x, "bf16"), target)
    assert exact <= 1e-3
    for err in (torch_err, model_err):
        assert err["direction_error"] < 0.05  # a few bf16 ulps (2⁻⁸ ≈ 0.004) on values ≤ 1, no blow-up


@pytest.mark.slow
def test_shape_normalizes_and_keeps_orientation():
    target = parse_target("sigma^0.5")
    g = torch.from_numpy(_matrix(0.1, 1.0)).T.contiguous() * 7.0  # tall, not normalized
    sigmas = torch.linalg.svdvals(g / torch.linalg.matrix_norm(g))
    d = design_target(target, 0.95 * float(sigmas.min()), 1.05 * float(sigmas.max()), 0.05)
    assert d.met
    y = shape(g, d.pipeline, dtype=torch.float64)
    assert y.shape == g.shape
    xn = (g / torch.linalg.matrix_norm(g)).T.numpy()
    measured = shaping_accuracy(xn, y.T.numpy(), target)["direction_error"]
    assert measured <= 0.05 + 1e-9
