"""One CLI vocabulary (docs/cli.md): shared flag parsers and the hidden aliases that keep old spellings working.

Old spellings stay accepted for one release as hidden aliases (argparse.SUPPRESS: they parse, `--help` does
not list them). Each alias writes the same destination as the flag that replaced it.
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass
from typing import Any

from nsdesign.core.cost import Shape
from nsdesign.core.normalizers import get
from nsdesign.errors import InputError
from nsdesign.laws.blocks import blocks_of
from nsdesign.laws.normalized import BandSource

# The --dtype names are core.limits.DTYPES (and "exact"); each command accepts the subset it can run (its
# engine names it); plot's old numpy names still parse.
OLD_DTYPE_NAMES: dict[str, str] = {"float64": "fp64", "float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}


# Numbers as a user types them: ASCII digits only. float() and int() also take Unicode digits ('١e-3' is 1e-3
# to Python) and underscores ('1_000'); a flag value that a reader cannot see as a number must not become one.
_REAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity|nan)", re.ASCII | re.IGNORECASE)
_INTEGER = re.compile(r"[+-]?\d{1,30}", re.ASCII)  # 30 digits: past any count or seed, far below int's 4300
NEGATIVE_NUMBER = re.compile(r"^-(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^-inf(?:inity)?$", re.ASCII | re.IGNORECASE)
"""What argparse must read as a negative value, not as an unknown option: its own pattern misses '-1e-3'."""


def _quoted(text: str) -> str:
    """A bad value as an error message shows it: at most 20 characters (an argument may be 300)."""
    return repr(text if len(text) <= 20 else text[:14] + "…" + text[-5:])


def real(text: str) -> float:
    """A float flag value in ASCII notation (1e-3, -0.5, inf, nan; range checks are the command's)."""
    if not _REAL.fullmatch(str(text).strip()):
        raise argparse.ArgumentTypeError(f"{_quoted(str(text))} is not a number (e.g. 1e-3)")
    return float(text)


def integer(text: str) -> int:
    """An integer flag value in ASCII digits (no '1.5', '1e3', Unicode digits or underscores)."""
    if not _INTEGER.fullmatch(str(text).strip()):
        raise argparse.ArgumentTypeError(f"{_quoted(str(text))} is not an integer (ASCII, e.g. 5)")
    return int(text)


STRICT_TYPES: dict[Any, Any] = {float: real, int: integer}
"""The parser (cli.main._Parser) reads every `type=float` / `type=int` flag with these instead."""


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


# The guard band (docs/cli.md): σ in (U, G] may occur (a normalizer's bound, rounding) and must not blow up.
# Without --normalize its top is 1.02·U (Polar Express's 2 % margin, core.limits.DEFAULT_HEADROOM), so the old
# spelling `--headroom H` (overshoot measured on [0, (1 + H)·U]) is `--guard-sigma (1 + H)·U`.
GUARD_SIGMA_HELP = (
    "top G of the guard band [max-sigma, G]: σ up to G may occur and must not blow up "
    "(default 1.02·max-sigma; with --normalize its bound, 1.0 or 1.02)"
)


def add_guard_sigma(parser: Any, help_text: str = GUARD_SIGMA_HELP) -> None:
    """--guard-sigma G, and the old --headroom H (= --guard-sigma (1 + H)·U) as a hidden alias."""
    parser.add_argument("--guard-sigma", type=float, metavar="G", help=help_text)
    deprecated_alias(parser, "--headroom", "--guard-sigma (1 + H)·U", dest="legacy_headroom", type=float)


def guard_sigma_of(args: Any, max_sigma: float) -> float | None:
    """The guard band's top from --guard-sigma or the old --headroom (None when neither is given)."""
    g, h = getattr(args, "guard_sigma", None), getattr(args, "legacy_headroom", None)
    if g is not None and h is not None:
        raise InputError("give --guard-sigma (the guard band's top) or the old --headroom, not both")
    if h is not None:
        if not (math.isfinite(h) and 0 <= h <= 1):
            raise InputError(f"--headroom must be in [0, 1], got {h}")
        return (1.0 + h) * max_sigma
    return g


@dataclass(frozen=True)
class BandEdge:
    """The band's lower edge as the flags give it: --min-sigma, or predicted (--model-size/--layer/--quantile,
    or --shape/--quantile) with where it came from and what the prediction warns about (printed only once the
    design has succeeded)."""

    min_sigma: float
    source: str | None = None
    warnings: tuple[str, ...] = ()
    shape: str | None = None  # the matrix NS sees: --shape, or its block's under --heads/--block


def shape_of(text: str | None) -> Any:
    """`--shape MxN` as a `nsdesign.core.cost.Shape` (None when not given)."""
    if text is None:
        return None

    return Shape.parse(text)


def add_normalizer_arguments(parser: argparse.ArgumentParser) -> None:
    """--normalize and the spectral estimate's knobs (shared by predict, search and validate)."""
    parser.add_argument(
        "--normalize", help="normalizer before NS: frobenius, schatten4, schatten8, spectral or aol (default frobenius)"
    )
    parser.add_argument("--power-iterations", type=int, help="spectral: power iterations k (default 8)")
    parser.add_argument("--spectral-safety", type=float, help="spectral: divide by f·ŝ (default 1.03)")


def normalizer_from_args(args: argparse.Namespace) -> Any:
    """The Normalizer the arguments name (frobenius when --normalize is absent)."""
    name = getattr(args, "normalize", None)
    k, f = getattr(args, "power_iterations", None), getattr(args, "spectral_safety", None)
    if name is None and (k is not None or f is not None):
        raise InputError("--power-iterations and --spectral-safety need --normalize spectral")
    return get(name or "frobenius", k, f)


def parse_degree(text: str) -> int | tuple[int, ...] | str:
    """`--degrees`: one odd degree, a comma list (one per step), or 'auto'."""
    if text == "auto":
        return "auto"
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--degrees takes odd integers (5 or 3,5,7) or auto, got {text!r}") from None
    return values[0] if len(values) == 1 else values


def add_block_arguments(parser: Any) -> None:
    """--heads H / --block MxN: the matrix is orthogonalized per head or per shard (nsdesign.laws.blocks)."""
    parser.add_argument("--heads", type=int, metavar="H", help="per-head NS: split the rows into H blocks")
    parser.add_argument("--block", metavar="MxN", help="per-shard NS: blocks of MxN tiling the matrix")


def blocks_from_args(args: Any) -> Any:
    """The `nsdesign.laws.blocks.Blocks` of --shape under --heads/--block (None when neither is given)."""
    heads, block = getattr(args, "heads", None), getattr(args, "block", None)
    if heads is None and block is None:
        return None
    if getattr(args, "shape", None) is None:
        raise InputError("--heads and --block split a matrix: give --shape MxN too")

    return blocks_of(args.shape, heads, block)


MODEL_SIZE_SUFFIXES = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}


