"""What a trial is scored on, the divergence guard, and the SciPy refinement of coefficients.

Objectives (all minimized; combine them with weights, score = Σ wᵢ·valueᵢ):

- "worst"    exact max_{σ∈[l,u]} |1 − F(σ)| (`nsdesign.core.metrics.worst_error`: interval propagation, no grid)
- "weighted" mean |1 − F(σ)| over a `Spectrum` sample (Marchenko–Pastur, a .npy, or law quantiles)
- "bf16"/"fp16"/"fp32"/"fp8" max |1 − σ_out| of the matrix iteration in that format on a proxy test matrix
             whose singular values are log-spaced over the band, run by the objective's `kernel` (fused, unfused
             or gram with its restart plan; `nsdesign.precision`: faithful rounding models; fp8 is experimental)
- "capture"  the smallest σ captured at tolerance δ (`captured_min_sigma`): lower is a wider band; a
             schedule capturing nothing scores max_sigma and is infeasible

Guard: a schedule is infeasible when it blows up for σ up to the guard band's top g = `guard_sigma`
(default 1.02·u: the 2 % margin of Polar Express; the CLI's `--guard-sigma`) — the exact scalar overshoot
max F on [0, g] exceeds `guard_limit` (default 2), or the low-precision run on the proxy matrix scaled by g/u is
non-finite or has σ_out above `guard_limit` — or, with `guard_tol` τ (the CLI's `--guard-tol`; a normalizer's
guard), when max |1 − F| on the guard band [u, g] exceeds τ (exact). The guard's run uses the user's format (`guard_dtype`; by default the
format of the objective's own matrix term, so `--objective fp16` or `pareto --dtype fp16` guards in fp16, and bf16
when the objective has no matrix term, e.g. worst) and the objective's kernel. Infeasible trials are still COMPLETE in
the study (they count toward --trials) with score `INFEASIBLE + score-if-finite` and `feasible=False`; the best
trial is always chosen among feasible ones.

Refinement: the greedy engine is optimal for the worst case only. For the other objectives a trial may
hand its greedy-built schedule to SciPy, which perturbs the coefficients of the last `refine_steps` steps
(relative perturbations, so every coefficient moves on its own scale) to lower the same score, the guard
acting as a penalty: "slsqp" (smooth scalar objectives: weighted), "nelder-mead" (noisy matrix objectives),
"de" (differential_evolution on ±5 %; slow, thorough). The refined schedule is kept only if it scores
lower and stays feasible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from nsdesign.core.cost import matmuls
from nsdesign.core.limits import DEFAULT_HEADROOM, LOW_PRECISION, STUDY_GUARD_LIMIT
from nsdesign.core.metrics import captured_min_sigma, overshoot, resolve_guard, worst_error
from nsdesign.core.schedule import Schedule
from nsdesign.design.refine import Coefficients, perturb
from nsdesign.errors import InputError, unknown
from nsdesign.precision import Runner, TestMatrix, band_matrix, matrix_error
from nsdesign.precision.kernels import check_kernel, default_restarts
from nsdesign.search.spectra import Spectrum

OBJECTIVES: tuple[str, ...] = ("worst", "weighted", *LOW_PRECISION, "capture")
REFINERS: tuple[str, ...] = ("auto", "none", "slsqp", "nelder-mead", "de")
INFEASIBLE = 1e3  # added to the score of an infeasible trial: above any feasible score
DEFAULT_PROXY = (256, 1024)


def parse_objective(text: str) -> tuple[tuple[str, float], ...]:
    """'bf16' → (('bf16', 1.0),); 'worst=1,bf16=0.5' → weighted combination. Names may not repeat."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"`objective` must name one of {', '.join(OBJECTIVES)}")
    out: dict[str, float] = {}
    for part in text.split(","):
        name, equals, weight_text = part.strip().partition("=")
        name = name.strip()
        if equals and not weight_text.strip():
            raise InputError(f"objective weight after {name}= is missing; write {name}=1 or just {name}")
        if name not in OBJECTIVES:
            raise unknown("objective", name, list(OBJECTIVES), "mix as worst=1,bf16=0.5")
        if name in out:
            raise InputError(f"objective {name!r} is given twice")
        try:
            weight = float(weight_text) if weight_text else 1.0
        except ValueError:
            raise InputError(f"objective weight must be a number, got {weight_text!r}") from None
        if not (math.isfinite(weight) and weight > 0):
            raise InputError(f"objective weights must be positive finite numbers, got {name}={weight_text}")
        out[name] = weight
    return tuple(out.items())


