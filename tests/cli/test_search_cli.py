"""`nsdesign search` study options and `nsdesign pareto`, in-process through main(argv)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nsdesign.cli.main import invoke
from nsdesign.core.metrics import worst_error
from nsdesign.documents import read_schedule_file


def nsdesign(*args: str):
    return invoke(args)  # main(argv) in this process, output captured


@pytest.mark.slow
def test_search_study_writes_a_document_with_provenance(tmp_path):
    out = tmp_path / "s.json"
    proc = nsdesign("search", "--min-sigma", "1e-3", "--steps", "5", "--objective", "worst", "--trials", "6",
                    "--seed", "3", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())  # rich wraps lines at the terminal width
    assert "best trial #" in text and "greedy (#0)" in text
    schedule, document = read_schedule_file(out)
    params = document["params"]
    assert params["method"] == "search" and params["objective"] == "worst"
    assert params["trials"] == 6 and params["completed_trials"] == 6 and params["seed"] == 3
    assert isinstance(params["best_trial"], int) and params["storage"].startswith("sqlite:///")
    assert params["storage"].endswith("nsdesign-studies.db")  # the default: a local file, so a re-run resumes
    assert params["study_name"].startswith("nsdesign-search-")
    assert document["band"] == {"min_sigma": 1e-3, "max_sigma": 1.0, "guard_sigma": 1.02}  # the default guard
    assert document["metrics"]["worst_error"] == pytest.approx(worst_error(schedule, 1e-3, 1.0))
    assert schedule(1.02) < 2.0  # the divergence guard holds for what is written


@pytest.mark.slow
def test_bf16_study_with_sqlite_storage_and_resume(tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    common = ["search", "--min-sigma", "1e-3", "--steps", "6", "--objective", "bf16", "--proxy-shape", "64x256",
              "--refine", "none", "--storage", db, "--study-name", "run1"]
    first = nsdesign(*common, "--trials", "5")
    assert first.returncode == 0, first.stderr
    second = nsdesign(*common, "--trials", "8", "-o", str(tmp_path / "b.json"))
    assert second.returncode == 0, second.stderr
    assert "8 complete trials, 3 run here" in " ".join(second.stdout.split())
    params = json.loads((tmp_path / "b.json").read_text())["params"]
    assert params["study_name"] == "run1" and params["storage"] == db and params["objective"] == "bf16"
    assert params["components"]["bf16"] < 0.05


@pytest.mark.slow
def test_weighted_objective_with_an_npy_spectrum(tmp_path):
    spectrum = tmp_path / "s.npy"
    np.save(spectrum, np.geomspace(1.0, 0.01, 64))
    out = tmp_path / "w.json"
    proc = nsdesign("search", "--min-sigma", "1e-3", "--steps", "4", "--objective", "weighted", "--spectrum",
                    str(spectrum), "--trials", "5", "--refine-evals", "20", "--proxy-shape", "32x128", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    settings = json.loads(out.read_text())["params"]["settings"]["objective"]
    assert settings["spectrum"]["count"] == 64 and settings["refine"] == "slsqp"


@pytest.mark.slow
def test_pareto_command_prints_and_writes_the_front(tmp_path):
    out = tmp_path / "front.json"
    proc = nsdesign("pareto", "--min-sigma", "1e-3", "--shape", "4096x16384", "--dtype", "exact", "--trials", "12",
                    "--max-steps", "7", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Pareto front" in proc.stdout and "GFLOPs" in proc.stdout
    doc = json.loads(out.read_text())
    assert doc["kind"] == "nsdesign-pareto" and doc["shape"] == [4096, 16384] and doc["front"]
    flops = [p["flops"] for p in doc["front"]]
    errors = [p["error"] for p in doc["front"]]
    assert flops == sorted(flops) and errors == sorted(errors, reverse=True)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--objective", "worst", "--trials", "0"], "--trials"),
        (["--objective", "fastest"], "unknown objective"),
        (["--objective", "worst=0"], "positive"),
        (["--objective", "weighted"], "spectrum"),
        (["--objective", "capture"], "--tol"),
        (["--objective", "worst", "--step-range", "8-4"], "step-range"),
        (["--objective", "worst", "--max-matmuls", "3"], "no schedule in the space fits"),
        (["--objective", "worst", "--strategies", "magic"], "unknown guard"),
        (["--objective", "worst", "--storage", "postgresql+psycopg2://nobody@127.0.0.1:1/db"], "cannot reach storage"),
        (["--objective", "worst", "--storage", "ftp://x"], "unsupported storage"),
        (["--objective", "worst", "--jobs", "0"], "--jobs"),
    ],
)
def test_bad_study_input_is_one_line_exit_2_and_writes_nothing(cli_error, tmp_path, args, message):
    out = tmp_path / "keep.json"
    out.write_text("precious")
    proc = nsdesign("search", "--min-sigma", "1e-3", "--steps", "5", *args, "-o", str(out))
    assert message in cli_error(proc)
    assert out.read_text() == "precious"


@pytest.mark.slow
def test_joining_a_study_with_other_settings_is_refused(cli_error, tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    ok = nsdesign("search", "--min-sigma", "1e-3", "--steps", "5", "--objective", "worst", "--trials", "3",
                  "--storage", db, "--study-name", "x")
    assert ok.returncode == 0, ok.stderr
    proc = nsdesign("search", "--min-sigma", "1e-2", "--steps", "5", "--objective", "worst", "--trials", "3",
                    "--storage", db, "--study-name", "x")
    assert "exists with different settings" in cli_error(proc)


def test_bad_pareto_input_is_one_line_exit_2(cli_error):
    assert "shape" in cli_error(nsdesign("pareto", "--min-sigma", "1e-3", "--shape", "4096", "--trials", "5"))
    assert "--trials" in cli_error(nsdesign("pareto", "--min-sigma", "1e-3", "--shape", "64x64", "--trials", "0"))


@pytest.mark.slow
def test_bf16_study_runs_the_kernel_it_is_given(tmp_path):
    from nsdesign.documents import read_schedule_file
    from nsdesign.precision import band_matrix, matrix_error

    out = tmp_path / "u.json"
    proc = nsdesign("search", "--min-sigma", "1e-3", "--steps", "6", "--objective", "bf16", "--kernel", "unfused",
                    "--proxy-shape", "32x128", "--refine", "none", "--trials", "3", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    schedule, doc = read_schedule_file(out)
    assert '"kernel": "unfused"' in json.dumps(doc)
    proxy = band_matrix(1e-3, 1.0, (32, 128))
    unfused = matrix_error(schedule, proxy, "bf16", kernel="unfused").error
    assert doc["params"]["components"]["bf16"] == pytest.approx(unfused)
    assert unfused != matrix_error(schedule, proxy, "bf16").error  # the fused model scores it differently
    # --form is the hidden old spelling; contradicting --kernel is an error
    old = nsdesign("search", "--min-sigma", "1e-3", "--form", "gram", "--kernel", "fused")
    assert old.returncode == 2 and "disagree" in old.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", [
    ["search", "--min-sigma", "1e-3", "--steps", "4", "--objective", "worst", "--trials", "3", "--refine", "none"],
    ["pareto", "--min-sigma", "1e-3", "--shape", "64x256", "--steps", "3-4", "--trials", "4"],
])
def test_studies_to_stdout_keep_stdout_for_the_document(command):
    """`-o -`: the JSON document alone on stdout, the tables on stderr (a regression sent them to stdout)."""
    proc = nsdesign(*command, "-o", "-")
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)
    assert "trial" in proc.stderr


@pytest.mark.slow
def test_a_study_records_the_kernel_and_dtype_it_scored_in(cli, tmp_path):
    r = cli("search", "--min-sigma", "1e-3", "--objective", "bf16", "--kernel", "unfused", "--trials", "2",
            "--steps", "5", "--refine", "none", "-o", "s.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    document = json.loads((tmp_path / "s.json").read_text())
    assert document["kernel"] == "unfused" and document["dtype"] == "bf16"


def test_degrees_auto_records_and_prints_its_bf16_check(cli, tmp_path):
    r = cli("search", "--min-sigma", "1e-3", "--tol", "0.01", "--shape", "4096x16384", "--degrees", "auto",
            "-o", "a.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "bf16 fused rounding model" in r.stdout
    document = json.loads((tmp_path / "a.json").read_text())
    assert document["kernel"] == "fused" and document["dtype"] == "bf16"
    assert document["checked_for"][0]["passed"] is True


@pytest.mark.slow
def test_an_interrupted_default_study_resumes_and_memory_keeps_nothing(tmp_path):
    """The default storage is a local SQLite file: the same command run again resumes (runs only what is
    missing); --storage memory runs everything again."""
    base = ("search", "--min-sigma", "1e-3", "--steps", "4", "--objective", "worst", "--seed", "1")
    first = nsdesign(*base, "--trials", "3")
    assert first.returncode == 0, first.stderr
    more = nsdesign(*base, "--trials", "5")
    text = " ".join(more.stdout.split())
    assert "5 complete trials, 2 run here" in text and "nsdesign-studies.db" in text, text
    fresh = nsdesign(*base, "--trials", "3", "--storage", "memory")
    assert "3 complete trials, 3 run here" in " ".join(fresh.stdout.split())


@pytest.mark.parametrize("route", [[], ["--exact"], ["--normalize", "schatten8"], ["--objective", "worst"]])
@pytest.mark.parametrize("text", ["", ",5", "five"])
def test_degrees_that_are_not_integers_are_refused_on_every_route(route, text, capsys):
    """The adversarial run found `--degrees ''` read as the default 5 once the request parsed the flag."""
    from nsdesign.cli.main import main

    assert main(["search", "--min-sigma", "1e-3", "--degrees", text, *route]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "--degrees" in captured.err and captured.err.count("\n") == 1
