"""Matrices for the histogram figures: where they come from, how NS runs on them, their singular values.

A *matrix source* is a short string:

    gaussian:MxN            i.i.d. N(0, 1) entries (Marchenko–Pastur after Frobenius scaling)
    spectrum:logu:LO:MxN    singular values log-spaced from LO to 1, random orthogonal singular vectors
                            (validate's syntax; the older logspace:MxN:LO still reads)
    [file:]PATH.npy         a 2-D array saved with numpy.save (file: as in validate --source is optional)
    PATH.npz[:KEY]          one array of an .npz archive (the first 2-D one when KEY is left out)
    PATH.safetensors[:KEY]  one tensor of a safetensors file (e.g. a momentum buffer from `nsdesign capture`)

Newton–Schulz runs through `nsdesign.torch.newton_schulz` when that layer is importable (float32, bf16 …);
otherwise through the numpy reference below (float64 / float32): Frobenius scaling by
max(norm_div·‖X‖_F, eps) as torch.optim.Muon does, the wide orientation, one A = X Xᵀ per step and
Horner in A for the higher terms.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from nsdesign._files import read_npy, read_npz, read_safetensors, require_regular, shown
from nsdesign._matrices import haar_factors
from nsdesign._memory import host_available_bytes as _host_available_bytes
from nsdesign.core.cost import Shape
from nsdesign.core.limits import check_seed
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError

NUMPY_DTYPES = {"float64": np.float64, "float32": np.float32}
TORCH_ONLY_DTYPES = ("bfloat16", "float16")
DTYPES: tuple[str, ...] = tuple(NUMPY_DTYPES) + TORCH_ONLY_DTYPES
MAX_ELEMENTS = 64 * 1024 * 1024  # 8192x8192: beyond this an SVD on a laptop CPU takes far too long
DEFAULT_EPS = 1e-7


# --------------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------------


def gaussian_matrix(shape: Shape | tuple[int, int], seed: int = 0, dtype: Any = np.float64) -> np.ndarray:
    m, n = (shape.m, shape.n) if isinstance(shape, Shape) else shape
    _check_size(m, n)
    return np.random.default_rng(seed).standard_normal((m, n)).astype(dtype, copy=False)


def prescribed_matrix(singular_values: np.ndarray, shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """U diag(s) Vᵀ with Haar-random orthogonal U, V; len(s) must be min(shape)."""
    m, n = shape
    _check_size(m, n)
    s = np.asarray(singular_values, dtype=np.float64)
    r = min(m, n)
    if s.shape != (r,):
        raise InputError(f"need {r} singular values for a {m}x{n} matrix, got {s.shape[0] if s.ndim == 1 else s.shape}")
    u, v = haar_factors(m, n, seed)
    return (u * s) @ v.T


def logspace_matrix(shape: tuple[int, int], lo: float, seed: int = 0) -> np.ndarray:
    if not (np.isfinite(lo) and 0 < lo < 1):
        raise InputError(f"logspace source needs 0 < LO < 1, got {lo}")
    r = min(shape)
    return prescribed_matrix(np.geomspace(lo, 1.0, r)[::-1], shape, seed)


def load_matrix(source: str, seed: int = 0) -> tuple[np.ndarray, str]:
    """The matrix a source string names, and a short label for figure titles."""
    check_seed(seed)  # numpy refuses a negative or ≥ 2^32 seed with a ValueError
    text = source.strip()
    match = re.fullmatch(r"gaussian:(\d+)[xX×](\d+)", text)
    if match:
        m, n = int(match.group(1)), int(match.group(2))
        _require_fits(m, n, text)
        return gaussian_matrix(Shape(m, n) if m <= n else (m, n), seed), f"Gaussian {m}×{n}"
    match = re.fullmatch(r"spectrum:logu:([0-9.eE+-]+):(\d+)[xX×](\d+)", text)  # validate's syntax
    if match:
        text = f"logspace:{match.group(2)}x{match.group(3)}:{match.group(1)}"
    elif text.startswith("file:"):
        text = text[len("file:"):]
        return _load_file(text), Path(text.split(":")[0]).name
    match = re.fullmatch(r"logspace:(\d+)[xX×](\d+):([0-9.eE+-]+)", text)  # the older plot spelling
    if match:
        m, n = int(match.group(1)), int(match.group(2))
        _require_fits(m, n, text)
        try:
            lo = float(match.group(3))
        except ValueError:
            raise InputError(f"logspace source needs a number after the shape, got {match.group(3)!r}") from None
        return logspace_matrix((m, n), lo, seed), f"log-spaced σ ∈ [{lo:g}, 1], {m}×{n}"
    if text.startswith(("gaussian:", "logspace:", "spectrum:")):
        raise InputError(f"matrix source must look like gaussian:MxN or spectrum:logu:L:MxN, got {source!r}")
    return _load_file(text), Path(text.split(":")[0]).name


def histogram_bytes(m: int, n: int) -> int:
    """Peak bytes of one histogram run on an m×n source: the float64 matrix, its Haar factors (m² + n·m),
    the SVD's copies and workspace (~2 more matrices) and the NS run's X, A, B in float64 → about
    6·m·n + 3·r² doubles (r = min(m, n)). An overestimate by design."""
    r, big = min(m, n), max(m, n)
    return 8 * (6 * r * big + 3 * r * r)


def _require_fits(m: int, n: int, what: str) -> None:
    """Refuse a generated source that would not fit in 80% of the free host memory, before allocating it."""
    if m < 1 or n < 1:
        raise InputError(f"{what}: matrix sides must be positive, got {m}x{n}")
    needed = histogram_bytes(m, n)
    free = _host_available_bytes()
    if free is not None and needed > 0.8 * free:
        raise InputError(
            f"{what} needs about {needed / 2**30:.3g} GiB but only {0.8 * free / 2**30:.3g} GiB is free; use a smaller shape"
        )


def _load_file(text: str) -> np.ndarray:
    path_text, key = text, None
    for suffix in (".npz", ".safetensors"):
        head, sep, tail = text.partition(suffix + ":")
        if sep:
            path_text, key = head + suffix, tail
    path = Path(path_text)
    if not os.path.lexists(path_text):  # os.path: False rather than OSError for a too-long name
        raise InputError(
            f"{shown(text)!r}: not a file, gaussian: or spectrum: source"
        )
    require_regular(path, "matrix file")  # a FIFO or device: refused before its suffix is even looked at
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            array = read_npy(path, "matrix file")
        elif suffix == ".npz":
            array = _pick(read_npz(path, "matrix file"), key, path)
        elif suffix == ".safetensors":
            array = _pick(read_safetensors(path, "matrix file"), key, path)
        else:
            raise InputError(f"{path}: matrix files must be .npy, .npz or .safetensors")
    except InputError:
        raise
    except ImportError:
        raise InputError("reading .safetensors needs the safetensors package (pip install safetensors)") from None
    except Exception as exc:  # numpy/safetensors raise many types for a corrupt file
        raise InputError(f"cannot read {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    return _check_matrix(np.asarray(array), str(path))


def _pick(arrays: dict[str, np.ndarray], key: str | None, path: Path) -> np.ndarray:
    if key is not None:
        if key not in arrays:
            raise InputError(f"{path} has no array {key!r}; it has: {', '.join(sorted(arrays)) or 'none'}")
        return arrays[key]
    for name in sorted(arrays):
        if np.ndim(arrays[name]) == 2:
            return arrays[name]
    raise InputError(f"{path} holds no 2-D array")


def _check_matrix(array: np.ndarray, where: str) -> np.ndarray:
    if array.ndim != 2:
        raise InputError(f"{where}: expected a 2-D matrix, got shape {tuple(array.shape)}")
    _check_size(*array.shape)
    if not np.issubdtype(array.dtype, np.floating) and not np.issubdtype(array.dtype, np.integer):
        raise InputError(f"{where}: expected real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise InputError(f"{where}: the matrix has non-finite entries")
    if not np.any(array):
        raise InputError(f"{where}: the matrix is all zeros")
    return array


def _check_size(m: int, n: int) -> None:
    if m < 1 or n < 1:
        raise InputError(f"matrix dimensions must be positive, got {m}x{n}")
    if m * n > MAX_ELEMENTS:
        raise InputError(f"a {m}x{n} matrix is too large here (at most {MAX_ELEMENTS} entries)")


# --------------------------------------------------------------------------------------------------
# Newton–Schulz on a matrix
# --------------------------------------------------------------------------------------------------


def newton_schulz_numpy(
    matrix: np.ndarray, schedule: Schedule, dtype: str = "float32", eps: float = DEFAULT_EPS, normalize: bool = True
) -> np.ndarray:
    """The reference NS run in numpy: X ← X / (norm_div‖X‖_F + eps), then each step on the wide orientation.

    With normalize=False the input is only divided by norm_div (its singular values are taken as given).
    """
    if dtype not in NUMPY_DTYPES:
        raise InputError(f"the numpy kernel runs {' or '.join(NUMPY_DTYPES)}, got {dtype!r}")
    t = NUMPY_DTYPES[dtype]
    x = np.asarray(matrix).astype(t)
    transposed = x.shape[0] > x.shape[1]
    if transposed:
        x = x.T
    if normalize:
        x = x / t(max(schedule.input_scale * float(np.linalg.norm(x.astype(np.float64))), eps))
    else:
        x = x / t(schedule.input_scale)
    with np.errstate(over="ignore", invalid="ignore"):
        for p in schedule.steps:
            c = [t(v) for v in p.coefficients]
            if len(c) == 1:
                x = c[0] * x
                continue
            a = x @ x.T
            b = c[-1] * a
            for cj in reversed(c[1:-1]):
                b = cj * a + b @ a
            x = c[0] * x + b @ x
    return x.T if transposed else x


def newton_schulz(matrix: np.ndarray, schedule: Schedule, dtype: str = "float32", eps: float = DEFAULT_EPS) -> np.ndarray:
    """NS as Muon runs it (Frobenius scaling first), returned in float64.

    Runs through `nsdesign.torch.newton_schulz` when that layer is importable (any of its dtypes, bf16
    included), else through the numpy reference (float64/float32).
    """
    if dtype not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    runner = _torch_runner()
    if runner is not None:
        return runner(matrix, schedule, dtype, eps)
    if dtype in TORCH_ONLY_DTYPES:
        raise InputError(f"dtype {dtype} needs torch and nsdesign.torch (pip install 'nsdesign[torch]')")
    return newton_schulz_numpy(matrix, schedule, dtype, eps).astype(np.float64)


def backend() -> str:
    """Which kernel `newton_schulz` uses here: 'nsdesign.torch' or 'numpy'."""
    return "nsdesign.torch" if _torch_runner() is not None else "numpy"


def _torch_runner():
    """nsdesign.torch's kernel on a numpy matrix when torch is installed (torch itself is imported in torch/)."""
    from importlib.util import find_spec

    if find_spec("torch") is None:
        return None
    from nsdesign.torch.crosscheck import newton_schulz_array

    return newton_schulz_array


def singular_values(matrix: np.ndarray) -> np.ndarray:
    """Singular values in float64, descending (non-finite input gives all-inf).

    Computed as √eig of the Gram matrix of the short side (symmetric eigensolver, float64): ~10× faster than
    an SVD on the nearly orthogonal matrices NS produces, and accurate to ~1e-16·σ_max²/σ relative, far
    below anything a histogram or a quantile resolves.
    """
    x = np.asarray(matrix, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        return np.full(min(x.shape), np.inf)
    gram = x @ x.T if x.shape[0] <= x.shape[1] else x.T @ x
    try:
        values = np.linalg.eigvalsh(gram)[::-1]
    except np.linalg.LinAlgError:  # LAPACK's divide-and-conquer can (rarely) fail to converge: take the SVD
        return np.linalg.svd(x, compute_uv=False)
    return np.sqrt(np.maximum(values, 0.0))


def frobenius_normalized(matrix: np.ndarray) -> np.ndarray:
    x = np.asarray(matrix, dtype=np.float64)
    return x / np.linalg.norm(x)
