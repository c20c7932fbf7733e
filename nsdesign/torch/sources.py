"""Where validation matrices come from: `gaussian:MxN`, `spectrum:logu:L:MxN`, `file:PATH`, `capture:DIR`.

Each source yields named 2-D float tensors on the CPU. Sizes are checked against free memory *before* anything
large is allocated (synthetic shapes are known up front; safetensors headers and .npy headers give shapes
without reading data; .pt files are memory-mapped when their format allows).

Tensors with more than two dimensions (convolution kernels) are flattened to (shape[0], −1), the way
Muon implementations treat them (Keller Jordan's muon.py: `g.view(len(g), -1)`), and the row says so.
1-D tensors (biases, norms) are skipped when a file has matrices too; a file with none is an error.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from nsdesign._files import read_npy, require_regular, shown
from nsdesign.errors import InputError

KINDS = ("gaussian", "spectrum", "file", "capture")
FILE_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".npy")
MAX_SYNTHETIC_SIDE = 1 << 20


@dataclass(frozen=True)
class Matrix:
    """One validation input: a name, a 2-D float tensor (CPU) and an optional note (e.g. 'flattened')."""

    name: str
    tensor: torch.Tensor
    note: str = ""


@dataclass(frozen=True)
class Source:
    """A parsed source reference (synthetic shapes are known before anything is generated)."""

    kind: str
    text: str
    shape: tuple[int, int] | None = None
    min_sigma: float | None = None
    path: Path | None = None


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------


def parse_source(text: str) -> Source:
    kind, _, rest = text.partition(":")
    if kind not in KINDS or not rest:
        raise InputError(
            f"unknown source {text!r}; use gaussian:MxN, spectrum:logu:L:MxN, file:PATH or capture:DIR"
        )
    if kind == "gaussian":
        return Source(kind, text, shape=_parse_shape(rest, text))
    if kind == "spectrum":
        parts = rest.split(":")
        if len(parts) != 3 or parts[0] != "logu":
            raise InputError(f"spectrum source must look like spectrum:logu:1e-3:256x1024, got {text!r}")
        try:
            low = float(parts[1])
        except ValueError:
            raise InputError(f"{text!r}: the lower singular value must be a number, got {parts[1]!r}") from None
        if not 0 < low <= 1:
            raise InputError(f"{text!r}: the lower singular value must lie in (0, 1], got {low:g}")
        return Source(kind, text, shape=_parse_shape(parts[2], text), min_sigma=low)
    path = Path(rest).expanduser()
    if not os.path.exists(path):  # os.path: False rather than OSError for a too-long name
        raise InputError(f"{kind} source: {'file' if kind == 'file' else 'directory'} not found: {shown(rest)}")
    if kind == "capture" and not path.is_dir():
        raise InputError(f"capture source must be a directory written by `nsdesign capture`, got {rest}")
    if kind == "file" and not path.is_file():
        raise InputError(f"file source must be a file (.safetensors, .pt, .npy), got {rest}")
    return Source(kind, text, path=path)


def _parse_shape(text: str, whole: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not match:
        raise InputError(f"{whole!r}: shape must look like 256x1024, got {text!r}")
    m, n = int(match.group(1)), int(match.group(2))
    if not (0 < m <= MAX_SYNTHETIC_SIDE and 0 < n <= MAX_SYNTHETIC_SIDE):
        raise InputError(f"{whole!r}: matrix sides must lie in 1…{MAX_SYNTHETIC_SIDE}, got {m}x{n}")
    return m, n


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def load_matrices(
    source: Source,
    *,
    seed: int = 0,
    match: str | None = None,
    fits: Callable[[str, tuple[int, ...], int], None] | None = None,
) -> Iterator[Matrix]:
    """Yield the matrices of `source`. `fits(name, shape, itemsize)` is called before each one is materialized."""
    pattern = _compile(match)
    check = fits or (lambda name, shape, itemsize: None)
    if source.kind in ("gaussian", "spectrum"):
        assert source.shape is not None
        name = source.text
        check(name, source.shape, 8)
        yield Matrix(name, gaussian(source.shape, seed) if source.kind == "gaussian" else log_uniform(source.shape, source.min_sigma or 1.0, seed))
        return
    assert source.path is not None
    files = [source.path] if source.kind == "file" else sorted(source.path.rglob("*.safetensors"))
    if not files:
        raise InputError(f"{source.text}: no .safetensors files found (capture some first: nsdesign.torch.capture.capture_momentum, or `nsdesign capture`)")
    found = 0
    skipped: list[str] = []
    empty: list[str] = []
    for path in files:
        prefix = "" if source.kind == "file" else _capture_prefix(source.path, path)
        for name, shape, itemsize, load in _tensors(path):
            full = prefix + name
            if pattern is not None and not pattern.search(full):
                continue
            if len(shape) < 2:
                skipped.append(full)
                continue
            if 0 in tuple(shape):  # a 0×n matrix has no singular values to orthogonalize
                empty.append(f"{full} {'x'.join(map(str, shape))}")
                continue
            check(full, shape, itemsize)
            tensor = load()
            found += 1
            yield _as_matrix(full, tensor)
    if found == 0:
        what = f"matching {match!r} " if match else ""
        notes = []
        if skipped:
            notes.append(f"{len(skipped)} below 2-D")
        if empty:
            notes.append(f"{len(empty)} empty, e.g. {empty[0][:12]}")
        extra = f" ({'; '.join(notes)})" if notes else ""
        raise InputError(f"{shown(source.text)}: no tensor {what}with ≥ 2 dimensions{extra}")


def _compile(match: str | None) -> re.Pattern[str] | None:
    if match is None:
        return None
    try:
        return re.compile(match)
    except re.error as exc:
        raise InputError(f"`match` is not a valid regular expression: {exc}") from None


def _capture_prefix(root: Path, path: Path) -> str:
    return path.relative_to(root).with_suffix("").as_posix() + "/"


def _as_matrix(name: str, tensor: torch.Tensor) -> Matrix:
    if tensor.is_complex():
        raise InputError(f"{name}: complex tensors are not supported ({tensor.dtype})")
    if not tensor.is_floating_point():
        raise InputError(f"{name}: expected a floating-point tensor, got {tensor.dtype}")
    note = ""
    if tensor.ndim > 2:
        note = f"flattened {tuple(tensor.shape)} to ({tensor.shape[0]}, -1) as Muon does"
        tensor = tensor.reshape(tensor.shape[0], -1)
    return Matrix(name, tensor, note)


# --------------------------------------------------------------------------------------------------
# Synthetic matrices
# --------------------------------------------------------------------------------------------------


def gaussian(shape: tuple[int, int], seed: int = 0) -> torch.Tensor:
    """i.i.d. N(0, 1) entries, float64, from a seeded CPU generator (reproducible across machines)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator, dtype=torch.float64)


