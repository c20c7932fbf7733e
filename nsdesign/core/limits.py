"""Every limit and shared constant in one place, so a rule is stated once and checked the same way everywhere.

Each value says why it is what it is. Validators here raise `InputError` with the *parameter* name
(`cushion`, `degree`…); the CLI translates parameter names to flag names.
"""

from __future__ import annotations

import math
from typing import Literal

from nsdesign.errors import InputError

# -- polynomial degrees ------------------------------------------------------------------------------

MAX_DEGREE = 31
"""Highest step degree. Beyond 31 the monomial coefficients of a minimax odd polynomial on a wide band
reach ~1e10 and more and cancel catastrophically in float64, so the polynomial is meaningless."""

MIN_STEP_DEGREE = 3  # degree 1 is a scaling, not a Newton–Schulz step (Remez itself accepts 1)
MAX_STEPS = 100  # a schedule longer than this is a mistake, not a design (the longest published one has 10)
DEFAULT_DEGREE = 5  # the quintic: what every published Muon schedule uses
DEFAULT_STEPS = 5  # modded-nanogpt's and Muon's step count
DEFAULT_MAX_STEPS = 30  # the step limit with a tolerance: ~20 quintic greedy steps reach 1e-15 from l = 1e-15
DEFAULT_DEGREES: tuple[int, ...] = (3, 5, 7, 9)  # the degree menu of FLOP-optimal mixes (above 9 never pays on MLP shapes)
ALLOWED_DEGREES: tuple[int, ...] = tuple(range(MIN_STEP_DEGREE, MAX_DEGREE + 1, 2))

# -- studies (nsdesign.search.study_config) -----------------------------------------------------------

DEFAULT_TRIALS = 50  # enough for TPE to beat its random start-up trials on a 3–10 step space
DEFAULT_STEP_RANGE = (3, 10)  # below 3 quintic steps nothing useful is reached on l = 1e-3; no published list has > 10
FRONT_STEP_RANGE = (1, 10)  # an error-vs-FLOPs front starts at one step: its cheap end is the point of it
FRONT_DEGREES = (3, 5, 7)  # the degrees every consumer runs (cubic: Newton–Schulz; quintic: Muon; septic: CANS)
FRONT_TRIALS = 60  # two objectives: a few more trials than a single-objective study's DEFAULT_TRIALS

# -- tolerances and bands ----------------------------------------------------------------------------

MIN_TOLERANCE = 1e-15  # errors below this are round-off in double precision: not certifiable
MIN_BAND_RATIO = 1e-15  # min_sigma/max_sigma below this is beyond double precision (and any real matrix)

# -- the guard: what "safe above the band" means, one table ------------------------------------------
# Every engine judges the band [u, g] above the accuracy band [l, u] with these thresholds and no others
# (design.checks runs the rounding-model part). The values differ because the questions differ; each says why.

DEFAULT_HEADROOM = 0.02
"""g = (1 + 0.02)·u when no guard is given: Polar Express's safety margin (a norm estimate or bf16 rounding of
the input puts σ a little above the band's top)."""
MAX_OVERSHOOT = 1.25
"""Exact max F on [0, g] for the safe default and the consumer forms: room for the band's own ripple (the 5-step
optimum on [1e-3, 1] already swings to 1.113 inside the band) and nothing more."""
MAX_OUTPUT_SIGMA = 1.25
"""Output σ_max in the bf16 rounding model on the proxy (σ log-spaced up to g): the exact limit, so a design
passes in bf16 only if round-off does not push it past what the exact map allows."""
GUARD_TOL = 0.3
"""|1 − F| ≤ τ on [u, g] for the normalizer (guarded) engine: after a tight normalizer the top directions carry
most of the update and must still come out near 1, only less precisely than the accuracy band."""
MODEL_ALLOWANCE = 0.1
"""The guarded engine's rounding-model limit is 1 + E + 0.1 (E its exact error): a passing design shows ~1e-2 of
round-off, a failing one 0.3 and more (measured 1.34 and 8.4 on the 128² proxy)."""
STUDY_GUARD_LIMIT = 2.0
"""A study's feasibility limit on output σ_max (matrix run up to g): wider than MAX_OUTPUT_SIGMA because a study
explores and scores (an infeasible trial is penalised, not discarded); its winner is then shown with its exact
overshoot against OVERSHOOT_WARNING."""
OVERSHOOT_WARNING = 1.5
"""Exact max F on [0, 1.02] above which the CLI warns, nsdesign.torch.Muon warns once, and bf16/fp16 export
targets refuse without --force: a σ slightly past the band edge is amplified instead of pulled back to 1; every
published preset meant for bf16 stays below 1.21 (keller5 1.202)."""
PROXY_SHAPE = (128, 512)
"""The rounding model's proxy matrix: aspect ratio 4 like the 512×2048 runs that diverged; ~10 ms per bf16 run."""
CHECKED_KERNELS: tuple[str, ...] = ("fused", "unfused")
"""The kernels users paste a schedule into: torch.optim.Muon's addmm sequence and Keller Jordan's muon.py
(modded-nanogpt). A schedule safe in the fused kernel can still reach σ 1.5 in the unfused one."""

