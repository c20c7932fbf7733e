"""Every JSON document nsdesign writes or reads, in one place: its kind, its version, its writer and its reader.

| kind | `kind` field | version | writer | reader |
|---|---|---|---|---|
| schedule | "nsdesign-schedule" | 2 (1 still read) | `schedule_document` | `read_schedule_document`, `read_schedule_file` |
| recipe | "nsdesign-recipe" | 1 | `plans.recipe.Recipe.document` (calls `header`) | `check_document("recipe", …)` (torch._resolve) |
| laws | "nsdesign-laws" | 1 | `laws.momentum.LawTable.document` | `check_document("laws", …)` (laws.momentum) |
| pareto | "nsdesign-pareto" | 1 | `search.pareto.ParetoResult.document` | `check_document("pareto", …)` (plot.frontier) |
| validation | "nsdesign-validation" | 1 | `torch.validate.Report.to_dict` | `check_document("validation", …)` |
| capture | "nsdesign-capture" | 1 | `torch.capture.capture` (capture.json) | `check_document("capture", …)` |

Each kind has a JSON Schema shipped in `nsdesign/schemas/<kind>.schema.json` (`schema(kind)`). Readers check a
document against it with `check_document`, a small validator for the part of JSON Schema those files use (type,
enum, const, required, properties, items, minItems/maxItems, minimum/maximum/exclusiveMinimum), so reading a file
needs no extra dependency; the tests check the same documents with the reference `jsonschema` package.

The schedule document moved to version 2 once, with optional fields for what the normalizer and kernel work adds
(`normalizer`, `kernel`, `dtype`, `checked_for`, `consumer`, `band.guard_sigma`); further optional fields need no new version.
A diverged number (±inf) is written as the string "inf" / "-inf" (NaN as "nan") by `json_number`, the one encoder.
"""

from __future__ import annotations

import difflib
import json
import math
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

from nsdesign._files import json_number, read_json, shown, write_json_atomic  # noqa: F401  (json_number: re-exported)
from nsdesign._version import __version__
from nsdesign.core.band import Band, as_band
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.presets import design_band, preset, preset_names

SCHEDULE_VERSION = 2
SCHEDULE_VERSIONS_READ: tuple[int, ...] = (1, 2)
SCHEDULE_KIND = "nsdesign-schedule"
RECIPE_KIND, RECIPE_VERSION = "nsdesign-recipe", 1
LAWS_KIND, LAWS_VERSION = "nsdesign-laws", 1
PARETO_KIND, PARETO_VERSION = "nsdesign-pareto", 1
VALIDATION_KIND, VALIDATION_VERSION = "nsdesign-validation", 1
CAPTURE_KIND, CAPTURE_VERSION, CAPTURE_FORMAT = "nsdesign-capture", 1, "nsdesign-capture/1"

KINDS: dict[str, tuple[str, int]] = {
    "schedule": (SCHEDULE_KIND, SCHEDULE_VERSION),
    "recipe": (RECIPE_KIND, RECIPE_VERSION),
    "laws": (LAWS_KIND, LAWS_VERSION),
    "pareto": (PARETO_KIND, PARETO_VERSION),
    "validation": (VALIDATION_KIND, VALIDATION_VERSION),
    "capture": (CAPTURE_KIND, CAPTURE_VERSION),
}
OPTIONAL_SCHEDULE_FIELDS: tuple[str, ...] = ("normalizer", "kernel", "dtype", "checked_for", "consumer")


# --------------------------------------------------------------------------------------------------
# Numbers and headers
# --------------------------------------------------------------------------------------------------


def read_number(value: Any) -> Any:
    """The inverse of `json_number` for one value."""
    if value in ("inf", "Infinity"):
        return math.inf
    if value in ("-inf", "-Infinity"):
        return -math.inf
    if value == "nan":
        return math.nan
    return value


def header(kind: str) -> dict[str, Any]:
    """{"schema_version": …, "kind": …} for a document of `kind` (the first keys every writer puts down)."""
    name, version = KINDS[kind]
    return {"schema_version": version, "kind": name}


# --------------------------------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _schema_text(kind: str) -> str:
    if kind not in KINDS:
        raise InputError(f"unknown document kind {kind!r}; choose from {', '.join(KINDS)}")
    return resources.files("nsdesign").joinpath("schemas", f"{kind}.schema.json").read_text(encoding="utf-8")


def schema(kind: str) -> dict[str, Any]:
    """The shipped JSON Schema of a document kind (a fresh copy)."""
    return json.loads(_schema_text(kind))


