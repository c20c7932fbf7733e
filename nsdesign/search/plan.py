"""A study from a design request: every default and rule of a search in one function, `study_config_for`.

`study_config_for(request, options)` is the study of a `plans.DesignRequest` (the band, its guard, steps or a
range, degrees, knobs, normalizer, kernel: what any engine is asked) with the `StudyOptions` only a study has
(what it scores, which choices it searches, how it runs); the CLI builds both once (search.run_study calls it).
`study_config(...)` builds the same two values from keywords, for notebooks and benchmarks; `run_pareto` uses
the same rules. The rules (each says why):

- the band: `band` (a Band, a (min, max) pair or min_sigma). The capture objective searches the design edge
  itself, so its band may be omitted (then [1e-3·max_sigma, max_sigma], the edge it reports against).
- steps: a fixed count (`steps`), a range (`step_range`), per-step degrees (their count), else 3–10
  (`core.limits.DEFAULT_STEP_RANGE`).
- degrees: trials choose from `search_degrees`, else the one base degree; per-step `degrees` fix them.
- the design edge searched: capture searches [1e-10·u, 0.5·u]; bf16/fp16 objectives search [0.1·l, l]
  (rounding the input to bf16/fp16 moves the smallest singular values down, by ~‖X‖_F·2⁻⁹/√min(m, n), so the
  best low-precision design edge sits below the band edge); others design on the band itself.
- the inner target τ: bf16/fp16 search [0.9, 1] (keeping inner iterates below 1 leaves rounding room, see
  `search.space.retarget`); others keep τ = 1.
- the proxy matrix for bf16/fp16 and the guard: `proxy_shape`, else the shape's aspect (`pareto.proxy_for`),
  else 256×1024; the guard band up to `guard_sigma` (default 1.02·u), its overshoot limit 2
  (`core.limits.STUDY_GUARD_LIMIT`) and, with `guard_tol`, |1 − F| ≤ τ on it; refinement of the last 2 steps with 150
  evaluations.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Sequence

from nsdesign.core.band import Band, as_band
from nsdesign.core.cost import Shape
from nsdesign.core.limits import (
    DEFAULT_DEGREE,
    DEFAULT_STEP_RANGE,
    DEFAULT_TRIALS,
    GUARD_TOL,
    LOW_PRECISION,
    STUDY_GUARD_LIMIT,
)
from nsdesign.core.normalizers import Normalizer
from nsdesign.errors import InputError
from nsdesign.plans.request import DesignRequest
from nsdesign.search import spectra
from nsdesign.search.objectives import DEFAULT_PROXY, Objective, parse_objective
from nsdesign.search.pareto import proxy_for
from nsdesign.search.space import GUARD_STRATEGIES, SearchSpace
from nsdesign.search.study import StudyConfig

CAPTURE_DESIGN_RANGE = (1e-10, 0.5)  # × max_sigma: where the capture objective searches the design edge
LOWP_DESIGN_RANGE = (0.1, 1.0)  # × min_sigma: where bf16/fp16 objectives search the design edge
LOWP_TARGET_RANGE = (0.9, 1.0)  # inner target τ searched by bf16/fp16 objectives
DEFAULT_REFINE_STEPS = 2
DEFAULT_REFINE_EVALS = 150
CAPTURE_DEFAULT_EDGE = 1e-3  # × max_sigma: the band the capture objective reports against when none is given


@dataclass(frozen=True)
class StudyOptions:
    """What a study adds to a design request: what it scores, which choices it searches, how it runs.
    Each field is `study_config`'s keyword of the same name, with the same default."""

    objective: str | Sequence[tuple[str, float]] = "worst"
    search_degrees: Sequence[int] | None = None
    strategies: Sequence[str] | None = None
    max_matmuls: int | None = None
    spectrum: Any = None  # the weighted objective's sample: "mp", "law" or a .npy path (see study_config)
    model_size: float | None = None
    layer: str | None = None
    laws: str | None = None
    proxy_shape: tuple[int, int] | None = None
    backend: str = "emulate"
    guard: bool = True
    guard_limit: float | None = None
    target_range: tuple[float, float] | None = None
    refine: str = "auto"
    refine_steps: int | None = None
    refine_evals: int | None = None
    trials: int | None = None
    seed: int | None = None
    storage: str | None = None
    study_name: str | None = None
    jobs: int | None = None
    progress: bool = False


