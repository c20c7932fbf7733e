"""Exports, checked by running them in the consumer wherever it installs here.

The yardstick is the schedule's exact scalar map (Schedule.__call__): on a matrix with known singular values
σ_i, a faithful export must return singular values F(σ_i / ‖G‖_F). torch.optim.Muon, the --patch module,
the dion module, optax.contrib.muon and gram-newton-schulz's GramNewtonSchulz (installed with --no-deps by the
test command; its torch backend needs no CUDA kernels) are run for real; Emerging-Optimizers needs Python ≥ 3.12,
so its list is checked by value and by composing the exported rows as scalars.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.export import TARGETS, ExportResult, export, get_target, target_names
from nsdesign.documents import read_schedule_file
from nsdesign.presets import preset, preset_names

PER_STEP = "polar_express_modded5"  # per-step list with norm_div 1.02: exercises folding
DEGREE7 = (35 / 16, -35 / 16, 21 / 16, -5 / 16)  # the degree-7 Newton–Schulz polynomial, maps [0, 1] into [0, 1]
MIXED = Schedule.from_coefficients([(3.4445, -4.775, 2.0315), DEGREE7, (1.5, -0.5)], norm_div=1.05, name="mixed")
SINGULAR_VALUES = np.array([1.0, 0.8, 0.6, 0.45, 0.3, 0.2, 0.12, 0.08])


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def run_snippet(text: str) -> dict:
    namespace: dict = {}
    exec(compile(text, "<export>", "exec"), namespace)
    return namespace


def load_module(text: str, tmp_path, name: str):
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def matrix(m: int, n: int, seed: int = 0) -> np.ndarray:
    """An m×n matrix whose singular values are the first min(m, n) of SINGULAR_VALUES · 3."""
    k = min(m, n)
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((m, k)))
    v, _ = np.linalg.qr(rng.standard_normal((n, k)))
    return (u * (3.0 * SINGULAR_VALUES[:k])) @ v.T


def expected_singular_values(schedule: Schedule, g: np.ndarray) -> np.ndarray:
    """|F(σ_i / ‖G‖_F)| sorted: what any faithful implementation returns as singular values."""
    sigma = np.linalg.svd(g, compute_uv=False)
    frobenius = np.linalg.norm(g)
    return np.sort(np.abs([schedule(float(s) / frobenius) for s in sigma]))


def singular_values(x) -> np.ndarray:
    return np.sort(np.linalg.svd(np.asarray(x, dtype=np.float64), compute_uv=False))


def scalar_map(rows, norm_div: float = 1.0):
    """The map a consumer applies to a Frobenius-normalized σ when it runs `rows` after dividing by norm_div."""
    return Schedule.from_coefficients(rows, norm_div=norm_div)


SIGMAS = np.geomspace(1e-3, 1.0, 41)


def assert_same_map(rows, schedule: Schedule, norm_div: float = 1.0) -> None:
    consumer = scalar_map(rows, norm_div)
    for s in SIGMAS:
        assert consumer(s) == pytest.approx(schedule(s), rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------------------------------
# The registry and the API
# --------------------------------------------------------------------------------------------------


def test_registry_lists_every_target_once():
    assert target_names() == (
        "torch-muon",
        "optax",
        "dion",
        "emerging-optimizers",
        "gram-newton-schulz",
        "python",
        "polar-express",
        "deepspeed",
        "transformer-engine",
    )
    for target in TARGETS:
        assert target.consumer and target.accepts and target.past_the_end
        assert get_target(target.name) is target


def test_unknown_target_lists_the_targets():
    with pytest.raises(InputError) as info:
        export(preset("keller5"), "jax-muon")
    message = str(info.value)
    assert "jax-muon" in message and "\n" not in message
    names = target_names()  # a long listing ends with where to see it whole (issue 24: errors fit 80 columns)
    assert all(name in message for name in names[:4]) and "…, see `nsdesign export -h`" in message


def test_patch_only_for_torch_muon():
    with pytest.raises(InputError, match="`patch=True` applies only to torch-muon"):
        export(preset("keller5"), "optax", patch=True)


@pytest.mark.parametrize("target", target_names())
@pytest.mark.parametrize("name", preset_names())
def test_every_preset_exports_or_refuses_in_one_line(name, target):
    try:
        result = export(preset(name), target)
    except InputError as exc:
        assert target in ("torch-muon", "deepspeed") and "\n" not in str(exc)  # deepspeed runs keller5 only
        return
    assert isinstance(result, ExportResult) and result.text.endswith("\n")
    if target == "polar-express":
        json.loads(result.text)
    else:
        compile(result.text, f"<{target}>", "exec")
    assert all("\n" not in w for w in result.warnings)


def test_package_imports_no_torch_or_jax():
    code = "import sys, nsdesign.export; bad = {'torch', 'jax', 'optax'} & set(sys.modules); assert not bad, bad"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("target", [t for t in target_names()
                                    if t not in ("torch-muon", "polar-express", "deepspeed")])
def test_hostile_names_stay_in_comments(target):
    import ast

    schedule = preset(PER_STEP).with_name('evil"""\nimport os  # \\x')
    text = export(schedule, target, provenance='line one\nline """two"""\\').text
    imported = {alias.name for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Import) for alias in node.names}
    assert imported <= {"torch", "torch.optim._muon"}