def schema_path(kind: str) -> Path:
    """Where the schema file of `kind` lies in the installed package."""
    _schema_text(kind)
    return Path(str(resources.files("nsdesign").joinpath("schemas", f"{kind}.schema.json")))


def check_document(kind: str, document: Any, where: str = "document") -> dict[str, Any]:
    """`document` if it satisfies the schema of `kind`; else InputError naming the first wrong field."""
    _check(schema(kind), document, where, "")
    return document


_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _check(rule: Mapping[str, Any], value: Any, where: str, at: str) -> None:
    place = f"{where}: {at or 'the document'}"
    types = rule.get("type")
    if types is not None:
        allowed = [types] if isinstance(types, str) else list(types)
        if not any(_TYPES[t](value) for t in allowed):
            raise InputError(f"{place} must be {' or '.join(allowed)}, got {_describe(value)}")
        if value is None:
            return
    if "const" in rule and value != rule["const"]:
        raise InputError(f"{place} must be {rule['const']!r}, got {value!r}")
    if "enum" in rule and value not in rule["enum"]:
        raise InputError(f"{place} must be one of {', '.join(repr(v) for v in rule['enum'])}, got {value!r}")
    if _TYPES["number"](value):
        if "minimum" in rule and value < rule["minimum"]:
            raise InputError(f"{place} must be ≥ {rule['minimum']}, got {value}")
        if "maximum" in rule and value > rule["maximum"]:
            raise InputError(f"{place} must be ≤ {rule['maximum']}, got {value}")
        if "exclusiveMinimum" in rule and value <= rule["exclusiveMinimum"]:
            raise InputError(f"{place} must be > {rule['exclusiveMinimum']}, got {value}")
    if isinstance(value, dict):
        for key in rule.get("required", ()):
            if key not in value:
                raise InputError(f"{place} needs the field {key!r}")
        for key, sub in rule.get("properties", {}).items():
            if key in value:
                _check(sub, value[key], where, f"{at}.{key}" if at else key)
    if isinstance(value, list):
        if "minItems" in rule and len(value) < rule["minItems"]:
            raise InputError(f"{place} needs at least {rule['minItems']} item(s), got {len(value)}")
        if "maxItems" in rule and len(value) > rule["maxItems"]:
            raise InputError(f"{place} takes at most {rule['maxItems']} item(s), got {len(value)}")
        if "items" in rule:
            for i, item in enumerate(value):
                _check(rule["items"], item, where, f"{at}[{i}]")


def _describe(value: Any) -> str:
    text = json.dumps(value)[:40] if not isinstance(value, str) else repr(value[:40])
    return f"{type(value).__name__} {text}"


# --------------------------------------------------------------------------------------------------
# Schedule documents
# --------------------------------------------------------------------------------------------------