@dataclass(frozen=True)
class Objective:
    """How trials are scored: the weighted objectives plus everything they need."""

    terms: tuple[tuple[str, float], ...]
    min_sigma: float
    max_sigma: float = 1.0
    spectrum: Spectrum | None = None
    tol: float | None = None
    proxy_shape: tuple[int, int] = DEFAULT_PROXY
    proxy_seed: int = 0
    backend: str = "emulate"
    guard: bool = True
    guard_limit: float = STUDY_GUARD_LIMIT
    guard_sigma: float | None = None  # top g of the guard band; None: (1 + DEFAULT_HEADROOM)·max_sigma
    guard_tol: float | None = None  # also |1 − F| ≤ τ on [u, g], exact (a normalizer's guard); None: overshoot only
    normalizer: Any = None  # the core.normalizers.Normalizer whose band [l, u] this is (recorded; None: Frobenius)
    refine: str = "auto"
    refine_steps: int = 2
    refine_evals: int = 150
    kernel: str = "fused"  # the kernel the matrix objectives and the guard run (nsdesign.precision.kernels)
    restarts: tuple[int, ...] | None = None  # Gram restart plan (None: nsdesign's default for the dtype)
    guard_dtype: str | None = None  # format of the guard's matrix run; None: the matrix term's format, else bf16
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.terms:
            raise InputError("give at least one objective")
        names = [n for n, _ in self.terms]
        for name in names:
            if name not in OBJECTIVES:
                raise InputError(f"unknown objective {name!r}; choose from {', '.join(OBJECTIVES)}")
        if not (math.isfinite(self.min_sigma) and math.isfinite(self.max_sigma) and 0 < self.min_sigma < self.max_sigma):
            raise InputError(f"the band needs 0 < min_sigma < max_sigma, got [{self.min_sigma}, {self.max_sigma}]")
        if "weighted" in names and self.spectrum is None:
            raise InputError("the weighted objective needs a `spectrum`: mp (with `shape`), law, or FILE.npy")
        if "capture" in names and (self.tol is None or not (math.isfinite(self.tol) and 0 < self.tol < 1)):
            raise InputError("the capture objective needs a tolerance 0 < `tol` < 1")
        m, n = self.proxy_shape
        if not (isinstance(m, int) and isinstance(n, int) and 2 <= m <= 4096 and 2 <= n <= 16384):
            raise InputError(f"the proxy matrix must be between 2x2 and 4096x16384, got {m}x{n}")
        if self.backend not in ("emulate", "torch"):
            raise InputError(f"the low-precision backend must be 'emulate' or 'torch', got {self.backend!r}")
        if not (math.isfinite(self.guard_limit) and self.guard_limit > 1.0):
            raise InputError(f"the guard limit must be a number above 1, got {self.guard_limit}")
        if self.guard_sigma is not None:
            resolve_guard(self.max_sigma, self.guard_sigma)  # max_sigma ≤ g ≤ 2·max(max_sigma, 1), one rule everywhere
        if self.guard_tol is not None and not (math.isfinite(self.guard_tol) and 0 < self.guard_tol < 1):
            raise InputError(f"`guard_tol` must be in (0, 1), got {self.guard_tol}")

        check_kernel(self.kernel)
        if self.guard_dtype is not None and self.guard_dtype not in LOW_PRECISION:
            raise InputError(f"`guard_dtype` must be one of {', '.join(LOW_PRECISION)}, got {self.guard_dtype!r}")
        if self.refine not in REFINERS:
            raise InputError(f"`refine` must be one of {', '.join(REFINERS)}, got {self.refine!r}")
        if not (isinstance(self.refine_steps, int) and self.refine_steps >= 1):
            raise InputError(f"`refine_steps` must be a positive integer, got {self.refine_steps}")
        if not (isinstance(self.refine_evals, int) and self.refine_evals >= 1):
            raise InputError(f"`refine_evals` must be a positive integer, got {self.refine_evals}")

    # -- description -------------------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.terms)

    @property
    def guard_headroom(self) -> float:
        """g/u − 1: the guard band's top as a relative margin above the band (0.02 by default)."""
        return DEFAULT_HEADROOM if self.guard_sigma is None else self.guard_sigma / self.max_sigma - 1.0

    @property
    def guard_format(self) -> str:
        """The format the guard's matrix run uses: `guard_dtype`, else the first matrix term's, else bf16."""
        if self.guard_dtype is not None:
            return self.guard_dtype
        return next((n for n in self.names if n in LOW_PRECISION), "bf16")

    def label(self) -> str:
        return ",".join(n if w == 1.0 else f"{n}={w:g}" for n, w in self.terms)

    def runner(self) -> str | Runner:
        """What runs the matrix terms: "emulate" (the numpy model), or torch/'s runner for backend "torch"."""
        if self.backend == "emulate":
            return "emulate"
        # torch: heavy, and only for `--lowp-backend torch`
        from nsdesign.torch.crosscheck import run_torch

        return run_torch

    def refiner(self) -> str:
        """The refinement actually used: 'auto' is none for worst/capture, SLSQP for weighted, Nelder–Mead with matrices."""
        if self.refine != "auto":
            return self.refine
        names = set(self.names)
        if names <= {"worst", "capture"}:
            return "none"  # the greedy engine is already optimal there
        if names & set(LOW_PRECISION):
            return "nelder-mead"
        return "slsqp"

    def to_dict(self) -> dict[str, Any]:
        return {
            "objective": self.label(),
            "min_sigma": self.min_sigma,
            "max_sigma": self.max_sigma,
            "spectrum": None if self.spectrum is None else self.spectrum.to_dict(),
            "tol": self.tol,
            "proxy_shape": list(self.proxy_shape),
            "proxy_seed": self.proxy_seed,
            "backend": self.backend,
            "guard": self.guard,
            "guard_limit": self.guard_limit,
            **({} if self.guard_sigma is None else {"guard_sigma": self.guard_sigma}),  # absent: old study names stay
            **({} if self.guard_tol is None else {"guard_tol": self.guard_tol}),
            **({} if self.normalizer is None else {"normalizer": self.normalizer.to_dict()}),
            "refine": self.refiner(),
            "refine_steps": self.refine_steps,
            "refine_evals": self.refine_evals,
            **({} if self.kernel == "fused" and self.restarts is None else {"kernel": self.kernel, "restarts": self.restarts}),
            **({} if self.guard_format == "bf16" else {"guard_dtype": self.guard_format}),  # bf16: old names stay
        }

    # -- test matrices -----------------------------------------------------------------------------

    def proxy(self) -> TestMatrix:
        if "proxy" not in self._cache:
            self._cache["proxy"] = band_matrix(self.min_sigma, self.max_sigma, self.proxy_shape, self.proxy_seed)
        return self._cache["proxy"]


