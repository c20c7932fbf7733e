"""Published Newton–Schulz schedules, by name, with where each came from.

The table is data (`published_schedules.json`, copied from the public sources named in every row;
see docs/background.md); this module only loads it. `PUBLISHED_SHA256` pins the file so that a silent
edit of a published value fails the tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from nsdesign.core.schedule import Schedule
from nsdesign.errors import unknown

PRESET_FILE = "published_schedules.json"


@dataclass(frozen=True)
class Preset:
    schedule: Schedule
    source: str
    note: str

    @property
    def name(self) -> str:
        return self.schedule.name


def preset_file_bytes() -> bytes:
    return resources.files(__name__).joinpath(PRESET_FILE).read_bytes()


@lru_cache(maxsize=1)
def _table() -> dict[str, Preset]:
    document = json.loads(preset_file_bytes())
    table: dict[str, Preset] = {}
    for row in document["presets"]:
        schedule = Schedule.from_coefficients(
            row["steps"],
            norm_div=row["norm_div"],
            extension="repeat_last" if row["repeat_last"] else "exact",
            name=row["name"],
        )
        table[row["name"]] = Preset(schedule, row["source"], row["note"])
    return table


def preset_names() -> tuple[str, ...]:
    return tuple(_table())


def preset_info(name: str) -> Preset:
    table = _table()
    if name not in table:
        raise unknown("preset", name, list(table), "see `nsdesign presets`", "known presets")
    return table[name]


def preset(name: str) -> Schedule:
    return preset_info(name).schedule


DESIGN_BANDS_FILE = "design_bands.json"


def design_band(name: str) -> tuple[float, float] | None:
    """The band a preset was designed for, where its source states one (design_bands.json), else None."""
    preset_info(name)  # unknown names fail as everywhere else
    data = json.loads(resources.files(__name__).joinpath(DESIGN_BANDS_FILE).read_bytes())
    row = data["bands"].get(name)
    return None if row is None else (float(row["min_sigma"]), float(row["max_sigma"]))
