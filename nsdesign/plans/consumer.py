"""Design for what one optimizer can take: `nsdesign search --for TARGET` and `nsdesign.design_for`.

Why a plan and not a design: a consumer's form (core.consumers) decides *which* engine may answer, and the
answer is only done once it has been checked where it will run. The plan is

    consumer form → engine (repeated triple | safe per-step list) → exact metrics on the band
                  → checks in the consumer's kernel and dtype (rounding model; real torch on the CPU when
                    installed) → Gram restart plan where the consumer takes one
                  → the bracket [greedy per-step optimum, this design] and the consumer's own default beside it.

Engines:
- "triple" consumers (torch.optim.Muon): design.triple.repeated_triple, guarded and rounding-checked in the
  consumer's kernel; also reports what a per-step list would reach under the same guard (design.safe), so the
  price of the one-triple form is visible.
- "list" and "callable" consumers: design.safe.safe_greedy (the safe default of `search`), quintic for
  consumers with hard-wired (a, b, c) steps; Gram consumers get a restart plan (precision.restarts).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from nsdesign.core.band import Band, as_band
from nsdesign.core.consumers import ConsumerForm, consumer_form
from nsdesign.core.limits import DEFAULT_STEPS, MAX_OUTPUT_SIGMA, MAX_STEPS, PROXY_SHAPE, TORCH_CPU_DTYPES
from nsdesign.core.metrics import Metrics, evaluate, resolve_guard
from nsdesign.core.schedule import Schedule
from nsdesign.design.checks import Check, log_sigma, rounding_check
from nsdesign.design.greedy import greedy
from nsdesign.design.safe import safe_greedy
from nsdesign.design.triple import TripleDesign, fewest_repeats, repeated_triple
from nsdesign.documents import schedule_document
from nsdesign.errors import InputError
from nsdesign.precision.restarts import RestartPlan, design_restarts
from nsdesign.presets import preset

MAX_REPEATS = 12  # --tol with a triple consumer looks this far (8 repeats reach 0.013 on [1e-3, 1])


@dataclass(frozen=True)
class ConsumerDesign:
    """A design one consumer can take, measured exactly and checked where it runs."""

    form: ConsumerForm
    schedule: Schedule
    metrics: Metrics  # exact, on the band
    lower_bound: float  # greedy per-step optimum with the same steps: no composition does better
    per_step_error: float | None  # the safe per-step design's error (triple consumers: the form's price)
    default_name: str
    default_metrics: Metrics  # the consumer's own default at the same step count, same band
    checks: tuple[Check, ...]
    restarts: RestartPlan | None
    engine: str  # which engine answered and why, one line
    triple: TripleDesign | None = None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def ns_steps(self) -> int:
        return self.schedule.num_steps

    def consumer_fields(self) -> dict[str, Any]:
        """The document's `consumer` field: what the consumer is given, in its own words."""
        out: dict[str, Any] = {"target": self.form.target, "takes": self.form.takes, "ns_steps": self.ns_steps}
        if self.triple is not None:
            out["kwargs"] = {"ns_coefficients": list(self.triple.triple), "ns_steps": self.ns_steps}
            out["robustness"] = self.triple.robustness
        if self.restarts is not None:
            out["restarts"] = list(self.restarts.restarts)
        return out

    def document(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        engine = "repeated-triple" if self.triple is not None else "safe-per-step"
        base = {"design": f"for-{self.form.target}", "engine": engine, "lower_bound": self.lower_bound,
                "safe": self.passed, **(params or {})}
        return schedule_document(
            self.schedule, self.metrics.band, base, self.metrics, kernel=self.form.kernel, dtype=self.form.dtype,
            checked_for=[c.to_dict() for c in self.checks], consumer=self.consumer_fields(),
        )


def design_for(
    target: str,
    band: Band | tuple[float, float] | float,
    *,
    steps: int | None = None,
    tol: float | None = None,
    guard_sigma: float | None = None,
    torch_check: bool = True,
    headroom: float | None = None,
) -> ConsumerDesign:
    """The best design `target` can take for the band (see the module doc).

    `steps` fixes the step count (ns_steps for a triple consumer; default 5), `tol` asks for the fewest
    steps reaching it. `guard_sigma` is the guard band's top g (default 1.02·max_sigma; `headroom=h` its old
    spelling). `torch_check` adds a real-torch run of the consumer's kernel when torch is installed.
    """
    form = consumer_form(target)
    checked = as_band(band)
    if headroom is not None:
        guard_sigma = resolve_guard(checked.max_sigma, guard_sigma, headroom)[0]
    if steps is not None and tol is not None:
        raise InputError("give `steps` or `tol`, not both")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS):
        raise InputError(f"steps must be an integer from 1 to {MAX_STEPS}, got {steps!r}")
    if form.takes == "fixed":
        raise InputError(
            f"{target} exposes no coefficient, step or restart setting (it runs {form.default} in {form.dtype}, "
            f"restarts {list(form.default_restarts)}); certify it with `nsdesign evaluate {form.default}`, or "
            "design for gram-newton-schulz, which takes a list and a restart plan"
        )
    if form.takes == "triple":
        return _for_triple(form, checked, steps, tol, guard_sigma, torch_check)
    return _for_list(form, checked, steps, tol, guard_sigma, torch_check)


