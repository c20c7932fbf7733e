"""Presets are accepted where a schedule is: the band comes from --min-sigma or the preset's published design band."""

from __future__ import annotations

import json

from nsdesign.cli.main import main


def test_evaluate_a_preset_on_its_published_design_band(capsys):
    assert main(["evaluate", "polar_express_modded5"]) == 0
    out = capsys.readouterr().out
    assert "band [0.001, 1]" in out and "0.153353" in out  # its worst-case error on [1e-3, 1]


def test_a_preset_without_a_published_band_needs_min_sigma(capsys):
    assert main(["evaluate", "keller5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "keller5 has no published design band" in err[0] and "--min-sigma" in err[0]


def test_compare_presets_on_their_common_design_band(capsys):
    """No --min-sigma: the band the presets were all designed for, the same figures as giving it."""
    assert main(["compare", "polar_express_modded5", "cans5_eo", "--json"]) == 0
    derived = json.loads(capsys.readouterr().out)
    assert main(["compare", "polar_express_modded5", "cans5_eo", "--min-sigma", "1e-3", "--json"]) == 0
    assert derived == json.loads(capsys.readouterr().out)
    assert {(row["min_sigma"], row["max_sigma"]) for row in derived} == {(1e-3, 1.0)}
    assert main(["compare", "polar_express_modded5", "cans5_eo"]) == 0
    assert "Band [0.001, 1] (their design band)" in capsys.readouterr().out


def test_compare_takes_a_design_file_band_with_presets(tmp_path, capsys):
    path = tmp_path / "d.json"
    assert main(["search", "--min-sigma", "1e-3", "--exact", "-o", str(path)]) == 0
    capsys.readouterr()
    assert main(["compare", "polar_express_pkg10", str(path), "--json"]) == 0
    assert {row["min_sigma"] for row in json.loads(capsys.readouterr().out)} == {1e-3}
    other = tmp_path / "e.json"
    assert main(["search", "--min-sigma", "1e-2", "--exact", "-o", str(other)]) == 0
    capsys.readouterr()
    assert main(["compare", str(path), str(other)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "design bands differ" in err[0] and "[0.01, 1]" in err[0] and "--min-sigma" in err[0]


def test_compare_refuses_a_preset_without_a_band_when_no_band_is_given(capsys):
    assert main(["compare", "polar_express_modded5", "keller5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "keller5 has no published design band" in err[0] and "--min-sigma" in err[0]
    assert capsys.readouterr().out == ""
    assert main(["compare", "polar_express_modded5", "keller5", "--min-sigma", "1e-3"]) == 0
