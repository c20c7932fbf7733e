"""DeepSpeed and TransformerEngine exports: their text, their map, and their consumers' iterations re-run.

DeepSpeed's Muon runs one hard-coded schedule (keller5, fp16 Gram, restart before step 3); TE's newton_schulz
runs a coefficient list (facts and sources: nsdesign.export.gram_consumers). Each consumer's iteration is
written below operation by operation from its source — DeepSpeed 0.19.8 `zeropower_via_gram_newtonschulz`,
and for TE the reference update in tests/pytorch/distributed/run_newton_schulz.py (cuSOLVERMp's kernel is
closed) — and checked three ways: against a numpy model of the same operations built from nsdesign's rounding
primitives (the same roundings), against nsdesign's own kernel model (gram / unfused, which rounds differently,
so only the spectrum must agree), and against the exact map. Where deepspeed is installed its real function
runs on a CPU tensor too.
"""

from __future__ import annotations

import numpy as np
import pytest

from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.export import export
from nsdesign.export.gram_consumers import DEEPSPEED_RESTART_AT, DEEPSPEED_TRIPLE
from nsdesign.precision import band_matrix
from nsdesign.precision.kernels import rounder, run
from nsdesign.precision.model import output_singular_values
from nsdesign.presets import preset

PER_STEP = "polar_express_modded5"  # per-step list with norm_div 1.02: exercises folding
DEGREE7 = Schedule.from_coefficients([(3.4445, -4.775, 2.0315), (35 / 16, -35 / 16, 21 / 16, -5 / 16)], name="deg7")
SIGMAS = np.geomspace(1e-3, 1.0, 41)
SHAPE = (24, 80)  # wide, so DeepSpeed takes its Gram branch (square matrices run the standard iteration)


def run_snippet(text: str) -> dict:
    namespace: dict = {}
    exec(compile(text, "<export>", "exec"), namespace)
    return namespace


def assert_same_map(rows, schedule: Schedule) -> None:
    """The exported rows, composed as scalars on σ/‖X‖_F, are the schedule's map F."""
    consumer = Schedule.from_coefficients([tuple(r) for r in rows])
    for s in SIGMAS:
        assert consumer(s) == pytest.approx(schedule(s), rel=1e-12, abs=1e-12)


def exact_singular_values(schedule: Schedule, g: np.ndarray) -> np.ndarray:
    sigma = np.linalg.svd(g, compute_uv=False)
    return np.sort(np.abs([schedule(float(s) / np.linalg.norm(g)) for s in sigma]))


# --------------------------------------------------------------------------------------------------
# DeepSpeed: the export
# --------------------------------------------------------------------------------------------------


def test_deepspeed_writes_its_settings_for_keller5():
    result = export(preset("keller5"), "deepspeed")
    ns = run_snippet(result.text)
    assert ns["DEEPSPEED_OPTIMIZER"] == {"type": "Muon", "params": {"ns_method": "gram"}}
    assert ns["NS_COEFFICIENTS"] == DEEPSPEED_TRIPLE and ns["NS_STEPS"] == 5 and ns["GRAM_RESTART_AT"] == 2
    assert_same_map([ns["NS_COEFFICIENTS"]] * ns["NS_STEPS"], preset("keller5"))
    assert "restart_at = 2" in result.text and "DeepSpeed's fixed [2]" in result.text
    assert result.warnings == ()


@pytest.mark.parametrize(
    "schedule, reason",
    [
        (preset(PER_STEP), "has 5 different (a, b, c) rows"),
        (Schedule.from_coefficients([(3.0, -3.2, 1.2)] * 5, name="other"), "repeats (3.0, -3.2, 1.2)"),
        (Schedule.from_coefficients([DEEPSPEED_TRIPLE] * 6, name="keller6"), "runs it 6 times"),
        (Schedule.from_coefficients([DEEPSPEED_TRIPLE] * 5, norm_div=1.05, name="k"), "folded into its first step"),
        (DEGREE7, "quintic steps only"),
    ],
    ids=["per_step", "other_triple", "six_steps", "norm_div", "degree7"],
)
def test_deepspeed_refuses_what_it_cannot_run_in_one_line(schedule, reason):
    with pytest.raises(InputError) as info:
        export(schedule, "deepspeed")
    message = str(info.value)
    assert reason in message and "\n" not in message
    assert "gram-newton-schulz" in message or "export it to dion" in message


