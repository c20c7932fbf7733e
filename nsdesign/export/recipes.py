"""Recipes (one schedule per parameter) for the consumers that can run a different schedule on each matrix.

Why: every optimizer in `core.consumers` takes one schedule for all its matrices (torch.optim.Muon's triple,
optax's and gram-newton-schulz's lists, dion's function); a recipe assigns one per layer, so only code that
looks the parameter up can run it. Two consumers can: `nsdesign.torch.Muon(model.named_parameters(),
recipe=FILE)` reads the recipe itself, and the `python` target writes the recipe as data for a user's own loop
(`SCHEDULES` by name, `LAYERS` parameter → schedule, `NORM_DIV`). Every other target is refused with those two
routes (`recipe_refusal`).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from nsdesign._files import read_json
from nsdesign._version import __version__
from nsdesign.core.schedule import Schedule
from nsdesign.documents import RECIPE_KIND, check_document, read_schedule_document
from nsdesign.errors import InputError
from nsdesign.export._common import ExportResult, comment_block, number, row_text
from nsdesign.export._wrap import fit_python

RECIPE_TARGETS: tuple[str, ...] = ("python",)  # export targets that take per-layer schedules
RECIPE_USAGE = "from {module} import LAYERS, NORM_DIV, SCHEDULES; rows = SCHEDULES[LAYERS[name]]"


def read_recipe(path: str | os.PathLike[str]) -> Mapping[str, Any] | None:
    """The recipe document at `path`, or None when it is not a recipe (a preset name, a schedule file)."""
    if not os.path.isfile(path):
        return None
    try:
        document = read_json(path)
    except InputError:
        return None
    return document if isinstance(document, Mapping) and document.get("kind") == RECIPE_KIND else None


def recipe_refusal(target: str) -> str:
    """Why `target` cannot take a recipe, and the two routes that can (one line)."""
    return (f"{target} takes one schedule for every matrix and a recipe has one per layer: use "
            "nsdesign.torch.Muon(model.named_parameters(), recipe=…) or the python target")


def export_recipe(document: Mapping[str, Any], target: str, provenance: str = "") -> ExportResult:
    """The recipe written for `target` (only `RECIPE_TARGETS`; InputError with `recipe_refusal` otherwise)."""
    if target not in RECIPE_TARGETS:
        raise InputError(recipe_refusal(target))
    check_document("recipe", dict(document), "recipe")
    schedules = {str(k): read_schedule_document(v, f"recipe: schedules[{k!r}]") for k, v in document["schedules"].items()}
    layers: dict[str, str] = {}
    for i, layer in enumerate(document["layers"]):
        if not isinstance(layer, Mapping) or layer.get("schedule") not in schedules or not isinstance(layer.get("name"), str):
            raise InputError(f"recipe: layers[{i}] needs a 'name' and a 'schedule' among the recipe's schedules")
        layers[layer["name"]] = layer["schedule"]
    return ExportResult(fit_python(_python(schedules, layers, provenance or "an nsdesign recipe")))


def _python(schedules: Mapping[str, Schedule], layers: Mapping[str, str], provenance: str) -> str:
    """SCHEDULES (rows of the odd polynomial's coefficients, applied in order), NORM_DIV and LAYERS as literals."""
    header = [
        f"Per-layer Newton–Schulz schedules (an nsdesign recipe), nsdesign {__version__}.",
        "Parameter `name` runs schedule s = LAYERS[name]:",
        "    X = X / (NORM_DIV[s] * ‖X‖_F + eps); then, row by row of SCHEDULES[s]:",
        "    X = row[0] X + row[1] (X Xᵀ) X + row[2] (X Xᵀ)² X + …  (0-padded)",
        f"{len(layers)} parameters, {len(schedules)} schedules; names as in model.named_parameters().",
        f"Provenance: {provenance}",
    ]
    out = [comment_block(header), "", "SCHEDULES = {"]
    for name, schedule in schedules.items():
        out.append(f"    {name!r}: [")
        out += [line for row in schedule.coefficients() for line in _row_lines(row)]
        out.append("    ],")
    out += ["}", "", "NORM_DIV = {"]
    out += [f"    {name!r}: {'None' if s.norm_div is None else number(s.norm_div)}," for name, s in schedules.items()]
    out += ["}", "", "LAYERS = {"]
    out += [f"    {name!r}: {schedule!r}," for name, schedule in layers.items()]
    out += ["}", ""]
    return "\n".join(out)


def _row_lines(row: Any, indent: str = " " * 8, width: int = 79) -> list[str]:
    """One coefficient row as a tuple literal, broken after a comma when it would pass `width` columns."""
    text = row_text(tuple(row)) + ","
    if len(indent) + len(text) <= width:
        return [indent + text]
    lines, current = [], indent + "("
    for item in text[1:-2].split(", "):
        piece = item + ","
        if len(current) + len(piece) + 1 > width and current.strip() not in ("", "("):
            lines.append(current.rstrip())
            current = indent + " "
        current += piece + " "
    lines.append(current.rstrip()[:-1] + "),")
    return lines
