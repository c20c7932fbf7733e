"""What to design, as one value, and which engine answers it.

Why: `nsdesign search` has seven engines (the safe default, the bare optimum, the FLOP-cheapest degree mix, the
guarded normalizer design, a study, a study under a normalizer, a consumer's form). They used to be chosen by an
if-chain over flags in the CLI, silently. A `DesignRequest` is built once from the flags (or by a user in Python)
and carries the whole question through the layers; `route` says which engine answers it and why, in one table,
and `search` prints that line.

Depends on: core.cost (Shape), core.limits (defaults), core.metrics (resolve_guard), core.normalizers (Normalizer, get),
errors.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from nsdesign.core.cost import Shape
from nsdesign.core.limits import DEFAULT_MAX_STEPS, default_guard_sigma
from nsdesign.core.metrics import resolve_guard
from nsdesign.core.normalizers import Normalizer, get
from nsdesign.errors import InputError

ENGINES: dict[str, str] = {
    "consumer": "what one optimizer takes (plans.consumer)",
    "normalized-study": "a study on a normalizer's band (search.study)",
    "guarded": "accurate on the band, |1 − F| ≤ τ above (design.guarded)",
    "study": "an Optuna study over schedules (search.study)",
    "cheapest-mix": "the FLOP-cheapest degree mix (design.solvers)",
    "exact": "the bare optimum of the band, no guard (design.greedy)",
    "safe": "the best design safe above the band (design.safe)",
}
"""Every engine `search` can answer with, and what it computes."""


@dataclass(frozen=True)
class DesignRequest:
    """The question a design answers. Band edges may be None where the engine derives them (a prediction, a
    normalizer's band, a study's capture objective); `study` names the study options given (empty: no study).
    `plans.answer` hands it to the engine `route` names; a field an engine has no use for is ignored there."""

    min_sigma: float | None = None
    max_sigma: float = 1.0
    guard_sigma: float | None = None  # top g of the guard band; None: core.limits.default_guard_sigma
    guard_tol: float | None = None  # |1 − F| ≤ τ on [max_sigma, g]; None: the overshoot guard only
    steps: int | tuple[int, int] | None = None  # a count, or a range LO-HI (a study)
    tol: float | None = None
    degrees: int | tuple[int, ...] | str = 5  # one degree, one per step (3, 5, 5, 7), or "auto"
    kernel: str = "fused"
    normalizer: Normalizer | str | None = None  # a name is resolved once, here (core.normalizers.get)
    consumer: str | None = None
    exact: bool = False
    study: tuple[str, ...] = ()
    # Polar Express's knobs (None: the engine's default), the step limit with `tol`, the FLOP model's shape
    cushion: float | None = None
    safety: float | None = None
    norm_div: float = 1.0
    max_steps: int = DEFAULT_MAX_STEPS
    shape: Shape | None = None
    band_source: str | None = None  # where a predicted min_sigma came from (recorded in the design)

    def __post_init__(self) -> None:
        """`degrees` as text ("5", "3,5,5,7", the flag's spelling and this class's old default) is parsed; a
        normalizer's name becomes its `Normalizer`, so no engine resolves it again."""
        if self.normalizer is not None:
            object.__setattr__(self, "normalizer", get(self.normalizer))
        if isinstance(self.degrees, str) and self.degrees != "auto":
            try:
                values = tuple(int(v) for v in self.degrees.split(","))
            except ValueError:
                raise InputError(f"`degrees` takes odd integers (5 or 3,5,7) or auto, got {self.degrees!r}") from None
            object.__setattr__(self, "degrees", values[0] if len(values) == 1 else values)

    @property
    def guard(self) -> float:
        """g, the largest input σ every engine keeps safe."""
        return self.guard_sigma if self.guard_sigma is not None else default_guard_sigma(self.max_sigma)

    @property
    def normalizer_name(self) -> str | None:
        return None if self.normalizer is None else self.normalizer.name  # type: ignore[union-attr]

    def relative_guard(self) -> float:
        """The engines' relative margin g/U − 1 (core.limits.DEFAULT_HEADROOM when no guard is given): the overshoot
        guard is max F on [0, g], so g below U or far above any normalizer's bound is refused."""
        return resolve_guard(self.max_sigma, self.guard_sigma)[1]


@dataclass(frozen=True)
class Route:
    engine: str  # a key of ENGINES
    why: str  # the request's fields that chose it, in flag words

    def lines(self, width: int = 80) -> list[str]:
        """'engine: NAME, what it computes' and 'chosen by: why', wrapped to `width` columns."""
        head = textwrap.wrap(f"engine: {self.engine}, {ENGINES[self.engine]}", width, subsequent_indent="  ")
        return head + textwrap.wrap(f"chosen by: {self.why}", width, subsequent_indent="  ")


def route(request: DesignRequest) -> Route:
    """The engine that answers `request`, first match wins (the order is the precedence users rely on)."""
    studied = ", ".join(f"--{name.replace('_', '-')}" for name in request.study)
    if request.consumer is not None:
        return Route("consumer", f"--for {request.consumer}")
    if request.normalizer is not None:
        if request.study:
            return Route("normalized-study", f"--normalize {request.normalizer_name} with {studied}")
        return Route("guarded", f"--normalize {request.normalizer_name}: its band, guarded up to {request.guard:g}")
    if request.study:
        return Route("study", f"study option {studied}")
    if request.guard_tol is not None:
        return Route("guarded", f"--guard-tol {request.guard_tol:g} up to {request.guard:g}")
    if request.degrees == "auto":
        return Route("cheapest-mix", "--degrees auto")
    if request.exact:
        return Route("exact", "--exact")
    return Route("safe", "the default (no --exact, --for, --normalize or study option)")
