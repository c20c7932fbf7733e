"""nsdesign.torch.kernels against the exact float64 map F, against each other, and against torch.optim.Muon."""

from __future__ import annotations

import pytest
import torch
from torch.optim._muon import _zeropower_via_newtonschulz

from nsdesign.core.cost import Shape, flops
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.presets import preset
from nsdesign.torch.kernels import (
    default_restarts,
    gram_iteration,
    matmul_flops,
    newton_schulz,
    scalar_map,
    schedule_rows,
    standard_iteration,
)
from nsdesign.torch.sources import log_uniform

# Mixed degrees: a degree-1 step, a cubic, a quintic, a degree-7 and a degree-9 step (Horner beyond quintics).
MIXED = Schedule.from_coefficients(
    [[1.5], [1.5, -0.5], [3.4445, -4.775, 2.0315], [2.1875, -2.1875, 1.3125, -0.3125], [1.9, -1.6, 1.2, -0.6, 0.12]],
    name="mixed",
)
SCHEDULES = [
    preset("keller5"),
    preset("polar_express_modded5"),  # norm_div 1.02
    preset("polar_express_paper8"),  # norm_div 1.01
    preset("cubic5_eo"),
    preset("aol4_dion"),  # norm_div None → 1
    MIXED,
]


def _matrix(m: int, n: int, low: float = 1e-3, seed: int = 0) -> torch.Tensor:
    return log_uniform((m, n), low, seed)


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.linalg.matrix_norm(a.double() - b.double()) / torch.linalg.matrix_norm(b.double()))


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.name)
def test_fp64_singular_values_follow_the_exact_scalar_map(schedule):
    G = _matrix(24, 40)
    sigma_hat = torch.linalg.svdvals(G) / torch.linalg.vector_norm(G)
    expected = scalar_map(schedule, sigma_hat).abs().sort(descending=True).values
    Y = newton_schulz(G, schedule, dtype=torch.float64)
    assert torch.allclose(torch.linalg.svdvals(Y), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("schedule", SCHEDULES[:4], ids=lambda s: s.name)
def test_fp32_singular_values_follow_the_exact_scalar_map(schedule):
    G = _matrix(32, 48).float()
    sigma_hat = torch.linalg.svdvals(G.double()) / torch.linalg.vector_norm(G.double())
    expected = scalar_map(schedule, sigma_hat).abs().sort(descending=True).values
    Y = newton_schulz(G, schedule, dtype=torch.float32)
    assert Y.dtype == torch.float32
    assert torch.allclose(torch.linalg.svdvals(Y.double()), expected, atol=2e-4)


def test_scalar_map_is_the_schedules_own_map():
    sigma = torch.tensor([1e-4, 1e-3, 0.1, 0.5, 1.0], dtype=torch.float64)
    for schedule in SCHEDULES:
        assert scalar_map(schedule, sigma).tolist() == pytest.approx([schedule(float(s)) for s in sigma], rel=1e-12)


def test_singular_vectors_are_kept():
    G = _matrix(16, 24)
    U, _, Vh = torch.linalg.svd(G, full_matrices=False)
    schedule = preset("polar_express_paper8")
    Y = newton_schulz(G, schedule, dtype=torch.float64)
    sigma_hat = torch.linalg.svdvals(G) / torch.linalg.vector_norm(G)
    assert torch.allclose(Y, (U * scalar_map(schedule, sigma_hat)) @ Vh, atol=1e-10)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.name)
@pytest.mark.parametrize("restarts", [(), None, (1, 3)])
def test_gram_form_equals_standard_form_in_fp64(schedule, restarts):
    G = _matrix(20, 64, 1e-2)
    if restarts and max(restarts) >= schedule.num_steps:
        restarts = (1,)
    standard = newton_schulz(G, schedule, dtype=torch.float64)
    gram = newton_schulz(G, schedule, dtype=torch.float64, form="gram", restarts=restarts)
    assert torch.allclose(gram, standard, atol=1e-10)