def log_uniform(shape: tuple[int, int], low: float, seed: int = 0) -> torch.Tensor:
    """U·diag(σ)·Vᵀ with σ_i = low^(i/(r−1)) (log-uniform on [low, 1], both ends included) and Haar U, V.

    U and V come from QR of seeded Gaussian matrices with the signs of R's diagonal folded in (Mezzadri 2007),
    so they are Haar-distributed and reproducible.
    """
    m, n = shape
    r = min(m, n)
    generator = torch.Generator().manual_seed(seed)
    U = _haar(m, r, generator)
    V = _haar(n, r, generator)
    sigma = low ** (torch.arange(r, dtype=torch.float64) / max(r - 1, 1))
    return (U * sigma) @ V.T


def _haar(rows: int, cols: int, generator: torch.Generator) -> torch.Tensor:
    Q, R = torch.linalg.qr(torch.randn(rows, cols, generator=generator, dtype=torch.float64))
    signs = torch.sign(torch.diagonal(R))
    signs[signs == 0] = 1.0
    return Q * signs


# --------------------------------------------------------------------------------------------------
# Files: (name, shape, itemsize, loader) without reading the data first
# --------------------------------------------------------------------------------------------------


TensorEntry = tuple[str, tuple[int, ...], int, Callable[[], torch.Tensor]]


