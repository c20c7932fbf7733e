"""Source text shared by the generated torch modules (torch-muon --patch and dion).

The generated step handles any odd degree: with A = X Xᵀ on the wide orientation,

    X ← c0·X + (c1·A + c2·A² + … + cd·A^d)·X

and the bracket is built by Horner's rule from the top (B = cd·A; B = A·B + cj·A), so a quintic costs the
usual three matmuls, a cubic two, and rows keep only their nonzero leading coefficients (a cubic stored
with c = 0 is not charged the A² product). `@` and `.mT` keep it valid for batches (…, m, n), which
dion passes.
"""

from __future__ import annotations

from nsdesign.core.schedule import Schedule
from nsdesign.export._common import number, row_text

STEP_FUNCTION = '''\
def _step(X, coefficients):
    """One odd-polynomial step: c0·σ + c1·σ³ + c2·σ⁵ + … on every singular value of X (wide X)."""
    if len(coefficients) == 1:
        return coefficients[0] * X
    A = X @ X.mT
    B = coefficients[-1] * A
    for c in reversed(coefficients[1:-1]):
        B = A @ B + c * A
    return coefficients[0] * X + B @ X
'''


def steps_literal(schedule: Schedule) -> str:
    """`STEPS = (…)`: one row per step in application order, trailing zeros dropped, degree noted."""
    lines = ["STEPS = ("]
    for i, step in enumerate(schedule.steps):
        lines.append(f"    {row_text(step.coefficients)},  # step {i + 1}: degree {step.degree}")
    lines.append(")")
    return "\n".join(lines)


def norm_div_literal(schedule: Schedule) -> str:
    """`NORM_DIV = s` (1.0 for AOL-designed schedules, which the warning explains)."""
    return f"NORM_DIV = {number(schedule.input_scale)}"