@dataclass(frozen=True)
class Score:
    """A schedule's objective values, its weighted score, and whether it passed the guard."""

    value: float
    components: Mapping[str, float]
    feasible: bool
    reason: str = ""
    guard_overshoot: float | None = None
    guard_bf16_max: float | None = None  # the guard run's output σ_max (in `guard_dtype`; the name predates it)
    guard_dtype: str = "bf16"

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": _finite_or_text(self.value),
            "components": {k: _finite_or_text(v) for k, v in self.components.items()},
            "feasible": self.feasible,
            "reason": self.reason,
            "guard_overshoot": _finite_or_text(self.guard_overshoot),
            "guard_bf16_max": _finite_or_text(self.guard_bf16_max),
            "guard_dtype": self.guard_dtype,
        }


def _finite_or_text(v: float | None) -> Any:
    if v is None or (isinstance(v, float) and math.isfinite(v)):
        return v
    return "inf" if v > 0 else ("-inf" if v < 0 else "nan")


def component(name: str, schedule: Schedule, objective: Objective) -> float:
    """One objective value of `schedule` (inf when it diverges)."""
    lo, hi = objective.min_sigma, objective.max_sigma
    if name == "worst":
        e = worst_error(schedule, lo, hi)
        return e if math.isfinite(e) else math.inf
    if name == "weighted":
        assert objective.spectrum is not None
        return weighted_error(schedule, objective.spectrum)
    if name in LOW_PRECISION:
        return matrix_error(schedule, objective.proxy(), name, 1.0, objective.runner(),
                            kernel=objective.kernel, restarts=plan(schedule, objective, name)).error
    if name == "capture":
        assert objective.tol is not None
        captured = captured_min_sigma(schedule, objective.tol, hi)
        return hi if captured is None else captured
    raise InputError(f"unknown objective {name!r}")


