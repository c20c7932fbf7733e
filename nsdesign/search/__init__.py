"""Search beyond the worst case: Optuna over step counts, degrees and guard strategies; SciPy refinement; Pareto fronts.

The worst-case optimum is exact and cheap (`nsdesign.design.greedy`); what users run is not it: in bf16 the
exact optimum diverges, FLOPs on a real shape matter, and the spectrum is a distribution. This package
searches the *design problem* (how many steps, which degrees, which guard strategy and how much) and solves each
one with the exact engine, optionally refining coefficients with SciPy for objectives the engine does not
optimize. Studies persist in SQLite/PostgreSQL/journal storage and scale out to many workers.

    from nsdesign.search import study_config, run_search, run_pareto
    config = study_config((1e-3, 1.0), objective="bf16", steps=7, trials=60)   # every default and rule inside
    result = run_search(config)

    from nsdesign.plans import DesignRequest                                # what `nsdesign search` does
    answer = run_study(DesignRequest(1e-3, steps=7), StudyOptions(objective="bf16", trials=60))

Modules: run (`run_study`: a DesignRequest and StudyOptions, run, measured; `run_front`: the same pair's
error-vs-FLOPs front), plan (`study_config_for`: the same pair → StudyConfig; `study_config`: the same as
keywords), space (candidates → schedules), objectives (scores, guard, refinement), spectra (MP / .npy / law
samples), study (single objective), pareto (two objectives), loop (the one study loop both run: create or join,
workers, Ctrl-C), storage (URLs, settings check).
optuna and scipy are imported only when a study runs.
"""

from __future__ import annotations

from nsdesign.search.objectives import OBJECTIVES, Objective, Score, parse_objective, score
from nsdesign.search.pareto import FrontPoint, ParetoResult, run_pareto
from nsdesign.search.plan import StudyOptions, study_config, study_config_for
from nsdesign.search.run import StudyAnswer, plan_study, run_front, run_study
from nsdesign.precision import MatrixRun, band_matrix, matrix_error, test_matrix
from nsdesign.search.space import (
    GUARD_STRATEGIES,
    Candidate,
    SearchSpace,
    build_schedule,
    inflated_greedy,
    retarget,
)
from nsdesign.search import space as _space
from nsdesign.search.spectra import Spectrum, from_law, from_npy, marchenko_pastur
from nsdesign.search.study import SearchResult, StudyConfig, TrialRecord, evaluate_candidate, run_search

__all__ = [
    "GUARD_STRATEGIES",
    "OBJECTIVES",
    "Candidate",
    "FrontPoint",
    "MatrixRun",
    "Objective",
    "ParetoResult",
    "Score",
    "SearchResult",
    "SearchSpace",
    "Spectrum",
    "StudyConfig",
    "StudyAnswer",
    "StudyOptions",
    "TrialRecord",
    "band_matrix",
    "build_schedule",
    "evaluate_candidate",
    "from_law",
    "from_npy",
    "inflated_greedy",
    "marchenko_pastur",
    "matrix_error",
    "parse_objective",
    "plan_study",
    "retarget",
    "run_pareto",
    "run_search",
    "score",
    "study_config",
    "run_front",
    "run_study",
    "study_config_for",
    "test_matrix",
]


def __getattr__(name: str) -> object:
    """The old name HEADROOM_STRATEGIES, for one release (see search.space)."""
    return getattr(_space, name)
