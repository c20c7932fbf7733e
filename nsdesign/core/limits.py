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

# -- tolerances and bands ----------------------------------------------------------------------------

MIN_TOLERANCE = 1e-15  # errors below this are round-off in double precision: not certifiable
MIN_BAND_RATIO = 1e-15  # min_sigma/max_sigma below this is beyond double precision (and any real matrix)
DEFAULT_HEADROOM = 0.02  # overshoot is measured on [0, (1 + 0.02)·max_sigma]: Polar Express's safety margin
# Overshoot above which the CLI warns (and bf16/fp16 export targets refuse without --force): a σ slightly past the
# band edge (or a rounding error) is amplified instead of pulled back to 1; every published preset meant for bf16
# stays below 1.21 (keller5 1.202).
OVERSHOOT_WARNING = 1.5

# -- greedy knobs (Polar Express, arXiv 2505.16932 §4) ------------------------------------------------

CUSHION_RANGE = (0.0, 1.0)  # λ ∈ [0, 1): λ = 1 would design on the top edge only
SAFETY_RANGE = (1.0, 2.0)  # s ∈ [1, 2]: published values are 1.01–1.05; 2 already halves the band
NORM_DIV_RANGE = (0.5, 4.0)  # the input divisor: beyond these the divided band leaves any sane design range

# -- forms, depths, divergence -----------------------------------------------------------------------

Form = Literal["standard", "gram"]
FORMS: tuple[str, ...] = ("standard", "gram")  # Muon's X·p(XᵀX) form and Dao-AILab's Gram-matrix form

DEPTHS: tuple[str, ...] = ("mid_early", "mid", "mid_late", "final")  # arXiv 2606.04058's depth groups
DEPTH_POSITIONS: dict[str, float] = {"mid_early": 0.25, "mid": 0.5, "mid_late": 0.75, "final": 1.0}

DIVERGED = 1e3
"""An output singular value above this means the run blew up: a working schedule maps the band near 1
and even a bad one stays below ~10, while a diverging one passes 1e3 within a step or two of leaving."""


# -- validators -------------------------------------------------------------------------------------


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
