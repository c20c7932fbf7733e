"""The one study loop, shared by `search` (study.run_search) and `pareto` (pareto.run_pareto): create or join a
study in a storage, run trials until it holds N complete ones, and stop cleanly.

Why its own module: what makes many workers safe on one study is the same for every objective — the creator
alone queues the seed trials and joiners wait for them, a dead local worker's trial is reused at once, a lost
SQLite race on a queued trial is harmless, and Ctrl-C stops between trials (`_CtrlC`). The objectives, spaces
and results above it (study.py, pareto.py) say what a trial computes, not how trials are run.

Depends on: _progress (the progress line), errors, search.storage (URLs, the settings check). optuna is imported
when a study runs.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from typing import Any, Callable, Iterator, Sequence

from nsdesign._progress import progress
from nsdesign.errors import InputError
from nsdesign.search.storage import GRACE_PERIOD, SETTINGS_ATTR, canonical, check_settings, describe, open_storage

OWNER_ATTR = "nsdesign_seed_owner"  # the worker that created the study and takes its seed trials
WORKER_ATTR = "nsdesign_worker"  # on each trial: the worker running it (host, pid), so a dead one's trial is reused
INTERRUPTED_ATTR = "nsdesign_interrupted"  # on a trial Ctrl-C stopped: its seed parameters are queued again
SETTINGS_WAIT = 5.0  # seconds to wait for a just-created study's settings (written after its seeds are queued)


def open_study(
    storage_url: str | None,
    name: str,
    settings: dict[str, Any],
    directions: list[str] | None = None,
    seeds: Sequence[dict[str, Any]] = (),
) -> Any:
    """Create or join study `name`, refusing one with other settings (checked before anything is written).

    `seeds` (trial parameters) are enqueued by the worker that creates the study and by no other: creation
    is decided by the storage itself (the study name is unique, so exactly one `create_study` succeeds), and
    the settings attribute that joining workers wait for is written only after the seeds are queued. A
    joining worker then waits until the creator has taken every queued seed (see `_wait_for_seeds`), so on
    SQLite — where popping a queued trial is not exclusive across processes — no seed is evaluated twice.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(storage_url)
    try:
        existing = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        existing = None
    except Exception as exc:
        raise InputError(f"cannot read study {name!r} from {describe(storage_url)}: {exc}") from None
    if existing is None:
        try:
            study = optuna.create_study(study_name=name, storage=storage, directions=directions or ["minimize"])
        except optuna.exceptions.DuplicatedStudyError:
            existing = optuna.load_study(study_name=name, storage=storage)  # another worker created it just now
        except Exception as exc:
            raise InputError(f"cannot create study {name!r} in {describe(storage_url)}: {exc}") from None
        else:
            for params in seeds:
                study.enqueue_trial(params, skip_if_exists=True)
            study.set_user_attr(OWNER_ATTR, worker_id())
            study.set_user_attr(SETTINGS_ATTR, canonical(settings))
            return study
    stored = existing.user_attrs.get(SETTINGS_ATTR)
    waited = 0.0
    while stored is None and waited < SETTINGS_WAIT:  # a concurrent worker may be creating it right now
        time.sleep(0.1)
        waited += 0.1
        stored = existing.user_attrs.get(SETTINGS_ATTR)
    check_settings(name, stored, settings, storage_url)
    if storage_url is not None:
        _reclaim_stale_trials(existing)
        if is_gone(existing.user_attrs.get(OWNER_ATTR)):
            existing.set_user_attr(OWNER_ATTR, worker_id())  # its creator is dead: this worker takes its seeds now
        else:
            _wait_for_seeds(existing)
    return existing


def worker_id() -> dict[str, Any]:
    """This process as a study records it: host and pid (what `is_gone` checks)."""
    import os
    import socket

    return {"host": socket.gethostname(), "pid": os.getpid()}


