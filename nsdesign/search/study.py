"""The single-objective study: Optuna chooses the design problem, the exact engine (and SciPy) solves it.

Flow of `run_search(config)`:
1. open the storage (memory, SQLite, PostgreSQL, journal file) and the study: an existing study must have
   been created with the same settings (band, objectives, space, proxy …) — else InputError, nothing written;
2. enqueue the exact greedy optimum (no headroom) and one guarded greedy per guard strategy at its
   typical size — only the worker that creates the study does this, and joining workers wait until the
   creator has taken them, so each seed is queued and evaluated once however many workers start. Because the greedy
   optimum is a trial and the best feasible trial is returned, a search never does worse than greedy on
   the worst-case objective (when greedy itself passes the divergence guard). Under a normalizer the guarded
   engine's designs go first (`guarded_seeds`), computed here rather than when the config is built;
3. run trials until the study holds `trials` COMPLETE trials. Completed trials count toward the total: a
   re-run of the same command after a crash or kill -9 runs only the remaining ones; a run on a study that
   already has enough runs none and reports the best. Concurrent workers stop together once the count is
   reached (each checks after every trial), so a study may end up to (workers − 1) trials above `trials`
   (one in-flight trial per extra worker, or per extra thread with --jobs);
4. return the best feasible trial with its schedule (stored in the trial's user attributes, so refined
   coefficients survive without re-running anything); `SearchResult.metrics` and `.document` give its exact
   metrics and its schedule document.

A trial's score and feasibility are defined in `nsdesign.search.objectives`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import signal
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Sequence

from nsdesign._progress import progress
from nsdesign.core.band import Band
from nsdesign.core.cost import Shape
from nsdesign.core.limits import DTYPES, check_seed
from nsdesign.core.metrics import Metrics, evaluate
from nsdesign.core.schedule import Schedule
from nsdesign.documents import schedule_document
from nsdesign.design.guarded import guarded_greedy
from nsdesign.design.solvers import min_capturable_sigma
from nsdesign.errors import InputError
from nsdesign.search.objectives import Objective, Score, refine, score
from nsdesign.search.space import STORED_GUARD, TYPICAL_CUSHION, TYPICAL_SIZE, Candidate, SearchSpace, build_schedule, suggest
from nsdesign.search.storage import GRACE_PERIOD, SETTINGS_ATTR, canonical, check_settings, describe, open_storage

MAX_TRIALS = 100_000
OWNER_ATTR = "nsdesign_seed_owner"  # the worker that created the study and takes its seed trials
WORKER_ATTR = "nsdesign_worker"  # on each trial: the worker running it (host, pid), so a dead one's trial is reused
INTERRUPTED_ATTR = "nsdesign_interrupted"  # on a trial Ctrl-C stopped: its seed parameters are queued again
SETTINGS_WAIT = 5.0  # seconds to wait for a just-created study's settings (written after its seeds are queued)
TYPICAL_TARGET = 0.98  # inner target enqueued as a starting point (see nsdesign.search.space.retarget)


@dataclass(frozen=True)
class StudyConfig:
    """Everything a search needs. `settings()` is what must agree between workers of one study."""

    space: SearchSpace
    objective: Objective
    trials: int
    seed: int = 0
    storage: str | None = None
    study_name: str | None = None
    jobs: int = 1
    progress: bool = False
    seeds: tuple[Candidate, ...] = ()  # extra starting points, enqueued after the greedy ones

    def __post_init__(self) -> None:
        if isinstance(self.trials, bool) or not isinstance(self.trials, int) or not 1 <= self.trials <= MAX_TRIALS:
            raise InputError(f"`trials` must be an integer from 1 to {MAX_TRIALS}, got {self.trials}")
        if isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or not 1 <= self.jobs <= 64:
            raise InputError(f"`jobs` must be an integer from 1 to 64, got {self.jobs}")
        check_seed(self.seed)
        if self.study_name is not None and not self.study_name.strip():
            raise InputError("`study_name` must not be empty")
        if "capture" in self.objective.names and self.space.design_range is None:
            raise InputError("the capture objective needs a searched design edge (SearchSpace.design_range)")

    def settings(self) -> dict[str, Any]:
        out = {"kind": "nsdesign-search", "space": self.space.to_dict(), "objective": self.objective.to_dict()}
        if self.seeds:
            out["seeds"] = [c.params() for c in self.seeds]
        return out

    def name(self) -> str:
        """--study-name, or a name derived from the settings (the same command resumes the same study)."""
        if self.study_name:
            return self.study_name
        return "nsdesign-search-" + hashlib.sha256(canonical(self.settings()).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class TrialRecord:
    """One completed trial, as read back from the storage."""

    number: int
    candidate: dict[str, Any]
    schedule: Schedule
    score: float
    components: dict[str, float]
    feasible: bool
    reason: str
    refined: bool


@dataclass(frozen=True)
class SearchResult:
    best: TrialRecord
    greedy: TrialRecord | None  # the enqueued exact greedy optimum (trial of candidate "none"), when present
    study_name: str
    storage: str
    completed: int  # COMPLETE trials in the study after this run
    ran: int  # trials this worker ran
    config: StudyConfig = field(repr=False)
    trials: tuple[TrialRecord, ...] = field(default=(), repr=False)  # every complete trial with a schedule

    def ranked(self) -> list[TrialRecord]:
        """Feasible trials, best score first."""
        return sorted((r for r in self.trials if r.feasible), key=lambda r: (r.score, r.number))

    def provenance(self) -> dict[str, Any]:
        """What goes into the schedule document's params: enough to find and re-run the study."""
        objective = self.config.objective
        return {
            "method": "search",
            "objective": objective.label(),
            "trials": self.config.trials,
            "completed_trials": self.completed,
            "trials_run_here": self.ran,
            "seed": self.config.seed,
            "best_trial": self.best.number,
            "best_score": self.best.score,
            "components": self.best.components,
            "candidate": self.best.candidate,
            "refined": self.best.refined,
            "storage": self.storage,
            "study_name": self.study_name,
            "settings": self.config.settings(),
            "greedy_trial": None if self.greedy is None else self.greedy.number,
            "greedy_score": None if self.greedy is None else self.greedy.score,
        }

    @property
    def schedule(self) -> Schedule:
        """The best schedule, named for the objective it won (`search-worst`, `search-bf16`, …)."""
        return self.best.schedule.with_name(f"search-{self.config.objective.label()}")

    def metrics(self, shape: Shape | None = None) -> Metrics:
        """The best schedule's exact metrics on the study's band, guard and tolerance (FLOPs for `shape`)."""
        objective = self.config.objective
        return evaluate(self.best.schedule, objective.min_sigma, objective.max_sigma,
                        guard_sigma=objective.guard_sigma, tol=objective.tol, shape=shape)

    def document(self, metrics: Metrics, band_source: str | None = None) -> dict[str, Any]:
        """The schedule document of the best schedule: its band (under a normalizer: with the guard band and the
        normalizer to run it with), the study's provenance, `metrics`, and the kernel and dtype trials were
        scored in (a study with --kernel unfused once wrote `kernel: null`, the kernel buried in params)."""
        objective = self.config.objective
        if objective.normalizer is None:
            band: Any = (objective.min_sigma, objective.max_sigma)
            document = schedule_document(self.schedule, band, self.provenance(), metrics)
        else:
            top = objective.max_sigma * (1.0 + objective.guard_headroom)
            params = {**self.provenance(), **({"band_source": band_source} if band_source else {})}
            document = schedule_document(self.schedule, Band(objective.min_sigma, objective.max_sigma, top), params,
                                         metrics, normalizer=objective.normalizer.to_dict())
        dtype = next((name for name, _ in objective.terms if name in DTYPES), "exact")
        document.update(kernel=objective.kernel, dtype=dtype)
        return document


