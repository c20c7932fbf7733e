"""One CLI vocabulary (docs/cli.md): shared flag parsers and the hidden aliases that keep old spellings working.

Old spellings stay accepted for one release as hidden aliases (argparse.SUPPRESS: they parse, `--help` does
not list them). Each alias writes the same destination as the flag that replaced it.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from nsdesign.errors import InputError

# The --dtype names, everywhere. Commands accept the subset they can run; plot's old numpy names still parse.
DTYPES: tuple[str, ...] = ("exact", "fp64", "fp32", "bf16", "fp16")
OLD_DTYPE_NAMES: dict[str, str] = {"float64": "fp64", "float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}


def hidden_alias(parser: Any, *names: str, dest: str, **kwargs: Any) -> None:
    """An old spelling of a flag: parses into `dest`, absent from --help."""
    parser.add_argument(*names, dest=dest, help=argparse.SUPPRESS, **kwargs)


def steps_or_range(text: str) -> int | tuple[int, int]:
    """--steps N, or a range LO-HI (also LO:HI, LO..HI) where a command searches step counts."""
    text = str(text).strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    match = re.fullmatch(r"(\d+)\s*(?:-|:|\.\.)\s*(\d+)", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a step count N or a range LO-HI, got {text!r}")
    lo, hi = int(match.group(1)), int(match.group(2))
    if not 1 <= lo <= hi:
        raise argparse.ArgumentTypeError(f"a step range needs 1 ≤ LO ≤ HI, got {text!r}")
    return lo, hi


def dtype_name(allowed: tuple[str, ...]) -> Any:
    """An argparse type accepting the shared --dtype names in `allowed` (and plot's old numpy spellings)."""

    def parse(text: str) -> str:
        name = OLD_DTYPE_NAMES.get(text, text)
        if name not in allowed:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}, got {text!r}")
        return name

    return parse


def require_count(flag: str, value: Any) -> int | None:
    """A step count where a command takes no range (InputError naming the flag otherwise)."""
    if isinstance(value, tuple):
        raise InputError(f"{flag} takes a step count here, not a range")
    return value