def model_size(text: str) -> float:
    """70e9, 7.0e10, 70B, 125M, 1.5T (case-insensitive suffixes k/M/B/G/T)."""
    match = re.fullmatch(r"\s*([0-9.eE+-]+)\s*([kKmMbBgGtT]?)\s*", text)
    try:
        if not match:
            raise ValueError
        return float(match.group(1)) * MODEL_SIZE_SUFFIXES[match.group(2).lower()]
    except ValueError:
        # argparse turns this into "argument --model-size: …", a one-line InputError with exit code 2
        raise argparse.ArgumentTypeError(f"a parameter count like 70e9 or 70B, got {text!r}") from None


def comma_list(flag: str, text: str | None) -> tuple[str, ...] | None:
    """A comma-separated flag value: None when the flag is absent; an empty value or an empty item ('', ',,',
    '3,,5') is an error, never a silent "default"."""
    if text is None:
        return None
    items = tuple(item.strip() for item in text.split(","))
    if not text.strip() or any(not item for item in items):
        raise InputError(f"{flag}: no empty items allowed, got {text[:20]!r}")
    return items


def int_list(flag: str, text: str | None, what: str = "odd integers like 3,5,7") -> tuple[int, ...] | None:
    """`comma_list` of integers (degrees, steps, restart indices)."""
    items = comma_list(flag, text)
    if items is None:
        return None
    try:
        return tuple(int(item) for item in items)
    except ValueError:
        raise InputError(f"{flag} must be a comma list of {what}; got {text!r}") from None


DEPRECATIONS = "deprecated_spellings"  # the namespace attribute where old spellings are noted


class _DeprecatedAlias(argparse.Action):
    """An old spelling that still works for one release: it parses into the new flag's dest and is noted; main()
    prints the notes once the command has succeeded (an error stays one line)."""

    def __init__(self, *args: Any, new: str = "", **kwargs: Any) -> None:
        self.new = new
        super().__init__(*args, **kwargs)

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        note = f"{option_string} is the old spelling of {self.new} (it goes away in the next release)"
        setattr(namespace, DEPRECATIONS, [*getattr(namespace, DEPRECATIONS, []), note])
        setattr(namespace, self.dest, values)


def deprecated_alias(parser: Any, old: str, new: str, dest: str, **kwargs: Any) -> None:
    """`old` parses into `dest`, absent from --help; a successful command then warns that `new` replaces it."""
    parser.add_argument(old, dest=dest, action=_DeprecatedAlias, new=new, help=argparse.SUPPRESS, **kwargs)


# -- study storage -------------------------------------------------------------------------------------

STUDIES_FILE = "nsdesign-studies.db"  # in the working directory, beside the command's outputs
STUDIES_ENV = "NSDESIGN_STUDIES"  # another default file (tests point it at a temporary folder)
STORAGE_HELP = (f"where trials live: sqlite:///file.db, postgresql+psycopg2://…, journal:PATH or memory "
                f"(default: sqlite:///{STUDIES_FILE}, so an interrupted study resumes)")


def study_storage(text: str | None) -> str | None:
    """--storage as the library takes it: a URL, None for `memory`, and by default a local SQLite file, so a
    re-run of an interrupted command resumes instead of starting over."""
    import os

    if text is not None:
        return None if text.strip().lower() == "memory" else text
    return f"sqlite:///{os.environ.get(STUDIES_ENV) or STUDIES_FILE}"


def band_source_from_args(args: Any) -> BandSource:
    """The band under a normalizer as the flags give it: --min-sigma/--max-sigma, or one source (--shape,
    --model-size/--layer, --spectrum FILE) at --quantile. --max-sigma's default 1.0 counts as unset for a
    predicted band (it brings its own σ_max)."""
    return BandSource(
        min_sigma=args.min_sigma,
        max_sigma=None if args.max_sigma == 1.0 and args.min_sigma is None else args.max_sigma,
        quantile=args.quantile,
        shape=shape_of(args.shape),
        model_size=args.model_size,
        layer=args.layer,
        laws_path=args.laws,
        spectrum=args.spectrum,
    )
