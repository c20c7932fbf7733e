"""Atomic file writing: a reader sees the old file or the whole new one, never a half-written one.

Output policy (the same for every `-o/--output`):

- `-` means standard output: the text or JSON is written there as is (no path checks, no rename).
- An empty path is an error.
- A new path, or an existing *regular file*, is written atomically (temporary file in the same folder, then
  `os.replace`), so a failure keeps the old file.
- Anything else that already exists is refused before any work starts and again just before the rename:
  a directory, a device, a FIFO, a socket, and a **symbolic link** (even one to a regular file). Replacing a
  link would silently swap it for a file; writing through it would let a link aimed at `/dev/…` or another
  user's file be overwritten. Give the link's target path instead.
"""

from __future__ import annotations

import json
import math
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from nsdesign.errors import InputError

STDOUT = "-"


def json_number(value: Any) -> Any:
    """A float as JSON can hold it: ±inf as "inf"/"-inf", NaN as "nan"; anything else unchanged (the one encoder)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def finite_json(document: Any) -> Any:
    """`document` with every non-finite float replaced by `json_number`'s string ("inf", "-inf", "nan"), at any
    depth: what a `--json` report prints, so its output is strict JSON (RFC 8259 has no Infinity) that `jq` and
    every other strict parser reads."""
    if isinstance(document, dict):
        return {key: finite_json(value) for key, value in document.items()}
    if isinstance(document, (list, tuple)):
        return [finite_json(value) for value in document]
    return json_number(document)


def strict_json(document: Any, indent: int | None = 2) -> str:
    """json.dumps of `finite_json(document)` with allow_nan=False: never `Infinity` or `NaN` in the output."""
    return json.dumps(finite_json(document), indent=indent, allow_nan=False)


def is_stdout(path: str | os.PathLike[str] | None) -> bool:
    """Whether an output path means standard output (`-o -`)."""
    return path is not None and os.fspath(path) == STDOUT


def _kind(mode: int) -> str | None:
    """What a non-regular file is, for the error message (None for a regular file)."""
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def _refuse_existing(target: Path) -> None:
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
    kind = _kind(mode)
    if kind is not None:
        what = "a symbolic link; give its target" if kind == "a symbolic link" else f"{kind}, not a regular file"
        raise InputError(f"cannot write {shown(target)}: {what}")


def check_output_path(path: str | os.PathLike[str]) -> Path | None:
    """Validate an output path before any work starts: the Path to write, or None for standard output.

    Raises InputError for an empty path, a missing folder, or an existing non-regular file (see the module
    docstring for why symbolic links are refused)."""
    text = os.fspath(path)
    if not isinstance(text, str) or text == "":
        raise InputError("an output path must not be empty (give a file, or - for stdout)")
    if text == STDOUT:
        return None
    if "\0" in text:
        raise InputError(f"cannot write {text!r}: a path cannot contain a NUL character")
    if text.endswith(tuple(sep for sep in (os.sep, os.altsep) if sep)):
        # Path('newdir/') is Path('newdir'): the separator that says "a folder" would silently be dropped
        raise InputError(f"cannot write to {shown(text)}: it ends in /; give a file name")
    target = Path(text)
    _refuse_existing(target)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"cannot write {shown(target)}: no such folder")
    return target


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    target = check_output_path(path)
    if target is None:
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:
            sys.stdout.write(data.decode("utf-8", errors="replace"))
        else:
            buffer.write(data)
            buffer.flush()
        return Path(STDOUT)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; outputs are ordinary files
        _refuse_existing(target)  # again: something may have appeared at the path while we worked
        os.replace(tmp, target)
    except InputError:
        Path(tmp).unlink(missing_ok=True)
        raise
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    if is_stdout(path):
        sys.stdout.write(text)
        sys.stdout.flush()
        return Path(STDOUT)
    return write_bytes_atomic(path, text.encode("utf-8"))


def json_text(document: Any) -> str:
    """Strict JSON (RFC 8259 has no NaN or Infinity): a non-finite number is an InputError naming its key."""
    _require_finite(document, "")
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def _require_finite(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"cannot write {value} at {where or 'the top level'} as JSON: JSON has no NaN or infinity")
    if isinstance(value, dict):
        for key, item in value.items():
            _require_finite(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _require_finite(item, f"{where}[{index}]")


def write_json_atomic(path: str | os.PathLike[str], document: Any) -> Path:
    return write_text_atomic(path, json_text(document))


# --------------------------------------------------------------------------------------------------
# Guarded readers: one per kind of input file (bytes/text/CSV, JSON, .npy/.npz, .safetensors)
# --------------------------------------------------------------------------------------------------

MAX_FILE_BYTES = 256 * 2**20  # a JSON, CSV or text input larger than this is refused (matrix files are not bounded)
MAX_JSON_DEPTH = 64  # nsdesign's own documents nest at most ~6 deep
MAX_INT_DIGITS = 300  # an integer with more digits cannot be a float (1e309 overflows) nor anything we read


SHOWN_WIDTH = 28  # a path in a one-line error: the rest of the line must still fit 80 columns


def shown(path: str | os.PathLike[str]) -> str:
    """A path as an error message names it: at most 28 characters, the file name whole where it fits
    ("…/runs/s.json"), so a 300-character argument stays one short line."""
    text = os.fspath(path)
    text = text if isinstance(text, str) else os.fsdecode(text)
    if len(text) <= SHOWN_WIDTH:
        return text
    name = os.path.basename(text.rstrip("/")) or text
    if len(name) <= SHOWN_WIDTH - 2:
        return "…" + text[-(SHOWN_WIDTH - 1):] if len(name) < SHOWN_WIDTH - 8 else "…/" + name
    return f"{text[:9]}…{text[-(SHOWN_WIDTH - 10):]}"


def require_regular(path: str | os.PathLike[str], kind: str = "file") -> os.stat_result:
    """The stat of `path` when it is a regular file (a symbolic link is followed); else an InputError.

    Checked BEFORE opening: opening a FIFO for reading blocks until a writer appears, a device may never end,
    and a directory fails with a platform-specific error. Every reader calls this first."""
    text = os.fspath(path)
    if text in ("", b""):
        raise InputError(f"a {kind} path must not be empty")
    if "\0" in str(text):
        raise InputError(f"cannot read {shown(path)!r}: a path cannot contain a NUL character")
    try:
        info = os.stat(text)
    except FileNotFoundError:
        raise InputError(f"{kind} not found: {shown(path)}") from None
    except OSError as exc:
        raise InputError(f"cannot read {shown(path)}: {exc.strerror or exc}") from None
    what = _kind(info.st_mode)
    if what is not None:
        raise InputError(f"{shown(path)} is {what}, not a regular {kind}")
    return info


def open_regular(path: str | os.PathLike[str], kind: str = "file") -> BinaryIO:
    """A binary handle on the regular file `path` (see `require_regular`).

    Opened non-blocking and checked again with fstat, so a FIFO swapped in after the stat cannot hang us."""
    require_regular(path, kind)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot read {shown(path)}: {exc.strerror or exc}") from None
    what = _kind(os.fstat(fd).st_mode)
    if what is not None:
        os.close(fd)
        raise InputError(f"{shown(path)} is {what}, not a regular {kind}")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_bytes(path: str | os.PathLike[str], kind: str = "file", max_bytes: int = -1,
               limit: int | None = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file: at most `max_bytes` of them (-1: all); a file over `limit` bytes is refused
    rather than read whole (`limit` None: unbounded). Errors are InputErrors naming the `kind` expected."""
    info = require_regular(path, kind)
    if limit is not None and max_bytes < 0 and info.st_size > limit:
        raise InputError(f"{shown(path)}: the {kind} has {info.st_size} bytes; at most {limit} are read")
    try:
        with open_regular(path, kind) as handle:
            return handle.read(max_bytes)
    except OSError as exc:
        raise InputError(f"cannot read {shown(path)}: {exc.strerror or exc}") from None


