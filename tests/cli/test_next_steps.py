"""Every command ends with the next useful command (issue 24 deliver 2), and the hint never contradicts a failed
check: a design that fails its checks gets the step count that passes, never an export line."""

from __future__ import annotations

import shutil

import pytest

import nsdesign.laws
from nsdesign.cli.main import main


def _run(argv: list[str], capsys, monkeypatch, tmp_path) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert all(len(line) <= 80 for line in out.splitlines()), max(out.splitlines(), key=len)
    return out


def _last_block(out: str) -> str:
    """The lines from the last "next:" on (the hint is the report's end)."""
    lines = out.rstrip().splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith(("next:", "use:")))
    return "\n".join(lines[start:])


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["search", "--min-sigma", "1e-3"], "nsdesign export schedule.json --to"),
        (["search", "--min-sigma", "1e-3", "-o", "s.json"], "nsdesign export s.json --to"),
        (["search", "--min-sigma", "1e-3", "--tol", "0.01", "--shape", "4096x16384", "--degrees", "auto"],
         "nsdesign export schedule.json"),
        (["search", "--min-sigma", "1e-3", "--steps", "3", "--objective", "worst", "--trials", "2", "--refine", "none",
          "--storage", "memory", "--quiet"], "nsdesign export schedule.json"),
        (["search", "--min-sigma", "1e-3", "--normalize", "spectral", "--steps", "5", "-o", "n.json"],
         "nsdesign export n.json --to torch-muon --patch"),
        (["search", "--min-sigma", "1e-3", "--for", "optax"], "nsdesign export schedule.json --to optax"),
        (["export", "keller5", "--to", "optax", "-o", "k.py"], "use: from k import"),
        (["predict", "--model-size", "70e9", "--layer", "final.o"],
         "next: nsdesign search --model-size 7e10 --layer final.o --quantile 0.5"),
        (["predict", "--shape", "1024x4096"], "next: nsdesign search --min-sigma 0.0021"),
        (["evaluate", "keller5", "--min-sigma", "1e-3"], "nsdesign export keller5 --to torch-muon"),
        (["compare", "keller5", "cans5_eo", "polar_express_modded5", "--min-sigma", "1e-3"],
         "polar_express_modded5 is the most accurate safe row"),
        (["compare", "cans5_eo", "polar_express_eo8", "--min-sigma", "1e-3"], "none is safe above the band"),
        (["fit", "m.csv", "-o", "laws.json"], "next: nsdesign predict --laws laws.json"),
    ],
    ids=lambda v: " ".join(v[:4]) if isinstance(v, list) else None,
)
def test_every_command_ends_with_the_next_one(argv, expected, capsys, monkeypatch, tmp_path):
    shutil.copy(f"{nsdesign.laws.__path__[0]}/data/momentum_quantiles_2606.04058.csv", tmp_path / "m.csv")
    out = _run(argv, capsys, monkeypatch, tmp_path)
    assert expected in _last_block(out), out[-600:]


def test_a_failed_design_is_not_exported(capsys, monkeypatch, tmp_path):
    """The README's 70B example at its default 5 steps fails the safe default's check: one next line, the
    step count that passes, and no export command (it would contradict "do not paste it")."""
    out = _run(["search", "--model-size", "70e9", "--layer", "final.mlp_down", "--quantile", "0.9"], capsys,
               monkeypatch, tmp_path)
    block = _last_block(out)
    assert "NOT passed" in out and "--steps" in block and "export" not in block, block


def test_an_unsafe_evaluation_says_so_in_its_next_line(capsys, monkeypatch, tmp_path):
    out = _run(["evaluate", "cans5_eo", "--min-sigma", "1e-3"], capsys, monkeypatch, tmp_path)
    assert "bf16/fp16 targets refuse it" in _last_block(out)


def test_the_next_commands_run(capsys, monkeypatch, tmp_path):
    """The hints are commands that work: evaluate's export and compare lines, run as printed."""
    out = _run(["evaluate", "keller5", "--min-sigma", "1e-3"], capsys, monkeypatch, tmp_path)
    block = _last_block(out).splitlines()
    export = block[0].removeprefix("next: ").split("  (")[0].split()[1:]
    compare = block[-1].strip().split("  (")[0].split()[1:]
    assert main(export) == 0 and main(compare) == 0
