"""Exporting a schedule with no headroom to a bf16/fp16 consumer warns; one with headroom does not."""

from __future__ import annotations

from nsdesign.cli.main import main


def test_no_headroom_to_a_bf16_target_warns(capsys):
    assert main(["export", "cans5_eo", "--to", "gram-newton-schulz"]) == 0
    err = capsys.readouterr().err
    assert "cans5_eo has no headroom" in err and "fp16" in err


def test_headroom_exports_quietly(capsys):
    assert main(["export", "polar_express_modded5", "--to", "gram-newton-schulz"]) == 0
    assert "headroom" not in capsys.readouterr().err


def test_exact_targets_do_not_warn(capsys):
    assert main(["export", "cans5_eo", "--to", "polar-express"]) == 0
    assert "headroom" not in capsys.readouterr().err
