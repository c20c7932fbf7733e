"""Gram-Newton–Schulz and list consumers: DeepSpeed's Muon and TransformerEngine's `newton_schulz`.

**DeepSpeed** (deepspeedai/DeepSpeed commit edaa7221267243c7be7fb49c5d5f5c4fb97b4641, 2026-08-22, version.txt
0.19.6, and the PyPI release 0.19.8; deepspeed/runtime/zero/muon/original_muon.py, deepspeed/runtime/engine.py):

- `zeropower_via_gram_newtonschulz(G, steps)` hard-codes (a, b, c) = (3.4445, -4.7750, 2.0315) and
  `restart_at = 2` (X = Q·X and R = X·Xᵀ are re-formed before 0-based step 2, i.e. after two steps).
- `muon_update(grad, momentum, beta, ns_steps=5, nesterov, ns_method="gram", …)` is called by every Muon
  optimizer and by ZeRO stages 1–3 without `ns_steps`, so 5 steps always run.
- The Muon config (`"optimizer": {"type": "Muon", "params": {…}}`) passes only lr / muon_lr, momentum,
  weight_decay and `ns_method` ("gram", the default, or "standard") to Muon param groups; the classes
  (`SingleDeviceMuon`, `Muon`, `MuonWithAuxAdam`) take the same. No coefficients, steps or restart plan.
- It divides by ‖X‖_F + 1e-7 (0.19.8: in fp32 for an fp16 G, else in G's dtype, then casts; commit edaa7221:
  after casting G to the compute dtype) and iterates in fp16 where the accelerator supports fp16, else fp32.
  Square matrices run the standard iteration instead. The functions are wrapped in torch.compile.

So the only schedule DeepSpeed runs is that triple five times (nsdesign's `keller5`): `render_deepspeed`
writes its settings for that schedule and refuses every other one, naming what can run it.

**TransformerEngine** (NVIDIA/TransformerEngine commit d0067d0da6cb01811b8072a7d304f0e00344ce2b, 2026-08-22,
2.20.0.dev0; transformer_engine/pytorch/newton_schulz.py, transformer_engine/pytorch/csrc/extensions/
newton_schulz.cpp, transformer_engine/common/newton_schulz/newton_schulz.cpp,
tests/pytorch/distributed/run_newton_schulz.py):

- `newton_schulz(x, ctx, num_iterations=5, coefficients=None) -> None` runs in place on a 2-D contiguous CUDA
  float32 or bfloat16 tensor whose columns are split across the ranks of `ctx = CusolverMpCtx(group)` (NCCL).
  `coefficients` is a sequence of (a, b, c), one per iteration: `len(coefficients) != num_iterations` is a
  ValueError. The rows reach cuSOLVERMp's `cusolverMpNewtonSchulz` as float32 (`std::vector<float>`).
- It does not normalize: its test feeds σ in (0.1, 0.9) and compares with the unnormalized reference
  x ← a·x + b·(x xᵀ)·x + c·(x xᵀ)(x xᵀ)·x, so the caller divides by ‖X‖_F first.
"""

from __future__ import annotations

from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.export._common import (
    ExportResult,
    folded_rows,
    folded_steps,
    list_header,
    list_literal,
    number,
    own_extension,
    require_quintic,
    row_text,
    scaling_warnings,
    triples,
)
from nsdesign.export.triple_lists import EXPORT_MIN_SIGMA, EXPORT_PROXY
from nsdesign.precision.restarts import design_restarts

DEEPSPEED_TRIPLE = (3.4445, -4.775, 2.0315)  # original_muon.py: a, b, c = (3.4445, -4.7750, 2.0315)
DEEPSPEED_STEPS = 5  # muon_update's ns_steps default; no caller passes another
DEEPSPEED_RESTART_AT = 2  # restart_at = 2: before 0-based step 2
DEEPSPEED_SOURCE = "DeepSpeed 0.19.8 / commit edaa7221, deepspeed/runtime/zero/muon/original_muon.py"
TE_SOURCE = "TransformerEngine 2.20.0.dev0 / commit d0067d0d, transformer_engine/pytorch/newton_schulz.py"


