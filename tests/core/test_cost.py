import pytest

from nsdesign.core.cost import Shape, cost_model, flops, matmuls, resolve_kernel, step_flops, step_matmuls
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.presets import preset


def test_matmul_counts():
    assert [step_matmuls(d) for d in (1, 3, 5, 7, 9)] == [0, 2, 3, 4, 5]
    assert matmuls(preset("keller5")) == 15
    assert matmuls(preset("cubic5_eo")) == 10


def test_standard_flops_formula():
    m, n = 1024, 4096
    quintic = 2 * m * m * n + 2 * m**3 + 2 * m * m * n
    assert flops(preset("keller5"), Shape(m, n)) == 5 * quintic
    # orientation does not matter: NS runs on the wide side
    assert flops(preset("keller5"), Shape(n, m)) == 5 * quintic


def test_gram_form_counts_edges():
    s = preset("keller5")
    # 5 quintic steps: 5 powers of R, 4 Q updates, 4 R updates of 2 products = 17 m×m products
    m, n = 1024, 4096
    assert flops(s, Shape(m, n), "gram") == 4 * m * m * n + 2 * m**3 * 17
    # the Gram form pays off on 1:4 matrices and not on square ones
    assert flops(s, Shape(m, 4 * m), "gram") < 0.6 * flops(s, Shape(m, 4 * m))
    assert flops(s, Shape(m, m), "gram") > flops(s, Shape(m, m))


def test_shape_parsing():
    assert Shape.parse("4096x16384") == Shape(4096, 16384)
    assert Shape.parse("16384X4096") == Shape(4096, 16384)
    for bad in ("4096", "0x4", "ax5", "-3x4"):
        with pytest.raises(InputError):
            Shape.parse(bad)


def test_unknown_form():
    with pytest.raises(InputError, match="form"):
        flops(Schedule.from_coefficients([[2.0, -1.5, 0.5]]), Shape(4, 4), "fast")  # type: ignore[arg-type]


def test_one_translation_from_kernel_to_cost_model():
    assert [cost_model(k) for k in ("fused", "unfused", "gram")] == ["standard", "standard", "gram"]
    s = preset("keller5")
    assert flops(s, Shape(64, 256), "unfused") == flops(s, Shape(64, 256), "fused") == flops(s, Shape(64, 256))
    assert step_flops(5, Shape(64, 256), "gram") != step_flops(5, Shape(64, 256), "fused")
    with pytest.raises(InputError, match="kernel must be one of fused, unfused, gram"):
        cost_model("fast")


def test_old_form_spellings_still_work_with_a_deprecation_warning():
    s = preset("keller5")
    with pytest.warns(DeprecationWarning, match="form="):
        assert flops(s, Shape(64, 256), form="gram") == flops(s, Shape(64, 256), "gram")
    with pytest.warns(DeprecationWarning, match="old form name"):
        assert flops(s, Shape(64, 256), "standard") == flops(s, Shape(64, 256), "fused")
    with pytest.warns(DeprecationWarning):
        assert resolve_kernel(None, "standard") == "fused" and resolve_kernel("unfused", "standard") == "unfused"
    with pytest.warns(DeprecationWarning), pytest.raises(InputError, match="disagree"):
        resolve_kernel("fused", "gram")
