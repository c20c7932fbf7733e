import hashlib
import json

import pytest

from nsdesign.core.metrics import worst_error
from nsdesign.errors import InputError
from nsdesign.presets import preset, preset_file_bytes, preset_info, preset_names

# sha256 of the shipped table (nsdesign/presets/published_schedules.json); a silent edit of any byte fails here.
PUBLISHED_SHA256 = "e22bd01f2ab2903adc6bf8a968210d2cd84e962ea06cc260838c05180df602ca"

# The published values themselves, typed from their sources (steps, norm_div, first row, last row): an edit
# of the shipped table that changed a published number fails here even if someone also updated the checksum.
PUBLISHED = {
    # KellerJordan/Muon muon.py; torch.optim.Muon default
    'keller5': (5, 1.0,
        (3.4445, -4.775, 2.0315),
        (3.4445, -4.775, 2.0315)),
    # modded-nanogpt records/track_2_medium/2025-02-14_OptCoeffs
    'quintic5_leloykun_you': (5, 1.0,
        (4.0848, -6.8946, 2.927),
        (2.8366, -3.0525, 1.2012)),
    # modded-nanogpt records/021425_GPT2MediumOptCoeffs
    'leloykun7_feb2025': (7, 1.0,
        (3.9268, -4.0578, 1.1311),
        (2.8648, -2.8872, 1.0225)),
    # Su Jianlin, kexue.fm/archives/10922
    'youjiacheng6': (6, 1.0,
        (3.8623046875, -8.111328125, 4.890625),
        (2.12109375, -1.7900390625, 0.666015625)),
    # NoahAmsel/PolarExpress polar_express/basic.py
    'polar_express_paper8': (8, 1.01,
        (8.205160414005574, -22.90193498705605, 16.460724910180314),
        (1.875, -1.25, 0.375)),
    # NVIDIA-NeMo/Emerging-Optimizers muon_utils.py 'polar_express'
    'polar_express_eo8': (8, 1.0,
        (8.2051, -22.9019, 16.4607),
        (1.875, -1.25, 0.375)),
    # KellerJordan/modded-nanogpt train_gpt.py
    'polar_express_modded5': (5, 1.02,
        (8.156554524902461, -22.48329292557795, 15.878769915207462),
        (2.3465413258596377, -1.7097828382687081, 0.42323551169305323)),
    # NoahAmsel/PolarExpress package
    'polar_express_pkg10': (10, 1.01,
        (8.237312490495555, -23.157747414558184, 16.6805684114459),
        (1.8749954775630113, -1.2499909551478385, 0.3749954775848273)),
    # NoahAmsel/PolarExpress package, l = 1e-4
    'polar_express_l1e-4_12': (12, 1.01,
        (8.26826761617386, -23.244772276425607, 16.74325258084675),
        (1.8749954776600513, -1.2499909553419175, 0.3749954776818662)),
    # Dao-AILab/gram-newton-schulz POLAR_EXPRESS_COEFFICIENTS
    'polar_express_gns5': (5, 1.0,
        (7.892582874424408, -20.38301394587957, 13.555306149406924),
        (2.1910971618617303, -1.441662010214663, 0.328146487623155)),
    # NVIDIA-NeMo/Emerging-Optimizers 'cans' (arXiv 2506.10935)
    'cans5_eo': (5, 1.0,
        (8.4703, -25.1081, 18.6293),
        (2.2737, -1.6447, 0.4162)),
    # DeepSeek-V4 report (quoted in microsoft/dion#66)
    'deepseek_v4_10': (10, 1.0,
        (3.4445, -4.775, 2.0315),
        (2.0, -1.5, 0.5)),
    # NVIDIA-NeMo/Emerging-Optimizers 'cubic5' (arXiv 2606.00371)
    'cubic5_eo': (5, 1.0,
        (3.3656576, -3.3420992, 0.0),
        (2.2230472, -0.963065, 0.0)),
    # microsoft/dion newton_schulz_triton_fast
    'aol4_dion': (4, None,
        (4.6051, -9.6552, 5.6769),
        (2.4231, -2.2861, 0.8193)),
    # NVIDIA-NeMo/Emerging-Optimizers 'aol'
    'aol4_eo': (4, None,
        (4.0098, -7.0585, 2.4635),
        (2.7215, -3.0494, 1.3169)),
    # Su Jianlin, kexue.fm/archives/10922
    'su5': (5, 1.0,
        (4.6182, -12.9582, 9.3299),
        (3.2978, -5.7848, 3.8917)),
}

DOCUMENTED = [
    "keller5", "quintic5_leloykun_you", "leloykun7_feb2025", "youjiacheng6", "polar_express_paper8",
    "polar_express_eo8", "polar_express_modded5", "polar_express_pkg10", "polar_express_l1e-4_12",
    "polar_express_gns5", "cans5_eo", "deepseek_v4_10", "cubic5_eo", "aol4_dion", "aol4_eo", "su5",
]


def test_checksum_of_shipped_table():
    assert hashlib.sha256(preset_file_bytes()).hexdigest() == PUBLISHED_SHA256


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_shipped_table_holds_the_published_values(name):
    steps, norm_div, first, last = PUBLISHED[name]
    schedule = preset(name)
    assert len(schedule.coefficients()) == steps and schedule.norm_div == norm_div
    assert tuple(schedule.coefficients()[0]) == first and tuple(schedule.coefficients()[-1]) == last


def test_modded_nanogpt_list_in_full():
    # KellerJordan/modded-nanogpt train_gpt.py (polar_express_coeffs), the most copied designed list
    assert preset("polar_express_modded5").coefficients() == [
        [8.156554524902461, -22.48329292557795, 15.878769915207462],
        [4.042929935166739, -2.808917465908714, 0.5000178451051316],
        [3.8916678022926607, -2.772484153217685, 0.5060648178503393],
        [3.285753657755655, -2.3681294933425376, 0.46449024233003106],
        [2.3465413258596377, -1.7097828382687081, 0.42323551169305323],
    ]


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


def test_design_bands_are_those_the_sources_state():
    from nsdesign.presets import design_band

    assert design_band("polar_express_modded5") == (1e-3, 1.0)  # optimal_composition(l=1e-3, …)
    assert design_band("polar_express_l1e-4_12") == (1e-4, 1.0)
    assert design_band("keller5") is None  # tuned without a stated band
    with pytest.raises(InputError):
        design_band("keler5")