def is_gone(worker: Any) -> bool:
    """Whether a recorded worker has certainly ended: it ran on this host and its pid is no longer alive (or is this
    process, whose earlier run has returned). A worker on another host may be alive: nothing is assumed."""
    import os
    import socket

    if not isinstance(worker, dict) or worker.get("host") != socket.gethostname():
        return False
    pid = worker.get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: alive, owned by someone else
        return False
    return False


def _reclaim_stale_trials(study: Any) -> None:
    """Trials a dead local worker left behind, reused at once instead of after the heartbeat's grace period.

    A RUNNING trial of a dead worker is marked FAIL; a seed trial (enqueued parameters) that was running or that an
    interrupt failed is queued again, unless a queued, running or complete trial already has its parameters."""
    import optuna

    state = optuna.trial.TrialState
    trials, me = study.get_trials(deepcopy=False), worker_id()
    live = [t.system_attrs.get("fixed_params") for t in trials if t.state in (state.WAITING, state.RUNNING, state.COMPLETE)]
    for t in trials:
        worker = t.user_attrs.get(WORKER_ATTR)  # this process's own running trials belong to a live thread
        stale = t.state == state.RUNNING and worker != me and is_gone(worker)
        interrupted = t.state == state.FAIL and t.user_attrs.get(INTERRUPTED_ATTR) is True
        if stale:
            study._storage.set_trial_state_values(t._trial_id, state=state.FAIL)
            live.remove(t.system_attrs.get("fixed_params"))
        params = t.system_attrs.get("fixed_params")
        if (stale or interrupted) and params is not None and params not in live:
            study.enqueue_trial(params)
            live.append(params)


def _wait_for_seeds(study: Any) -> None:
    """Let the creating worker take its queued seed trials before this one starts popping.

    Returns when no trial is WAITING, or when the waiting count has not moved for GRACE_PERIOD seconds (the
    creator was killed or stopped early: then this worker takes the rest, still once each)."""
    import optuna

    waiting = optuna.trial.TrialState.WAITING
    last, since = None, time.monotonic()
    while True:
        count = len(study.get_trials(deepcopy=False, states=(waiting,)))
        if count == 0:
            return
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since > GRACE_PERIOD:
            return
        time.sleep(0.1)


def make_sampler(seed: int, trials: int, existing_trials: int) -> Any:
    """Seeded multivariate TPE aware of infeasible trials.

    A fresh study is reproducible from --seed; a worker joining a study in progress offsets its seed so
    concurrent workers do not replay the same random start-up trials.
    """
    import warnings

    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna.samplers.TPESampler(
        seed=seed if existing_trials == 0 else seed + 7919 * existing_trials,
        n_startup_trials=max(5, min(10, trials // 3)),
        multivariate=True,
    )


def count_complete(study: Any) -> int:
    import optuna

    return len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))


def run_trials(study: Any, trial_fn: Callable[[Any], Any], trials: int, jobs: int = 1, enabled: bool = False,
               label: str = "study") -> int:
    """Run `trial_fn` until the study holds `trials` COMPLETE trials; returns how many this worker ran.

    The one study loop (single- and multi-objective): completed trials count, so a re-run resumes; concurrent
    workers stop together once the count is reached; a lost SQLite race on an enqueued trial is harmless.
    """
    remaining = max(0, trials - count_complete(study))
    ran = 0
    if not remaining:
        return 0
    _quiet_interrupts()
    ctrl_c = _CtrlC()
    trial_fn = _tracked(trial_fn, ctrl_c)
    with progress(remaining, enabled, label) as bar, ctrl_c.deferred(jobs == 1):

        def stop_when_done(study: Any, trial: Any) -> None:
            nonlocal ran
            ran += 1
            bar.update(1)
            ctrl_c.raise_pending()  # a Ctrl-C while Optuna recorded this trial: it is stored, stop now
            if count_complete(study) >= trials:
                study.stop()

        while True:
            try:
                study.optimize(
                    trial_fn,
                    n_trials=max(1, trials - count_complete(study)),
                    n_jobs=jobs,
                    callbacks=[stop_when_done],
                    catch=(),
                    gc_after_trial=False,
                )
                break
            except (ValueError, RuntimeError) as exc:  # UpdateFinishedTrialError is a RuntimeError
                if not _lost_race(exc):
                    raise
                if count_complete(study) >= trials:
                    break
    return ran