def read_text(path: str | os.PathLike[str], kind: str = "text file", limit: int | None = MAX_FILE_BYTES) -> str:
    """A regular UTF-8 text file (a leading BOM dropped); CSV files are read with this too."""
    try:
        return read_bytes(path, kind, limit=limit).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{shown(path)} is not a UTF-8 text file") from None


class _JSONBound(Exception):
    """Raised from inside json.loads by the number hooks; mapped to an InputError by `parse_json`."""


def _parse_int(text: str) -> int:
    """A JSON integer of at most MAX_INT_DIGITS digits (Python refuses 4300 with a ValueError; far fewer overflow
    a float, which is what every number we read becomes)."""
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _JSONBound(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _parse_float(text: str) -> float:
    """A JSON number with a fraction or exponent that is finite as a float (1e400 would silently become inf)."""
    value = float(text)
    if math.isinf(value):
        raise _JSONBound(f"{text[:12]} overflows a float (|x| ≤ 1.8e308)")
    return value


def _depth(document: Any) -> int:
    """How deeply lists and objects nest in a parsed document (iteratively, so no recursion limit applies)."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, (list, dict)):
            deepest = max(deepest, level)
            if level <= MAX_JSON_DEPTH:
                stack.extend((item, level + 1) for item in (value.values() if isinstance(value, dict) else value))
    return deepest


def parse_json(text: str | bytes, where: str = "JSON") -> Any:
    """Parse JSON text with bounds: nesting ≤ MAX_JSON_DEPTH, integers ≤ MAX_INT_DIGITS digits, no float literal
    that overflows to inf. NaN/Infinity literals are still read (readers check finiteness where it matters)."""
    try:
        document = json.loads(text, parse_int=_parse_int, parse_float=_parse_float)
    except _JSONBound as exc:
        raise InputError(f"{where}: {exc}") from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply (at most {MAX_JSON_DEPTH} levels)") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{where} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except UnicodeDecodeError:
        raise InputError(f"{where} is not a UTF-8 text file") from None
    except ValueError as exc:  # e.g. Python's own integer-string limit
        raise InputError(f"{where}: {str(exc).splitlines()[0]}") from None
    if _depth(document) > MAX_JSON_DEPTH:
        raise InputError(f"{where}: JSON nested too deeply (at most {MAX_JSON_DEPTH} levels)")
    return document


def read_json(path: str | os.PathLike[str], kind: str = "JSON file") -> Any:
    """A regular JSON file, parsed with `parse_json`'s bounds."""
    return parse_json(read_text(path, kind), shown(path))


def read_npy(path: str | os.PathLike[str], kind: str = ".npy file", mmap: bool = False) -> Any:
    """A .npy array in native byte order, of a real or integer dtype numpy and torch both hold.

    A 0-byte file, pickled objects, long double (no torch/float64-exact counterpart) and complex values are
    InputErrors; a big-endian array is byte-swapped (torch.from_numpy refuses non-native order)."""
    import numpy as np

    if require_regular(path, kind).st_size == 0:
        raise InputError(f"{shown(path)}: the {kind} is empty (0 bytes)")
    try:
        if mmap:
            array = np.load(os.fspath(path), mmap_mode="r", allow_pickle=False)
        else:
            with open_regular(path, kind) as handle:
                array = np.load(handle, allow_pickle=False)
    except InputError:
        raise
    except Exception as exc:  # numpy raises ValueError, OSError, EOFError … for a corrupt file
        raise InputError(f"{shown(path)}: not a readable {kind} ({_first_line(exc, 18)})") from None
    return _native(np.asarray(array) if not mmap else array, path)


def read_npz(path: str | os.PathLike[str], kind: str = ".npz file") -> dict[str, Any]:
    """Every array of a .npz archive by name (each as `read_npy` would return it)."""
    import numpy as np

    require_regular(path, kind)
    try:
        with open_regular(path, kind) as handle, np.load(handle, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{shown(path)}: not a readable {kind} ({_first_line(exc, 18)})") from None
    return {name: _native(array, f"{shown(path)}:{name}") for name, array in arrays.items()}


def read_safetensors(path: str | os.PathLike[str], kind: str = ".safetensors file") -> dict[str, Any]:
    """Every tensor of a .safetensors file as a numpy array; a dtype numpy cannot hold (fp8, …) is an InputError."""
    require_regular(path, kind)
    try:
        from safetensors.numpy import load
    except ImportError:
        raise InputError("reading .safetensors needs the safetensors package (pip install safetensors)") from None
    data = read_bytes(path, kind, limit=None)
    try:
        arrays = load(data)
    except Exception as exc:  # SafetensorError, TypeError for fp8/bf16 …
        raise InputError(f"{shown(path)}: unreadable ({_first_line(exc, 12)}); use float16/32/64") from None
    return {name: _native(array, f"{shown(path)}:{name}") for name, array in arrays.items()}


def _native(array: Any, where: Any) -> Any:
    """`array` in native byte order; long double and complex values refused (see `read_npy`)."""
    import numpy as np

    dtype = array.dtype
    if dtype.kind == "c" or (dtype.kind == "f" and dtype.itemsize > 8) or dtype.kind not in "fiub":
        raise InputError(f"{shown(where)}: dtype {dtype} unsupported (use float16/32/64 or ints)")
    if not dtype.isnative:
        return np.asarray(array).astype(dtype.newbyteorder("="))
    return array


def _first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message, at most `limit` characters (library messages can be pages long)."""
    lines = str(exc).strip().splitlines()
    line = lines[0] if lines else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
