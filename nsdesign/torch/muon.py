"""`Muon`: torch.optim.Muon's interface and update, with any nsdesign schedule per group or per parameter.

The update is torch.optim.Muon's (torch/optim/_muon.py, torch 2.13, after Keller Jordan's muon.py):

    B ← μ·B + (1 − μ)·G          (buf.lerp_(grad, 1 − μ))
    U ← G + μ·(B − G) if nesterov else B
    O ← NS(U)                    here: nsdesign.torch.kernels, any schedule, standard or Gram form
    θ ← θ·(1 − lr·wd) − lr·adjust(shape)·O

with the same arguments (lr, weight_decay, momentum, nesterov, ns_coefficients, eps, ns_steps, adjust_lr_fn) and
defaults. What changes is the NS step: instead of one (a, b, c) triple repeated `ns_steps` times it runs a
`Schedule` — per-step coefficients of any odd degree, the schedule's `norm_div`, and its extension rule when
`ns_steps` asks for more steps than it has. With `ns_coefficients` alone it behaves like torch's Muon
(the triple repeated `ns_steps`, default 5, times, norm_div 1); our normalization divides in fp32 before
rounding to bf16, so updates agree with torch's to bf16 round-off rather than bit for bit.

Where the schedule comes from, most specific first:
  1. a recipe (`recipe=` file, recipe document or {param name → schedule}); needs named parameters
     (`Muon(model.named_parameters(), …)`), which torch ≥ 2.6 optimizers accept;
  2. the parameter group's "schedule" (a Schedule, preset name, schedule JSON path or document);
  3. `ns_coefficients` × `ns_steps`.
Groups store schedules as plain JSON documents, so `state_dict()` stays loadable with weights_only=True.
"""

from __future__ import annotations

import json
import math
import warnings
from functools import lru_cache
from typing import Any, Mapping

import torch
from torch import Tensor
from torch.optim.optimizer import Optimizer, ParamsT

from nsdesign.core.metrics import no_headroom
from nsdesign.core.normalizers import Normalizer
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.torch._resolve import ScheduleRef, as_schedule, load_recipe, match_recipe
from nsdesign.torch.kernels import (
    EPS,
    dtype_name,
    gram_restarts,
    kernel_form,
    orthogonalize,
    resolve_dtype,
    runtime_kernel,
    schedule_rows,
)

# torch.optim._muon's defaults (Keller Jordan's coefficients)
DEFAULT_A, DEFAULT_B, DEFAULT_C = 3.4445, -4.7750, 2.0315
DEFAULT_NS_STEPS = 5
ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def adjust_lr(lr: float, adjust_lr_fn: str | None, shape: torch.Size) -> float:
    """torch.optim._muon._adjust_lr: keep the update RMS comparable across rectangular shapes."""
    A, B = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, A / B))  # Keller Jordan
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(A, B))  # Moonshot, "Muon is Scalable for LLM Training"
    else:
        ratio = 1.0
    return lr * ratio