def schedule_document(
    schedule: Schedule,
    band: Band | tuple[float, float] | None = None,
    params: Mapping[str, Any] | None = None,
    metrics: Any = None,
    *,
    normalizer: str | Mapping[str, Any] | None = None,
    kernel: str | None = None,
    dtype: str | None = None,
    checked_for: list[Mapping[str, Any]] | None = None,
    consumer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The version-2 schedule document. The optional fields are written only when given."""
    document: dict[str, Any] = header("schedule")
    document.update(schedule.to_dict())
    document["band"] = None if band is None else as_band(band).to_dict()
    extras = {"normalizer": normalizer, "kernel": kernel, "dtype": dtype, "checked_for": checked_for,
              "consumer": consumer}
    for key, value in extras.items():
        if value is not None:
            document[key] = dict(value) if isinstance(value, Mapping) else (
                [dict(v) for v in value] if isinstance(value, list) else value
            )
    document["params"] = dict(params or {})
    document["metrics"] = None if metrics is None else metrics.to_dict()
    document["nsdesign_version"] = __version__
    return document


def read_schedule_document(document: Any, where: str = "schedule") -> Schedule:
    """The Schedule of a schedule document (version 1 or 2), checked against the shipped schema.

    Also accepted: Polar Express's own JSON ({"degree", "params", "coefficients"}, no schema_version), read
    with norm_div 1.0 unless a top-level one is given.
    """
    if not isinstance(document, dict):
        raise InputError(f"{where}: expected a JSON object describing a schedule")
    if document.get("kind") == RECIPE_KIND:  # the most common mix-up: a recipe holds one schedule per layer
        raise InputError(
            f"{where} is a recipe (a schedule per layer), not one schedule: run it with "
            "nsdesign.torch.Muon(params, recipe=FILE), or design one layer with `nsdesign search`"
        )
    version = document.get("schema_version")
    if version is None and {"degree", "coefficients"} <= document.keys():
        return Schedule.from_dict(document, where)
    if not _is_version(version) or version not in SCHEDULE_VERSIONS_READ:
        raise InputError(
            f"{where}: schema_version must be one of {', '.join(map(str, SCHEDULE_VERSIONS_READ))}, got {version!r}"
        )
    schedule = Schedule.from_dict(document, where)  # the coefficient rows first: its messages are the precise ones
    check_document("schedule", document, where)
    return schedule


def _is_version(value: Any) -> bool:
    """Whether a schema_version is an integer: `true` == 1 and `2.0` == 2 in Python, but neither is a version."""
    return isinstance(value, int) and not isinstance(value, bool)


def document_band(document: Mapping[str, Any], where: str = "schedule") -> Band | None:
    """The band a schedule document records (None when it records none)."""
    band = document.get("band")
    return None if not band else Band.from_dict(band, f"{where}: band")


def read_schedule_file(path: str | os.PathLike[str]) -> tuple[Schedule, dict[str, Any]]:
    """(Schedule, the whole document) from a schedule JSON file."""
    document = read_json(path)
    return read_schedule_document(document, str(path)), document


def save_document(path: str | os.PathLike[str], document: Mapping[str, Any]) -> Path:
    """Write any document atomically (a reader sees the old file or the whole new one)."""
    return write_json_atomic(path, document)


def load_schedule(reference: str) -> Schedule:
    """A preset name, or the path of a schedule JSON file."""
    if reference in preset_names():
        return preset(reference)
    if not isinstance(reference, str):
        raise InputError(f"a schedule is a preset name or a schedule file path, got {type(reference).__name__}")
    path = Path(reference)
    if path.suffix.lower() == ".json" or os.path.lexists(reference):  # os.path: False, not OSError, for a too-long name
        schedule, _ = read_schedule_file(path)
        return schedule if schedule.name else schedule.with_name(path.stem)
    close = difflib.get_close_matches(reference, preset_names(), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise InputError(f"{shown(reference)!r} is not a preset or a schedule file{hint} (see `nsdesign presets`)")


def recorded_band(reference: str) -> dict[str, float] | None:
    """The band a schedule was designed for, or None: a preset's published design band (presets/design_bands.json),
    or the `band` a schedule file records (with its `guard_sigma` where a guarded design records one).

    Commands measure a schedule on this band when no --min-sigma is given, so a preset or a saved design is
    judged on the problem it was made for rather than on a band the user has to look up.
    """
    if reference in preset_names():
        published = design_band(reference)
        return None if published is None else {"min_sigma": published[0], "max_sigma": published[1]}
    if not reference.lower().endswith(".json"):
        return None
    band = read_schedule_file(reference)[1].get("band")
    if not isinstance(band, dict) or band.get("min_sigma") is None or band.get("max_sigma") is None:
        return None
    return {k: float(band[k]) for k in ("min_sigma", "max_sigma", "guard_sigma") if band.get(k) is not None}


def common_design_band(references: Sequence[str]) -> dict[str, float]:
    """The one design band all `references` share (see `recorded_band`), for comparing them without a given band.

    A schedule without a band, or schedules designed for different bands, are refused: a comparison on a band
    chosen for only some of them would silently favour those.
    """
    bands = [(ref, recorded_band(ref)) for ref in references]
    missing = [ref for ref, band in bands if band is None]
    if missing:
        what = (f"preset {missing[0]} has no published design band" if missing[0] in preset_names()
                else f"the schedule file {missing[0]} records no band")
        raise InputError(f"give min_sigma: {what} (e.g. min_sigma 1e-3)")
    edges = {(band["min_sigma"], band["max_sigma"]) for _, band in bands}
    if len(edges) > 1:
        listed = ", ".join(f"{ref} [{band['min_sigma']:g}, {band['max_sigma']:g}]" for ref, band in bands)
        raise InputError(f"give min_sigma: the design bands differ ({listed})")
    return bands[0][1]  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------------
# The other kinds: header checks shared by their readers
# --------------------------------------------------------------------------------------------------


def check_kind(kind: str, document: Any, where: str) -> dict[str, Any]:
    """`document` if its kind and version are those of `kind` and it satisfies that kind's schema."""
    name, version = KINDS[kind]
    if not isinstance(document, dict):
        raise InputError(f"{where}: expected a JSON object ({name})")
    if document.get("kind") != name:
        raise InputError(f"{where}: expected kind {name!r}, got {document.get('kind')!r}")
    found = document.get("schema_version", version if kind == "capture" else None)  # capture.json v1 had none
    if not _is_version(found) or found != version:
        raise InputError(f"{where}: {kind} schema_version must be {version}, got {found!r}")
    return check_document(kind, document, where)