def test_schedules_for_aol_scaling_warn():
    result = export(preset("aol4_dion"), "dion")
    assert len(result.warnings) == 1 and "AOL" in result.warnings[0]
    assert run_snippet(export(preset("aol4_dion"), "python").text)["NS_NORM_DIV"] is None


# --------------------------------------------------------------------------------------------------
# torch.optim.Muon: kwargs
# --------------------------------------------------------------------------------------------------


def test_torch_muon_kwargs_run_in_real_muon():
    torch = pytest.importorskip("torch")
    kwargs = run_snippet(export(preset("keller5"), "torch-muon").text)["muon_kwargs"]
    assert kwargs == {"ns_coefficients": (3.4445, -4.775, 2.0315), "ns_steps": 5, "eps": 1e-7}
    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.randn(16, 32))
    before = weight.detach().clone()
    optimizer = torch.optim.Muon([weight], lr=0.02, **kwargs)
    weight.grad = torch.randn(16, 32)
    optimizer.step()
    assert torch.isfinite(weight).all() and not torch.equal(weight.detach(), before)


def test_torch_muon_one_step_schedule_folds_norm_div():
    schedule = Schedule.from_coefficients([(3.0, -3.2, 1.2)], norm_div=1.02, name="one")
    text = export(schedule, "torch-muon").text
    kwargs = run_snippet(text)["muon_kwargs"]
    assert "folded into the first step" in text and kwargs["ns_steps"] == 1
    assert_same_map([kwargs["ns_coefficients"]], schedule)


def test_torch_muon_cubic_triple():
    schedule = Schedule.from_coefficients([(1.5, -0.5)] * 4, name="cubic")
    kwargs = run_snippet(export(schedule, "torch-muon").text)["muon_kwargs"]
    assert kwargs["ns_coefficients"] == (1.5, -0.5, 0.0) and kwargs["ns_steps"] == 4


@pytest.mark.parametrize(
    "schedule, why",
    [
        (preset(PER_STEP), "5 different steps; use `patch=True`"),
        (Schedule.from_coefficients([(3.4445, -4.775, 2.0315)] * 3, norm_div=1.02), "folding"),
        (Schedule.from_coefficients([DEGREE7] * 3), "degree 7"),
    ],
)
def test_torch_muon_refuses_what_it_cannot_express(schedule, why):
    with pytest.raises(InputError, match=why):
        export(schedule, "torch-muon")


# --------------------------------------------------------------------------------------------------
# torch.optim.Muon: the --patch module, and the dion module
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", [preset(PER_STEP), MIXED], ids=["per_step", "mixed_degree"])
@pytest.mark.parametrize("shape", [(8, 12), (12, 8)], ids=["wide", "tall"])
def test_patch_module_runs_the_schedule_inside_torch_muon(schedule, shape, tmp_path):
    torch = pytest.importorskip("torch")
    import torch.optim._muon as muon_module

    module = load_module(export(schedule, "torch-muon", patch=True).text, tmp_path, "ns_patch")
    module.COMPUTE_DTYPE = torch.float32
    original = muon_module._zeropower_via_newtonschulz
    g = matrix(*shape)
    module.install()
    try:
        assert muon_module._zeropower_via_newtonschulz is module.zeropower_via_schedule
        # momentum 0, no weight decay, lr 1: the step subtracts exactly NS(grad) · √max(1, m/n)
        weight = torch.nn.Parameter(torch.zeros(shape))
        optimizer = torch.optim.Muon([weight], lr=1.0, momentum=0.0, weight_decay=0.0, ns_steps=5)
        weight.grad = torch.tensor(g, dtype=torch.float32)
        optimizer.step()
    finally:
        module.uninstall()
    assert muon_module._zeropower_via_newtonschulz is original
    update = -weight.detach().double().numpy() / math.sqrt(max(1.0, shape[0] / shape[1]))
    np.testing.assert_allclose(singular_values(update), expected_singular_values(schedule, g), atol=2e-5)