class Muon(Optimizer):
    """Muon with nsdesign schedules (see the module docstring). Extra keyword-only arguments:

    schedule: default schedule for all groups (Schedule, preset name, JSON path or document).
    recipe:   per-parameter schedules (recipe JSON path/document, or {param name or pattern → schedule}).
    kernel:   "fused" (torch.optim.Muon's addmm, the default), "unfused" (Keller Jordan's muon.py) or "gram"
              (Dao-AILab's Gram iteration with restarts); per group too. `form=` is its deprecated spelling
              ("standard" = fused); a group stores the iteration under its old key "form" (state dicts load).
    ns_dtype: compute dtype of NS (default bf16, like torch; fp32 is much faster on CPUs without bf16 units).
    restarts: Gram-form restart steps (None: nsdesign's default for ns_dtype).
    compile:  torch.compile the NS iteration (True, or a backend name).
    normalizer: frobenius (default), schatten4, schatten8, spectral or aol (nsdesign.torch.normalize); None takes
              the one the schedule file records ("normalizer" field), else Frobenius. Per group, like schedule.
    match_rms: rescale every orthogonalized update O (m×n) to the RMS of an exact full-rank polar factor of
              that shape, 1/√max(m, n) (`polar_rms`), i.e. O ← O·√min(m, n)/‖O‖_F, before lr and
              `adjust_lr_fn` apply. Schedules differ in how far their singular values land from 1 (keller5's
              lie in [0.47, 1.20] for σ in [1e-3, 1]); with the RMS matched they no longer differ in effective
              step size, only in direction. Per group, like schedule.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float | Tensor = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = (DEFAULT_A, DEFAULT_B, DEFAULT_C),
        eps: float = EPS,
        ns_steps: int | None = None,
        adjust_lr_fn: str | None = None,
        *,
        schedule: ScheduleRef | None = None,
        recipe: str | Mapping[str, Any] | None = None,
        kernel: str = "fused",
        ns_dtype: torch.dtype | str = torch.bfloat16,
        restarts: tuple[int, ...] | None = None,
        compile: bool | str = False,
        normalizer: Any = None,
        match_rms: bool = False,
        form: str | None = None,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise InputError("Tensor lr must be 1-element")
        if not 0.0 <= float(lr):
            raise InputError(f"Learning rate should be >= 0 but is: {float(lr)}")
        if not 0.0 <= momentum:
            raise InputError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise InputError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn not in ADJUST_LR_FNS:
            raise InputError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        if ns_steps is not None and not 1 <= ns_steps < 100:
            raise InputError(f"ns_steps must be in 1…99, got {ns_steps}")
        if len(tuple(ns_coefficients)) != 3:
            raise InputError("ns_coefficients must be a tuple of exactly 3 values (use schedule= for anything else)")
        defaults = {
            "lr": lr,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "nesterov": nesterov,
            "ns_coefficients": tuple(ns_coefficients),
            "eps": eps,
            "ns_steps": ns_steps,
            "adjust_lr_fn": adjust_lr_fn,
            "schedule": None if schedule is None else _document(schedule),
            "form": runtime_kernel(kernel, form),  # the stored key (state dicts of earlier releases load)
            "ns_dtype": dtype_name(resolve_dtype(ns_dtype)),
            "restarts": None if restarts is None else list(restarts),
            "compile": compile,
            "normalizer": _normalizer_document(normalizer, schedule),
            "match_rms": bool(match_rms),
        }
        if schedule is not None:
            _warn_without_headroom(as_schedule(schedule), defaults["ns_dtype"])
        self.skipped_updates: dict[str, int] = {}  # parameter name → steps skipped for a NaN/Inf gradient
        self._warned_nonfinite = False
        super().__init__(params, defaults)
        if recipe is not None:
            self._apply_recipe(load_recipe(recipe))

    # -- setup ------------------------------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """torch's add_param_group, then nsdesign's checks: 2-D parameters, a resolvable schedule."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            if p.ndim != 2:
                raise InputError(f"Muon only supports 2D parameters whereas we found a parameter with size: {p.size()}")
        self._prepare_group(group)

    def _prepare_group(self, group: dict[str, Any]) -> None:
        group["form"] = kernel_form(group.pop("kernel", None) or group["form"])  # a group may name its kernel
        group["ns_dtype"] = dtype_name(resolve_dtype(group["ns_dtype"]))
        group["normalizer"] = _normalizer_document(group.get("normalizer"), group["schedule"])  # before the schedule
        if group["schedule"] is not None and not isinstance(group["schedule"], dict):
            group["schedule"] = _document(group["schedule"])
        group.setdefault("param_schedules", None)
        group.setdefault("match_rms", False)
        if group["normalizer"] is not None:
            from nsdesign.torch.normalize import check_form

            norm = Normalizer.from_dict(group["normalizer"])
            check_form(norm, group["form"])
            rows = _plan(_key(self._group_schedule(group)), group["ns_steps"], group["ns_dtype"], group["form"], _restarts_key(group))[0]
            norm.check_first_degree(2 * len(rows[0]) - 1)
        _plan(_key(self._group_schedule(group)), group["ns_steps"], group["ns_dtype"], group["form"], _restarts_key(group))

    def _apply_recipe(self, recipe: Mapping[str, Schedule]) -> None:
        names = [n for g in self.param_groups for n in g.get("param_names", [])]
        if not names:
            raise InputError("a recipe maps parameter names to schedules: pass model.named_parameters() to Muon")
        assigned = match_recipe(recipe, names)
        for group in self.param_groups:
            group["param_schedules"] = [
                None if name not in assigned else _document(assigned[name]) for name in group["param_names"]
            ]
            for document in group["param_schedules"]:
                if document is not None:  # fail now, not at the first step, if ns_steps cannot be met
                    _plan(_key(document), group["ns_steps"], group["ns_dtype"], group["form"], _restarts_key(group))

    @staticmethod
    def _group_schedule(group: Mapping[str, Any]) -> dict[str, Any]:
        if group["schedule"] is not None:
            return group["schedule"]
        return _document(
            Schedule.from_coefficients(
                [group["ns_coefficients"]], norm_div=1.0, extension="repeat_last", name="ns_coefficients"
            ).extended(group["ns_steps"] or DEFAULT_NS_STEPS)
        )

    def schedule_for(self, param: Tensor) -> Schedule:
        """The schedule (after `ns_steps`) that `param` is orthogonalized with."""
        for group in self.param_groups:
            for i, p in enumerate(group["params"]):
                if p is param:
                    document = self._document_for(group, i)
                    schedule = Schedule.from_dict(document)
                    return schedule if group["ns_steps"] is None else schedule.extended(group["ns_steps"])
        raise InputError("this parameter is not optimized by this Muon instance")

    def _document_for(self, group: Mapping[str, Any], index: int) -> dict[str, Any]:
        per_param = group.get("param_schedules")
        if per_param is not None and per_param[index] is not None:
            return per_param[index]
        return self._group_schedule(group)

    # -- the step ---------------------------------------------------------------------------------

    def _skip_nonfinite(self, p: Tensor, group: Mapping[str, Any], index: int) -> None:
        """A NaN/Inf gradient: leave the parameter and its momentum untouched, count it, warn once per optimizer.

        Orthogonalizing it would spread the NaN to every entry of the parameter (and, through the momentum
        buffer, to every later step); skipping keeps training recoverable, as loss scalers do for fp16."""
        names = group.get("param_names")
        name = names[index] if names else f"parameter {index} of group {self.param_groups.index(group)}"  # type: ignore[arg-type]
        self.skipped_updates[name] = self.skipped_updates.get(name, 0) + 1
        if not self._warned_nonfinite:
            self._warned_nonfinite = True
            _warn_once(f"Muon: NaN/Inf gradient for {name}; its update was skipped (counts in Muon.skipped_updates)")

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        """Performs a single optimization step."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr = float(group["lr"])
            weight_decay, momentum = group["weight_decay"], group["momentum"]
            dtype = resolve_dtype(group["ns_dtype"])
            for i, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                if torch.is_complex(p):
                    raise RuntimeError("Muon does not support complex parameters")
                if p.grad.is_sparse:
                    raise RuntimeError("Muon does not support sparse gradients")
                grad = p.grad
                if not bool(torch.isfinite(grad).all()):  # one device sync per parameter: the price of no NaN weights
                    self._skip_nonfinite(p, group, i)
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(grad, memory_format=torch.preserve_format)
                buf = state["momentum_buffer"]
                buf.lerp_(grad, 1 - momentum)
                update = grad.lerp(buf, momentum) if group["nesterov"] else buf
                rows, scale, restarts = _plan(
                    _key(self._document_for(group, i)), group["ns_steps"], group["ns_dtype"], group["form"], _restarts_key(group)
                )
                update = orthogonalize(
                    update, rows, scale, dtype, group["form"], restarts, group["eps"], group["compile"],
                    _normalizer(_key(group["normalizer"])) if group["normalizer"] is not None else None,
                )
                if group["match_rms"]:
                    update = match_polar_rms(update, group["eps"])
                p.mul_(1 - lr * weight_decay)
                p.add_(update, alpha=-adjust_lr(lr, group["adjust_lr_fn"], p.shape))
        return loss


def polar_rms(shape: torch.Size | tuple[int, ...]) -> float:
    """RMS of an exact full-rank polar factor UVᵀ of an m×n matrix: ‖UVᵀ‖_F² = min(m, n) over m·n entries."""
    m, n = shape[-2], shape[-1]
    return 1.0 / math.sqrt(max(m, n))


def match_polar_rms(update: Tensor, eps: float = EPS) -> Tensor:
    """`update` rescaled to RMS `polar_rms(shape)`: O·√min(m, n)/‖O‖_F (per matrix, in the update's dtype).

    Why: an NS schedule's output singular values sit near, not at, 1, and each schedule's overshoot acts as
    its own learning-rate multiplier; matching the RMS compares the directions at one step size."""
    m, n = update.shape[-2], update.shape[-1]
    norm = torch.linalg.vector_norm(update.float(), dim=(-2, -1), keepdim=True)
    return (update.float() * (math.sqrt(min(m, n)) / norm.clamp_min(eps))).to(update.dtype)


def _warn_once(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def _warn_without_headroom(schedule: Schedule, ns_dtype: str) -> None:
    """Warn (once per schedule) when a half-precision run can blow up just above the band: the rule that makes
    `nsdesign export` refuse the schedule for a bf16/fp16 consumer (core.metrics.no_headroom)."""
    reason = no_headroom(schedule, ns_dtype)
    if reason is not None and schedule not in _WARNED:
        _WARNED.add(schedule)
        warnings.warn(
            f"{reason}, so NS in {ns_dtype} can diverge; use a design with headroom (nsdesign.recommend, "
            "nsdesign.design_for) or ns_dtype=torch.float32", RuntimeWarning, stacklevel=3)


_WARNED: set[Schedule] = set()


def _document(reference: ScheduleRef) -> dict[str, Any]:
    return as_schedule(reference).to_dict()


def _normalizer_document(reference: Any, schedule: Any) -> dict[str, Any] | None:
    """The group's normalizer as a plain dict (state_dict-safe): given, else recorded by the schedule, else None."""
    from nsdesign.torch.normalize import as_normalizer, recorded_normalizer

    norm = as_normalizer(reference) if reference is not None else recorded_normalizer(schedule)
    if norm is None or norm.name == "frobenius":
        return None
    return norm.to_dict()


@lru_cache(maxsize=64)
def _normalizer(key: str) -> Any:
    return Normalizer.from_dict(json.loads(key))


def _key(document: Mapping[str, Any]) -> str:
    return json.dumps(document, sort_keys=True)


def _restarts_key(group: Mapping[str, Any]) -> tuple[int, ...] | None:
    return None if group["restarts"] is None else tuple(group["restarts"])


@lru_cache(maxsize=256)
def _plan(
    key: str, ns_steps: int | None, dtype: str, form: str, restarts: tuple[int, ...] | None
) -> tuple[tuple[tuple[float, ...], ...], float, tuple[int, ...]]:
    """(rows, input scale, Gram restarts) for a schedule document: parsed once, reused every step."""
    schedule = Schedule.from_dict(json.loads(key))
    if ns_steps is not None:
        schedule = schedule.extended(ns_steps)
    rows = schedule_rows(schedule, resolve_dtype(dtype))
    plan = gram_restarts(rows, resolve_dtype(dtype), restarts) if form == "gram" else ()
    return rows, schedule.input_scale, plan
