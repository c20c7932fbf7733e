"""Consumers that take a list of (a, b, c) triples and divide by ‖X‖_F alone: optax, Emerging-Optimizers, gram-NS.

All three hard-wire the quintic step X ← a X + (b A + c A²) X, so steps of degree > 5 are refused (cubic
steps are triples with c = 0). None has an input divisor, so norm_div ≠ 1 is folded exactly into the first
row (see `_common.folded_steps`). They differ in what happens past the end of the list, and each snippet
says which.
"""

from __future__ import annotations

from nsdesign.core.schedule import Schedule
from nsdesign.export._common import (
    ExportResult,
    folded_rows,
    list_header,
    list_literal,
    own_extension,
    require_quintic,
    scaling_warnings,
)
from nsdesign.precision.restarts import design_restarts

# --------------------------------------------------------------------------------------------------
# optax.contrib.muon
# --------------------------------------------------------------------------------------------------


def render_optax(schedule: Schedule, provenance: str) -> ExportResult:
    """`ns_coeffs` as a tuple of tuples and `ns_steps = n` for optax.contrib.muon.

    optax (contrib/_muon.py, checked against optax 0.2.8) accepts a triple or an (n, 3) tuple of tuples;
    for the latter it requires n ≤ ns_steps, keeps the last ns_steps rows (all of them) and scans them
    once, so the list is the whole schedule whatever ns_steps says. It divides by ‖X‖_F + eps.
    """
    require_quintic(schedule, "optax.contrib.muon")
    rows, fold_note = folded_rows(schedule, "()")
    lines = [
        "optax.contrib.muon accepts one triple or an (n, 3) tuple of tuples; it divides by ‖X‖_F + eps (no divisor).",
        "Extension: optax runs a tuple of tuples exactly once (ns_steps ≥ n is only checked, never used to repeat "
        "the last row); " + own_extension(schedule) + ".",
        "Usage: optax.contrib.muon(learning_rate, ns_coeffs=NS_COEFFS, ns_steps=NS_STEPS)",
    ]
    text = (
        list_header(schedule, "optax.contrib.muon", lines, fold_note, provenance)
        + list_literal("NS_COEFFS", rows, "(", ")")
        + f"NS_STEPS = {schedule.num_steps}\n"
    )
    return ExportResult(text, scaling_warnings(schedule, "optax"))


# --------------------------------------------------------------------------------------------------
# NVIDIA Emerging-Optimizers
# --------------------------------------------------------------------------------------------------


def render_emerging(schedule: Schedule, provenance: str) -> ExportResult:
    """A custom list for Emerging-Optimizers' lower-level `newton_schulz`, which cycles custom lists.

    emerging_optimizers.orthogonalized_optimizers.muon_utils.newton_schulz(x, steps,
    coefficient_type="custom", custom_coefficient_sets=[...]) (checked against 0.3.0) iterates custom
    lists in "cycle" mode: with steps > n, step n + 1 is row 1 again. Its optimizers take preset names only.
    It needs float32 input and divides by ‖x‖_F (F.normalize, eps clamp).
    """
    require_quintic(schedule, "Emerging-Optimizers' newton_schulz")
    rows, fold_note = folded_rows(schedule, "()")
    n = schedule.num_steps
    lines = [
        "Emerging-Optimizers' optimizers take preset names; a custom list goes through the lower-level function:",
        "  from emerging_optimizers.orthogonalized_optimizers.muon_utils import newton_schulz",
        "  newton_schulz(x, steps=NS_STEPS, coefficient_type=\"custom\", custom_coefficient_sets=CUSTOM_COEFFICIENT_SETS)",
        "x must be float32 (2-D, or 3-D batched); it is divided by ‖x‖_F with no divisor.",
        f"Extension: custom lists CYCLE: keep steps = {n}; with more, step {n + 1} is row 1 again (the last row is "
        "not repeated); " + own_extension(schedule) + ".",
    ]
    text = (
        list_header(schedule, "NVIDIA Emerging-Optimizers", lines, fold_note, provenance)
        + list_literal("CUSTOM_COEFFICIENT_SETS", rows, "[", "]")
        + f"NS_STEPS = {n}\n"
    )
    warning = (
        f"Emerging-Optimizers cycles custom coefficient lists: call newton_schulz with steps={n} (the list length); "
        f"more steps wrap around to row 1 instead of repeating the last row"
    )
    return ExportResult(text, (warning,) + scaling_warnings(schedule, "emerging-optimizers"))


# --------------------------------------------------------------------------------------------------
# Dao-AILab gram-newton-schulz
# --------------------------------------------------------------------------------------------------


EXPORT_PROXY = (64, 256)  # fp16 proxy the exported restart plan is designed on (1:4 like MLP matrices)
EXPORT_MIN_SIGMA = 1e-3


def render_gram(schedule: Schedule, provenance: str) -> ExportResult:
    """`ns_coefficients=[[a, b, c], …]` for Dao-AILab gram-newton-schulz (GramNewtonSchulz or its Muon).

    gram-newton-schulz (checked against 0.1.6) runs exactly one step per row, divides by ‖X‖_F + eps in
    fp32 and then iterates in fp16 on the Gram matrix X Xᵀ.
    """
    require_quintic(schedule, "gram-newton-schulz")
    rows, fold_note = folded_rows(schedule, "[]")

    plan = design_restarts(schedule.extended(len(rows)), "fp16", EXPORT_PROXY, EXPORT_MIN_SIGMA)
    dao = plan.baselines["dao_default"][1]
    lines = [
        "  from gram_newton_schulz import GramNewtonSchulz",
        "  orthogonalize = GramNewtonSchulz(",
        "      ns_coefficients=NS_COEFFICIENTS,",
        "      gram_newton_schulz_reset_iterations=GRAM_NEWTON_SCHULZ_RESET_ITERATIONS,",
        "      ns_use_kernels=False,  # plain pip install: no quack CUDA kernels (True needs them)",
        "  )  # on a CPU also pass compile_kwargs=None",
        "It divides by ‖X‖_F + eps (no divisor) and iterates in fp16 on the Gram matrix.",
        "Extension: it runs exactly one step per row and never repeats the last one; " + own_extension(schedule) + ".",
        "Restart plan by nsdesign: the fewest restarts keeping the fp16 Gram error (rounding model,",
        f"{EXPORT_PROXY[0]}x{EXPORT_PROXY[1]}, σ in [{EXPORT_MIN_SIGMA:g}, 1]) ≤ {plan.target:.3g}, 1.25× the fused kernel's:",
        f"error {plan.error:.3g}{'' if plan.met else ' (target NOT met: lowest found)'}; the package default [2]: {dao:.3g}.",
    ]
    text = list_header(schedule, "Dao-AILab gram-newton-schulz", lines, fold_note, provenance) + list_literal(
        "NS_COEFFICIENTS", rows, "[", "]"
    ) + f"GRAM_NEWTON_SCHULZ_RESET_ITERATIONS = {list(plan.restarts)}\n"
    return ExportResult(text, scaling_warnings(schedule, "gram-newton-schulz"))