def test_batch_equals_one_matrix_at_a_time_in_both_forms():
    G = torch.stack([_matrix(12, 20, seed=s) for s in range(6)]).reshape(2, 3, 12, 20)
    schedule = preset("polar_express_modded5")
    for form in ("standard", "gram"):
        Y = newton_schulz(G, schedule, dtype=torch.float64, form=form)
        assert Y.shape == G.shape
        for i in range(2):
            for j in range(3):
                single = newton_schulz(G[i, j], schedule, dtype=torch.float64, form=form)
                assert torch.allclose(Y[i, j], single, atol=1e-12)
    three_d = newton_schulz(G.reshape(6, 12, 20), schedule, dtype=torch.float64)  # baddbmm path
    assert torch.allclose(three_d.reshape(G.shape), newton_schulz(G, schedule, dtype=torch.float64))


def test_tall_matrices_run_on_the_wide_orientation():
    G = _matrix(48, 16)
    schedule = preset("keller5")
    Y = newton_schulz(G, schedule, dtype=torch.float64)
    assert Y.shape == (48, 16)
    assert torch.allclose(Y, newton_schulz(G.T.contiguous(), schedule, dtype=torch.float64).T, atol=1e-13)
    sigma_hat = torch.linalg.svdvals(G) / torch.linalg.vector_norm(G)
    expected = scalar_map(schedule, sigma_hat).abs().sort(descending=True).values
    assert torch.allclose(torch.linalg.svdvals(Y), expected, atol=1e-12)
    batch = torch.stack([G, 2 * G])
    assert torch.allclose(newton_schulz(batch, schedule, dtype=torch.float64)[1], Y, atol=1e-12)


def test_standard_form_issues_exactly_torchs_bf16_operations():
    """Same normalization as torch.optim.Muon → bit-identical output: the fused calls are the same calls."""
    G = torch.randn(32, 80, generator=torch.Generator().manual_seed(1))
    X = G.bfloat16()
    X = X / X.norm().clamp(min=1e-7)
    ours = standard_iteration(X, schedule_rows(preset("keller5")))
    theirs = _zeropower_via_newtonschulz(G, (3.4445, -4.775, 2.0315), 5, 1e-7)
    assert torch.equal(ours, theirs)


def test_public_call_agrees_with_torch_to_bf16_round_off_and_is_closer_to_exact():
    G = torch.randn(64, 160, generator=torch.Generator().manual_seed(2))
    schedule = preset("keller5")
    ours = newton_schulz(G, schedule)
    theirs = _zeropower_via_newtonschulz(G, (3.4445, -4.775, 2.0315), 5, 1e-7)
    exact = newton_schulz(G.double(), schedule, dtype=torch.float64)
    assert ours.dtype == torch.bfloat16
    assert _relative(ours, theirs) < 0.03
    assert _relative(ours, exact) < 0.02


def test_gram_default_restarts_keep_bf16_stable_where_the_plain_recursion_diverges():
    G = _matrix(128, 512, 1e-3)
    schedule = preset("polar_express_pkg10")
    exact = newton_schulz(G, schedule, dtype=torch.float64)
    plain = newton_schulz(G, schedule, dtype=torch.bfloat16, form="gram", restarts=())
    standard = newton_schulz(G, schedule, dtype=torch.bfloat16)
    restarted = newton_schulz(G, schedule, dtype=torch.bfloat16, form="gram")
    assert not torch.isfinite(plain).all() or _relative(plain, exact) > 1.0
    assert _relative(restarted, exact) < 1.5 * _relative(standard, exact)
    assert default_restarts(10, torch.bfloat16) == (2, 4, 6, 8)
    assert default_restarts(10, torch.float32) == (3, 6, 9)
    assert default_restarts(10, torch.float64) == ()


