"""The schedule: an ordered list of odd-polynomial steps plus how the input is normalized.

A Newton–Schulz run divides the matrix by `norm_div · ‖X‖_F` and then applies the steps in order
(index 0 first). On a Frobenius-normalized singular value σ the whole run is therefore

    F(σ) = p_k( … p_2( p_1( σ / norm_div ) ) … )

and every metric in nsdesign is a statement about F on σ. `norm_div = None` marks schedules designed
for another scaling (AOL row scaling); nsdesign then analyses them as if norm_div were 1 and says so.

`extension` tells what a consumer does when asked for more steps than the list has: "repeat_last"
(torch/optax style) or "exact" (the list is the whole schedule; asking for more is an error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Sequence

from nsdesign.core.polynomial import OddPolynomial
from nsdesign.core.limits import MAX_DEGREE, MAX_STEPS  # noqa: F401  (re-exported)
from nsdesign.errors import InputError

Extension = Literal["repeat_last", "exact"]
EXTENSIONS: tuple[str, ...] = ("repeat_last", "exact")


@dataclass(frozen=True)
class Schedule:
    steps: tuple[OddPolynomial, ...]
    norm_div: float | None = 1.0
    extension: Extension = "exact"
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        steps = tuple(s if isinstance(s, OddPolynomial) else OddPolynomial(tuple(s)) for s in self.steps)
        if not steps:
            raise InputError("a schedule needs at least one step")
        if len(steps) > MAX_STEPS:
            raise InputError(f"a schedule may have at most {MAX_STEPS} steps, got {len(steps)}")
        for i, step in enumerate(steps):
            if step.degree > MAX_DEGREE:
                raise InputError(f"step {i} has degree {step.degree}; at most {MAX_DEGREE} is allowed")
        if self.norm_div is not None and not (_is_real(self.norm_div) and _positive_finite(self.norm_div)):
            raise InputError(f"norm_div must be a positive number or null, got {self.norm_div!r}")
        if self.extension not in EXTENSIONS:
            raise InputError(f"extension must be one of {', '.join(EXTENSIONS)}, got {self.extension!r}")
        object.__setattr__(self, "steps", steps)
        if self.norm_div is not None:
            object.__setattr__(self, "norm_div", float(self.norm_div))

    # -- construction -----------------------------------------------------------------------------

    @classmethod
    def from_coefficients(
        cls,
        rows: Iterable[Sequence[float]],
        norm_div: float | None = 1.0,
        extension: Extension = "exact",
        name: str = "",
    ) -> Schedule:
        return cls(tuple(OddPolynomial(tuple(r)) for r in rows), norm_div, extension, name)

    # -- views ------------------------------------------------------------------------------------

    @property
    def num_steps(self) -> int:
        return len(self.steps)

    @property
    def degree(self) -> int:
        """Highest step degree (the width of the coefficient table)."""
        return max(s.degree for s in self.steps)

    @property
    def degrees(self) -> tuple[int, ...]:
        return tuple(s.degree for s in self.steps)

    @property
    def input_scale(self) -> float:
        """The divisor applied to Frobenius-normalized σ before the first step (1 when unknown)."""
        return 1.0 if self.norm_div is None else self.norm_div

    def coefficients(self) -> list[list[float]]:
        """Rows padded to the common degree, in application order."""
        width = max(5, self.degree)  # at least the (a, b, c) triple every consumer expects
        return [list(s.padded(width)) for s in self.steps]

    def __call__(self, sigma: float) -> float:
        x = sigma / self.input_scale
        for p in self.steps:
            x = p(x)
        return x

    def extended(self, num_steps: int) -> Schedule:
        """The schedule a consumer runs when asked for `num_steps` steps."""
        if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
            # -1 would slice off the last step and True would mean 1: both silently, so neither is a step count
            raise InputError(f"`steps` must be a positive integer, got {num_steps!r}")
        if num_steps <= self.num_steps:
            return Schedule(self.steps[:num_steps], self.norm_div, self.extension, self.name)
        if self.extension != "repeat_last":
            raise InputError(
                f"{self.name or 'this schedule'} has {self.num_steps} steps and extension 'exact'; "
                f"it cannot run {num_steps} steps"
            )
        extra = (self.steps[-1],) * (num_steps - self.num_steps)
        return Schedule(self.steps + extra, self.norm_div, self.extension, self.name)

    def with_name(self, name: str) -> Schedule:
        return Schedule(self.steps, self.norm_div, self.extension, name)

    # -- JSON -------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "coefficients": self.coefficients(),
            "degree": self.degree,
            "norm_div": self.norm_div,
            "extension": self.extension,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "schedule") -> Schedule:
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected a JSON object with 'coefficients', got {type(data).__name__}")
        rows = data.get("coefficients")
        if not isinstance(rows, list) or not rows:
            raise InputError(f"{where}: 'coefficients' must be a non-empty list of [a, b, c, …] rows")
        for i, row in enumerate(rows):
            if (
                not isinstance(row, list)
                or not row
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)
            ):
                raise InputError(f"{where}: coefficient row {i} is not a list of numbers")
        if "degree" in data:
            _check_degree_field(data["degree"], rows, where)
        norm_div = data.get("norm_div", 1.0)
        if norm_div is not None and (not isinstance(norm_div, (int, float)) or isinstance(norm_div, bool)):
            raise InputError(f"{where}: 'norm_div' must be a number > 0 or null, got {str(norm_div)[:12]}")
        extension = data.get("extension", "exact")
        return cls.from_coefficients(rows, norm_div, extension, str(data.get("name", "")))


def _is_real(value: Any) -> bool:
    """A real number that is not a bool (True would pass as 1) nor a numeric string (float('3') would pass)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _positive_finite(value: float) -> bool:
    """value > 0 and finite, without OverflowError for a huge int (math.isfinite(10**400) raises)."""
    try:
        return math.isfinite(value) and value > 0
    except OverflowError:
        return False


def _check_degree_field(degree: Any, rows: list[list[Any]], where: str) -> None:
    """A file's `degree` is the width of its coefficient table: an odd integer, and every row has
    (degree + 1)/2 entries (a file of degree below 5 may also use the padded (a, b, c) width we write)."""
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 1 or degree % 2 == 0 or degree > 31:
        raise InputError(f"{where}: 'degree' must be an odd integer from 1 to 31, got {degree!r}")
    widths = {(degree + 1) // 2, max(3, (degree + 1) // 2)}
    for i, row in enumerate(rows):
        if len(row) not in widths:
            raise InputError(
                f"{where}: coefficients row {i} has {len(row)} entries but 'degree' {degree} needs "
                f"{(degree + 1) // 2} (pad with zeros, or fix 'degree')"
            )