def test_patch_module_defaults_to_bf16_like_torch(tmp_path):
    torch = pytest.importorskip("torch")
    module = load_module(export(preset(PER_STEP), "torch-muon", patch=True).text, tmp_path, "ns_patch_bf16")
    out = module.zeropower_via_schedule(torch.tensor(matrix(8, 12), dtype=torch.float32), (1.0, 0.0, 0.0), 5, 1e-7)
    assert out.dtype == torch.bfloat16 and out.shape == (8, 12) and torch.isfinite(out).all()


@pytest.mark.parametrize("schedule", [preset(PER_STEP), preset("cubic5_eo"), MIXED], ids=["per_step", "cubic", "mixed"])
def test_dion_module_matches_the_scalar_map(schedule, tmp_path):
    torch = pytest.importorskip("torch")
    module = load_module(export(schedule, "dion").text, tmp_path, "ns_dion")
    module.COMPUTE_DTYPE = torch.float32
    for shape in ((8, 12), (12, 8)):
        g = matrix(*shape)
        out = module.newton_schulz_func(torch.tensor(g, dtype=torch.float32), epsilon=1e-7)
        assert out.shape == shape
        np.testing.assert_allclose(singular_values(out), expected_singular_values(schedule, g), atol=2e-5)
    batch = torch.tensor(np.stack([matrix(8, 12, seed) for seed in range(3)]), dtype=torch.float32)
    together = module.newton_schulz_func(batch)
    for i in range(3):
        torch.testing.assert_close(together[i], module.newton_schulz_func(batch[i]))


def test_dion_module_signature_and_bf16_default(tmp_path):
    torch = pytest.importorskip("torch")
    import inspect

    module = load_module(export(preset("keller5"), "dion").text, tmp_path, "ns_dion_sig")
    parameters = inspect.signature(module.newton_schulz_func).parameters
    assert list(parameters) == ["X", "epsilon"] and parameters["epsilon"].default == 1e-7
    assert module.newton_schulz_func(torch.randn(4, 6)).dtype == torch.bfloat16


# --------------------------------------------------------------------------------------------------
# optax
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [PER_STEP, "cubic5_eo", "keller5"])
def test_optax_snippet_values(name):
    schedule = preset(name)
    namespace = run_snippet(export(schedule, "optax").text)
    coeffs, steps = namespace["NS_COEFFS"], namespace["NS_STEPS"]
    assert isinstance(coeffs, tuple) and all(isinstance(r, tuple) and len(r) == 3 for r in coeffs)
    assert steps == len(coeffs) == schedule.num_steps
    assert_same_map(coeffs, schedule)  # norm_div folded: optax has no divisor


@pytest.mark.slow
@pytest.mark.parametrize("name", [PER_STEP, "cubic5_eo"])
def test_optax_snippet_runs_in_optax_contrib_muon(name):
    optax = pytest.importorskip("optax")
    jnp = pytest.importorskip("jax.numpy")
    schedule = preset(name)
    namespace = run_snippet(export(schedule, "optax").text)
    # beta 0, lr 1, square matrix: the update is exactly −NS(grad) (no width scaling).
    transform = optax.contrib.muon(1.0, ns_coeffs=namespace["NS_COEFFS"], ns_steps=namespace["NS_STEPS"], beta=0.0)
    g = matrix(8, 8)
    params = {"w": jnp.zeros((8, 8), dtype=jnp.float32)}
    state = transform.init(params)
    updates, _ = transform.update({"w": jnp.asarray(g, dtype=jnp.float32)}, state, params)
    got = singular_values(np.asarray(updates["w"]))
    np.testing.assert_allclose(got, expected_singular_values(schedule, g), atol=2e-5)


# --------------------------------------------------------------------------------------------------
# Emerging-Optimizers and gram-newton-schulz
# --------------------------------------------------------------------------------------------------


def test_emerging_optimizers_list_and_cycle_warning():
    schedule = preset(PER_STEP)
    result = export(schedule, "emerging-optimizers")
    namespace = run_snippet(result.text)
    rows = namespace["CUSTOM_COEFFICIENT_SETS"]
    assert isinstance(rows, list) and all(isinstance(r, tuple) and len(r) == 3 for r in rows)
    assert namespace["NS_STEPS"] == len(rows) == 5
    assert_same_map(rows, schedule)
    assert "folded into the first step" in result.text and 'coefficient_type="custom"' in result.text
    assert any("cycles" in w and "steps=5" in w for w in result.warnings)


def test_gram_list_values():
    schedule = preset("quintic5_leloykun_you")
    rows = run_snippet(export(schedule, "gram-newton-schulz").text)["NS_COEFFICIENTS"]
    assert rows == [list(r) for r in schedule.coefficients()]
    folded = run_snippet(export(preset(PER_STEP), "gram-newton-schulz").text)["NS_COEFFICIENTS"]
    assert folded[1:] == [list(r) for r in preset(PER_STEP).coefficients()[1:]]
    assert_same_map(folded, preset(PER_STEP))


