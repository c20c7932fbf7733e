import pytest
import sympy

from nsdesign.core.metrics import slope_at_zero
from nsdesign.design.symbolic import composite_polynomial, symbolic
from nsdesign.presets import preset


def test_exact_rationals_match_floats():
    s = preset("polar_express_modded5")
    view = symbolic(s)
    assert view.degree == 5**5
    x = sympy.Symbol("x")
    for p, q in zip(view.steps, s.steps):
        # the exact rationals are the floats themselves, not approximations of them
        assert [p.coeff_monomial(x ** (2 * j + 1)) for j in range(3)] == [sympy.Rational(c) for c in q.coefficients]
        assert [float(p.coeff_monomial(x ** (2 * j + 1))) for j in range(3)] == list(q.coefficients)
    assert float(view.slope_at_zero) == slope_at_zero(s)
    assert view.norm_div == sympy.Rational(1.02)


def test_composite_expansion_agrees_with_the_map():
    s = preset("keller5").extended(3)
    f = composite_polynomial(s)
    assert f.degree() == 125
    for x in (0.1, 0.5, 0.9):
        assert float(f.eval(sympy.Rational(x))) == pytest.approx(s(x), rel=1e-12)


def test_latex_output():
    text = symbolic(preset("cubic5_eo")).latex()
    assert text.startswith("\\begin{aligned}")
    assert "p_{5}(x)" in text and "\\deg F &= 243" in text
