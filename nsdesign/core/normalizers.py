"""Normalizers: the scalar (or diagonal) that divides an update before Newton–Schulz, and the band it leaves.

Why this matters. A schedule is designed for the singular values it will see. Muon divides the update X by
its Frobenius norm ‖σ‖₂, which bounds σ_max by 1 but overestimates it widely (a Gaussian 1024×4096 matrix
lands in [0.016, 0.047]), so the schedule must cover a band far wider than the spectrum. Any s ≥ σ_max is
an equally safe divisor, and tighter ones come almost free from products the first step forms anyway:

    name       divisor                        guaranteed σ_max after    extra matmuls   needs
    frobenius  ‖X‖_F = ‖σ‖₂                   ≤ 1                       0               —
    schatten4  ‖A‖_F^{1/2} = ‖σ‖₄, A = XXᵀ    ≤ 1                       0 (reuses A)    a first step of degree ≥ 3
    schatten8  ‖A²‖_F^{1/4} = ‖σ‖₈            ≤ 1                       0 (reuses A²)   a first step of degree ≥ 5
    spectral   f·ŝ, ŝ from k power iterations none (ŝ ≤ σ_max)          0 (A·v only)    a first step of degree ≥ 3
    aol        row scaling D = diag(Σ_j|A_ij|)^{-1/2}   ≤ 1             0 (reuses A)    a first step of degree ≥ 3

(‖σ‖_p ≥ σ_max for every p, and ‖σ‖_p decreases in p, so Schatten-8 is the tightest of the three norms.)
Rescaling X by 1/s means A by 1/s² and A² by 1/s⁴: scalar work on products that exist already.

- spectral: k power iterations v ← A v on the Gram matrix give λ̂ = ‖A^k v‖/‖A^{k−1} v‖ ≤ λ_max and
  ŝ = √λ̂ ≤ σ_max. The estimate is *below* σ_max, so the normalized σ_max = σ_max/(f·ŝ) may exceed 1: nothing
  bounds it for an adversarial start vector (a start orthogonal to the top direction never sees it). The model
  here assumes a start vector whose energy is spread evenly over the eigenvectors (the expectation of a
  Haar-random start): ŝ⁴ = Σσ^{4k}/Σσ^{4k−4}. σ above 1 is the guard band's job (default
  guard 1.02 for this normalizer), and what a schedule does above that is its overshoot.
- aol (almost-orthogonal layers, Prach & Lampert 2022, arXiv 2208.03160; used by Turbo-Muon, arXiv
  2512.04632): X ← D X with D_ii = (Σ_j |A_ij|)^{-1/2}. Then D A D has absolute row sums ≤ 1, so its spectral
  radius is ≤ 1 (Gershgorin on |DAD| with the Schur test) and ‖DX‖₂ ≤ 1. D is not a scalar: NS then converges
  to polar(DX), not polar(X); `aol_bias` measures that difference on a matrix.

The map of a spectrum (`normalized`) needs only the singular values for the scalar normalizers; AOL needs the
matrix (`apply`). For i.i.d. matrices the Schatten and spectral factors are closed-form (`mp_factor`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from nsdesign._files import read_json
from nsdesign.core.cost import Shape
from nsdesign.errors import InputError

NORMALIZERS: tuple[str, ...] = ("frobenius", "schatten4", "schatten8", "spectral", "aol")
# Default power iterations and safety factor of the spectral estimate. The estimate converges slowly at a
# square-root spectral edge: in the equal-energy model a Marchenko–Pastur matrix (aspect 1:1 to 1:16) has
# σ_max/ŝ = 1.10 after 4 iterations, 1.048 after 8, 1.024 after 16 (`mp_factor`). 8 iterations with a 1.03
# safety factor put its normalized σ_max at 1.017–1.018, inside the default 1.02 guard band.
DEFAULT_POWER_ITERATIONS = 8
DEFAULT_SPECTRAL_SAFETY = 1.03
MAX_POWER_ITERATIONS = 100
# The upper end of the guard band each normalizer needs by default (issue 9): the norms and AOL bound σ_max by
# 1 exactly; Frobenius keeps the community's 2% headroom for bf16 rounding of the input, spectral for its
# underestimate.
DEFAULT_GUARD_SIGMA = {"frobenius": 1.02, "schatten4": 1.0, "schatten8": 1.0, "spectral": 1.02, "aol": 1.0}


@dataclass(frozen=True)
class Normalizer:
    """One normalizer with its parameters (only `spectral` takes any)."""

    name: str = "frobenius"
    power_iterations: int = DEFAULT_POWER_ITERATIONS  # spectral only
    safety: float = DEFAULT_SPECTRAL_SAFETY  # spectral only: divide by f·ŝ

    def __post_init__(self) -> None:
        if self.name not in NORMALIZERS:
            raise InputError(f"unknown normalizer {self.name!r}; choose one of {', '.join(NORMALIZERS)}")
        k = self.power_iterations
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_POWER_ITERATIONS:
            raise InputError(f"power iterations must be 1 … {MAX_POWER_ITERATIONS}, got {str(k)[:12]}")
        if isinstance(self.safety, bool) or not isinstance(self.safety, (int, float)) or not (
            math.isfinite(self.safety) and 1.0 <= self.safety <= 2.0
        ):
            raise InputError(f"spectral safety factor must be in [1, 2], got {self.safety!r}")
        object.__setattr__(self, "power_iterations", int(k))
        object.__setattr__(self, "safety", float(self.safety))

    # -- what it needs and costs ------------------------------------------------------------------

    @property
    def min_first_degree(self) -> int:
        """Smallest degree of the first NS step that forms the products this normalizer reads."""
        return {"frobenius": 1, "schatten8": 5}.get(self.name, 3)

    @property
    def guaranteed(self) -> bool:
        """True when normalized σ_max ≤ 1 holds for every matrix (all but the spectral estimate)."""
        return self.name != "spectral"

    @property
    def scalar(self) -> bool:
        """False for AOL, whose diagonal rescaling changes the polar factor itself."""
        return self.name != "aol"

    @property
    def default_guard_sigma(self) -> float:
        return DEFAULT_GUARD_SIGMA[self.name]

    @property
    def extra_matmuls(self) -> int:
        """Matrix–matrix products beyond the schedule's own: none (each reuses the first step's A or A²)."""
        return 0

    def extra_flops(self, shape: Shape) -> float:
        """FLOPs beyond the schedule's own, on an m×n input (m ≤ n); O(mn) and O(m²) work only.

        frobenius: Σx² (2mn); schatten4/8: ‖A‖_F or ‖A²‖_F (2m²) and rescaling A (m²) — the norm of X itself is
        not needed; spectral: k products A·v (2m² each) and the rescaling of A (m²); aol: |A| row sums (m²),
        D A D (2m²) and D X (mn). The O(mn) rescaling of X is counted for every normalizer.
        """
        m, n = shape.m, shape.n
        if self.name == "frobenius":
            return 2.0 * m * n + m * n
        if self.name in ("schatten4", "schatten8"):
            return 2.0 * m * m + m * m + m * n
        if self.name == "spectral":
            return 2.0 * m * m * self.power_iterations + m * m + m * n
        return m * m + 2.0 * m * m + m * n

    def bound(self, sigma: Any = None) -> float:
        """Upper bound on the normalized σ_max: 1 where guaranteed; for spectral, σ_max/(f·ŝ) of `sigma`.

        The spectral value is the model's (equal-energy start vector), not a guarantee; without a spectrum it
        is infinite, because no finite bound holds for every start vector.
        """
        if self.guaranteed:
            return 1.0
        if sigma is None:
            return math.inf
        s = _spectrum(sigma)
        return float(s.max() / self.divisor(s))

    def check_first_degree(self, degree: int) -> None:
        """Refuse a schedule whose first step does not form the products this normalizer reads."""
        if degree < self.min_first_degree:
            what = "A² = (XXᵀ)²" if self.name == "schatten8" else "A = XXᵀ"
            raise InputError(
                f"{self.name} reads {what} from the first step, which needs degree ≥ {self.min_first_degree}; "
                f"this schedule's first step has degree {degree}"
            )

    def label(self) -> str:
        if self.name != "spectral":
            return self.name
        return f"spectral ({self.power_iterations} power iterations, safety {self.safety:g})"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        if self.name == "spectral":
            data.update(power_iterations=self.power_iterations, safety=self.safety)
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "normalizer") -> Normalizer:
        if isinstance(data, str):
            return cls(data)
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise InputError(f"{where}: expected a normalizer name or {{'name': …}}, got {data!r}")
        return cls(
            data["name"],
            data.get("power_iterations", DEFAULT_POWER_ITERATIONS),
            data.get("safety", DEFAULT_SPECTRAL_SAFETY),
        )

    # -- the map of a spectrum --------------------------------------------------------------------

    def divisor(self, sigma: Any) -> float:
        """The scalar s the raw singular values are divided by (scalar normalizers only)."""
        s = _spectrum(sigma)
        if self.name == "aol":
            raise InputError("aol rescales rows, not by a scalar: its map needs the matrix (use apply)")
        if self.name == "frobenius":
            return _pnorm(s, 2)
        if self.name == "schatten4":
            return _pnorm(s, 4)
        if self.name == "schatten8":
            return _pnorm(s, 8)
        return self.safety * _power_estimate(s, self.power_iterations)

    def normalized(self, sigma: Any) -> np.ndarray:
        """The singular values after this normalizer, same order as given (scalar normalizers only)."""
        s = _spectrum(sigma)
        return s / self.divisor(s)

    def apply(self, x: Any, start: Any = None) -> np.ndarray:
        """The normalized matrix (float64), as the runtime computes it.

        spectral runs the power iteration on A = XXᵀ (wide orientation) from `start` (default: the all-ones
        vector, deterministic); the others follow the formulas in the module docstring.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.size == 0 or not np.all(np.isfinite(x)):
            raise InputError(f"a normalizer needs a finite non-empty 2-D matrix, got shape {x.shape}")
        wide = x if x.shape[0] <= x.shape[1] else x.T
        a = wide @ wide.T
        if self.name == "aol":
            rows = np.abs(a).sum(axis=1)
            d = np.where(rows > 0, 1.0 / np.sqrt(np.where(rows > 0, rows, 1.0)), 0.0)
            out = d[:, None] * wide
        else:
            if self.name == "frobenius":
                s = float(np.linalg.norm(wide))
            elif self.name == "schatten4":
                s = float(np.linalg.norm(a)) ** 0.5
            elif self.name == "schatten8":
                s = float(np.linalg.norm(a @ a)) ** 0.25
            else:
                v = np.ones(a.shape[0]) if start is None else np.asarray(start, dtype=np.float64)
                s = self.safety * _power_iteration(a, v, self.power_iterations)
            out = wide / s if s > 0 else wide
        return out if x.shape[0] <= x.shape[1] else out.T

    # -- Marchenko–Pastur closed forms ------------------------------------------------------------

    def mp_factor(self, shape: Shape) -> float:
        """For an i.i.d. m×n matrix: normalized σ = Frobenius-normalized σ × this factor (m → ∞ limit).

        σ²/n follows Marchenko–Pastur with ratio y = m/n, whose moments are Narayana polynomials M_k(y), so
        ‖σ‖_p^p = m·n^{p/2}·M_{p/2} and σ/‖σ‖_p = σ_F · √(m·M₁)/(m·M_{p/2})^{1/p}. The spectral estimate of the
        equal-energy model is ŝ⁴ = n²·M_{2k}/M_{2k−2}. AOL on Gaussian entries: A_ii ≈ n and E|A_ij| ≈ √(2n/π), so
        D ≈ (n + (m−1)√(2n/π))^{-1/2}·I, a scalar to first order (this one is an approximation for Gaussian
        entries, not a law for every i.i.d. distribution).
        """
        m, n = shape.m, shape.n
        y = m / n
        if self.name == "frobenius":
            return 1.0
        if self.name == "schatten4":
            return math.sqrt(m) / (m * mp_moment(2, y)) ** 0.25
        if self.name == "schatten8":
            return math.sqrt(m) / (m * mp_moment(4, y)) ** 0.125
        if self.name == "spectral":
            k = self.power_iterations
            ratio = mp_moment(2 * k, y) / mp_moment(2 * k - 2, y) if k > 1 else mp_moment(2, y)
            return math.sqrt(m) / (self.safety * ratio**0.25)
        return math.sqrt(m * n) / math.sqrt(n + (m - 1) * math.sqrt(2.0 * n / math.pi))