def study_config_for(request: DesignRequest, options: StudyOptions = StudyOptions()) -> StudyConfig:
    """The `StudyConfig` of a design request and the study's own options, every default and rule applied (see
    the module text). Every inconsistency is an InputError naming the fields involved.

    From the request: the band (None edges: the capture objective's own), its guard, `steps` (a count, or a
    range LO-HI searched), `degrees` (one, or one per step), `tol`, the knobs, `shape`, normalizer and kernel.
    Under a normalizer the band is the one it leaves; the guard defaults to its bound with τ 0.3
    (`_normalizer_guard`); its first step and the objective are checked (`_checked_normalizer`).
    """
    if request.degrees == "auto":
        raise InputError("`degrees` auto is for the greedy design; a study searches `search_degrees`")
    o = options
    steps, step_range = (None, request.steps) if isinstance(request.steps, tuple) else (request.steps, None)
    terms = parse_objective(o.objective) if isinstance(o.objective, str) else tuple(o.objective)
    names = {n for n, _ in terms}
    band = None if request.min_sigma is None else (request.min_sigma, request.max_sigma)
    checked = _study_band(names, band, request.max_sigma if band is None else None, request.tol, steps)
    min_sigma, top = checked.min_sigma, checked.max_sigma
    lo_steps, hi_steps, choices, fixed_degrees = _step_plan(request.degrees, steps, step_range, o.search_degrees)
    design_range, target_range = _searched_ranges(names, min_sigma, top, o.target_range)
    guard_sigma, guard_tol, norm, ranges = request.guard_sigma, request.guard_tol, None, None
    if request.normalizer is not None:
        norm = _checked_normalizer(request.normalizer, names, fixed_degrees[0] if fixed_degrees else min(choices))
        guard_sigma, guard_tol, ranges = _normalizer_guard(norm, top, guard_sigma, guard_tol)
    space = SearchSpace(
        min_steps=lo_steps, max_steps=hi_steps, degrees=choices, fixed_degrees=fixed_degrees,
        guards=tuple(o.strategies) if o.strategies else GUARD_STRATEGIES,
        base_cushion=0.0 if request.cushion is None else float(request.cushion),
        base_safety=1.0 if request.safety is None else float(request.safety), base_norm_div=float(request.norm_div),
        max_matmuls=o.max_matmuls, design_range=design_range, target_range=target_range,
        **({} if ranges is None else {"ranges": ranges}),
    )
    shape = request.shape
    proxy = tuple(o.proxy_shape) if o.proxy_shape else (proxy_for(shape) if shape is not None else DEFAULT_PROXY)
    weighted = "weighted" in names or o.spectrum
    scored = Objective(
        terms=terms, min_sigma=min_sigma, max_sigma=top, tol=request.tol, proxy_shape=proxy,  # type: ignore[arg-type]
        spectrum=resolve_spectrum(o.spectrum, shape, o.model_size, o.layer, o.laws) if weighted else None,
        backend=o.backend, kernel=request.kernel, normalizer=norm, guard=o.guard, guard_sigma=guard_sigma,
        guard_tol=guard_tol, guard_limit=STUDY_GUARD_LIMIT if o.guard_limit is None else o.guard_limit, refine=o.refine,
        refine_steps=DEFAULT_REFINE_STEPS if o.refine_steps is None else o.refine_steps,
        refine_evals=DEFAULT_REFINE_EVALS if o.refine_evals is None else o.refine_evals,
    )
    return StudyConfig(
        space=space, objective=scored, trials=DEFAULT_TRIALS if o.trials is None else o.trials,
        seed=0 if o.seed is None else o.seed, storage=o.storage, study_name=o.study_name,
        jobs=1 if o.jobs is None else o.jobs, progress=o.progress,
    )


def study_config(
    band: Band | tuple[float, float] | float | None = None,
    max_sigma: float | None = None,
    *,
    steps: int | None = None,
    step_range: tuple[int, int] | None = None,
    degrees: int | Sequence[int] = DEFAULT_DEGREE,
    tol: float | None = None,
    cushion: float = 0.0,
    safety: float = 1.0,
    norm_div: float = 1.0,
    shape: Shape | None = None,
    guard_sigma: float | None = None,
    guard_tol: float | None = None,
    normalizer: Any = None,
    kernel: str = "fused",
    **options: Any,
) -> StudyConfig:
    """`study_config_for` from keywords, for notebooks and benchmarks: the design request's fields (the band as
    a `Band`, a (min, max) pair or min_sigma; `steps` or `step_range`) and `StudyOptions`' fields by name.

    `spectrum` (an option) is a `Spectrum`, or "mp" (needs `shape`), "law" (needs `model_size`, `layer`; `laws`
    picks a law file), or the path of a .npy file of singular values.
    """
    unknown_options = sorted(set(options) - {f.name for f in fields(StudyOptions)})
    if unknown_options:
        raise TypeError(f"study_config() got unexpected keyword arguments: {', '.join(unknown_options)}")
    if steps is not None and step_range is not None:
        raise InputError("give either `steps` or `step_range`, not both")
    if band is None:  # the capture objective may omit the band (`_study_band` gives its own)
        lo, hi = None, 1.0 if max_sigma is None else max_sigma
    else:
        edges = as_band(band, max_sigma)
        lo, hi = edges.min_sigma, edges.max_sigma
    request = DesignRequest(
        lo, hi, guard_sigma=guard_sigma, guard_tol=guard_tol, steps=step_range if steps is None else steps, tol=tol,
        degrees=degrees, kernel=kernel, normalizer=normalizer, cushion=cushion, safety=safety,  # type: ignore[arg-type]
        norm_div=norm_div, shape=shape,
    )
    return study_config_for(request, StudyOptions(**options))