# --------------------------------------------------------------------------------------------------
# TransformerEngine: the export
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [PER_STEP, "keller5", "cubic5_eo"])
def test_te_list_reproduces_the_map_and_its_length_is_num_iterations(name):
    schedule = preset(name)
    ns = run_snippet(export(schedule, "transformer-engine").text)
    rows = ns["NS_COEFFICIENTS"]
    assert ns["NUM_ITERATIONS"] == len(rows) == schedule.num_steps
    assert all(isinstance(r, tuple) and len(r) == 3 for r in rows)  # TE: "Expected coefficient tuple of length 3"
    assert_same_map(rows, schedule)


def test_te_names_its_call_and_the_normalization_it_leaves_to_the_caller():
    text = export(preset(PER_STEP), "transformer-engine").text
    assert "newton_schulz(x, ctx, NUM_ITERATIONS, coefficients=NS_COEFFICIENTS)" in text
    assert "does NOT normalize" in text and "folded into the first step" in text


def test_te_refuses_degree_7_in_one_line():
    with pytest.raises(InputError) as info:
        export(DEGREE7, "transformer-engine")
    assert "quintic steps only" in str(info.value) and "\n" not in str(info.value)


def test_both_are_registered_as_consumers_and_half_precision_targets():
    from nsdesign.core.consumers import consumer_form
    from nsdesign.export import half_precision_risk
    from nsdesign.presets import preset

    assert consumer_form("deepspeed").dtype == "fp16" and consumer_form("transformer-engine").dtype == "bf16"
    assert consumer_form("deepspeed").kernel == "gram"
    assert consumer_form("transformer-engine").takes == "list"
    for target, dtype in (("deepspeed", "fp16"), ("transformer-engine", "bf16")):
        assert f"{target} (which runs it in {dtype}) can diverge" in str(half_precision_risk(preset("cans5_eo"), target))


# --------------------------------------------------------------------------------------------------
# DeepSpeed's Gram iteration, operation by operation (deepspeed 0.19.8 original_muon.py)
# --------------------------------------------------------------------------------------------------

torch = pytest.importorskip("torch")
TORCH_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


def deepspeed_normalize(G, compute):
    """norm_dtype = fp32 for an fp16 G, else G's; X = (X / (‖X‖_F + 1e-7)).to(compute), wide orientation."""
    X = G.to(torch.float32 if G.dtype == torch.float16 else G.dtype)
    if G.size(-2) > G.size(-1):
        X = X.mT
    return (X / (X.norm(dim=(-2, -1), keepdim=True) + 1e-7)).to(compute)


def deepspeed_gram_torch(X, steps: int = 5):
    """The Gram branch of zeropower_via_gram_newtonschulz on a normalized wide X, as its source writes it."""
    a, b, c = DEEPSPEED_TRIPLE
    R = X @ X.mT
    Q = None
    for i in range(steps):
        if i == DEEPSPEED_RESTART_AT and i != 0:
            X = Q @ X
            R = X @ X.mT
            Q = None
        Z = b * R + c * R @ R  # (c·R) @ R: * and @ bind left to right
        if Q is None:
            Q = Z.clone()
            Q.diagonal().add_(a)
        else:
            Q = a * Q + Z @ Q
        if i < steps - 1 and (i + 1) != DEEPSPEED_RESTART_AT:
            RZ = a * R + Z @ R
            R = a * RZ + Z @ RZ
    return Q @ X


def deepspeed_gram_model(X: np.ndarray, dtype: str, steps: int = 5) -> np.ndarray:
    """The same operations with nsdesign's rounding: every torch op rounds its fp32 result once."""
    rnd = rounder(dtype)
    a, b, c = (np.float32(v) for v in DEEPSPEED_TRIPLE)
    X = rnd(np.asarray(X, dtype=np.float32))
    R = rnd(X @ X.T)
    Q = None
    for i in range(steps):
        if i == DEEPSPEED_RESTART_AT:
            X = rnd(Q @ X)
            R = rnd(X @ X.T)
            Q = None
        Z = rnd(rnd(b * R) + rnd(rnd(c * R) @ R))
        if Q is None:
            Q = Z.copy()
            diag = np.diag_indices_from(Q)
            Q[diag] = rnd(Q[diag] + rnd(a))  # torch CPU casts an added scalar to fp16 first (tested below)
        else:
            Q = rnd(rnd(a * Q) + rnd(Z @ Q))
        if i < steps - 1 and (i + 1) != DEEPSPEED_RESTART_AT:
            RZ = rnd(rnd(a * R) + rnd(Z @ R))
            R = rnd(rnd(a * RZ) + rnd(Z @ RZ))
    return rnd(Q @ X)