GUARD_TABLE: tuple[tuple[str, float, str], ...] = (
    ("DEFAULT_HEADROOM", DEFAULT_HEADROOM, "g = (1 + h)·u when no --guard-sigma is given"),
    ("MAX_OVERSHOOT", MAX_OVERSHOOT, "exact max F on [0, g]: safe default, --for"),
    ("MAX_OUTPUT_SIGMA", MAX_OUTPUT_SIGMA, "bf16 model output σ_max: safe default, --for"),
    ("GUARD_TOL", GUARD_TOL, "exact |1 − F| on [u, g]: --normalize, --guard-tol"),
    ("MODEL_ALLOWANCE", MODEL_ALLOWANCE, "bf16 model σ_max ≤ 1 + E + this: --normalize"),
    ("STUDY_GUARD_LIMIT", STUDY_GUARD_LIMIT, "matrix-run σ_max: study feasibility"),
    ("OVERSHOOT_WARNING", OVERSHOOT_WARNING, "exact max F on [0, 1.02]: warn / refuse"),
)
"""The guard's thresholds as (name, value, what it bounds and where): docs/ARCHITECTURE.md shows this table."""

# -- greedy knobs (Polar Express, arXiv 2505.16932 §4) ------------------------------------------------

CUSHION_RANGE = (0.0, 1.0)  # λ ∈ [0, 1): λ = 1 would design on the top edge only
SAFETY_RANGE = (1.0, 2.0)  # s ∈ [1, 2]: published values are 1.01–1.05; 2 already halves the band
NORM_DIV_RANGE = (0.5, 4.0)  # the input divisor: beyond these the divided band leaves any sane design range

# -- number formats -------------------------------------------------------------------------------------

DTYPES: tuple[str, ...] = ("fp64", "fp32", "bf16", "fp16", "fp8")
"""Every number format a schedule is run or modelled in (nsdesign.precision's rounding model, torch runs);
`fp64` is the reference. Every other dtype list is a subset of this one, named for why it is a subset."""
LOW_PRECISION: tuple[str, ...] = ("bf16", "fp16", "fp32", "fp8")  # formats a matrix-run objective scores in
TORCH_CPU_DTYPES: tuple[str, ...] = ("fp32", "bf16", "fp16")  # what torch's CPU matmuls run (no fp8 there)
HALF_PRECISION: tuple[str, ...] = ("bf16", "fp16")  # where a schedule without headroom diverges (OVERSHOOT_WARNING)

# -- forms, depths, divergence -----------------------------------------------------------------------

Kernel = Literal["fused", "unfused", "gram"]
KERNELS: tuple[str, ...] = ("fused", "unfused", "gram")
"""The Newton–Schulz kernels, the one name a caller gives everywhere (`kernel=`, `--kernel`): torch.optim.Muon's
fused addmm sequence, Keller Jordan's unfused muon.py, Dao-AILab's Gram-matrix iteration."""
CostModel = Literal["standard", "gram"]
COST_MODELS: tuple[str, ...] = ("standard", "gram")
"""The FLOP models of nsdesign.core.cost (`cost_model(kernel)` picks one): fused and unfused issue the same
products on X (standard), the Gram kernel iterates on XXᵀ. Stored as `"form"` in recipe and Pareto documents."""
Form = CostModel  # deprecated names for one release (the FLOP model used to be called the "form")
FORMS = COST_MODELS

DEPTHS: tuple[str, ...] = ("mid_early", "mid", "mid_late", "final")  # arXiv 2606.04058's depth groups
DEPTH_POSITIONS: dict[str, float] = {"mid_early": 0.25, "mid": 0.5, "mid_late": 0.75, "final": 1.0}

DIVERGED = 1e3
"""An output singular value above this means the run blew up: a working schedule maps the band near 1
and even a bad one stays below ~10, while a diverging one passes 1e3 within a step or two of leaving."""