def plan(schedule: Schedule, objective: Objective, dtype: str) -> tuple[int, ...]:
    """The Gram restart plan the objective runs (empty for the standard kernels)."""
    if objective.kernel != "gram":
        return ()
    if objective.restarts is not None:
        return tuple(r for r in objective.restarts if 0 < r < schedule.num_steps)

    return default_restarts(schedule.num_steps, dtype)


def weighted_error(schedule: Schedule, spectrum: Spectrum) -> float:
    """Mean |1 − F(σ)| over the spectrum sample (float64; inf when F overflows)."""
    x = spectrum.array / schedule.input_scale
    with np.errstate(over="ignore", invalid="ignore"):
        for p in schedule.steps:
            x = p.evaluate(x)
        value = float(np.mean(np.abs(1.0 - x)))
    return value if math.isfinite(value) else math.inf


def guard(schedule: Schedule, objective: Objective) -> tuple[bool, str, float | None, float | None]:
    """(passes, reason, scalar overshoot, σ_max at (g/u)·X in the guard's format): does it stay bounded up to g?"""
    if not objective.guard:
        return True, "", None, None
    h = objective.guard_headroom
    top = objective.max_sigma * (1.0 + h)
    peak = overshoot(schedule, objective.max_sigma, guard_sigma=top)
    if not (math.isfinite(peak) and peak <= objective.guard_limit):
        return False, f"scalar overshoot {peak:.3g} on [0, {top:.4g}] exceeds {objective.guard_limit:g}", peak, None
    if objective.guard_tol is not None and top > objective.max_sigma:
        off = worst_error(schedule, objective.max_sigma, top)
        if not off <= objective.guard_tol:
            return False, f"max|1 − F| {off:.3g} on the guard band [u, {top:.4g}] exceeds {objective.guard_tol:g}", peak, None
    fmt = objective.guard_format
    run = matrix_error(schedule, objective.proxy(), fmt, 1.0 + h, objective.runner(),
                       kernel=objective.kernel, restarts=plan(schedule, objective, fmt))
    if run.diverged or run.sigma_max > objective.guard_limit:
        return False, f"{fmt} run with σ_max = {top:.4g} reaches {run.sigma_max:.3g}", peak, run.sigma_max
    return True, "", peak, run.sigma_max


def score(schedule: Schedule, objective: Objective, max_matmuls: int | None = None) -> Score:
    """All components, the weighted value, and feasibility (guard, budget, finiteness)."""
    components = {name: component(name, schedule, objective) for name in objective.names}
    total = sum(w * components[n] for n, w in objective.terms)
    ok, reason, peak, bf16_max = guard(schedule, objective)
    if ok and max_matmuls is not None and matmuls(schedule) > max_matmuls:
        ok, reason = False, f"{matmuls(schedule)} matmuls exceed the budget of {max_matmuls}"
    if ok and not math.isfinite(total):
        ok, reason = False, "the objective is not finite (the schedule diverges)"
    if "capture" in components and captured_min_sigma(schedule, objective.tol or 0.5, objective.max_sigma) is None:
        ok, reason = False, reason or f"captures no band at tolerance {objective.tol:g}"
    value = total if ok else INFEASIBLE + (min(total, 1e6) if math.isfinite(total) else 1e6)
    return Score(float(value), components, ok, reason, peak, bf16_max, objective.guard_format)


# --------------------------------------------------------------------------------------------------
# SciPy refinement
# --------------------------------------------------------------------------------------------------


def refine(schedule: Schedule, objective: Objective, start: Score, max_matmuls: int | None = None) -> tuple[Schedule, Score]:
    """Jointly perturb the last `refine_steps` steps' coefficients (`design.refine.perturb`); keep the result only
    if it is better."""
    method = objective.refiner()
    if method == "none" or not start.feasible:
        return schedule, start
    space = Coefficients(schedule, first=max(0, schedule.num_steps - objective.refine_steps), relative=True)
    if not space.slots:
        return schedule, start
    memo: dict[bytes, Score] = {}

    def evaluate(x: np.ndarray) -> float:
        key = np.asarray(x, dtype=float).tobytes()
        if key not in memo:
            try:
                memo[key] = score(space.build(x), objective, max_matmuls)
            except InputError:
                memo[key] = Score(INFEASIBLE * 2, {}, False, "invalid coefficients")
        return memo[key].value

    best_x = perturb(evaluate, len(space.slots), method, objective.refine_evals)
    evaluate(best_x)
    best = memo[best_x.tobytes()]
    if best.feasible and best.value < start.value:
        return space.build(best_x), best
    return schedule, start
