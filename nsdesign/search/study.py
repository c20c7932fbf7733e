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

A trial's score and feasibility are defined in `nsdesign.search.objectives`; how trials run (workers joining,
stale trials, Ctrl-C) in `nsdesign.search.loop`, shared with `pareto`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from nsdesign.core.band import Band
from nsdesign.core.cost import Shape
from nsdesign.core.limits import DTYPES, check_seed
from nsdesign.core.metrics import Metrics, evaluate
from nsdesign.core.schedule import Schedule
from nsdesign.documents import schedule_document
from nsdesign.design.guarded import guarded_greedy
from nsdesign.design.solvers import min_capturable_sigma
from nsdesign.errors import InputError
from nsdesign.search.loop import count_complete, make_sampler, open_study, run_trials
from nsdesign.search.objectives import Objective, Score, refine, score
from nsdesign.search.space import STORED_GUARD, TYPICAL_CUSHION, TYPICAL_SIZE, Candidate, SearchSpace, build_schedule, suggest
from nsdesign.search.storage import canonical, describe

MAX_TRIALS = 100_000
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