def test_torch_cpu_casts_an_added_scalar_to_the_tensor_dtype_but_multiplies_in_fp32():
    """Why the model rounds a before Q.diagonal().add_(a): torch CPU's add rounds the scalar to fp16, mul does not."""
    z = (torch.randn(64, 64, generator=torch.Generator().manual_seed(0)) * 0.7).half()
    q = z.clone()
    q.diagonal().add_(3.4445)
    got, diag = np.diag(q.float().numpy()), np.diag(z.float().numpy())
    fp16 = rounder("fp16")
    assert np.array_equal(got, fp16(diag + fp16(np.float32(3.4445))))
    assert not np.array_equal(got, fp16(diag + np.float32(3.4445)))
    assert np.array_equal((3.4445 * z).float().numpy(), fp16(np.float32(3.4445) * z.float().numpy()))


def _deepspeed_input(dtype: str):
    g = band_matrix(1e-3, 1.0, SHAPE, seed=5).matrix * 3.0
    X = deepspeed_normalize(torch.from_numpy(g).float(), TORCH_DTYPES[dtype])
    return g, X


@pytest.mark.parametrize("dtype", ["fp16", "fp32"])
def test_deepspeed_iteration_is_the_rounding_of_its_operations(dtype):
    """Call for call the numpy model of DeepSpeed's operations is torch's rounding (fp32 summation order aside)."""
    _, X = _deepspeed_input(dtype)
    real = deepspeed_gram_torch(X).double().numpy()
    model = deepspeed_gram_model(X.double().numpy(), dtype)
    if dtype == "fp32":
        assert np.max(np.abs(model - real)) <= 3e-5 * np.max(np.abs(real))
    else:  # five fp16 Gram steps amplify the rare one-ulp product differences; the spectrum still agrees
        assert np.max(np.abs(output_singular_values(model) - output_singular_values(real))) <= 5e-3


@pytest.mark.parametrize("dtype, tol", [("fp16", 3e-2), ("fp32", 1e-4)])
def test_deepspeed_iteration_follows_nsdesigns_gram_model_and_the_exact_map(dtype, tol):
    """nsdesign's gram kernel with restarts (2,) is DeepSpeed's plan; it rounds in other places (see the report)."""
    g, X = _deepspeed_input(dtype)
    real = output_singular_values(deepspeed_gram_torch(X).double().numpy())
    dao_form = output_singular_values(run(preset("keller5"), X.double().numpy(), "gram", dtype, restarts=(2,)))
    assert np.max(np.abs(np.sort(real) - np.sort(dao_form))) <= tol
    assert np.max(np.abs(np.sort(real) - exact_singular_values(preset("keller5"), g))) <= tol


def test_deepspeed_gram_rounds_differently_from_the_dao_form_model():
    """One fp16 step: DeepSpeed's unfused Z = b·R + (c·R)@R is not nsdesign's fused Dao-form Z."""
    _, X = _deepspeed_input("fp16")
    one = Schedule.from_coefficients([DEEPSPEED_TRIPLE])
    ours = deepspeed_gram_model(X.double().numpy(), "fp16", steps=1)
    real = deepspeed_gram_torch(X, steps=1).double().numpy()
    dao_form = run(one, X.double().numpy(), "gram", "fp16")
    assert np.mean(ours == real) >= 0.99
    assert np.mean(dao_form == real) < np.mean(ours == real)


def _real_deepspeed(monkeypatch):
    """DeepSpeed's own function, uncompiled, with an accelerator that reports fp16 support (as a GPU does)."""
    om = pytest.importorskip("deepspeed.runtime.zero.muon.original_muon")

    class Fp16Accelerator:
        def is_fp16_supported(self) -> bool:
            return True

        def is_bf16_supported(self) -> bool:
            return True

    monkeypatch.setattr(om, "get_accelerator", lambda: Fp16Accelerator())
    fn = om.zeropower_via_gram_newtonschulz
    return om, getattr(fn, "_torchdynamo_orig_callable", fn)