# --------------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------------


def evaluate_candidate(candidate: Candidate, config: StudyConfig) -> tuple[Schedule, Score, bool]:
    """Build the candidate's schedule, score it, refine it when the objective asks: (schedule, score, refined)."""
    objective, space = config.objective, config.space
    schedule = build_schedule(candidate, space, objective.min_sigma, objective.max_sigma)
    start = score(schedule, objective, space.max_matmuls)
    refined_schedule, refined_score = refine(schedule, objective, start, space.max_matmuls)
    return refined_schedule, refined_score, refined_schedule is not schedule


def _objective_fn(config: StudyConfig) -> Callable[[Any], float]:
    def run_trial(trial: Any) -> float:
        candidate = suggest(trial, config.space)
        try:
            schedule, result, refined = evaluate_candidate(candidate, config)
        except InputError as exc:  # a design problem the engine rejects (e.g. Remez failure): infeasible
            trial.set_user_attr("feasible", False)
            trial.set_user_attr("reason", str(exc))
            trial.set_constraint("guard", 1.0)
            return 2e3
        trial.set_user_attr("feasible", result.feasible)
        trial.set_user_attr("reason", result.reason)
        trial.set_constraint("guard", 0.0 if result.feasible else 1.0)
        trial.set_user_attr("components", {k: (v if math.isfinite(v) else 1e300) for k, v in result.components.items()})
        trial.set_user_attr("schedule", schedule.to_dict())
        trial.set_user_attr("candidate", candidate.params())
        trial.set_user_attr("refined", refined)
        return result.value

    return run_trial


