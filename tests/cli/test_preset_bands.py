"""Presets are accepted where a schedule is: the band comes from --min-sigma or the preset's published design band."""

from __future__ import annotations

from nsdesign.cli.main import main


def test_evaluate_a_preset_on_its_published_design_band(capsys):
    assert main(["evaluate", "polar_express_modded5"]) == 0
    out = capsys.readouterr().out
    assert "band [0.001, 1]" in out and "0.153353" in out  # its worst-case error on [1e-3, 1]


def test_a_preset_without_a_published_band_needs_min_sigma(capsys):
    assert main(["evaluate", "keller5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "keller5 has no published design band" in err[0] and "--min-sigma" in err[0]
