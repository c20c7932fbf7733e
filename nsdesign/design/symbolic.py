"""Exact symbolic view of a schedule (sympy).

Every float coefficient is a dyadic rational, so `sympy.Rational(float)` is exact: the rational steps below
are the very polynomials the floating-point schedule applies. From them we get, without round-off, the
composite map's degree (the product of the step degrees), its slope at 0 (the product of the linear
coefficients over norm_div), the expanded composite when it is small enough to print, and LaTeX.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import sympy

from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError

x = sympy.Symbol("x")
sigma = sympy.Symbol("sigma", positive=True)
MAX_EXPANDED_DEGREE = 125  # three quintic steps (~0.1 s); five (625) already takes ~40 s in sympy


@dataclass(frozen=True)
class SymbolicSchedule:
    steps: tuple[sympy.Poly, ...]  # exact rational step polynomials in x
    norm_div: sympy.Rational
    degree: int  # degree of the composite map
    slope_at_zero: sympy.Rational  # F'(0), exact

    def latex(self) -> str:
        lines = [rf"p_{{{i + 1}}}(x) &= {sympy.latex(p.as_expr())}" for i, p in enumerate(self.steps)]
        k = len(self.steps)
        composite = r" \circ ".join(f"p_{{{i}}}" for i in range(k, 0, -1))
        scale = "" if self.norm_div == 1 else rf"\,/\,{sympy.latex(self.norm_div)}"
        lines.append(rf"F(\sigma) &= ({composite})(\sigma{scale})")
        lines.append(rf"\deg F &= {self.degree}, \quad F'(0) = {sympy.latex(self.slope_at_zero)}")
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def symbolic(schedule: Schedule) -> SymbolicSchedule:
    steps = tuple(
        sympy.Poly(sum(sympy.Rational(c) * x ** (2 * j + 1) for j, c in enumerate(p.coefficients)), x)
        for p in schedule.steps
    )
    norm_div = sympy.Rational(schedule.input_scale)
    slope = prod((sympy.Rational(p.slope_at_zero) for p in schedule.steps), start=sympy.Integer(1)) / norm_div
    degree = prod(p.degree for p in schedule.steps)
    return SymbolicSchedule(steps, norm_div, degree, slope)


def composite_polynomial(schedule: Schedule, max_degree: int = MAX_EXPANDED_DEGREE) -> sympy.Poly:
    """F(σ) expanded exactly, as a polynomial in σ."""
    view = symbolic(schedule)
    if view.degree > max_degree:
        raise InputError(
            f"the composite has degree {view.degree}; exact expansion is limited to degree {max_degree}"
        )
    result = sympy.Poly(x / view.norm_div, x)
    for p in view.steps:
        result = p.compose(result)
    return sympy.Poly(result.as_expr().subs(x, sigma), sigma)