def seed_candidates(config: StudyConfig) -> list[Candidate]:
    """Trials enqueued before sampling: the greedy optimum, then each strategy at its typical size."""
    space, objective = config.space, config.objective
    design = None
    steps = space.max_steps if space.min_steps != space.max_steps else space.min_steps
    if "capture" in objective.names:
        degree = 5 if 5 in space.degrees else space.degrees[0]
        try:
            design = min_capturable_sigma(steps, objective.tol, degree, objective.max_sigma)  # type: ignore[arg-type]
        except InputError:
            design = None
        lo, hi = space.design_range  # type: ignore[misc]
        design = min(max(design or objective.min_sigma, lo), hi)
    elif space.design_range is not None:
        lo, hi = space.design_range
        design = min(max(objective.min_sigma, lo), hi)
    if "worst" in objective.names:
        counts = [steps]  # more steps never hurt the worst case
    elif space.max_steps - space.min_steps <= 3:
        counts = list(range(space.min_steps, space.max_steps + 1))
    else:
        counts = sorted({space.min_steps, steps})
    out = []
    for count in counts:
        base = space.greedy_candidate(count, design)
        out.append(base)
        for h in space.guards:
            if h != "none":
                lo, hi = space.ranges[h]
                size = min(max(TYPICAL_SIZE[h], lo), hi)
                if h == "polar_express":
                    c_lo, c_hi = space.ranges["cushion"]
                    out.append(Candidate(base.degrees, h, size, design, min(max(TYPICAL_CUSHION, c_lo), c_hi)))
                else:
                    out.append(Candidate(base.degrees, h, size, design))
    if "none" not in space.guards:
        out = [c for c in out if c.guard != "none"]
    if space.target_range is not None:
        lo, hi = space.target_range
        tau = min(max(TYPICAL_TARGET, lo), hi)
        out += [replace(c, target=tau) for c in out if c.guard != "none"]
        if not lo <= 1.0 <= hi:
            out = [c if c.target != 1.0 else replace(c, target=tau) for c in out]
    if objective.normalizer is not None:
        # under a normalizer the greedy candidates ignore the guard band (most fail it): its guarded designs first
        return list(config.seeds) + out
    return out + list(config.seeds)


def with_guarded_seeds(config: StudyConfig) -> StudyConfig:
    """The config with `guarded_seeds` ahead of its own seeds (once each): what `run_search` runs and names."""
    return replace(config, seeds=tuple(dict.fromkeys(guarded_seeds(config) + config.seeds)))