def get(name: str | Normalizer, power_iterations: int | None = None, safety: float | None = None) -> Normalizer:
    """A normalizer by name (or pass one through); power_iterations and safety apply to spectral only."""
    if isinstance(name, Normalizer):
        return name
    if not isinstance(name, str):
        raise InputError(f"a normalizer is a name ({', '.join(NORMALIZERS)}), got {name!r}")
    if name != "spectral" and (power_iterations is not None or safety is not None):
        raise InputError(f"power iterations and a safety factor apply to the spectral normalizer, not {name}")
    return Normalizer(
        name,
        DEFAULT_POWER_ITERATIONS if power_iterations is None else power_iterations,
        DEFAULT_SPECTRAL_SAFETY if safety is None else safety,
    )


def recorded_normalizer(reference: Any) -> Normalizer | None:
    """The normalizer a schedule document or schedule JSON file records (schema field "normalizer"), if any.

    Files without the field (every version-1 file) record none, and run under Frobenius as before.
    """
    document = reference
    import os

    if isinstance(reference, (str, os.PathLike)) and str(reference).endswith(".json") and os.path.exists(reference):
        document = read_json(reference)
    if isinstance(document, dict) and document.get("normalizer") is not None:
        return Normalizer.from_dict(document["normalizer"], where="schedule normalizer")
    return None


