"""What a schedule costs: matrix multiplications and FLOPs on an m×n input.

Standard form (what Muon runs), with X the wide orientation (m ≤ n) and a step of degree 2d+1:
    A = X Xᵀ                      2·m²·n
    A², …, A^d                    (d − 1)·2·m³
    X ← a·X + (b·A + c·A² + …)·X  2·m²·n
so d + 1 matmuls per step (a cubic 2, a quintic 3), FLOPs 4·m²·n + 2(d − 1)·m³.

Gram form (Dao-AILab gram-newton-schulz): iterate on the m×m Gram matrix R = X Xᵀ and an m×m
accumulated factor Q with X_k = Q_k X_0; X is touched only twice (R₀ = X₀X₀ᵀ and X = Q·X₀, 2·m²·n each).
A step forms Z = a·I + b·R + c·R² + … ((d − 1) m×m products), updates Q ← Z·Q (skipped on the first step,
where Q = Z) and R ← Z·R·Z (2 products; skipped on the last step). On 1:4 MLP matrices this is
roughly half the FLOPs of the standard form.
Element-wise additions and the normalization are O(mn) and not counted.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from typing import Any

from nsdesign.core.limits import FORMS, Form  # noqa: F401  (re-exported: the form names live in limits)
from nsdesign.core.schedule import Schedule
from nsdesign.documents import load_schedule
from nsdesign.errors import InputError


@dataclass(frozen=True)
class Shape:
    """A matrix shape, stored in the wide orientation (m ≤ n) that Newton–Schulz runs on."""

    m: int
    n: int

    def __post_init__(self) -> None:
        for side in (self.m, self.n):
            if isinstance(side, bool) or not isinstance(side, numbers.Integral):
                raise TypeError(f"matrix dimensions must be integers, got {self.m!r}x{self.n!r}")
        object.__setattr__(self, "m", int(self.m))
        object.__setattr__(self, "n", int(self.n))
        if self.m < 1 or self.n < 1:
            raise InputError(f"matrix dimensions must be positive, got {self.m}x{self.n}")
        if self.m > self.n:
            m, n = self.n, self.m
            object.__setattr__(self, "m", m)
            object.__setattr__(self, "n", n)

    @classmethod
    def parse(cls, text: str) -> Shape:
        match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
        if not match:
            raise InputError(f"shape must look like 4096x16384, got {text if len(text) <= 20 else text[:14] + '…'!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def coerce(cls, value: Any) -> Shape:
        """What the library accepts as a shape: a Shape, an (m, n) pair of integers, or 'MxN' text."""
        if isinstance(value, Shape):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        if isinstance(value, (tuple, list)) and len(value) == 2:
            return cls(value[0], value[1])
        raise TypeError(f"a shape is a Shape, an (m, n) pair or 'MxN' text, got {type(value).__name__} {value!r}")

    def __str__(self) -> str:
        return f"{self.m}x{self.n}"


def step_matmuls(degree: int) -> int:
    """Matmuls of one standard-form step of odd `degree` (a degree-1 step is a scalar multiple: 0)."""
    d = (degree - 1) // 2
    return 0 if d == 0 else d + 1


def matmuls(schedule: Schedule) -> int:
    return sum(step_matmuls(p.degree) for p in schedule.steps)


def step_flops(degree: int, shape: Shape, form: Form = "standard", first: bool = False, last: bool = False) -> float:
    """FLOPs of one step; in the Gram form the first step skips Q ← Z·Q and the last skips R ← Z·R·Z."""
    d = (degree - 1) // 2
    m, n = shape.m, shape.n
    if form == "standard":
        return 0.0 if d == 0 else 4.0 * m * m * n + 2.0 * (d - 1) * m**3
    if form == "gram":
        return 2.0 * m**3 * (max(d - 1, 0) + (0 if first else 1) + (0 if last else 2))
    raise InputError(f"form must be one of {', '.join(FORMS)}, got {form!r}")


def flops(schedule: Schedule | str, shape: Shape | tuple[int, int] | str, form: Form = "standard") -> float:
    """FLOPs of the whole schedule on `shape` (a Shape, an (m, n) pair or 'MxN'); a preset name is a schedule."""
    if isinstance(schedule, str):
        schedule = load_schedule(schedule)
    shape = Shape.coerce(shape)
    last = schedule.num_steps - 1
    total = sum(step_flops(p.degree, shape, form, i == 0, i == last) for i, p in enumerate(schedule.steps))
    if form == "gram":
        total += 4.0 * shape.m * shape.m * shape.n  # R₀ = X₀X₀ᵀ and X = Q·X₀
    return total