# --------------------------------------------------------------------------------------------------
# DeepSpeed Muon
# --------------------------------------------------------------------------------------------------


def render_deepspeed(schedule: Schedule, provenance: str) -> ExportResult:
    """DeepSpeed's Muon settings for the one schedule it runs; every other schedule is refused.

    DeepSpeed exposes no coefficients, step count or restart plan (see the module doc), so an export can
    only confirm that the schedule is DeepSpeed's own and write the setting that selects its Gram kernel.
    The restart plan nsdesign would design in fp16 is reported next to DeepSpeed's fixed one.
    """
    require_quintic(schedule, "DeepSpeed's Muon")
    steps, fold_note = folded_steps(schedule)
    rows = triples(steps)
    if rows != [DEEPSPEED_TRIPLE] * DEEPSPEED_STEPS:
        raise InputError(_why_not_deepspeed(schedule, rows))
    plan_lines, warnings = _deepspeed_plan(schedule)
    lines = [
        f"DeepSpeed's Muon hard-codes this (a, b, c), {DEEPSPEED_STEPS} steps and one Gram restart before step "
        f"{DEEPSPEED_RESTART_AT + 1} (restart_at = {DEEPSPEED_RESTART_AT}); its settings choose only ns_method: "
        "'gram' (the default) or 'standard'.",
        f"Source: {DEEPSPEED_SOURCE}.",
        "It divides by ‖X‖_F + 1e-7 (no divisor) and iterates in fp16 (fp32 where the accelerator lacks fp16) on "
        "the Gram matrix X Xᵀ; square matrices run the standard iteration.",
        "Usage: in the DeepSpeed config JSON, \"optimizer\": DEEPSPEED_OPTIMIZER, with lr (or muon_lr), momentum "
        "and weight_decay added to its params; without the engine:",
        "  from deepspeed.runtime.zero.muon.original_muon import SingleDeviceMuon",
        "  optimizer = SingleDeviceMuon(params, lr=..., ns_method=NS_METHOD)",
        f"Extension: DeepSpeed always runs exactly these {DEEPSPEED_STEPS} steps; " + own_extension(schedule) + ".",
    ] + plan_lines
    text = (
        list_header(schedule, "DeepSpeed Muon", lines, fold_note, provenance)
        + 'NS_METHOD = "gram"\n'
        + 'DEEPSPEED_OPTIMIZER = {"type": "Muon", "params": {"ns_method": NS_METHOD}}\n'
        + "# What DeepSpeed runs (fixed in its source; for checking, not for passing):\n"
        + f"NS_COEFFICIENTS = {row_text(DEEPSPEED_TRIPLE)}\n"
        + f"NS_STEPS = {DEEPSPEED_STEPS}\n"
        + f"GRAM_RESTART_AT = {DEEPSPEED_RESTART_AT}\n"
    )
    return ExportResult(text, warnings + scaling_warnings(schedule, "deepspeed"))


def _deepspeed_plan(schedule: Schedule) -> tuple[list[str], tuple[str, ...]]:
    """Comment lines comparing DeepSpeed's fixed restart with nsdesign's fp16 plan (as render_gram designs it)."""
    plan = design_restarts(schedule.extended(DEEPSPEED_STEPS), "fp16", EXPORT_PROXY, EXPORT_MIN_SIGMA)
    fixed = plan.baselines["dao_default"][1]  # restarts (2,): DeepSpeed's restart_at = 2
    lines = [
        "Restart plan by nsdesign (fp16 Gram rounding model of the Dao-AILab form, "
        f"{EXPORT_PROXY[0]}x{EXPORT_PROXY[1]}, σ in [{EXPORT_MIN_SIGMA:g}, 1]): {list(plan.restarts)} with error "
        f"{plan.error:.3g} (target {plan.target:.3g}, 1.25× the fused kernel's); DeepSpeed's fixed "
        f"[{DEEPSPEED_RESTART_AT}]: {fixed:.3g}.",
    ]
    warnings: tuple[str, ...] = ()
    if fixed > plan.target:
        warnings = (
            f"DeepSpeed's fixed restart [{DEEPSPEED_RESTART_AT}] misses nsdesign's fp16 error target "
            f"({fixed:.3g} > {plan.target:.3g}); export to gram-newton-schulz to run the plan {list(plan.restarts)}",
        )
    return lines, warnings