@pytest.mark.parametrize("restarts", [(), (2,), (5,), (2, 4, 6, 8), (1, 3, 5, 7), (3, 6, 9)])
def test_gram_restarts_mean_what_dao_ailabs_reset_iterations_mean(restarts):
    """Our restart before step i is gram-newton-schulz's reset at iteration i (both fp16): the same plans
    diverge, and the stable ones land equally close to the float64 result."""
    gram = pytest.importorskip("gram_newton_schulz")  # installed with --no-deps by the test command
    schedule = preset("deepseek_v4_10")  # norm_div 1, as gram-newton-schulz assumes
    G = _matrix(128, 512, 1e-3).float()
    theirs = gram.GramNewtonSchulz(
        ns_coefficients=[list(r) for r in schedule_rows(schedule)],
        ns_use_kernels=False,
        compile_kwargs=None,
        gram_newton_schulz_reset_iterations=list(restarts),
    )(G)
    ours = newton_schulz(G, schedule, form="gram", dtype=torch.float16, restarts=restarts)
    assert bool(torch.isfinite(ours).all()) == bool(torch.isfinite(theirs).all())
    if torch.isfinite(ours).all():
        exact = newton_schulz(G.double(), schedule, dtype=torch.float64)
        assert _relative(ours, exact) < 0.05
        assert 0.8 < _relative(ours, exact) / _relative(theirs, exact) < 1.25


def test_fp16_and_dtype_none():
    G = _matrix(16, 32).float()
    assert newton_schulz(G, preset("keller5"), dtype=torch.float16).dtype == torch.float16
    assert newton_schulz(G, preset("keller5"), dtype=None).dtype == torch.float32
    assert newton_schulz(G, preset("keller5"), dtype="fp32").dtype == torch.float32


def test_steps_apply_the_extension_rule():
    G = _matrix(8, 12)
    keller = preset("keller5")  # repeat_last
    assert torch.allclose(
        newton_schulz(G, keller, dtype=torch.float64, steps=7),
        newton_schulz(G, keller.extended(7), dtype=torch.float64),
    )
    with pytest.raises(InputError, match="cannot run 9 steps"):
        newton_schulz(G, preset("polar_express_modded5"), steps=9)


def test_compile_flag_gives_the_same_result():
    G = _matrix(8, 16)
    schedule = preset("keller5")
    eager = newton_schulz(G, schedule, dtype=torch.float64)
    compiled = newton_schulz(G, schedule, dtype=torch.float64, compile="eager")  # dynamo graph capture, no C++ build
    assert torch.allclose(compiled, eager, atol=1e-12)


@pytest.mark.parametrize("name", ["keller5", "polar_express_paper8", "cubic5_eo"])
def test_flop_count_of_the_kernels_matches_the_cost_model(name):
    schedule = preset(name)
    rows = schedule_rows(schedule)
    for form in ("standard", "gram"):
        assert matmul_flops(rows, 1024, 4096, form) == flops(schedule, Shape(1024, 4096), form)
    assert matmul_flops(rows, 1024, 4096, "gram", (2,)) > matmul_flops(rows, 1024, 4096, "gram")


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        (torch.ones(5), "1-D tensor"),
        (torch.ones(3, 4, dtype=torch.complex64), "complex"),
        (torch.ones(3, 4, dtype=torch.int64), "floating-point"),
        (torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), "NaN or Inf"),
        (torch.tensor([[1.0, float("inf")], [0.0, 1.0]]), "NaN or Inf"),
        (torch.zeros(3, 4), "all zeros"),
        (torch.stack([torch.ones(3, 4), torch.zeros(3, 4)]), "matrix 1 of the batch is all zeros"),
        (torch.ones(0, 4), "non-empty"),
    ],
)
def test_bad_input_is_an_input_error(tensor, message):
    with pytest.raises(InputError, match=message):
        newton_schulz(tensor, preset("keller5"))


