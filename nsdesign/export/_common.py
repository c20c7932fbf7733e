"""Pieces every export shares: the result type, exact float text, norm_div folding, and refusals.

Nothing here imports torch, jax or any consumer: exports are text. Generated code may import them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nsdesign._version import __version__
from nsdesign.core.polynomial import OddPolynomial
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError


@dataclass(frozen=True)
class ExportResult:
    """What an export produces: the text to print or write, and warnings for stderr.

    Warnings are things the user must act on (the consumer cycles its list, the schedule was designed
    for another input scaling); facts about the conversion itself live as comments inside `text`.
    """

    text: str
    warnings: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------------------------------
# Numbers as text
# --------------------------------------------------------------------------------------------------


def number(value: float) -> str:
    """The shortest text that reads back as exactly `value` (repr), so exports lose no digit."""
    return repr(float(value))


def row_text(row: tuple[float, ...] | list[float], brackets: str = "()") -> str:
    """`(a, b, c)` or `[a, b, c]` with exact numbers."""
    open_, close = brackets
    body = ", ".join(number(v) for v in row)
    if open_ == "(" and len(row) == 1:
        body += ","  # (a) is a number in Python; (a,) is the one-element tuple
    return open_ + body + close


# --------------------------------------------------------------------------------------------------
# Steps in consumer form
# --------------------------------------------------------------------------------------------------


def folded_steps(schedule: Schedule) -> tuple[tuple[OddPolynomial, ...], str | None]:
    """The steps with norm_div folded into the first one, for consumers that divide by ‖X‖_F alone.

    p(x / s) has coefficients a/s, b/s³, c/s⁵, …, so running p₁(·/s) on X/‖X‖_F is exactly running p₁ on
    X/(s·‖X‖_F): the schedule's map F is unchanged (up to one rounding of each first-step coefficient).
    Returns the steps and a one-line note for a comment (None when there is nothing to fold).
    """
    s = schedule.input_scale
    if s == 1.0:
        return schedule.steps, None
    first = schedule.steps[0].input_scaled(s)
    note = (
        f"norm_div {number(s)} is folded into the first step (a/s, b/s³, c/s⁵ with s = {number(s)}), "
        f"which is exactly the same as dividing the input by {number(s)}·‖X‖_F"
    )
    return (first,) + schedule.steps[1:], note


def triples(steps: tuple[OddPolynomial, ...]) -> list[tuple[float, float, float]]:
    """(a, b, c) per step; cubic (and linear) steps get zeros in the missing places."""
    return [tuple(step.padded(5)) for step in steps]  # type: ignore[misc]


def require_quintic(schedule: Schedule, consumer: str) -> None:
    """Refuse steps of degree > 5 for consumers whose NS step is hard-wired to a X + (b A + c A²) X."""
    for i, step in enumerate(schedule.steps):
        if step.degree > 5:
            raise InputError(
                f"{consumer} runs quintic steps only (a, b, c), but step {i + 1} of "
                f"{schedule.name or 'this schedule'} has degree {step.degree}; export it to dion, python, "
                f"polar-express or torch-muon with `patch=True`, whose code handles any odd degree"
            )


# --------------------------------------------------------------------------------------------------
# Comments and warnings
# --------------------------------------------------------------------------------------------------


def label(schedule: Schedule) -> str:
    return f"'{schedule.name}'" if schedule.name else "(unnamed)"


def default_provenance(schedule: Schedule) -> str:
    return f"nsdesign {__version__}, schedule {label(schedule)}"


def describe(schedule: Schedule) -> str:
    """'5 steps, degrees 5,5,5,5,3' — the shape of a schedule in one phrase."""
    degrees = schedule.degrees
    shape = f"degree {degrees[0]}" if len(set(degrees)) == 1 else "degrees " + ",".join(map(str, degrees))
    plural = "step" if schedule.num_steps == 1 else "steps"
    return f"{schedule.num_steps} {plural}, {shape}"


def own_extension(schedule: Schedule) -> str:
    """The schedule's own extension rule, in words, for the 'Extension:' comment line."""
    if schedule.extension == "repeat_last":
        return "the schedule's own rule is repeat_last (more steps would repeat the last one)"
    return "the schedule's own rule is exact (the list is the whole schedule)"


def scaling_warnings(schedule: Schedule, target: str) -> tuple[str, ...]:
    """A schedule with norm_div null was designed for AOL row scaling, which no export reproduces."""
    if schedule.norm_div is not None:
        return ()
    return (
        f"{label(schedule)} was designed for AOL scaling (norm_div null); the {target} export divides by "
        f"‖X‖_F instead (norm_div 1), which is not the input its steps were designed for",
    )


def comment_block(lines: list[str], prefix: str = "# ") -> str:
    return "\n".join(prefix + line if line else prefix.rstrip() for line in lines)


# -- list consumers (optax, Emerging-Optimizers, gram-newton-schulz, TransformerEngine, DeepSpeed) ----------


def folded_rows(schedule: Schedule, brackets: str = "()") -> tuple[list[str], str | None]:
    """Folded (a, b, c) rows as exact text, one per step, plus the folding note."""
    steps, fold_note = folded_steps(schedule)
    return [row_text(t, brackets) for t in triples(steps)], fold_note


def list_literal(name: str, rows: list[str], open_: str, close: str) -> str:
    """`NAME = [` one row per line `]` (or with parentheses)."""
    return f"{name} = {open_}\n" + "".join(f"    {row},\n" for row in rows) + f"{close}\n"


def list_header(schedule: Schedule, consumer: str, lines: list[str], fold_note: str | None, provenance: str) -> str:
    """The comment block every list export opens with: what, for whom, the consumer's facts, folding, provenance."""
    head = [f"Newton–Schulz schedule {label(schedule)} for {consumer}, generated by nsdesign {__version__}."]
    head.append(f"Schedule: {describe(schedule)}; rows apply in list order (row 1 first).")
    head += lines
    if fold_note:
        head.append(fold_note + ".")
    head.append(f"Provenance: {provenance}")
    return comment_block(head) + "\n"
