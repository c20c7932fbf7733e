"""numpy rounding models of the fused, unfused and Gram kernels, checked against real torch CPU runs."""

import math

import numpy as np
import pytest

from nsdesign.core.polynomial import OddPolynomial
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.precision import band_matrix, matrix_error
from nsdesign.precision.kernels import KERNELS, kernel_flops, matmul_counts, round_e4m3, run, scaled_e4m3
from nsdesign.precision.model import output_singular_values
from nsdesign.presets import preset

torch = pytest.importorskip("torch")
from nsdesign.torch.crosscheck import run_torch  # noqa: E402  (torch/ holds the real-torch runner)

LOW = ("fp32", "bf16", "fp16")


def _one_step(coefficients):
    return Schedule((OddPolynomial(tuple(coefficients)),), 1.0, "exact", "one step")


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("dtype", LOW)
@pytest.mark.parametrize("coefficients", [(3.4445, -4.7750, 2.0315), (1.5, -0.5), (2.0, -1.5, 0.6, -0.1)])
def test_one_step_matches_torch_entry_by_entry(kernel, dtype, coefficients):
    """Per call the model is torch's rounding: all but a few entries (fp32 summation order) agree exactly."""
    x0 = band_matrix(1e-2, 1.0, (32, 96), seed=2).matrix
    s = _one_step(coefficients)
    model = run(s, x0, kernel, dtype)
    real = run_torch(s, x0, dtype, kernel=kernel)
    if dtype == "fp32":  # BLAS summation order differs from numpy's: agree to a few fp32 ulps of the scale
        assert np.max(np.abs(model - real)) <= 1e-5 * np.max(np.abs(real))
        return
    agree = np.mean(model == real)
    assert agree >= 0.99, agree


@pytest.mark.parametrize("kernel", ["fused", "gram"])
def test_a_different_kernel_is_not_matched(kernel):
    """The check can fail: the unfused model is not the fused/Gram run (it rounds more often)."""
    x0 = band_matrix(1e-2, 1.0, (32, 96), seed=2).matrix
    s = _one_step((3.4445, -4.7750, 2.0315))
    assert np.mean(run(s, x0, "unfused", "bf16") == run_torch(s, x0, "bf16", kernel=kernel)) < 0.9


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("dtype", LOW)
@pytest.mark.parametrize("name", ["keller5", "polar_express_modded5"])
def test_whole_run_matches_torch_in_its_singular_values(kernel, dtype, name):
    s = preset(name)
    x0 = band_matrix(1e-3, 1.0, (48, 160), seed=1).matrix
    restarts = (2,) if kernel == "gram" else ()
    model = output_singular_values(run(s, x0, kernel, dtype, restarts=restarts))
    real = output_singular_values(run_torch(s, x0, dtype, kernel=kernel, restarts=restarts))
    tol = {"fp32": 1e-4, "bf16": 3e-2, "fp16": 2e-2 if kernel == "gram" else 5e-3}[dtype]  # Gram compounds round-off
    assert np.max(np.abs(model - real)) <= tol


def test_unfused_bf16_follows_torch_entry_by_entry_over_a_whole_run():
    # The model differs from torch only by fp32 summation order, which the CPU decides: bit-exact on one machine,
    # 3 of 7680 entries one bf16 ulp apart after 10 steps on another (AVX2). At most 1 in 1000 entries may differ,
    # by at most one ulp of the output's scale.
    s = preset("deepseek_v4_10")
    x0 = band_matrix(1e-3, 1.0, (48, 160), seed=4).matrix
    ours, real = run(s, x0, "unfused", "bf16"), run_torch(s, x0, "bf16", kernel="unfused")
    assert np.mean(ours != real) <= 1e-3
    assert np.max(np.abs(ours - real)) <= 2.0**-8 * np.max(np.abs(real))


def test_gram_kernel_is_dao_ailab_gram_newton_schulz_and_the_model_follows_it_in_fp16():
    gns = pytest.importorskip("gram_newton_schulz")
    from nsdesign.torch.kernels import gram_iteration

    rows = [tuple(r) for r in gns.POLAR_EXPRESS_COEFFICIENTS]
    x0 = band_matrix(1e-3, 1.0, (48, 160), seed=3).matrix
    X = torch.from_numpy(x0.copy()).float()
    X = (X / (X.norm() + 1e-7)).half()  # Dao's own normalization, so every run starts from the same fp16 X
    for k in (1, 5):
        s = Schedule(tuple(OddPolynomial(r) for r in rows[:k]), 1.0, "exact", "dao pe")
        dao = gns.GramNewtonSchulz(ns_use_kernels=False, ns_coefficients=rows[:k],
                                   gram_newton_schulz_reset_iterations=[2], compile_kwargs=None)
        real = dao(X.float()).double().numpy()
        ours = gram_iteration(X, tuple(rows[:k]), (2,)).double().numpy()
        assert np.array_equal(ours, real)  # call for call the same fused products
        model = run(s, X.double().numpy(), "gram", "fp16", restarts=(2,))
        if k == 1:
            assert np.mean(model == real) >= 0.99
        else:  # 5 fp16 Gram steps amplify the rare one-ulp differences; the spectrum still agrees
            assert np.max(np.abs(output_singular_values(model) - output_singular_values(real))) <= 2e-2