class _CtrlC:
    """Ctrl-C in a one-worker study stops it between trials: the first one lets the running trial finish and be
    stored, then stops (a trial takes well under a second for most studies); a second one stops at once.

    Why not at once: a KeyboardInterrupt inside Optuna's storage calls (a trial's suggest, its tell) can leave a
    write half done. The trial stays RUNNING, SQLite stays locked ("database is locked" in Optuna's heartbeat
    thread), and Optuna then fails its own check ("AssertionError: Should not reach.") — a traceback instead of
    `nsdesign: interrupted`, seen in 1-3 of 16 Ctrl-Cs of `pareto --dtype bf16` on a loaded machine."""

    def __init__(self) -> None:
        self.pending = False

    @contextlib.contextmanager
    def deferred(self, enabled: bool) -> Iterator[None]:
        """Install the handler where it can be (the main thread, SIGINT not ignored); restore the old one after."""
        main = threading.current_thread() is threading.main_thread()
        if not (enabled and main and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            yield
            return
        previous = signal.signal(signal.SIGINT, self._handle)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.pending:
            raise KeyboardInterrupt  # the second Ctrl-C: the user does not want to wait
        self.pending = True

    def raise_pending(self) -> None:
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt


def _tracked(trial_fn: Callable[[Any], Any], ctrl_c: _CtrlC) -> Callable[[Any], Any]:
    """`trial_fn` that records its worker on the trial, and marks a trial Ctrl-C stopped (so a resume re-runs it)."""
    worker = worker_id()

    def run(trial: Any) -> Any:
        trial.set_user_attr(WORKER_ATTR, worker)
        try:
            ctrl_c.raise_pending()  # a Ctrl-C while Optuna asked for this trial: it is re-run on resume
            return trial_fn(trial)
        except KeyboardInterrupt:
            trial.set_user_attr(INTERRUPTED_ATTR, True)
            raise

    return run


class _NoInterruptTraceback(logging.Filter):
    """Drops Optuna's two "Trial N failed" records for a KeyboardInterrupt (a 45-line traceback, then "failed with
    value None") for a Ctrl-C the CLI already reports in one line (`nsdesign: interrupted`). Other failures are
    still logged."""

    def __init__(self) -> None:
        super().__init__()
        self.interrupted: set[str] = set()  # "Trial N " prefixes whose follow-up record is dropped too

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        message = str(record.msg)
        prefix = " ".join(message.split()[:2]) + " "
        if isinstance(error, KeyboardInterrupt):
            self.interrupted.add(prefix)
            return False
        if prefix in self.interrupted and "failed with value" in message:
            self.interrupted.discard(prefix)
            return False
        return True


def _quiet_interrupts() -> None:
    """Install `_NoInterruptTraceback` once on the logger Optuna reports failed trials with."""
    target = logging.getLogger("optuna.study._optimize")
    if not any(isinstance(f, _NoInterruptTraceback) for f in target.filters):
        target.addFilter(_NoInterruptTraceback())


def _lost_race(exc: Exception) -> bool:
    """Two workers on SQLite popped the same enqueued trial and the other one finished it first.

    SQLite has no row locks, so Optuna's pop of a WAITING trial is not exclusive across processes (nor across
    `--jobs` threads); the second worker's first write to that trial (its `tell`, or the worker record set
    before the trial runs) fails. Nothing is lost (the trial is COMPLETE with the same parameters and a
    deterministic value), so this worker simply carries on with the study.
    """
    text = str(exc)
    return text.startswith("Cannot tell a COMPLETE trial") or "has already finished and can not be updated" in text
