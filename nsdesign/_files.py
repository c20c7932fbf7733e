"""Atomic file writing: a reader sees the old file or the whole new one, never a half-written one."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from nsdesign.errors import InputError


def json_number(value: Any) -> Any:
    """A float as JSON can hold it: ±inf as "inf"/"-inf", NaN as "nan"; anything else unchanged (the one encoder)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"cannot write {target}: directory {directory} does not exist")
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
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], document: Any) -> Path:
    return write_text_atomic(path, json.dumps(document, indent=2) + "\n")


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