def test_gram_list_in_the_real_package():
    gram = pytest.importorskip("gram_newton_schulz")  # the test command installs it (--no-deps)
    torch = pytest.importorskip("torch")
    schedule = preset(PER_STEP)
    rows = run_snippet(export(schedule, "gram-newton-schulz").text)["NS_COEFFICIENTS"]
    g = matrix(8, 24)
    orthogonalize = gram.GramNewtonSchulz(ns_coefficients=rows, ns_use_kernels=False, compile_kwargs=None)
    out = orthogonalize(torch.tensor(g, dtype=torch.float32))
    np.testing.assert_allclose(singular_values(out), expected_singular_values(schedule, g), atol=3e-2)  # fp16


@pytest.mark.parametrize("target", ["optax", "emerging-optimizers", "gram-newton-schulz"])
def test_quintic_only_targets_refuse_higher_degree(target):
    with pytest.raises(InputError, match="step 2 of mixed has degree 7"):
        export(MIXED, target)


# --------------------------------------------------------------------------------------------------
# Plain data: Python literal and Polar Express JSON
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", [preset(PER_STEP), preset("cubic5_eo"), MIXED], ids=["per_step", "cubic", "mixed"])
def test_python_literal(schedule):
    text = export(schedule, "python").text
    namespace = run_snippet(text)
    assert namespace["NS_COEFFICIENTS"] == [tuple(r) for r in schedule.coefficients()]
    assert namespace["NS_NORM_DIV"] == schedule.norm_div
    assert_same_map(namespace["NS_COEFFICIENTS"], schedule, namespace["NS_NORM_DIV"])
    assert "Provenance:" in text and "Extension:" in text


@pytest.mark.parametrize("name", list(preset_names()) + ["mixed"])
def test_polar_express_json_round_trips(name, tmp_path):
    schedule = MIXED if name == "mixed" else preset(name)
    text = export(schedule, "polar-express").text
    document = json.loads(text)
    assert {"degree", "params", "coefficients"} <= document.keys()
    assert all(len(row) == (document["degree"] + 1) // 2 for row in document["coefficients"])
    path = tmp_path / "pe.json"
    path.write_text(text)
    back, _ = read_schedule_file(path)
    assert back == schedule and back.name == schedule.name


def test_gram_export_carries_a_designed_restart_plan_that_runs_on_a_plain_install():
    """deepseek_v4_10 diverges with gram-newton-schulz's default plan [2] in fp16; the exported plan does not."""
    gram = pytest.importorskip("gram_newton_schulz")
    torch = pytest.importorskip("torch")
    text = export(preset("deepseek_v4_10"), "gram-newton-schulz").text
    assert "ns_use_kernels=False" in text
    snippet = run_snippet(text)
    rows, plan = snippet["NS_COEFFICIENTS"], snippet["GRAM_NEWTON_SCHULZ_RESET_ITERATIONS"]
    assert plan and plan != [2] and all(0 < r < len(rows) for r in plan)
    from nsdesign.precision import band_matrix

    g = band_matrix(1e-3, 1.0, (64, 256), seed=1).matrix  # another draw than the export's design proxy
    x = torch.tensor(g / np.linalg.norm(g), dtype=torch.float32)

    def error(reset):
        ns = gram.GramNewtonSchulz(ns_coefficients=rows, gram_newton_schulz_reset_iterations=reset,
                                   ns_use_kernels=False, compile_kwargs=None)
        out = ns(x).double().numpy()
        return float(np.max(np.abs(1 - singular_values(out)))) if np.isfinite(out).all() else float("inf")

    assert error(plan) < 0.05 < error([2])


def test_export_takes_a_preset_name_and_refuses_other_types():
    assert export("keller5", "optax").text == export(preset("keller5"), "optax").text
    with pytest.raises(InputError, match="a Schedule or a preset name"):
        export(3, "optax")


@pytest.mark.parametrize("target", target_names())
def test_a_target_refuses_no_headroom_exactly_when_its_consumer_runs_half_precision(target):
    """One home for each consumer's precision: core.consumers; the export's refusal reads it."""
    from nsdesign.core.consumers import consumer_form
    from nsdesign.core.limits import HALF_PRECISION
    from nsdesign.export import half_precision_risk

    dtype = consumer_form(target).dtype
    risk = half_precision_risk(preset("cans5_eo"), target)
    assert (risk is not None) == (dtype in HALF_PRECISION), (target, dtype)
    assert half_precision_risk(preset("polar_express_modded5"), target) is None  # it has headroom
    if risk is not None:
        assert risk.dtype == dtype and str(risk).endswith(f"so {target} (which runs it in {dtype}) can diverge")