# --------------------------------------------------------------------------------------------------
# Marchenko–Pastur moments (Narayana polynomials)
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def narayana(k: int, j: int) -> int:
    """N(k, j) = C(k, j)·C(k, j−1)/k."""
    return math.comb(k, j) * math.comb(k, j - 1) // k


def mp_moment(k: int, ratio: float) -> float:
    """E[λ^k] for Marchenko–Pastur with ratio y ≤ 1 (unit variance): Σ_{j=1..k} N(k, j) y^{j−1}."""
    if k < 1:
        raise InputError(f"moment order must be at least 1, got {k}")
    if not (math.isfinite(ratio) and 0.0 < ratio <= 1.0):
        raise InputError(f"aspect ratio min/max must be in (0, 1], got {ratio}")
    return float(sum(narayana(k, j) * ratio ** (j - 1) for j in range(1, k + 1)))


# --------------------------------------------------------------------------------------------------
# AOL's bias
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AolBias:
    """How far polar(D X) (what NS converges to after AOL) is from polar(X) (what Muon wants)."""

    spectral: float  # ‖polar(DX) − polar(X)‖₂ (0 … 2)
    relative_frobenius: float  # ‖polar(DX) − polar(X)‖_F / ‖polar(X)‖_F
    min_alignment: float  # smallest singular value of polar(X)·polar(DX)ᵀ (wide orientation): 1 = same directions


