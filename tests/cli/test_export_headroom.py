"""Exporting a schedule with no headroom to a bf16/fp16 consumer is refused (one line, exit 2) unless --force,
which exports it with a warning; a schedule with headroom, or an exact-arithmetic target, exports quietly."""

from __future__ import annotations

import pytest

from nsdesign.cli.main import main


@pytest.mark.parametrize("target, dtype", [("gram-newton-schulz", "fp16"), ("torch-muon", "bf16"), ("dion", "bf16"),
                                           ("emerging-optimizers", "bf16"), ("polar-express", "bf16")])
def test_no_headroom_to_a_half_precision_target_is_refused(capsys, tmp_path, target, dtype):
    out = tmp_path / "x.txt"
    argv = ["export", "cans5_eo", "--to", target, "-o", str(out)] + (["--patch"] if target == "torch-muon" else [])
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nsdesign: error: 'cans5_eo' has no headroom")
    assert dtype in err[0] and "--force" in err[0] and "Traceback" not in captured.err and len(err[0]) <= 80
    assert captured.out == "" and not out.exists()  # nothing written


def test_force_exports_with_a_warning(capsys, tmp_path):
    out = tmp_path / "x.py"
    assert main(["export", "cans5_eo", "--to", "gram-newton-schulz", "-o", str(out), "--force"]) == 0
    err = capsys.readouterr().err
    assert "nsdesign: warning: cans5_eo has no headroom" in err and "fp16" in err and "--force" in err
    assert all(len(line) <= 80 for line in err.splitlines())  # the warning is wrapped
    compile(out.read_text(), str(out), "exec")


def test_a_designed_file_without_headroom_is_refused_too(capsys, tmp_path):
    design = tmp_path / "bare.json"
    assert main(["search", "--min-sigma", "1e-3", "--exact", "-o", str(design)]) == 0
    capsys.readouterr()
    assert main(["export", str(design), "--to", "torch-muon", "--patch"]) == 2
    assert "no headroom" in capsys.readouterr().err
    assert main(["search", "--min-sigma", "1e-3", "-o", str(design)]) == 0  # the safe default has headroom
    capsys.readouterr()
    assert main(["export", str(design), "--to", "torch-muon", "--patch"]) == 0
    assert "headroom" not in capsys.readouterr().err


def test_headroom_exports_quietly(capsys):
    assert main(["export", "polar_express_modded5", "--to", "gram-newton-schulz"]) == 0
    assert "headroom" not in capsys.readouterr().err


def test_an_fp32_target_does_not_refuse(capsys):
    assert main(["export", "cans5_eo", "--to", "optax"]) == 0
    assert "headroom" not in capsys.readouterr().err


@pytest.mark.parametrize("flags", [[], ["--exact"], ["--tol", "0.01"]])
def test_the_export_command_search_suggests_runs(capsys, tmp_path, flags):
    import re
    import shlex

    from nsdesign.cli.main import invoke

    searched = invoke(["search", "--min-sigma", "1e-3", *flags, "-o", "d.json"], cwd=tmp_path)
    assert searched.returncode == 0
    hint = re.search(r"next: (nsdesign export .*?)  \(", searched.stdout).group(1)
    exported = invoke(shlex.split(hint)[1:], cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr


def test_a_long_schedule_name_still_refuses_in_80_columns(capsys, tmp_path):
    from nsdesign.documents import save_document
    from nsdesign.presets import preset

    path = tmp_path / "bare.json"
    save_document(str(path), {**preset("cans5_eo").with_name("an_unusually_long_schedule_name_x" * 3).to_dict()})
    assert main(["export", str(path), "--to", "gram-newton-schulz"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no headroom for fp16" in err[0] and len(err[0]) <= 80, err
