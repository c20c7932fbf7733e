"""What a schedule costs: matrix multiplications and FLOPs on an m×n input.

A caller names the *kernel* (fused, unfused, gram: `nsdesign.core.limits.KERNELS`); `cost_model(kernel)` is the
one place it becomes a FLOP model. Fused and unfused issue the same products (the standard model); the Gram
kernel has its own.

Standard model (what Muon runs), with X the wide orientation (m ≤ n) and a step of degree 2d+1:
    A = X Xᵀ                      2·m²·n
    A², …, A^d                    (d − 1)·2·m³
    X ← a·X + (b·A + c·A² + …)·X  2·m²·n
so d + 1 matmuls per step (a cubic 2, a quintic 3), FLOPs 4·m²·n + 2(d − 1)·m³.

Gram model (Dao-AILab gram-newton-schulz): iterate on the m×m Gram matrix R = X Xᵀ and an m×m
accumulated factor Q with X_k = Q_k X_0; X is touched only twice (R₀ = X₀X₀ᵀ and X = Q·X₀, 2·m²·n each).
A step forms Z = a·I + b·R + c·R² + … ((d − 1) m×m products), updates Q ← Z·Q (skipped on the first step,
where Q = Z) and R ← Z·R·Z (2 products; skipped on the last step). On 1:4 MLP matrices this is
roughly half the FLOPs of the standard model.
Element-wise additions and the normalization are O(mn) and not counted.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from typing import Any

from nsdesign.core.limits import COST_MODELS, FORMS, KERNELS, CostModel, Form, Kernel  # noqa: F401  (re-exported)
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError, deprecated


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


def cost_model(kernel: str) -> CostModel:
    """The FLOP model of a kernel — the one translation from kernel names to cost models in the package.

    Fused and unfused run the same products on X ("standard"); "gram" iterates on XXᵀ. The old form name
    "standard" still works for one release, with a DeprecationWarning."""
    if kernel in ("fused", "unfused"):
        return "standard"
    if kernel == "gram":
        return "gram"
    if kernel == "standard":
        deprecated("'standard' is the old form name: give the kernel, 'fused' or 'unfused'")
        return "standard"
    raise InputError(f"kernel must be one of {', '.join(KERNELS)} (old form names: standard, gram), got {kernel!r}")


def resolve_kernel(kernel: str | None, form: str | None = None, default: str = "fused") -> str:
    """The kernel a call means, from `kernel=` or the deprecated `form=` keyword (standard → fused, gram → gram).

    Why here: every public function that used to take `form=` accepts it for one release through this one
    function, so the old keyword means the same everywhere. Both given must name the same cost model. The old
    form name "standard" given as the kernel (an old positional call) means "fused"."""
    if kernel == "standard":
        deprecated("'standard' is the old form name: give the kernel, 'fused' or 'unfused'")
        kernel = "fused"
    if form is None:
        return default if kernel is None else kernel
    deprecated("form= is deprecated: give kernel= (fused, unfused or gram)")
    if form not in COST_MODELS:
        raise InputError(f"form must be one of {', '.join(COST_MODELS)}, got {form!r}")
    if kernel is None:
        return "gram" if form == "gram" else "fused"
    if (form == "gram") != (kernel == "gram"):
        raise InputError(f"form {form!r} and kernel {kernel!r} disagree")
    return kernel


def step_flops(degree: int, shape: Shape, kernel: str = "fused", first: bool = False, last: bool = False) -> float:
    """FLOPs of one step; in the Gram kernel the first step skips Q ← Z·Q and the last skips R ← Z·R·Z."""
    return _step_flops(degree, shape, cost_model(kernel), first, last)


def _step_flops(degree: int, shape: Shape, model: CostModel, first: bool, last: bool) -> float:
    d = (degree - 1) // 2
    m, n = shape.m, shape.n
    if model == "standard":
        return 0.0 if d == 0 else 4.0 * m * m * n + 2.0 * (d - 1) * m**3
    return 2.0 * m**3 * (max(d - 1, 0) + (0 if first else 1) + (0 if last else 2))


def flops(
    schedule: Schedule, shape: Shape | tuple[int, int] | str, kernel: str = "fused", *, form: str | None = None
) -> float:
    """FLOPs of the whole schedule on `shape` (a Shape, an (m, n) pair or 'MxN') run by `kernel` (`nsdesign.flops`
    also takes a preset name). `form=` is the deprecated spelling (standard, gram)."""
    model = cost_model(resolve_kernel(kernel if form is None else None, form))
    if not isinstance(schedule, Schedule):
        raise TypeError(f"expected a Schedule, got {type(schedule).__name__}: nsdesign.flops takes a preset name")
    shape = Shape.coerce(shape)
    last = schedule.num_steps - 1
    total = sum(_step_flops(p.degree, shape, model, i == 0, i == last) for i, p in enumerate(schedule.steps))
    if model == "gram":
        total += 4.0 * shape.m * shape.m * shape.n  # R₀ = X₀X₀ᵀ and X = Q·X₀
    return total