# -- validators -------------------------------------------------------------------------------------


def default_guard_sigma(max_sigma: float) -> float:
    """g when no guard is given: (1 + DEFAULT_HEADROOM)·u, the one place the default guard band is spelled."""
    return max_sigma * (1.0 + DEFAULT_HEADROOM)


def check_degree(degree: object, minimum: int = MIN_STEP_DEGREE, what: str = "step degree") -> int:
    """An odd integer in [minimum, MAX_DEGREE]."""
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < minimum or degree % 2 == 0 or degree > MAX_DEGREE:
        raise InputError(f"{what} must be an odd integer from {minimum} to {MAX_DEGREE}, got {degree}")
    return degree


def check_knobs(cushion: float, safety: float, norm_div: float) -> None:
    """The greedy knobs, each in its range (see CUSHION_RANGE, SAFETY_RANGE, NORM_DIV_RANGE)."""
    if not (math.isfinite(cushion) and CUSHION_RANGE[0] <= cushion < CUSHION_RANGE[1]):
        raise InputError(f"cushion must be in [{CUSHION_RANGE[0]:g}, {CUSHION_RANGE[1]:g}), got {cushion}")
    if not (math.isfinite(safety) and SAFETY_RANGE[0] <= safety <= SAFETY_RANGE[1]):
        raise InputError(f"safety factor must be in [{SAFETY_RANGE[0]:g}, {SAFETY_RANGE[1]:g}], got {safety}")
    if not (math.isfinite(norm_div) and NORM_DIV_RANGE[0] <= norm_div <= NORM_DIV_RANGE[1]):
        raise InputError(f"norm_div must be in [{NORM_DIV_RANGE[0]:g}, {NORM_DIV_RANGE[1]:g}], got {norm_div}")


# -- seeds, counts and model sizes ------------------------------------------------------------------

MAX_SEED = 2**32 - 1
"""numpy's and Optuna's samplers take seeds in 0 … 2^32−1 (a larger one raises ValueError deep inside them);
torch takes more, but one range everywhere means one seed reproduces the same run in every command."""
MAX_REPEATS = 1000  # validate's timed calls per measurement: the median of 1000 is stable; 1e8 never ends
MAX_SEED_COUNT = 1000  # train-compare's seeds per schedule: each one is a whole training run
DEFAULT_LR_GRID: tuple[float, ...] = (0.005, 0.01, 0.02, 0.04)
"""train-compare's learning-rate grid (`--lr-grid` alone): a log grid, factor 2, around Muon's usual 0.02. Here, not
in nsdesign.torch, so the CLI names it without importing torch."""
MODEL_SIZE_RANGE = (1e3, 1e30)
"""Parameters: a model has at least a thousand (below that a power law M^(−α) overflows, e.g. 1e-320), and the
laws' extrapolation past 1e30 is refused rather than computed (the fitted laws span 1e7–1e10)."""


def check_seed(seed: object, name: str = "seed") -> int:
    """An integer seed in 0 … MAX_SEED (a bool is not a seed), else InputError naming the parameter."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InputError(f"`{name}` must be an integer in 0 … 2^32−1, got {str(seed)[:12]}{'…' * (len(str(seed)) > 12)}")
    return seed


def check_count(value: object, name: str, maximum: int) -> int:
    """An integer in 1 … maximum (repeats, seed counts): a bound that keeps a typo from running for days."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InputError(f"`{name}` must be an integer in 1 … {maximum}, got {str(value)[:12]}{'…' * (len(str(value)) > 12)}")
    return value


def check_model_size(model_size: object) -> float:
    """A finite number of parameters within MODEL_SIZE_RANGE, as a float."""
    if isinstance(model_size, bool) or not isinstance(model_size, (int, float)):
        raise InputError(f"`model_size` must be a number of parameters, got {model_size!r}"[:120])
    low, high = MODEL_SIZE_RANGE
    try:
        size = float(model_size)
    except OverflowError:
        size = math.inf
    if not (math.isfinite(size) and size > 0):
        raise InputError(f"model size must be a positive number of parameters, got {size}")
    if not low <= size <= high:
        guess = f"; did you mean {size:g}e9 ({size:g}B)?" if 0.1 <= size < low else ""
        span = "…".join(f"{x:.0e}".replace("e+0", "e").replace("e+", "e") for x in (low, high))
        raise InputError(f"`model_size` {size:g} is outside {span}{guess}")
    return size