def polar(x: Any) -> np.ndarray:
    """U Vᵀ of the thin SVD (float64)."""
    u, _, vt = np.linalg.svd(np.asarray(x, dtype=np.float64), full_matrices=False)
    return u @ vt


def aol_bias(x: Any) -> AolBias:
    """Difference between polar(DX) and polar(X) for a matrix (zero when D is a scalar, e.g. orthogonal rows)."""
    x = np.asarray(x, dtype=np.float64)
    target = polar(x)
    got = polar(Normalizer("aol").apply(x))
    diff = got - target
    wide_t = target if target.shape[0] <= target.shape[1] else target.T
    wide_g = got if got.shape[0] <= got.shape[1] else got.T
    align = np.linalg.svd(wide_t @ wide_g.T, compute_uv=False)
    return AolBias(
        spectral=float(np.linalg.norm(diff, 2)),
        relative_frobenius=float(np.linalg.norm(diff) / np.linalg.norm(target)),
        min_alignment=float(align.min()),
    )


# --------------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------------


def _spectrum(sigma: Any) -> np.ndarray:
    s = np.asarray(sigma, dtype=np.float64).ravel()
    if s.size == 0 or not np.all(np.isfinite(s)) or np.any(s < 0) or not np.any(s > 0):
        raise InputError("singular values must be finite, non-negative and not all zero")
    return s


def _pnorm(s: np.ndarray, p: int) -> float:
    top = float(s.max())
    return top * float(np.sum((s / top) ** p)) ** (1.0 / p)  # scaled: no overflow for σ^8


def _power_estimate(s: np.ndarray, k: int) -> float:
    """ŝ of k power iterations with an equal-energy start: ŝ⁴ = Σσ^{4k}/Σσ^{4k−4} (scaled by σ_max)."""
    top = float(s.max())
    t = s / top
    num = float(np.sum(t ** (4 * k)))
    den = float(np.sum(t ** (4 * k - 4)))
    return top * (num / den) ** 0.25


def _power_iteration(a: np.ndarray, v: np.ndarray, k: int) -> float:
    """ŝ = (‖A^k v‖/‖A^{k−1} v‖)^{1/2}, normalizing v at each step."""
    if v.shape != (a.shape[0],) or not np.all(np.isfinite(v)) or not np.any(v):
        raise InputError(f"the start vector must be a finite non-zero vector of length {a.shape[0]}")
    v = v / np.linalg.norm(v)
    lam = 0.0
    for _ in range(k):
        w = a @ v
        lam = float(np.linalg.norm(w))
        if lam == 0.0:
            return 0.0
        v = w / lam
    return math.sqrt(lam)