def test_unfused_bf16_overshoots_more_than_fused():
    """Issue 10's measurement in the model: the same schedule is worse unfused in bf16."""
    s = preset("deepseek_v4_10")
    test = band_matrix(1e-3, 1.0, (128, 512))
    fused, unfused = matrix_error(s, test, "bf16"), matrix_error(s, test, "bf16", kernel="unfused")
    assert unfused.error > fused.error


def test_e4m3_rounding_is_torch_float8_e4m3fn_bit_for_bit():
    gen = torch.Generator().manual_seed(0)
    for scale in (1e-3, 1.0, 60.0):
        x = torch.randn(20000, generator=gen) * scale
        x = x[x.abs() <= 440]
        ours = round_e4m3(x.numpy())
        theirs = x.to(torch.float8_e4m3fn).float().numpy()
        assert np.array_equal(ours, theirs)
    edges = torch.tensor([448.0, 464.0, 2.0**-9, 2.0**-10, 2.0**-10 * 1.5, 0.0, -0.0, -17.0])
    assert np.array_equal(round_e4m3(edges.numpy()), edges.to(torch.float8_e4m3fn).float().numpy())


def test_fp8_products_are_scaled_e4m3_with_fp32_accumulation():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((16, 32)).astype(np.float32) * 3
    q, scale = scaled_e4m3(a)
    assert np.max(np.abs(q)) == 448.0 and scale == pytest.approx(np.max(np.abs(a)) / 448)
    qt = torch.from_numpy(a / np.float32(scale)).to(torch.float8_e4m3fn).float().numpy()
    assert np.mean(q == qt) > 0.99  # a/scale in fp64 vs fp32: rare ties differ
    x0 = band_matrix(1e-2, 1.0, (32, 96)).matrix
    s = preset("keller5")
    err8 = matrix_error(s, band_matrix(1e-2, 1.0, (32, 96)), "fp8").error
    err32 = matrix_error(s, band_matrix(1e-2, 1.0, (32, 96)), "fp32").error
    assert math.isfinite(err8) and err8 > err32  # coarser, not broken
    assert run(s, x0, "fused", "fp8").dtype == np.float32


def test_matmul_counts_separate_rectangular_and_square_products():
    s = preset("keller5")  # 5 quintic steps
    assert matmul_counts(s, "fused") == {"rectangular": 10, "square": 5}
    assert matmul_counts(s, "unfused") == matmul_counts(s, "fused")
    gram = matmul_counts(s, "gram")
    assert gram == {"rectangular": 2, "square": 5 + 4 + 8}
    assert matmul_counts(s, "gram", (2,)) == {"rectangular": 4, "square": 5 + 3 + 6}
    # Gram is cheaper by FLOPs on a 1:4 matrix, dearer on a square one
    assert kernel_flops(s, 1024, 4096, "gram") < kernel_flops(s, 1024, 4096, "fused")
    assert kernel_flops(s, 1024, 1024, "gram") > kernel_flops(s, 1024, 1024, "fused")


def test_bad_kernel_and_dtype_are_input_errors():
    s = preset("keller5")
    x0 = band_matrix(1e-2, 1.0, (8, 16)).matrix
    with pytest.raises(InputError, match="kernel"):
        run(s, x0, "fast", "bf16")
    with pytest.raises(InputError, match="dtype"):
        run(s, x0, "fused", "fp4")


def test_flop_counts_agree_with_the_torch_kernels_own_count():
    from nsdesign.torch.kernels import matmul_flops, schedule_rows

    s = Schedule(tuple(OddPolynomial(c) for c in [(3.0, -3.2, 1.2), (1.5, -0.5), (2.0, -1.5, 0.6, -0.1), (1.5, -0.5)]),
                 1.0, "exact", "mixed")
    rows = schedule_rows(s)
    for kernel, form in (("fused", "standard"), ("unfused", "unfused"), ("gram", "gram")):
        for plan in ((), (2,), (1, 3)):
            plan = plan if kernel == "gram" else ()
            assert kernel_flops(s, 64, 256, kernel, plan) == matmul_flops(rows, 64, 256, form, plan)
