"""Turn what a user hands the runtime into `Schedule` objects: a Schedule, a preset name, a JSON file, a document,
or a recipe (per-parameter schedules by name).

Recipe document (written by `nsdesign` recipe tooling):

    {"schema_version": 1, "kind": "nsdesign-recipe",
     "schedules": {"early": {…schedule document…}, "late": {…}},
     "layers": [{"name": "blocks.0.attn.q.weight", "schedule": "early", …}, …]}

A layer's "schedule" names an entry of "schedules" (or, failing that, a preset). A plain mapping
{param name → schedule reference} is accepted too. Names match a parameter exactly, or with ".weight"
appended (module names), or as a shell-style pattern ("blocks.*.mlp_down").
"""

from __future__ import annotations

import fnmatch
import os
from typing import Any, Mapping, Union

from nsdesign._files import read_json
from nsdesign.core.schedule import Schedule
from nsdesign.documents import RECIPE_KIND, RECIPE_VERSION, check_document, load_schedule, read_schedule_document
from nsdesign.errors import InputError

ScheduleRef = Union[Schedule, str, "os.PathLike[str]", Mapping[str, Any]]


def as_schedule(reference: ScheduleRef, where: str = "schedule") -> Schedule:
    """A Schedule from a Schedule, a preset name, a schedule JSON path, or a schedule document (dict)."""
    if isinstance(reference, Schedule):
        return reference
    if isinstance(reference, Mapping):
        document = dict(reference)
        if "schema_version" in document:
            return read_schedule_document(document, where)
        return Schedule.from_dict(document, where)
    if isinstance(reference, (str, os.PathLike)):
        return load_schedule(os.fspath(reference))
    raise InputError(f"{where}: expected a Schedule, preset name, schedule file or document, got {type(reference).__name__}")


def load_recipe(recipe: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Schedule]:
    """{parameter name or pattern → Schedule} from a recipe file/document or a plain mapping."""
    document: Any = read_json(recipe) if isinstance(recipe, (str, os.PathLike)) else recipe
    where = os.fspath(recipe) if isinstance(recipe, (str, os.PathLike)) else "recipe"
    if not isinstance(document, Mapping):
        raise InputError(f"{where}: a recipe must be a JSON object, got {type(document).__name__}")
    if document.get("kind") != RECIPE_KIND:
        if "layers" in document or "kind" in document:
            raise InputError(f"{where}: expected kind {RECIPE_KIND!r}, got {document.get('kind')!r}")
        return {str(name): as_schedule(ref, f"{where}[{name!r}]") for name, ref in document.items()}
    if document.get("schema_version") != RECIPE_VERSION:
        raise InputError(f"{where}: recipe schema_version must be {RECIPE_VERSION}, got {document.get('schema_version')!r}")
    check_document("recipe", dict(document), where)
    named = document.get("schedules") or {}
    layers = document.get("layers")
    if not isinstance(named, Mapping) or not isinstance(layers, list):
        raise InputError(f"{where}: a recipe needs 'schedules' (an object) and 'layers' (a list)")
    schedules = {str(k): as_schedule(v, f"{where}: schedules[{k!r}]").with_name(str(k)) for k, v in named.items()}
    out: dict[str, Schedule] = {}
    for i, layer in enumerate(layers):
        if not isinstance(layer, Mapping) or not isinstance(layer.get("name"), str) or "schedule" not in layer:
            raise InputError(f"{where}: layers[{i}] needs a 'name' (parameter name) and a 'schedule'")
        ref = layer["schedule"]
        if isinstance(ref, str) and ref in schedules:
            out[layer["name"]] = schedules[ref]
        else:
            out[layer["name"]] = as_schedule(ref, f"{where}: layers[{i}]")
    return out


def match_recipe(recipe: Mapping[str, Schedule], names: list[str]) -> dict[str, Schedule]:
    """{parameter name → Schedule}; every recipe entry must match at least one parameter (typos are errors).

    Exact names (or name + ".weight") take precedence over patterns; among patterns the first listed wins.
    """
    out: dict[str, Schedule] = {}
    matched: set[str] = set()
    for key, schedule in recipe.items():
        for name in names:
            if name == key or name == f"{key}.weight":
                out[name] = schedule
                matched.add(key)
    for key, schedule in recipe.items():
        for name in names:
            if fnmatch.fnmatchcase(name, key):
                out.setdefault(name, schedule)
                matched.add(key)
    unmatched = [key for key in recipe if key not in matched]
    if unmatched:
        shown = ", ".join(repr(u) for u in unmatched[:3]) + (" …" if len(unmatched) > 3 else "")
        raise InputError(f"recipe entries match no parameter: {shown}; pass model.named_parameters() to the optimizer")
    return out