def _tensors(path: Path) -> list[TensorEntry]:
    """The entries of one tensor file; a FIFO, device or directory is refused before any reader opens it."""
    require_regular(path, "tensor file")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return _safetensors_entries(path)
    if suffix in (".pt", ".pth", ".bin"):
        return _torch_entries(path)
    if suffix == ".npy":
        return _npy_entries(path)
    raise InputError(f"unsupported file type {path.suffix or '(none)'} for {path}; use {', '.join(FILE_SUFFIXES)}")


def _safetensors_entries(path: Path) -> list[TensorEntry]:
    try:
        from safetensors import SafetensorError, safe_open
    except ImportError:
        raise InputError("reading .safetensors needs the safetensors package: pip install 'nsdesign[torch]'") from None
    try:
        handle = safe_open(str(path), framework="pt")
        names = sorted(handle.keys())
        entries: list[TensorEntry] = []
        for name in names:
            piece = handle.get_slice(name)
            shape = tuple(int(s) for s in piece.get_shape())
            _require_float_dtype(piece.get_dtype(), path, name)
            itemsize = _safetensors_itemsize(piece.get_dtype())
            entries.append((name, shape, itemsize, lambda name=name: handle.get_tensor(name)))
        return entries
    except SafetensorError as exc:
        raise InputError(f"{path} is not a readable safetensors file ({exc})") from None
    except (OSError, TypeError) as exc:  # torch cannot represent some dtypes, e.g. complex
        raise InputError(f"cannot read {path}: {exc}") from None


SAFETENSORS_FLOATS: tuple[str, ...] = ("F16", "BF16", "F32", "F64")


def _require_float_dtype(dtype: str, path: Path, name: str) -> None:
    """Refuse a tensor dtype validation cannot measure (fp8 has no isfinite/linalg kernels; ints are not weights)."""
    if dtype.upper() not in SAFETENSORS_FLOATS:
        raise InputError(f"{path.name}: tensor {name[:80]!r} has dtype {dtype}; supported: {', '.join(SAFETENSORS_FLOATS)}")


def _safetensors_itemsize(dtype: str) -> int:
    digits = re.findall(r"\d+", dtype)
    return max(int(digits[0]) // 8, 1) if digits else 8


def _torch_entries(path: Path) -> list[TensorEntry]:
    try:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # legacy (non-zip) format cannot be memory-mapped
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types; all mean "not a tensor file we can read"
        raise InputError(f"cannot read {path} as a torch tensor file ({type(exc).__name__}: {_first_line(exc)})") from None
    flat: list[tuple[str, torch.Tensor]] = []
    _flatten(obj, "", flat)
    if not flat:
        raise InputError(f"{path} contains no tensors")
    return [(name, tuple(t.shape), t.element_size(), lambda t=t: t) for name, t in flat]


def _flatten(obj: object, prefix: str, out: list[tuple[str, torch.Tensor]]) -> None:
    if isinstance(obj, torch.Tensor):
        out.append((prefix or "tensor", obj))
    elif isinstance(obj, dict):
        for key in obj:
            _flatten(obj[key], f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            _flatten(item, f"{prefix}.{i}" if prefix else str(i), out)


def _npy_entries(path: Path) -> list[TensorEntry]:
    array = read_npy(path, mmap=True)  # guarded: regular file, not empty, native byte order, no long double
    if np.iscomplexobj(array):
        raise InputError(f"{path.name}: complex arrays are not supported ({array.dtype})")
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"{path.name}: expected a floating-point array, got {array.dtype}")
    name = path.stem
    return [(name, tuple(array.shape), array.dtype.itemsize, lambda: torch.from_numpy(np.array(array)))]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
