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
from typing import Any

from nsdesign.errors import InputError

STDOUT = "-"


def json_number(value: Any) -> Any:
    """A float as JSON can hold it: ±inf as "inf"/"-inf", NaN as "nan"; anything else unchanged (the one encoder)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


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
        hint = "; give the link's target path" if kind == "a symbolic link" else ""
        raise InputError(f"cannot write {target}: it is {kind}; -o writes only new or regular files{hint}")


def check_output_path(path: str | os.PathLike[str]) -> Path | None:
    """Validate an output path before any work starts: the Path to write, or None for standard output.

    Raises InputError for an empty path, a missing folder, or an existing non-regular file (see the module
    docstring for why symbolic links are refused)."""
    text = os.fspath(path)
    if not isinstance(text, str) or text == "":
        raise InputError("an output path must not be empty (give a file name, or - for standard output)")
    if text == STDOUT:
        return None
    if "\0" in text:
        raise InputError(f"cannot write {text!r}: a path cannot contain a NUL character")
    target = Path(text)
    _refuse_existing(target)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"cannot write {target}: directory {directory} does not exist")
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


def read_bytes(path: str | os.PathLike[str], kind: str = "file", max_bytes: int = -1) -> bytes:
    """The file's bytes (at most `max_bytes`), or an InputError naming the `kind` of file that was expected."""
    try:
        with open(path, "rb") as handle:
            return handle.read(max_bytes)
    except FileNotFoundError:
        raise InputError(f"{kind} not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"expected a {kind}, got a directory: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_json(path: str | os.PathLike[str]) -> Any:
    raw = read_bytes(path, "JSON file")
    try:
        return json.loads(raw.decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a UTF-8 text file") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