def _for_triple(form: ConsumerForm, band: Band, steps: int | None, tol: float | None, guard_sigma: float | None,
                torch_check: bool) -> ConsumerDesign:
    options: dict[str, Any] = {"kernel": form.kernel, "dtype": form.dtype, "guard_sigma": guard_sigma}
    if tol is not None:
        design = fewest_repeats(band, tol, MAX_REPEATS, **options)
    else:
        design = repeated_triple(band, DEFAULT_STEPS if steps is None else steps, **options)
    schedule = design.schedule.with_name(f"{form.target}-triple{design.ns_steps}")
    per_step = safe_greedy(band.min_sigma, band.max_sigma, design.ns_steps, 5, guard_sigma=guard_sigma).error
    checks = design.checks + _torch_checks(form, schedule, band, guard_sigma, (), torch_check)
    engine = (f"repeated triple: {form.target} takes one (a, b, c) repeated ns_steps times "
              f"(guard robust to δ = {design.robustness:g} per step)")
    return _assemble(form, schedule, band, guard_sigma, design.lower_bound, per_step, checks, None, engine, design)


def _for_list(form: ConsumerForm, band: Band, steps: int | None, tol: float | None, guard_sigma: float | None,
              torch_check: bool) -> ConsumerDesign:
    count = DEFAULT_STEPS if steps is None and tol is None else steps
    safe = safe_greedy(band.min_sigma, band.max_sigma, count, 5, tol=tol, guard_sigma=guard_sigma)
    schedule = safe.design.schedule.with_name(f"{form.target}-{safe.design.schedule.num_steps}")
    plan = None
    if form.restarts:
        plan = design_restarts(schedule, form.dtype, PROXY_SHAPE, band.min_sigma)
    restarts = () if plan is None else plan.restarts
    sigma = log_sigma(band.min_sigma, resolve_guard(band.max_sigma, guard_sigma)[0])
    own = rounding_check(schedule, sigma, MAX_OUTPUT_SIGMA, kernel=form.kernel, dtype=form.dtype, restarts=restarts)
    ran = {(c.kernel, c.dtype) for c in safe.checks}  # the safe default already ran both bf16 kernels
    mine = () if (own.kernel, own.dtype) in ran else (own,)
    checks = safe.checks + mine + _torch_checks(form, schedule, band, guard_sigma, restarts, torch_check)
    bound = greedy(band, steps=schedule.num_steps).error
    engine = f"safe per-step design: {form.target} takes {'one row per step' if form.takes == 'list' else 'any schedule'}"
    return _assemble(form, schedule, band, guard_sigma, bound, None, checks, plan, engine, None)


def _assemble(form: ConsumerForm, schedule: Schedule, band: Band, guard_sigma: float | None, bound: float,
              per_step: float | None, checks: tuple[Check, ...], plan: RestartPlan | None, engine: str,
              triple: TripleDesign | None) -> ConsumerDesign:
    default = preset(form.default)
    if default.extension == "repeat_last" and default.num_steps != schedule.num_steps:
        default = default.extended(schedule.num_steps)
    metrics = evaluate(schedule, band, guard_sigma=guard_sigma)
    default_metrics = evaluate(default, band, guard_sigma=guard_sigma)
    name = form.default if default.num_steps == preset(form.default).num_steps else f"{form.default} × {default.num_steps}"
    return ConsumerDesign(form, schedule, metrics, bound, per_step, name, default_metrics, checks, plan, engine, triple)


def _torch_checks(form: ConsumerForm, schedule: Schedule, band: Band, guard_sigma: float | None,
                  restarts: tuple[int, ...], wanted: bool) -> tuple[Check, ...]:
    """The same proxy run in real torch (CPU) in the consumer's kernel and dtype, when torch is installed."""
    if not wanted or importlib.util.find_spec("torch") is None or form.dtype not in TORCH_CPU_DTYPES:
        return ()
    # torch: heavy, and only when installed
    from nsdesign.torch.crosscheck import run_torch

    sigma = log_sigma(band.min_sigma, resolve_guard(band.max_sigma, guard_sigma)[0])
    check = rounding_check(schedule, sigma, MAX_OUTPUT_SIGMA, form.kernel, PROXY_SHAPE, form.dtype, restarts, run_torch)
    return (check,)
