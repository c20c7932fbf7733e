"""Issue 14: inputs that used to be accepted silently (or crash) are one-line errors; warnings follow success."""

from __future__ import annotations

import json

import pytest

from nsdesign.cli.main import main


def _error(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nsdesign: error:") and "Traceback" not in err, err
    assert out == ""
    return lines[0]


def _schedule(tmp_path, name, document):
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["evaluate", "keller5", "--min-sigma", "1e-3", "--tol", "2"], r"tolerance must lie in \(0, 1\)"),
        (["evaluate", "keller5", "--min-sigma", "1e-3", "--max-sigma", "1e300"], "max-sigma must be at most"),
        (["plot", "map", "keller5", "--min-sigma", "1e-3", "--max-sigma", "1e300", "-o", "{tmp}/m.png"], "max-sigma must be at most"),
        (["plot", "map", "keller5", "--min-sigma", "1e-3", "--ymax", "1e308", "-o", "{tmp}/m.png"], "--ymax must lie in"),
        (["plot", "laws", "--model-sizes", "1e300", "-o", "{tmp}/l.png"], "--model-sizes must be at most"),
        (["search", "--min-sigma", "1e-3", "--objective", "", "--trials", "2"], "--objective must name"),
        (["search", "--min-sigma", "1e-3", "--objective", "worst=", "--trials", "2"], "weight after worst= is missing"),
        (["recipe", "--model-size", "1e9", "--tol", "0.05", "--cushion", "0.02"], "--cushion needs a single step degree"),
        (["recipe", "--model-size", "1e9", "--tol", "0.05", "--safety", "1.02"], "--safety needs a single step degree"),
        (["search", "--min-sigma", "1e-15", "--degree", "31", "--steps", "4"], "sign flip"),
    ],
)
def test_silently_accepted_inputs_are_refused(tmp_path, capsys, argv, message):
    import re

    line = _error(capsys, [a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert re.search(message, line), line
    assert list(tmp_path.iterdir()) == []


def test_schedule_file_degree_field_must_match_rows(tmp_path, capsys):
    four = _schedule(tmp_path, "d4.json", {"schema_version": 1, "coefficients": [[3, -3, 1]], "degree": 4})
    assert "'degree' must be an odd integer" in _error(capsys, ["evaluate", four, "--min-sigma", "1e-3"])
    short = _schedule(tmp_path, "short.json", {"schema_version": 1, "coefficients": [[3, -3, 1], [2, -1]], "degree": 5})
    assert "row 1 has 2 entries but 'degree' 5 needs 3" in _error(capsys, ["evaluate", short, "--min-sigma", "1e-3"])
    good = _schedule(tmp_path, "good.json", {"schema_version": 1, "coefficients": [[3, -3, 1], [2, -1, 0]], "degree": 5})
    assert main(["evaluate", good, "--min-sigma", "0.3"]) == 0


def test_huge_coefficients_refused_where_torch_runs(tmp_path, capsys):
    big = _schedule(tmp_path, "big.json", {"schema_version": 1, "coefficients": [[1e308, 1e308, 1e308]], "degree": 5})
    assert main(["evaluate", big, "--min-sigma", "1e-3"]) == 0  # exact metrics handle ±inf (reported as such)
    capsys.readouterr()
    assert "beyond bf16's range" in _error(capsys, ["validate", big, "--source", "gaussian:8x16"])
    assert "beyond fp32's range" in _error(capsys, ["plot", "histogram", big, "--source", "gaussian:8x16", "-o", str(tmp_path / "h.png")])
    assert not (tmp_path / "h.png").exists()


def test_certificate_label_on_a_sign_flip(capsys):
    assert main(["search", "--min-sigma", "1e-15", "--degree", "31", "--steps", "2", "--exact"]) == 0
    out, _ = capsys.readouterr()
    assert "certified optimal" not in out and "NOT certified: values leave (0, 2)" in " ".join(out.split())
    # the safe default (cushion/safety) cannot rescue this band either: one line, not a mislabelled schedule
    assert "sign flip" in _error(capsys, ["search", "--min-sigma", "1e-15", "--degree", "31", "--steps", "2"])


def test_no_warnings_before_an_error(capsys):
    line = _error(capsys, ["search", "--model-size", "1e30", "--layer", "final.o", "--quantile", "0.5"])
    assert "was predicted" in line
    assert main(["search", "--model-size", "1e9", "--layer", "final.o", "--quantile", "0.5"]) == 0
    _, err = capsys.readouterr()
    assert "nsdesign: warning:" in err  # the prediction's warnings still appear when the design succeeds


def test_huge_recipe_config_is_refused_at_once(tmp_path, capsys):
    config = _schedule(tmp_path, "c.json", {"d_model": 64, "n_layers": 10**6, "n_heads": 2})
    assert "n_layers must be at most" in _error(capsys, ["recipe", "--model-size", "1e9", "--tol", "0.05", "--config", config])


def test_plot_histogram_memory_precheck(tmp_path, capsys, monkeypatch):
    import nsdesign.plot.matrices as matrices

    monkeypatch.setattr(matrices, "_host_available_bytes", lambda: 10 * 2**20)  # 10 MiB free
    out = str(tmp_path / "h.png")
    line = _error(capsys, ["plot", "histogram", "keller5", "--source", "gaussian:1024x4096", "-o", out])
    assert "needs about" in line and "use a smaller shape" in line
    assert "sides must be positive" in _error(capsys, ["plot", "histogram", "keller5", "--source", "gaussian:0x10", "-o", out])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["search", "--min-sigma", "1e-3", "--objective", "worst", "--degree-choices", ""], "no empty items"),
        (["search", "--min-sigma", "1e-3", "--objective", "worst", "--strategies", "safety,,none"], "no empty items"),
        (["plot", "frontier", "--min-sigma", "1e-3", "--presets", ",,", "-o", "x.png"], "no empty items"),
        (["validate", "keller5", "--source", "gaussian:8x16", "--restarts", "2"], "--kernel gram only"),
    ],
)
def test_empty_lists_and_ignored_flags_are_refused_not_defaulted(cli, tmp_path, argv, message):
    r = cli(*argv, cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_model_sizes_take_the_suffixes_the_docs_show(cli):
    r = cli("search", "--model-size", "70B", "--layer", "final.o", "--quantile", "0.5")
    assert r.returncode == 0, r.stderr


def test_a_read_only_sqlite_storage_is_refused_before_it_is_created(cli, tmp_path):
    r = cli("search", "--min-sigma", "1e-3", "--objective", "worst", "--trials", "1",
            "--storage", f"sqlite:///{tmp_path}/ro.db?mode=ro")
    assert r.returncode == 2 and "read-only" in r.stderr
    assert not (tmp_path / "ro.db").exists()


def test_a_written_path_is_printed_terminal_safe(cli, tmp_path):
    r = cli("export", "keller5", "--to", "optax", "-o", "a\x1b[2Jb.py", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "wrote a" in r.stdout
