"""Persistent, distributed studies: several workers on one storage, kill -9 and resume, PostgreSQL, bad storage."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest

from nsdesign.errors import InputError
from nsdesign.search import Objective, SearchSpace, StudyConfig, run_search
from nsdesign.search.storage import SETTINGS_ATTR, open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)

# A bf16 study whose trials take ~0.1 s each, so that workers overlap and a kill lands mid-study.
WORKER_ARGS = ["--min-sigma", "1e-3", "--steps", "6", "--objective", "bf16", "--refine", "none",
               "--proxy-shape", "192x768", "--seed", "0"]


# For two concurrent workers: fewer, slower trials (a short Nelder–Mead per trial), so both are busy at once
# even on an idle machine where a whole study of fast trials could finish before the second process starts.
SHARED_ARGS = ["--min-sigma", "1e-3", "--steps", "6", "--objective", "bf16", "--refine", "nelder-mead",
               "--refine-evals", "30", "--proxy-shape", "128x512", "--seed", "0"]


def _worker(storage: str, name: str, trials: int, args: list[str] = WORKER_ARGS) -> list[str]:
    return [sys.executable, "-m", "nsdesign", "search", *args, "--trials", str(trials),
            "--storage", storage, "--study-name", name]


def _complete(storage: str, name: str) -> dict[int, float]:
    study = optuna.load_study(study_name=name, storage=open_storage(storage))
    return {t.number: t.value for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))}


def _run_here(stdout: str) -> int:
    # "study NAME (STORAGE): N complete trials, R run here; …"
    text = " ".join(stdout.split())
    return int(text.split(" run here")[0].split(",")[-1].strip())


def _two_workers(storage: str, name: str, trials: int) -> None:
    procs = [subprocess.Popen(_worker(storage, name, trials, SHARED_ARGS), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    ran = [_run_here(out) for out, _ in outs]
    done = _complete(storage, name)
    assert trials <= len(done) <= trials + 1  # each worker stops once the study holds `trials`
    assert sum(ran) == len(done)
    assert min(ran) > 0, f"both workers should have run trials, got {ran}"
    _seeds_once(storage, name)
    print("trials run by each worker:", ran)


def _seeds_once(storage: str, name: str) -> None:
    """Issue 14: each enqueued seed is queued and evaluated once, however many workers start together."""
    study = optuna.load_study(study_name=name, storage=open_storage(storage))
    seeded = [json.dumps(t.system_attrs["fixed_params"], sort_keys=True) for t in study.get_trials(deepcopy=False)
              if "fixed_params" in t.system_attrs]
    assert seeded and len(seeded) == len(set(seeded)), seeded
    assert all(t.state != optuna.trial.TrialState.WAITING for t in study.get_trials(deepcopy=False))


@pytest.mark.slow  # > 10 s on the 2-core machine (measured with --durations)
def test_two_workers_share_a_sqlite_study(tmp_path):
    _two_workers(f"sqlite:///{tmp_path / 'study.db'}", "shared", 20)


@pytest.mark.slow  # > 10 s on the 2-core machine (measured with --durations)
def test_two_workers_share_a_journal_file(tmp_path):
    _two_workers(f"journal:{tmp_path / 'study.log'}", "shared", 20)


@pytest.mark.slow  # > 10 s on the 2-core machine (measured with --durations)
def test_kill_9_loses_no_completed_trial_and_the_rerun_resumes(tmp_path):
    storage, name, trials = f"sqlite:///{tmp_path / 'study.db'}", "killed", 40
    proc = subprocess.Popen(_worker(storage, name, trials), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    before: dict[int, float] = {}
    while time.time() < deadline:
        time.sleep(0.2)
        try:
            before = _complete(storage, name)
        except KeyError:  # the study is not created yet
            continue
        if len(before) >= 6:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    before = _complete(storage, name)
    assert 6 <= len(before) < trials, "the kill should land mid-study"

    rerun = subprocess.run(_worker(storage, name, trials), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    after = _complete(storage, name)
    assert len(after) == trials  # completed trials counted toward --trials: only the rest ran
    assert _run_here(rerun.stdout) == trials - len(before)
    for number, value in before.items():
        assert after[number] == value


@pytest.mark.slow
def test_a_study_with_other_settings_is_refused_and_left_untouched(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    small = (32, 128)
    first = Objective((("worst", 1.0),), 1e-3, proxy_shape=small)
    run_search(StudyConfig(SearchSpace(min_steps=5, max_steps=5), first, 6, storage=storage, study_name="s"))
    study = optuna.load_study(study_name="s", storage=storage)
    settings, count = study.user_attrs[SETTINGS_ATTR], len(study.trials)
    other = Objective((("worst", 1.0),), 1e-2, proxy_shape=small)
    with pytest.raises(InputError, match="exists with different settings.*min_sigma"):
        run_search(StudyConfig(SearchSpace(min_steps=5, max_steps=5), other, 12, storage=storage, study_name="s"))
    study = optuna.load_study(study_name="s", storage=storage)
    assert study.user_attrs[SETTINGS_ATTR] == settings and len(study.trials) == count
    # the same settings join and resume it
    again = run_search(StudyConfig(SearchSpace(min_steps=5, max_steps=5), first, 9, storage=storage, study_name="s"))
    assert again.completed == 9 and again.ran == 3


@pytest.mark.slow
def test_a_foreign_study_is_refused(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(study_name="foreign", storage=storage)
    objective = Objective((("worst", 1.0),), 1e-3, proxy_shape=(32, 128))
    with pytest.raises(InputError, match="not created by nsdesign"):
        run_search(StudyConfig(SearchSpace(min_steps=5, max_steps=5), objective, 3, storage=storage, study_name="foreign"))


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgresql+psycopg2://nobody@127.0.0.1:1/none", "cannot reach storage"),
        ("sqlite:////no/such/dir/x.db", "does not exist"),
        ("journal:/no/such/dir/x.log", "does not exist"),
        ("redis://localhost", "unsupported storage"),
        ("", "URL"),
    ],
)
def test_unreachable_or_malformed_storage_is_an_input_error(url, message):
    start = time.time()
    with pytest.raises(InputError, match=message):
        open_storage(url)
    assert time.time() - start < 20


def test_the_password_is_not_repeated_in_messages():
    with pytest.raises(InputError) as info:
        open_storage("postgresql+psycopg2://user:s3cret@127.0.0.1:1/db")
    assert "s3cret" not in str(info.value)


# --------------------------------------------------------------------------------------------------
# A real PostgreSQL server on loopback
# --------------------------------------------------------------------------------------------------


@pytest.mark.slow  # > 10 s on the 2-core machine (measured with --durations)
@pytest.mark.postgres
def test_two_workers_on_a_real_postgresql_server(postgres_url):
    _two_workers(postgres_url, "pg-shared", 20)
    study = optuna.load_study(study_name="pg-shared", storage=postgres_url)
    assert json.loads(study.user_attrs[SETTINGS_ATTR])["objective"]["objective"] == "bf16"


# ---- issue 14: in-memory SQLite and malformed journal files are one-line refusals -------------------------

import sqlite3

import pytest


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///:memory:?cache=shared"])
def test_in_memory_sqlite_is_refused(url):
    with pytest.raises(InputError, match="in-memory SQLite"):
        open_storage(url)


def _sqlite_file(path):
    connection = sqlite3.connect(path)
    connection.execute("create table t(x)")
    connection.commit()
    connection.close()


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (bytes(range(256)) * 4, "UnicodeDecodeError"),
        (b'{"op_code": 99}\n', "AssertionError"),
        (b"[1, 2]\n", "TypeError"),
        (b'{"op_code": 0}\n', "KeyError"),
    ],
)
def test_malformed_journal_files_are_refused(tmp_path, content, kind):
    path = tmp_path / "journal.log"
    path.write_bytes(content)
    with pytest.raises(InputError, match=f"not an Optuna journal file \\({kind}"):
        open_storage(f"journal:{path}")
    assert path.read_bytes() == content


def test_journal_garbage_through_the_cli_is_one_line(tmp_path, capsys):
    from nsdesign.cli.main import main

    for name, make in (("db.log", _sqlite_file), ("text.log", lambda p: p.write_text("hello\n"))):
        path = tmp_path / name
        make(path)
        code = main(["search", "--min-sigma", "1e-3", "--objective", "worst", "--trials", "2", "--storage", f"journal:{path}"])
        out, err = capsys.readouterr()
        assert code == 2 and err.count("\n") == 1 and err.startswith("nsdesign: error:") and "Traceback" not in err