@pytest.mark.slow
@pytest.mark.parametrize("shape", [SHAPE, SHAPE[::-1]], ids=["wide", "tall"])
def test_real_deepspeed_gram_is_the_reproduction_bit_for_bit(monkeypatch, shape):
    om, gram = _real_deepspeed(monkeypatch)
    g = band_matrix(1e-3, 1.0, SHAPE, seed=5).matrix * 3.0  # band_matrix is wide
    g = g.T if shape[0] > shape[1] else g
    G = torch.from_numpy(g).float()
    real = gram(G, steps=5)
    assert real.dtype == torch.float16
    X = deepspeed_normalize(G, torch.float16)
    ours = deepspeed_gram_torch(X)
    ours = ours.mT if shape[0] > shape[1] else ours
    assert torch.equal(real, ours)
    got = np.sort(np.linalg.svd(real.double().numpy(), compute_uv=False))
    assert np.max(np.abs(got - exact_singular_values(preset("keller5"), g))) <= 2e-2


@pytest.mark.slow
def test_real_deepspeed_takes_the_exported_setting(monkeypatch):
    om, _ = _real_deepspeed(monkeypatch)
    ns = run_snippet(export(preset("keller5"), "deepspeed").text)
    assert ns["NS_METHOD"] in om.NS_METHODS
    engine = pytest.importorskip("deepspeed.runtime.engine")
    keys = getattr(engine.DeepSpeedEngine, "_MUON_HALF_KEYS", None)
    if keys is not None:  # 0.19.8; older releases list the keys inline in _configure_basic_optimizer
        assert set(ns["DEEPSPEED_OPTIMIZER"]["params"]) <= set(keys)
        assert not {"ns_steps", "ns_coefficients"} & set(keys)


# --------------------------------------------------------------------------------------------------
# TransformerEngine's iteration, operation by operation (run_newton_schulz.py's reference update)
# --------------------------------------------------------------------------------------------------


def te_rows(schedule: Schedule) -> list[tuple[float, float, float]]:
    """The exported rows as TE hands them to cuSOLVERMp: std::vector<float>, so each rounds to fp32."""
    rows = run_snippet(export(schedule, "transformer-engine").text)["NS_COEFFICIENTS"]
    return [tuple(float(np.float32(v)) for v in row) for row in rows]


def te_torch(x, rows):
    """x ← a·x + b·xxᵀ@x + c·xxᵀ@xxᵀ@x, as the reference writes it ((b·A)@x and ((c·A)@A)@x)."""
    for a, b, c in rows:
        xxt = x @ x.mT
        x = a * x + b * xxt @ x + c * xxt @ xxt @ x
    return x


def te_model(x: np.ndarray, rows, dtype: str) -> np.ndarray:
    rnd = rounder(dtype)
    x = rnd(np.asarray(x, dtype=np.float32))
    for a, b, c in rows:
        a, b, c = np.float32(a), np.float32(b), np.float32(c)
        A = rnd(x @ x.T)
        first = rnd(rnd(a * x) + rnd(rnd(b * A) @ x))
        x = rnd(first + rnd(rnd(rnd(c * A) @ A) @ x))
    return x


def _te_input(dtype: str):
    """What the export tells the caller to do: x / (‖x‖_F + 1e-7), then TE's dtype (σ ≥ 1e-2: bf16 PE steps
    lose σ near 1e-3 to round-off, whichever grouping runs them)."""
    g = band_matrix(1e-2, 1.0, SHAPE, seed=6).matrix * 3.0
    x = torch.from_numpy(g).float()
    return g, (x / (x.norm() + 1e-7)).to(TORCH_DTYPES[dtype])


@pytest.mark.parametrize("dtype", ["bf16", "fp32"])
def test_te_iteration_is_the_rounding_of_its_operations(dtype):
    _, x = _te_input(dtype)
    rows = te_rows(preset(PER_STEP))
    real = te_torch(x, rows).double().numpy()
    model = te_model(x.double().numpy(), rows, dtype)
    if dtype == "fp32":
        assert np.max(np.abs(model - real)) <= 1e-5 * np.max(np.abs(real))
    else:
        assert np.mean(model == real) >= 0.99


@pytest.mark.parametrize("dtype, tol", [("bf16", 8e-2), ("fp32", 1e-4)])
def test_te_iteration_follows_nsdesigns_unfused_model_and_the_exact_map(dtype, tol):
    """nsdesign's unfused kernel groups the step as a·X + (b·A + (c·A)@A)@X; TE's reference differs in grouping."""
    schedule = preset(PER_STEP)
    g, x = _te_input(dtype)
    real = output_singular_values(te_torch(x, te_rows(schedule)).double().numpy())
    unfused = output_singular_values(run(schedule, x.double().numpy(), "unfused", dtype))  # run() divides by norm_div
    assert np.max(np.abs(np.sort(real) - np.sort(unfused))) <= tol
    assert np.max(np.abs(np.sort(real) - exact_singular_values(schedule, g))) <= tol
