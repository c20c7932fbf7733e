"""Schedule files: the versioned JSON document that `search` writes and every command reads.

    {"schema_version": 1, "name": …, "coefficients": [[a, b, c], …], "degree": 5, "norm_div": 1.0,
     "extension": "exact", "band": {"min_sigma": …, "max_sigma": …}, "params": {…how it was made…},
     "metrics": {…exact metrics on the band…}, "nsdesign_version": "…"}

The coefficients apply in list order (row 0 first). Rows of mixed degree are padded with zeros to the
common width. `load_schedule` also accepts a preset name and Polar Express's own JSON
({"degree", "params", "coefficients"}).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from nsdesign._files import read_json, write_json_atomic
from nsdesign._version import __version__
from nsdesign.core.metrics import Metrics
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError

SCHEMA_VERSION = 1


def schedule_document(
    schedule: Schedule,
    band: tuple[float, float] | None = None,
    params: Mapping[str, Any] | None = None,
    metrics: Metrics | None = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    document.update(schedule.to_dict())
    document["band"] = None if band is None else {"min_sigma": band[0], "max_sigma": band[1]}
    document["params"] = dict(params or {})
    document["metrics"] = None if metrics is None else metrics.to_dict()
    document["nsdesign_version"] = __version__
    return document


def save_document(path: str | os.PathLike[str], document: Mapping[str, Any]) -> Path:
    return write_json_atomic(path, document)


def read_schedule_file(path: str | os.PathLike[str]) -> tuple[Schedule, dict[str, Any]]:
    document = read_json(path)
    where = str(path)
    if not isinstance(document, dict):
        raise InputError(f"{where}: expected a JSON object describing a schedule")
    version = document.get("schema_version")
    if version is None and {"degree", "coefficients"} <= document.keys():
        # Polar Express's own format carries no divisor: read as norm_div 1.0 unless a top-level one is given.
        return Schedule.from_dict(document, where), document
    if version != SCHEMA_VERSION:
        raise InputError(f"{where}: schema_version must be {SCHEMA_VERSION}, got {version!r}")
    return Schedule.from_dict(document, where), document


def load_schedule(reference: str) -> Schedule:
    """A preset name, or the path of a schedule JSON file."""
    from nsdesign.presets import preset, preset_names

    if reference in preset_names():
        return preset(reference)
    path = Path(reference)
    if path.suffix.lower() == ".json" or path.exists():
        schedule, document = read_schedule_file(path)
        return schedule if schedule.name else schedule.with_name(path.stem)
    raise InputError(f"{reference!r} is neither a preset name nor a schedule file; run `nsdesign presets` for names")