def _study_band(names: set[str], band: Any, max_sigma: float | None, tol: float | None, steps: int | None) -> Band:
    """The band trials are scored on: the capture objective may omit it (it searches the design edge itself)."""
    if "capture" in names:
        if tol is None:
            raise InputError("the capture objective needs `tol` (the tolerance δ the band is captured at)")
        if steps is None:
            raise InputError("the capture objective needs a fixed `steps`")
        top = 1.0 if max_sigma is None else max_sigma
        return as_band(band, max_sigma) if band is not None else Band(CAPTURE_DEFAULT_EDGE * top, top)
    if tol is not None:
        raise InputError("in a study `tol` is the capture tolerance; use the capture objective, or give `steps` / `step_range`")
    if band is None:
        raise InputError("a study needs the band: give `min_sigma`")
    return as_band(band, max_sigma)


def _step_plan(
    degrees: int | Sequence[int], steps: int | None, step_range: tuple[int, int] | None,
    search_degrees: Sequence[int] | None,
) -> tuple[int, int, tuple[int, ...], tuple[int, ...] | None]:
    """(fewest steps, most steps, the degrees trials choose from, per-step degrees fixed by the user or None)."""
    base = (degrees,) if isinstance(degrees, int) else tuple(degrees)
    if not base:
        raise InputError("give at least one step degree in `degrees`")
    fixed_degrees = None
    if len(base) > 1:
        if steps is not None and steps != len(base):
            raise InputError(f"{len(base)} degrees given for {steps} steps")
        steps, fixed_degrees = len(base), base
    if steps is not None and step_range is not None:
        raise InputError("give either `steps` or `step_range`, not both")
    lo, hi = (int(steps), int(steps)) if steps is not None else (step_range or DEFAULT_STEP_RANGE)
    if fixed_degrees is not None and search_degrees:
        raise InputError("give either per-step `degrees` or `search_degrees`, not both")
    choices = tuple(sorted(set(fixed_degrees))) if fixed_degrees else (tuple(search_degrees) if search_degrees else (base[0],))
    return lo, hi, choices, fixed_degrees


def _searched_ranges(
    names: set[str], min_sigma: float, top: float, target_range: tuple[float, float] | None
) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """(the design edge searched, the inner target searched): see the module text for why."""
    if "capture" in names:
        design_range: tuple[float, float] | None = (CAPTURE_DESIGN_RANGE[0] * top, CAPTURE_DESIGN_RANGE[1] * top)
    elif names & set(LOW_PRECISION):
        design_range = (LOWP_DESIGN_RANGE[0] * min_sigma, LOWP_DESIGN_RANGE[1] * min_sigma)
    else:
        design_range = None
    if target_range is None and names & set(LOW_PRECISION):
        target_range = LOWP_TARGET_RANGE
    return design_range, target_range


def _normalizer_guard(
    norm: Normalizer, top: float, guard_sigma: float | None, guard_tol: float | None
) -> tuple[float, float, dict[str, tuple[float, float]]]:
    """(g, τ, the norm_div range) under a normalizer: its own bound and the guarded engine's τ by default. The
    guarded engine's family, greedy designed on [l, v] for v in [u, g], is the norm_div strategy with s = v/u
    (designed on [l/s, u], run on σ/s): the range lets the study reach all of it."""
    g = norm.default_guard_sigma if guard_sigma is None else guard_sigma
    tau = GUARD_TOL if guard_tol is None else guard_tol
    return g, tau, {"norm_div": (1.0, min(2.0, max(1.1, g / top)))}


def _checked_normalizer(norm: Normalizer, names: set[str], first_degree: int) -> Normalizer:
    """The request's normalizer, refused where its band does not fit the objective or its first step."""
    if "weighted" in names:
        raise InputError(
            "the weighted objective samples a Frobenius-normalized spectrum; with a normalizer use worst, "
            "capture or a low-precision objective"
        )
    if first_degree < norm.min_first_degree:
        raise InputError(
            f"{norm.name} reads the first step's products and needs its degree ≥ {norm.min_first_degree}; "
            f"give step degrees ≥ {norm.min_first_degree} (not {first_degree})"
        )
    return norm


def resolve_spectrum(
    source: Any, shape: Shape | None = None, model_size: float | None = None, layer: str | None = None,
    laws: str | None = None,
) -> Any:
    """A Spectrum from a Spectrum, "mp" (the shape's Marchenko–Pastur law), "law" (a layer's fitted law), or a .npy path."""
    if isinstance(source, spectra.Spectrum):
        return source
    if source is None:
        raise InputError("the weighted objective needs `spectrum`: mp (with `shape`), law, or FILE.npy")
    if source == "mp":
        if shape is None:
            raise InputError("spectrum mp needs `shape`")
        return spectra.marchenko_pastur(shape)
    if source == "law":
        if model_size is None or not layer:
            raise InputError("spectrum law needs `model_size` and `layer`")
        return spectra.from_law(model_size, layer, laws)
    return spectra.from_npy(source)