def _why_not_deepspeed(schedule: Schedule, rows: list[tuple[float, float, float]]) -> str:
    """One line: what differs from the schedule DeepSpeed hard-codes, and what to export to instead."""
    name = schedule.name or "this schedule"
    if set(rows) == {DEEPSPEED_TRIPLE}:
        what = f"{name} runs it {len(rows)} times"
    elif set(triples(schedule.steps)) == {DEEPSPEED_TRIPLE}:
        what = f"{name}'s norm_div {number(schedule.input_scale)}, folded into its first step, makes that step differ"
    elif len(set(rows)) == 1:
        what = f"{name} repeats {row_text(rows[0])}"
    else:
        what = f"{name} has {len(set(rows))} different (a, b, c) rows"
    fixed = f"{row_text(DEEPSPEED_TRIPLE)} × {DEEPSPEED_STEPS}"
    return (
        f"DeepSpeed's Muon hard-codes {fixed} steps with a restart before step {DEEPSPEED_RESTART_AT + 1} and takes "
        f"only ns_method, but {what}; export to gram-newton-schulz (a per-step "
        "list with a restart plan) or transformer-engine instead"
    )


# --------------------------------------------------------------------------------------------------
# NVIDIA TransformerEngine
# --------------------------------------------------------------------------------------------------


def render_transformer_engine(schedule: Schedule, provenance: str) -> ExportResult:
    """`coefficients=[(a, b, c), …]` and `num_iterations = len(list)` for transformer_engine.pytorch.newton_schulz.

    TE requires exactly one row per iteration and does not normalize (see the module doc), so the snippet
    carries the division by the global ‖X‖_F that the schedule was designed for.
    """
    require_quintic(schedule, "TransformerEngine's newton_schulz")
    rows, fold_note = folded_rows(schedule)
    lines = [
        f"Source: {TE_SOURCE}.",
        "newton_schulz(x, ctx, num_iterations, coefficients) runs one (a, b, c) row per iteration, in place "
        "(cuSOLVERMp, rows as float32), and requires len(coefficients) == num_iterations.",
        "x: a 2-D contiguous CUDA float32 or bfloat16 tensor, its columns split across the ranks of ctx.",
        "It does NOT normalize: divide x by its global ‖X‖_F first, as below (no divisor).",
        "Usage:",
        "  from transformer_engine.pytorch import CusolverMpCtx, newton_schulz",
        "  ctx = CusolverMpCtx(group)  # once, on an NCCL process group",
        "  sq = x.float().square().sum()",
        "  torch.distributed.all_reduce(sq, group=group)",
        "  x.div_(sq.sqrt() + 1e-7)",
        "  newton_schulz(x, ctx, NUM_ITERATIONS, coefficients=NS_COEFFICIENTS)",
        "Extension: it runs exactly the list; " + own_extension(schedule) + ".",
    ]
    text = (
        list_header(schedule, "NVIDIA TransformerEngine", lines, fold_note, provenance)
        + list_literal("NS_COEFFICIENTS", rows, "[", "]")
        + "NUM_ITERATIONS = len(NS_COEFFICIENTS)\n"
    )
    return ExportResult(text, scaling_warnings(schedule, "transformer-engine"))