def guarded_seeds(config: StudyConfig) -> tuple[Candidate, ...]:
    """Under a normalizer, the guarded engine's design (`design.guarded.guarded_greedy`) per step count, as
    norm_div candidates: the study starts from the family member `search --normalize` designs with those steps
    (before its refinement, which leaves the family). They are part of the study's settings, so every worker
    computes them; only the creator enqueues them. Without a normalizer, or without the norm_div strategy: none."""
    space, objective = config.space, config.objective
    if objective.normalizer is None or "norm_div" not in space.guards:
        return ()
    out = []
    lo, hi = space.ranges["norm_div"]
    for count in range(space.min_steps, min(space.max_steps, space.min_steps + 7) + 1):
        degrees = space.fixed_degrees or space.greedy_candidate(count).degrees
        try:
            g = guarded_greedy(
                objective.min_sigma, objective.max_sigma, objective.guard_sigma, objective.guard_tol,
                objective.normalizer, steps=count, degree=degrees, cushion=space.base_cushion,
                safety=space.base_safety, norm_div=space.base_norm_div,
                refine_design=False,  # a study's candidates are greedy-family members: seed the family's best
            )
        except InputError:  # no design of this length meets the guard: the trials may still find one
            continue
        size = min(max(g.design_max_sigma / objective.max_sigma, lo), hi)
        edge = None
        if space.design_range is not None:  # a searched design edge: pin the seed's to the band's
            edge = min(max(objective.min_sigma, space.design_range[0]), space.design_range[1])
        out.append(Candidate(tuple(degrees), "norm_div", float(size), edge))
    return tuple(out)


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


def run_search(config: StudyConfig) -> SearchResult:
    """Run (or resume, or join) the study and return its best feasible trial."""
    config = with_guarded_seeds(config)
    seeds = [candidate.params() for candidate in seed_candidates(config)]
    study = open_study(config.storage, config.name(), config.settings(), seeds=seeds)
    study.sampler = make_sampler(config.seed, config.trials, len(study.get_trials(deepcopy=False)))
    ran = run_trials(study, _objective_fn(config), config.trials, config.jobs, config.progress,
                     f"search {config.objective.label()}")
    records = read_trials(study)
    feasible = [r for r in records if r.feasible]
    if not feasible:
        reasons = sorted({r.reason for r in records if r.reason})[:3]
        raise InputError(
            f"no feasible schedule in {len(records)} trials ({'; '.join(reasons) or 'all failed'}); "
            "widen the space (more steps, more guard strategies) or disable the guard (`guard=False`)"
        )
    best = min(feasible, key=lambda r: (r.score, r.number))
    greedy_records = [r for r in records if r.candidate.get(STORED_GUARD) == "none"]
    greedy = min(greedy_records, key=lambda r: r.number) if greedy_records else None
    return SearchResult(
        best, greedy, study.study_name, describe(config.storage), count_complete(study), ran, config, tuple(records)
    )


def run_trials(study: Any, trial_fn: Callable[[Any], Any], trials: int, jobs: int = 1, progress: bool = False,
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
    with progress_bar(remaining, progress, label) as bar, ctrl_c.deferred(jobs == 1):

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


def read_trials(study: Any) -> list[TrialRecord]:
    """COMPLETE trials with their stored schedules (trials without one — rejected designs — are skipped)."""
    import optuna

    out = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if "schedule" not in t.user_attrs:
            continue
        value = t.value if t.values is not None and len(t.values) == 1 else t.values[0]
        out.append(
            TrialRecord(
                number=t.number,
                candidate=dict(t.user_attrs.get("candidate", {})),
                schedule=Schedule.from_dict(t.user_attrs["schedule"], f"trial {t.number}"),
                score=float(value),
                components={k: float(v) for k, v in t.user_attrs.get("components", {}).items()},
                feasible=bool(t.user_attrs.get("feasible", False)),
                reason=str(t.user_attrs.get("reason", "")),
                refined=bool(t.user_attrs.get("refined", False)),
            )
        )
    return out


class _NullBar:
    def __enter__(self) -> _NullBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None


def progress_bar(total: int, enabled: bool, label: str) -> Any:
    """A tqdm bar on a terminal, one line every few seconds on stderr otherwise (nsdesign._progress), or nothing."""
    return progress(total, enabled, label)
