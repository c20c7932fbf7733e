import hashlib
import json

import pytest

from nsdesign.core.metrics import worst_error
from nsdesign.errors import InputError
from nsdesign.presets import preset, preset_file_bytes, preset_info, preset_names

# sha256 of the published table as copied from the field data; a silent edit of any value fails here.
PUBLISHED_SHA256 = "e22bd01f2ab2903adc6bf8a968210d2cd84e962ea06cc260838c05180df602ca"

DOCUMENTED = [
    "keller5", "quintic5_leloykun_you", "leloykun7_feb2025", "youjiacheng6", "polar_express_paper8",
    "polar_express_eo8", "polar_express_modded5", "polar_express_pkg10", "polar_express_l1e-4_12",
    "polar_express_gns5", "cans5_eo", "deepseek_v4_10", "cubic5_eo", "aol4_dion", "aol4_eo", "su5",
]


def test_checksum_of_shipped_table():
    assert hashlib.sha256(preset_file_bytes()).hexdigest() == PUBLISHED_SHA256


def test_shipped_table_equals_field_data(shared_data):
    # the package must not read ../shared at run time, but its copy must equal the field data
    source = shared_data / "published_schedules.json"
    assert json.loads(source.read_bytes()) == json.loads(preset_file_bytes())


@pytest.mark.parametrize("name", DOCUMENTED)
def test_every_documented_name_resolves(name):
    info = preset_info(name)
    assert info.schedule.name == name and info.source
    raw = next(r for r in json.loads(preset_file_bytes())["presets"] if r["name"] == name)
    assert info.schedule.coefficients() == [[float(v) for v in row] for row in raw["steps"]]
    assert info.schedule.norm_div == raw["norm_div"]
    assert info.schedule.extension == ("repeat_last" if raw["repeat_last"] else "exact")


def test_names_are_exactly_the_documented_ones():
    assert list(preset_names()) == DOCUMENTED


def test_unknown_preset_lists_known_ones():
    with pytest.raises(InputError, match="keller5"):
        preset("keler5")


def test_nanochat_divisor_variant_differs():
    # the same list with norm_div 1.01 (nanochat) instead of 1.02 (modded-nanogpt) maps the band differently
    modded = preset("polar_express_modded5")
    nanochat = type(modded)(modded.steps, 1.01, modded.extension, "nanochat")
    assert worst_error(nanochat, 1e-3, 1.0) != worst_error(modded, 1e-3, 1.0)
