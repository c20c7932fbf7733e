"""Exports of normalizer designs: optax's preconditioning= run for real, generated torch code, refusals."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from nsdesign.core.normalizers import Normalizer
from nsdesign.errors import InputError
from nsdesign.export import export
from nsdesign.presets import preset

SCHEDULE = "polar_express_modded5"  # norm_div 1.02: exercises folding under a normalizer


def _matrix(m: int = 8, n: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)) * np.linspace(0.5, 3.0, m)[:, None]


def _expected(name: str, g: np.ndarray) -> np.ndarray:
    """U F(σ) Vᵀ of the normalized matrix, F the schedule's exact scalar map (float64)."""
    normalized = Normalizer(name).apply(g)
    u, s, vt = np.linalg.svd(normalized, full_matrices=False)
    schedule = preset(SCHEDULE)
    return (u * np.array([schedule(float(x)) for x in s])) @ vt


@pytest.mark.slow
@pytest.mark.parametrize("name", ["schatten4", "aol", "frobenius"])
def test_optax_preconditioning_runs_the_design_for_real(name):
    optax = pytest.importorskip("optax")
    jnp = pytest.importorskip("jax.numpy")
    namespace: dict = {}
    exec(compile(export(preset(SCHEDULE), "optax", normalizer=name).text, "<export>", "exec"), namespace)
    assert namespace.get("PRECONDITIONING", "frobenius") == {"schatten4": "schatten"}.get(name, name)
    transform = optax.contrib.muon(
        1.0, ns_coeffs=namespace["NS_COEFFS"], ns_steps=namespace["NS_STEPS"], beta=0.0,
        preconditioning=namespace.get("PRECONDITIONING", "frobenius"),
    )
    g = _matrix()
    params = {"w": jnp.zeros(g.shape, dtype=jnp.float32)}
    updates, _ = transform.update({"w": jnp.asarray(g, dtype=jnp.float32)}, transform.init(params), params)
    got = -np.asarray(updates["w"], dtype=np.float64)  # lr 1, beta 0, square: the update is −NS(grad)
    np.testing.assert_allclose(got, _expected(name, g), atol=5e-5)


def test_optax_spectral_says_it_is_the_exact_norm():
    text = export(preset(SCHEDULE), "optax", normalizer="spectral").text
    assert 'PRECONDITIONING = "spectral"' in text and "exact ‖X‖₂" in text


@pytest.mark.parametrize("name", ["schatten4", "schatten8", "spectral", "aol"])
@pytest.mark.parametrize("target,patch", [("dion", False), ("torch-muon", True)])
def test_generated_torch_code_runs_the_normalizer(name, target, patch, tmp_path):
    torch = pytest.importorskip("torch")
    from nsdesign.torch.kernels import newton_schulz

    text = export(preset(SCHEDULE), target, patch=patch, normalizer=name).text
    path = tmp_path / f"gen_{target.replace('-', '_')}_{name}.py"
    path.write_text(text.replace("COMPUTE_DTYPE = torch.bfloat16", "COMPUTE_DTYPE = torch.float32"))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    g = torch.from_numpy(_matrix(16, 40, seed=1))
    fn = module.newton_schulz_func if target == "dion" else module.zeropower_via_schedule
    got = fn(g.float()).double()
    want = newton_schulz(g, preset(SCHEDULE), dtype="fp32", normalizer=name).double()
    assert float((got - want).abs().max()) < 1e-4


@pytest.mark.parametrize(
    "target,patch,name,match",
    [
        ("optax", False, "schatten8", "no schatten8"),
        ("torch-muon", False, "schatten4", "torch-muon divides"),
        ("gram-newton-schulz", False, "aol", "cannot run"),
        ("python", False, "schatten8", "cannot run"),
        ("emerging-optimizers", False, "spectral", "cannot run"),
    ],
)
def test_targets_that_cannot_express_the_normalizer_refuse(target, patch, name, match):
    with pytest.raises(InputError, match=match) as info:
        export(preset(SCHEDULE), target, patch=patch, normalizer=name)
    assert "\n" not in str(info.value)


def test_schatten8_needs_a_quintic_first_step():
    with pytest.raises(InputError, match="degree ≥ 5"):
        export(preset("cubic5_eo"), "dion", normalizer="schatten8")


@pytest.mark.slow
def test_export_cli_uses_the_recorded_normalizer(cli, cli_error, tmp_path):
    import json

    from nsdesign.documents import schedule_document

    doc = schedule_document(preset(SCHEDULE), (0.2, 0.5))
    doc["normalizer"] = {"name": "schatten8"}
    path = tmp_path / "s8.json"
    path.write_text(json.dumps(doc))
    assert "no schatten8" in cli_error(cli("export", str(path), "--to", "optax"))
    ok = cli("export", str(path), "--to", "dion")
    assert ok.returncode == 0 and 'NORMALIZER = "schatten8"' in ok.stdout
