"""Export a schedule in the form each consumer of Newton–Schulz coefficients accepts.

    from nsdesign.export import export
    result = export(schedule, "optax")        # ExportResult(text, warnings)

Every consumer runs the same iteration (see docs/background.md §1) but accepts it differently: one repeated
triple (torch.optim.Muon), a tuple of tuples (optax), a callable (microsoft/dion), a cycled custom list
(NVIDIA Emerging-Optimizers), an exact list (Dao-AILab gram-newton-schulz), a hard-coded Python list
(modded-nanogpt), or a JSON file (Polar Express). `TARGETS` is the table of them: what each accepts, what
it does past the end of the list, and the function that writes it. An export either reproduces the
schedule's map F exactly (folding norm_div into the first step where the consumer has no divisor) or
refuses with an `InputError` that says why and what to use instead.

No torch, jax or consumer import happens here: exports are text, and the generated code imports what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from nsdesign.core.consumers import consumer_form
from nsdesign.core.metrics import no_headroom
from nsdesign.core.normalizers import get
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError, unknown
from nsdesign.export import dion, gram_consumers, literals, torch_muon, triple_lists
from nsdesign.export import normalizers as with_normalizer
from nsdesign.export._common import ExportResult, comment_block, default_provenance
from nsdesign.export._wrap import fit_python
from nsdesign.presets import preset

Renderer = Callable[[Schedule, str], ExportResult]


@dataclass(frozen=True)
class Target:
    """One consumer: its name on the command line, what it accepts, and how to write for it."""

    name: str
    consumer: str
    accepts: str
    past_the_end: str  # what the consumer does when asked for more steps than the list has
    quintic_only: bool
    render: Renderer
    patch: Renderer | None = None  # an alternative that patches the consumer (torch-muon --patch)
    usage: str = ""  # how to use a written file; {module} is the file's module name (export -o prints it)
    patch_usage: str = ""


TARGETS: tuple[Target, ...] = (
    Target(
        "torch-muon",
        "torch.optim.Muon (PyTorch ≥ 2.9)",
        "one (a, b, c) triple + ns_steps; --patch: a module replacing its NS function with the per-step schedule",
        "repeats its one triple ns_steps times",
        True,
        torch_muon.render_kwargs,
        torch_muon.render_patch,
        usage="from {module} import muon_kwargs; torch.optim.Muon(params, lr=…, **muon_kwargs)",
        patch_usage="import {module}; {module}.install() before optimizer.step() (uninstall() undoes it)",
    ),
    Target(
        "optax",
        "optax.contrib.muon",
        "ns_coeffs as a triple or an (n, 3) tuple of tuples, with ns_steps ≥ n",
        "runs a tuple of tuples once; never repeats the last row",
        True,
        triple_lists.render_optax,
        usage="from {module} import NS_COEFFS, NS_STEPS; optax.contrib.muon(lr, ns_coeffs=NS_COEFFS, ns_steps=NS_STEPS)",
    ),
    Target(
        "dion",
        "microsoft/dion Muon",
        "a callable newton_schulz_func(X, epsilon)",
        "the generated function runs exactly the schedule",
        False,
        dion.render,
        usage="from {module} import newton_schulz_func; Muon(params, …, newton_schulz_func=newton_schulz_func)",
    ),
    Target(
        "emerging-optimizers",
        "NVIDIA Emerging-Optimizers",
        "preset names; a custom list only through muon_utils.newton_schulz(coefficient_type='custom')",
        "cycles custom lists (step n+1 is row 1)",
        True,
        triple_lists.render_emerging,
        usage="from {module} import CUSTOM_COEFFICIENT_SETS, NS_STEPS; newton_schulz(x, steps=NS_STEPS, coefficient_type='custom', custom_coefficient_sets=CUSTOM_COEFFICIENT_SETS)",
    ),
    Target(
        "gram-newton-schulz",
        "Dao-AILab gram-newton-schulz",
        "ns_coefficients as a list of [a, b, c], one step per row",
        "runs exactly the list",
        True,
        triple_lists.render_gram,
        usage="from {module} import NS_COEFFICIENTS, GRAM_NEWTON_SCHULZ_RESET_ITERATIONS; GramNewtonSchulz(ns_coefficients=…, gram_newton_schulz_reset_iterations=…)",
    ),
    Target(
        "python",
        "modded-nanogpt / nanochat style code",
        "a hard-coded Python list of tuples",
        "a loop over the list runs it exactly",
        False,
        literals.render_python,
        usage="from {module} import NS_COEFFICIENTS (or paste the list into your Newton–Schulz loop)",
    ),
    Target(
        "polar-express",
        "Polar Express (NoahAmsel/PolarExpress)",
        'JSON {"degree", "params", "coefficients"}',
        "carries the schedule's own extension rule",
        False,
        literals.render_polar_express,
        usage="load it with Polar Express's JSON reader (degree, params, coefficients)",
    ),
    Target(
        "deepspeed",
        "DeepSpeed Muon (ns_method='gram')",
        "ns_method only: its triple (3.4445, -4.775, 2.0315), 5 steps and restart before step 3 are hard-coded",
        "always runs its own 5 steps",
        True,
        gram_consumers.render_deepspeed,
        usage="see the comments at the top of the file: DeepSpeed takes only ns_method",
    ),
    Target(
        "transformer-engine",
        "NVIDIA TransformerEngine newton_schulz (cuSOLVERMp)",
        "coefficients as a list of (a, b, c) with len(list) == num_iterations",
        "runs exactly the list",
        True,
        gram_consumers.render_transformer_engine,
        usage="from {module} import NS_COEFFICIENTS, NUM_ITERATIONS; newton_schulz(x, ctx, NUM_ITERATIONS, NS_COEFFICIENTS)",
    ),
)


def target_names() -> tuple[str, ...]:
    return tuple(t.name for t in TARGETS)


def get_target(name: str) -> Target:
    for target in TARGETS:
        if target.name == name:
            return target
    raise unknown("export target", name, target_names(), more="see `nsdesign export -h`", label="targets")


@dataclass(frozen=True)
class HalfPrecisionRisk:
    """Why a schedule can diverge in a consumer: it runs Newton–Schulz in `dtype` (bf16 or fp16) and the
    schedule has no headroom just above the band (`reason`, from `core.metrics.no_headroom`)."""

    target: str
    dtype: str
    reason: str

    def __str__(self) -> str:
        return f"{self.reason}, so {self.target} (which runs it in {self.dtype}) can diverge"


def half_precision_risk(schedule: Schedule, target: str) -> HalfPrecisionRisk | None:
    """The risk of exporting `schedule` to `target`, or None: the consumer's precision is its `core.consumers`
    dtype. `nsdesign export` refuses such a schedule unless --force."""
    dtype = consumer_form(get_target(target).name).dtype
    reason = no_headroom(schedule, dtype)
    return None if reason is None else HalfPrecisionRisk(target, dtype, reason)


def export(
    schedule: Schedule,
    target: str,
    *,
    patch: bool = False,
    provenance: str | None = None,
    normalizer: object = None,
) -> ExportResult:
    """The schedule written for `target` (see `TARGETS`); `patch` picks torch-muon's patch module.

    `provenance` (one line: where the schedule came from) goes into the output's comments; by default it
    names nsdesign and the schedule. Raises InputError when the target cannot express the schedule.
    `normalizer` (a name or nsdesign.core.normalizers.Normalizer; None = Frobenius) is the one the schedule was
    designed for: optax gets `preconditioning=`, dion and the torch patch run it, the rest refuse
    (nsdesign.export.normalizers).
    """
    spec = get_target(target)
    if isinstance(schedule, str):  # a preset name, as everywhere else in the library

        schedule = preset(schedule)
    elif not isinstance(schedule, Schedule):
        raise InputError(f"export takes a Schedule or a preset name, got {type(schedule).__name__}")
    renderer = spec.render
    if patch:
        if spec.patch is None:
            with_patch = [t.name for t in TARGETS if t.patch is not None]
            raise InputError(f"`patch=True` applies only to {', '.join(with_patch)}, not to {target}")
        renderer = spec.patch
    safe = schedule.with_name(_one_line(schedule.name))
    norm = None
    if normalizer is not None:
        norm = get(normalizer)  # type: ignore[arg-type]
        where = f"{target} --patch" if patch else target
        with_normalizer.refuse(norm, where)
        norm.check_first_degree(schedule.steps[0].degree)
        if norm.name == "frobenius":
            norm = None
    result = renderer(safe, _one_line(provenance) if provenance else default_provenance(safe))
    if norm is not None:
        result = _with_normalizer(result, norm, target, patch)
    if spec.name == "polar-express":  # JSON: its one long string (the provenance) cannot be wrapped
        return result

    return replace(result, text=fit_python(result.text))


def _with_normalizer(result: ExportResult, norm: object, target: str, patch: bool) -> ExportResult:
    text = result.text
    if target == "optax":
        name = with_normalizer.OPTAX_NAMES[norm.name]  # type: ignore[attr-defined]
        usage = "ns_coeffs=NS_COEFFS, ns_steps=NS_STEPS)"
        text = text.replace(usage, "ns_coeffs=NS_COEFFS, ns_steps=NS_STEPS,\n#     preconditioning=PRECONDITIONING)")
        text = comment_block(with_normalizer.optax_lines(norm)) + "\n" + text + f'PRECONDITIONING = "{name}"\n'  # type: ignore[arg-type]
    elif target == "dion":
        text = with_normalizer.patch_module(text, norm, "Y", "epsilon", "(NORM_DIV * Y.norm(dim=(-2, -1), keepdim=True) + epsilon)")  # type: ignore[arg-type]
    elif target == "torch-muon" and patch:
        text = with_normalizer.patch_module(text, norm, "X", "eps", "(NORM_DIV * X.norm()).clamp(min=eps)")  # type: ignore[arg-type]
    return ExportResult(text, result.warnings)


def _one_line(text: str) -> str:
    """Names and provenance land in comments and docstrings: one line, nothing that closes a docstring, and no
    control character or lone surrogate (escaped as \\x1b, \\ud800: an ANSI escape in a name must not reach the
    terminal that shows the code, and a surrogate cannot be written as UTF-8)."""
    flat = " ".join(text.split()).replace('"""', "'''")
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in flat)


__all__ = ["ExportResult", "TARGETS", "Target", "export", "get_target", "target_names"]