def test_bad_options_are_input_errors():
    G = _matrix(4, 6)
    with pytest.raises(InputError, match="dtype"):
        newton_schulz(G, preset("keller5"), dtype="int8")
    with pytest.raises(InputError, match="form"):
        newton_schulz(G, preset("keller5"), form="fast")
    with pytest.raises(InputError, match="restart"):
        newton_schulz(G, preset("keller5"), form="gram", restarts=(5,))
    with pytest.raises(InputError, match="steps"):
        newton_schulz(G, preset("keller5"), steps=0)


def test_kernel_is_the_keyword_and_form_its_deprecated_spelling():
    G = _matrix(8, 24).double()
    s = preset("keller5")
    for kernel, old in (("fused", "standard"), ("unfused", "unfused"), ("gram", "gram")):
        with pytest.warns(DeprecationWarning, match="form="):
            before = newton_schulz(G, s, dtype=torch.float64, form=old)
        assert torch.equal(newton_schulz(G, s, dtype=torch.float64, kernel=kernel), before)
    assert torch.equal(newton_schulz(G, s, dtype=torch.float64), newton_schulz(G, s, dtype=torch.float64, kernel="fused"))
    with pytest.raises(InputError, match="kernel must be one of fused, unfused, gram"):
        newton_schulz(G, s, kernel="fast")


def test_gram_iteration_is_usable_directly_on_a_normalized_batch():
    G = torch.stack([_matrix(6, 10, seed=s) for s in range(3)])
    X = G / torch.linalg.vector_norm(G, dim=(-2, -1), keepdim=True)
    rows = schedule_rows(preset("keller5"))
    assert torch.allclose(gram_iteration(X, rows), standard_iteration(X, rows), atol=1e-12)


# --------------------------------------------------------------------------------------------------
# Silent failures: tiny norms, fp16 casts, zero matrices
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [2.0**-24, 2.0**-60, 2.0**-100, 1e-12, 1e-30, 1e-40, 1e30])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_normalization_is_scale_invariant_down_to_the_smallest_normal(scale, dtype):
    from nsdesign.torch.kernels import normalize

    X = torch.randn(16, 48, generator=torch.Generator().manual_seed(1))
    ref = normalize(X, 1.0, dtype)
    tiny = normalize(X * scale, 1.0, dtype)
    assert torch.isfinite(tiny).all()
    if scale in (2.0**-24, 2.0**-60, 2.0**-100):  # exact scalings: bit for bit the same result
        assert torch.equal(tiny, ref)
    else:  # X·scale itself rounds (fp32 subnormals keep fewer digits); the result is the same up to that
        atol = 1e-3 if scale < 2.0**-126 else 0.0
        assert torch.allclose(tiny.float(), ref.float(), rtol=2 ** -7, atol=atol)
    # torch.optim.Muon's X / max(‖X‖, 1e-7) is not: it shrinks the tiny update by ‖X‖/1e-7
    if 1e-30 <= scale <= 1e-12:
        naive = X * scale / max(float(torch.linalg.norm(X * scale)), 1e-7)
        assert float(torch.linalg.norm(naive)) < 1e-3


def test_normalize_before_casting_to_fp16():
    from nsdesign.torch.kernels import normalize

    X = torch.randn(8, 32, generator=torch.Generator().manual_seed(2)) * 1e6  # beyond fp16's 65504
    assert not torch.isfinite(X.half()).all()  # casting first would give inf
    Y = normalize(X, 1.0, torch.float16)
    assert torch.isfinite(Y).all() and abs(float(torch.linalg.norm(Y.float())) - 1.0) < 1e-2


@pytest.mark.parametrize("form", ["standard", "unfused", "gram"])
def test_zero_update_stays_zero_through_the_unchecked_core(form):
    from nsdesign.torch.kernels import orthogonalize, schedule_rows

    rows = schedule_rows(preset("keller5"))
    Y = orthogonalize(torch.zeros(2, 8, 24), rows, 1.0, torch.bfloat16, form, (2,) if form == "gram" else ())
    assert torch.equal(Y, torch.zeros_like(Y))
