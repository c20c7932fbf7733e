"""Every command's default output fits an 80-column terminal (rendered in-process with COLUMNS=80)."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from nsdesign.cli.main import main

# `export` prints source code, byte for byte what `-o` writes; its Python fits 79 columns (tests/export/test_wrap.py
# checks every target); polar-express is JSON, whose one long string (the provenance) cannot be wrapped.
# Each command in the quick form of what the README shows (the full runs take minutes; width does not depend on it).
COMMANDS = [
    ["search", "--min-sigma", "1e-3"],
    ["search", "--min-sigma", "1e-3", "--exact"],
    ["search", "--min-sigma", "1e-3", "--tol", "0.01", "--shape", "4096x16384", "--degree", "auto"],
    ["search", "--model-size", "70e9", "--layer", "final.mlp_down", "--quantile", "0.9"],
    ["evaluate", "keller5", "--min-sigma", "1e-3", "--tol", "0.3"],
    ["compare", "keller5", "cans5_eo", "polar_express_l1e-4_12", "aol4_eo", "polar_express_eo8", "--min-sigma", "1e-3",
     "--shape", "1024x4096", "--tol", "0.3"],
    ["presets"],
    ["presets", "show", "polar_express_modded5"],
    ["search", "--min-sigma", "1e-3", "--tol", "0.01", "--shape", "4096x16384", "--degrees", "auto"],
    ["search", "--min-sigma", "1e-3", "--degrees", "9,9,9", "--exact"],
    ["predict", "--shape", "8192x32768", "--quantile", "0.9"],
    # `recipe --model-size 70e9 --tol 0.3 --quiet` is checked at 80 columns by the test below (NATURAL)
    ["validate", "keller5", "cans5_eo", "polar_express_l1e-4_12", "--source", "gaussian:32x64", "--source",
     "spectrum:logu:1e-3:16x48", "--dtype", "fp32", "--repeats", "1"],
    ["predict", "--model-size", "70e9", "--layer", "final.o", "--quantile", "0.5"],
    ["evaluate", "polar_express_modded5", "--latex"],
    ["export", "polar_express_l1e-4_12", "--to", "torch-muon", "--patch"],
    ["export", "polar_express_l1e-4_12", "--to", "dion"],
    ["export", "keller5", "--to", "torch-muon"],
    ["export", "polar_express_modded5", "--to", "gram-newton-schulz"],
    ["export", "polar_express_modded5", "--to", "optax"],
    ["export", "polar_express_modded5", "--to", "emerging-optimizers"],
    ["export", "polar_express_modded5", "--to", "python"],
]


def _cases(commands):
    """A 70B recipe designs and bf16-checks 24 layer groups (4-8 s here): slow, so the inner loop skips it."""
    return [pytest.param(c, id=" ".join(c), marks=[pytest.mark.slow] if c[0] == "recipe" else []) for c in commands]


def _widest(text: str) -> int:
    return max((cell_len(line.rstrip()) for line in text.splitlines()), default=0)


@pytest.mark.parametrize("argv", _cases(COMMANDS))
def test_default_output_fits_80_columns(argv, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.strip()
    assert _widest(out) <= 80, out


def test_wide_gives_the_full_table(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["compare", "keller5", "cans5_eo", "--min-sigma", "1e-3", "--wide"]) == 0
    out = capsys.readouterr().out
    assert "min F" in out and "overshoot" in out and _widest(out) > 80


def test_search_puts_the_design_first_and_says_what_next(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["search", "--min-sigma", "1e-3"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["designed"], ["keller5"])]
    assert rows[0][0] == "designed"  # the design is the comparison's first row
    assert "◂" in next(r for r in rows if r[0] == "keller5")  # keller5 (0.529 at 15 matmuls) is beaten
    assert "-o schedule.json" in out and "export schedule.json --to torch-muon" in out
    assert "inf overshoot" in out  # polar_express_eo8's inf is explained


def test_poor_error_suggests_a_tolerance(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["search", "--model-size", "70e9", "--layer", "final.mlp_down", "--quantile", "0.9", "--exact"]) == 0
    out = capsys.readouterr().out
    assert "WARNING: max|1−F|" in out and "--tol 0.3" in out


# Default output whose lines are short by design, not because rich wraps or truncates them to the terminal: on a
# 200-column terminal it is still ≤ 80 columns, and at 80 no cell is cut to "…".
NATURAL = [
    ["search", "--min-sigma", "1e-3"],
    ["search", "--min-sigma", "1e-3", "--exact"],
    ["evaluate", "keller5", "--min-sigma", "1e-3", "--tol", "0.3"],
    ["compare", "keller5", "cans5_eo", "--min-sigma", "1e-3", "--shape", "1024x4096"],
    ["presets"],
    ["predict", "--shape", "8192x32768", "--quantile", "0.9"],
    ["recipe", "--model-size", "70e9", "--tol", "0.3", "--quiet"],
    ["fit", "measurements.csv", "-o", "laws.json"],
    ["presets", "show", "polar_express_modded5"],
    ["search", "--min-sigma", "1e-3", "--steps", "5", "--objective", "worst", "--trials", "2", "--refine", "none",
     "--quiet"],
]


@pytest.mark.parametrize("argv", _cases(NATURAL))
def test_default_output_is_short_by_design(argv, capsys, monkeypatch, tmp_path, shared_recipes):
    import shutil

    import nsdesign.laws

    shutil.copy(f"{nsdesign.laws.__path__[0]}/data/momentum_quantiles_2606.04058.csv", tmp_path / "measurements.csv")
    monkeypatch.chdir(tmp_path)  # short file names, as a user types them
    monkeypatch.setenv("COLUMNS", "200")
    assert main(argv) == 0
    wide = capsys.readouterr().out
    assert _widest(wide) <= 80, wide
    monkeypatch.setenv("COLUMNS", "80")
    assert main(argv) == 0
    narrow = capsys.readouterr().out
    assert narrow.count("…") == wide.count("…")  # no cell cut to fit
    assert narrow.strip() and _widest(narrow) <= 80, narrow  # and it fits an 80-column terminal


def test_capture_output_fits_80_columns(capsys, monkeypatch, tmp_path):
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.txt").write_text("a few words of training text, repeated. " * 300)
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["capture", "--out-dir", "runs", "--sizes", "nano", "--train-steps", "2", "--batch", "2", "--seq-len", "16",
                 "--text", "t.txt"]) == 0
    captured = capsys.readouterr()
    assert "wrote runs/capture.json" in captured.out
    assert _widest(captured.out) <= 80 and _widest(captured.err) <= 80, captured.out + captured.err
