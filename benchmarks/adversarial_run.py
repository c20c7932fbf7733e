"""The adversarial run of issue 25, by hand: `python benchmarks/adversarial_run.py [--only SUBSTR] [--json PATH]`.

Every case class the hardening issue lists, run as a hostile user would: each case is a fresh `python -m nsdesign`
process (or a short library call) in a scratch folder, with a timeout, and checked against the contract:

* no traceback, no hang (the timeout ends it and the case fails), no raw control character on stdout or stderr;
* bad input: exit code 2 and exactly ONE stderr line `nsdesign: error: …` of at most 80 columns, nothing on stdout,
  no file created or changed in the folder;
* Ctrl-C (SIGINT sent while the command works): exit 130 and the one line `nsdesign: interrupted`;
* output that cannot be written (stdout on /dev/full, an ASCII-only stream): one stderr line, a non-zero exit;
* good input (`ok` cases): exit 0; `--json` output parses as strict JSON; `--help` fits 80 columns.

Inputs: FIFOs and links to FIFOs for every reader, hostile JSON (deep nesting, > 4300-digit and 400-digit integers,
1e309, schema_version true/2.0, string coefficients, boolean norm_div, lone surrogates, ANSI names), odd .npy
(big-endian, long double, 0 bytes, complex, pickled objects) and fp8 .safetensors, unbounded numbers (model sizes
1e-320, seeds < 0 or ≥ 2^32, counts 1e9), ANSI escapes / lone surrogates / 300-character arguments / bad mathtext
titles, empty comma lists, Unicode digits, negative numbers, `-o newdir/`, capture's output checks, `--restarts` with
the fused kernel, `sqlite:///x.db?mode=ro`, and the library calls the issue names.

The regression guard is tests/test_fuzz_cli.py (in-process, seconds); this script is the slow, faithful run (real
processes, real signals, real streams). On a 2-core CPU it takes a few minutes; torch cases are skipped when torch
is missing. It prints one line per failure and the counts: `cases N, failures F`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HAS_TORCH = __import__("importlib.util").util.find_spec("torch") is not None
PYTHON = sys.executable
BIG = "a" * 300


@dataclass(frozen=True)
class Case:
    """One adversarial command line (or library snippet) and what the contract expects of it."""

    group: str
    argv: tuple  # nsdesign arguments (str or bytes), or () for a library snippet
    expect: str = "bad"  # bad | ok | any | sigint | stream
    code: str = ""  # library snippet (run with nsdesign imported as ns)
    env: tuple = ()  # extra environment (name, value)
    stdout: str = ""  # "" (a pipe) or a path such as /dev/full
    torch: bool = False
    timeout: float = 60.0
    sigint_after: float = 0.0
    json_out: bool = False
    width: bool = False  # every stdout line ≤ 80 columns
    forbid: tuple = ()  # files that must not exist afterwards


@dataclass
class Result:
    case: Case
    problems: list = field(default_factory=list)
    seconds: float = 0.0


# ---------------------------------------------------------------------------------------------------------------
# Fixtures: one scratch folder per case, filled with every hostile input
# ---------------------------------------------------------------------------------------------------------------

SCHEDULE = {"schema_version": 2, "coefficients": [[3.4445, -4.775, 2.0315]] * 5}
HOSTILE_JSON = {
    "deep.json": b"[" * 10_000,
    "deepobj.json": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "hugeint.json": b'{"schema_version": 2, "coefficients": [[' + b"9" * 5000 + b", 1, 1]]}",
    "longint.json": b'{"schema_version": 2, "coefficients": [[' + b"9" * 400 + b", 1, 1]]}",
    "overflow.json": b'{"schema_version": 2, "coefficients": [[1e309, 1, 1]]}',
    "vtrue.json": b'{"schema_version": true, "coefficients": [[3, -4.7, 2]]}',
    "vfloat.json": b'{"schema_version": 2.0, "coefficients": [[3, -4.7, 2]]}',
    "strcoef.json": b'{"schema_version": 2, "coefficients": [["3", -4.7, 2]]}',
    "booldiv.json": b'{"schema_version": 2, "norm_div": true, "coefficients": [[3, -4.7, 2]]}',
    "badutf8.json": b'{"schema_version": 2, "coefficients": [[3, -4.7, 2]], "name": "\xed\xa0\x80"}',
    "nanint.json": b'{"schema_version": 2, "coefficients": [[NaN, -4.7, 2]]}',
    "bigfloat.json": b'{"schema_version": 2, "coefficients": [[1e300, -4.7, 2]]}',
}
NAMED_JSON = {  # valid schedules whose names attack the terminal
    "ansi.json": "\x1b[2J\x1b[31mred",
    "crlf.json": "a\r\nforged line",
    "surrogate.json": "lone \ud800 surrogate",
    "longname.json": "n" * 300,
    "c1.json": "c1 \x9b31m control",
}
NPY = {
    "be.npy": lambda p: np.save(p, np.eye(8, 6).astype(">f8") + 0.1),
    "ld.npy": lambda p: np.save(p, np.eye(8, 6).astype(np.longdouble)),
    "empty.npy": lambda p: open(p, "wb").close(),
    "c.npy": lambda p: np.save(p, np.eye(8, 6).astype(np.complex64)),
    "obj.npy": lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True),
    "nan.npy": lambda p: np.save(p, np.full((8, 6), np.nan)),
    "scalar.npy": lambda p: np.save(p, np.float64(3.0)),
}


def _fp8_safetensors(path: Path) -> None:
    """A .safetensors file with one F8_E4M3 tensor, written by hand (its format: header length, JSON, bytes)."""
    header = json.dumps({"w": {"dtype": "F8_E4M3", "shape": [8, 6], "data_offsets": [0, 48]}}).encode()
    header += b" " * (-len(header) % 8)
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(range(48)))


def _fixtures(root: Path) -> None:
    import nsdesign.laws

    data = Path(nsdesign.laws.__path__[0]) / "data"
    (root / "good.json").write_text(json.dumps(SCHEDULE))
    shutil.copy(data / "laws_2606.04058.json", root / "laws.json")
    shutil.copy(data / "momentum_quantiles_2606.04058.csv", root / "m.csv")
    (root / "config.json").write_text(json.dumps({"d_model": 256, "n_layers": 2, "n_heads": 4, "d_ff": 1024}))
    (root / "text.txt").write_text("a few words of training text, repeated. " * 400)
    np.save(root / "spec.npy", np.geomspace(1e-3, 1, 64))
    for name, data_ in HOSTILE_JSON.items():
        (root / name).write_bytes(data_)
    for name, title in NAMED_JSON.items():
        (root / name).write_text(json.dumps({**SCHEDULE, "name": title}))
    for name, make in NPY.items():
        make(root / name)
    _fp8_safetensors(root / "fp8.safetensors")
    for suffix in ("json", "csv", "npy", "txt", "log", "safetensors", "db"):
        os.mkfifo(root / f"fifo.{suffix}")
        (root / f"lnk.{suffix}").symlink_to(f"fifo.{suffix}")


def _snapshot(root: Path) -> dict:
    out = {}
    for path in sorted(root.rglob("*")):
        info = os.lstat(path)
        if os.path.islink(path):
            out[str(path)] = ("link", os.readlink(path))
        elif path.is_file():
            out[str(path)] = ("file", info.st_size, info.st_mtime_ns)
        else:
            out[str(path)] = ("other", info.st_mode)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------------------------

JSON_READERS = [  # {p}: the JSON file
    ("evaluate", ["evaluate", "{p}", "--min-sigma", "1e-3"], False),
    ("compare", ["compare", "keller5", "{p}", "--min-sigma", "1e-3"], False),
    ("export", ["export", "{p}", "--to", "optax"], False),
    ("predict --laws", ["predict", "--laws", "{p}", "--model-size", "1e9", "--layer", "mid.q"], False),
    ("search --laws", ["search", "--laws", "{p}", "--model-size", "1e9", "--layer", "mid.q", "--quantile", "0.5"], False),
    ("recipe --config", ["recipe", "--config", "{p}", "--model-size", "1e9", "--tol", "0.3"], False),
    ("recipe --laws", ["recipe", "--laws", "{p}", "--model-size", "1e9", "--tol", "0.3"], False),
    ("plot frontier --pareto", ["plot", "frontier", "--pareto", "{p}", "-o", "f.png"], False),
    ("plot map", ["plot", "map", "{p}", "--min-sigma", "1e-3", "-o", "m.png"], False),
    ("plot intervals", ["plot", "intervals", "{p}", "--min-sigma", "1e-3", "-o", "i.png"], False),
    ("plot laws --laws", ["plot", "laws", "--laws", "{p}", "-o", "l.png"], False),
    ("validate", ["validate", "{p}", "--source", "gaussian:8x8", "--repeats", "1"], True),
    ("train-compare", ["train-compare", "{p}", "--quick"], True),
    ("capture --schedule", ["capture", "--schedule", "{p}", "--out-dir", "cap", "--train-steps", "2"], True),
]
OTHER_READERS = [  # (suffix, argv, needs torch)
    ("csv", ["fit", "{p}", "-o", "laws_out.json"], False),
    ("npy", ["search", "--spectrum", "{p}", "--min-sigma", "1e-3", "--objective", "weighted", "--steps", "3",
             "--trials", "2"], False),
    ("npy", ["predict", "--normalize", "spectral", "--spectrum", "{p}", "--quantile", "0.5"], False),
    ("npy", ["plot", "histogram", "keller5", "--source", "file:{p}", "-o", "h.png"], False),
    ("safetensors", ["plot", "histogram", "keller5", "--source", "file:{p}", "-o", "h.png"], False),
    ("npy", ["validate", "keller5", "--source", "file:{p}", "--repeats", "1"], True),
    ("safetensors", ["validate", "keller5", "--source", "file:{p}", "--repeats", "1"], True),
    ("txt", ["train-compare", "keller5", "--text", "{p}", "--quick"], True),
    ("txt", ["capture", "--text", "{p}", "--out-dir", "cap", "--train-steps", "2"], True),
    ("log", ["search", "--min-sigma", "1e-3", "--storage", "journal:{p}", "--trials", "2"], False),
    ("log", ["pareto", "--min-sigma", "1e-3", "--shape", "8x8", "--storage", "journal:{p}", "--trials", "2"], False),
    ("db", ["search", "--min-sigma", "1e-3", "--storage", "sqlite:///{p}", "--trials", "2"], False),
]


def reader_cases() -> list[Case]:
    cases = []
    for label, argv, torch in JSON_READERS:
        for stem in ("fifo.json", "lnk.json", *HOSTILE_JSON):
            expect = "bad" if stem not in ("bigfloat.json",) else "any"
            cases.append(Case(f"json:{label}", tuple(a.replace("{p}", stem) for a in argv), expect, torch=torch,
                              timeout=30 if stem.startswith(("fifo", "lnk")) and not torch else 90))
    for suffix, argv, torch in OTHER_READERS:
        for stem in (f"fifo.{suffix}", f"lnk.{suffix}"):
            cases.append(Case(f"fifo:{argv[0]}", tuple(a.replace("{p}", stem) for a in argv), torch=torch, timeout=30))
    for argv in (["plot", "histogram", "keller5", "--source", "file:{p}", "-o", "h.png"],
                 ["validate", "keller5", "--source", "file:{p}", "--repeats", "1"],
                 ["search", "--spectrum", "{p}", "--min-sigma", "1e-3", "--objective", "weighted", "--steps", "3",
                  "--trials", "2"]):
        torch = argv[0] == "validate"
        for stem in NPY:
            expect = "any" if stem in ("be.npy", "nan.npy") or (stem == "ld.npy" and np.dtype(np.longdouble).itemsize == 8) else "bad"
            cases.append(Case(f"npy:{argv[0]}", tuple(a.replace("{p}", stem) for a in argv), expect, torch=torch, timeout=120))
        if argv[0] != "search":
            cases.append(Case(f"fp8:{argv[0]}", tuple(a.replace("{p}", "fp8.safetensors") for a in argv), torch=torch))
    return cases


def name_cases() -> list[Case]:
    cases = []
    for stem in NAMED_JSON:
        for argv in (["evaluate", stem, "--min-sigma", "1e-3"], ["compare", stem, "keller5", "--min-sigma", "1e-3"],
                     ["evaluate", stem, "--min-sigma", "1e-3", "--json"], ["export", stem, "--to", "optax"],
                     ["export", stem, "--to", "python"], ["presets", "show", stem]):
            cases.append(Case("text:name", tuple(argv), "any", json_out="--json" in argv))
    hostile_args = ["\x1b[2J\x1b[31mred", "a\nforged", b"\xed\xa0\x80", BIG, "\u2028x", "\x9b2J"]
    for value in hostile_args:
        for argv in (["evaluate", value, "--min-sigma", "1e-3"], ["presets", "show", value],
                     ["export", "keller5", "--to", value], ["search", "--min-sigma", "1e-3", "--for", value],
                     ["predict", "--model-size", "70e9", "--layer", value], ["search", "--min-sigma", value],
                     ["plot", "histogram", "keller5", "--source", value, "-o", "h.png"],
                     ["search", "--min-sigma", "1e-3", "--shape", value], ["schema", value],
                     ["search", "--min-sigma", "1e-3", "--objective", value], [value],
                     ["search", "--min-sigma", "1e-3", value],
                     ["recipe", "--model-size", "1e9", "--tol", "0.3", "--dtype", value],
                     ["plot", "frontier", "--presets", value, "-o", "f.png"],
                     ["search", "--min-sigma", "1e-3", "-o", value if isinstance(value, bytes) else value + "/x.json"]):
            odd_but_valid = isinstance(argv[-1], bytes) and argv[-2:-1] == ["-o"]  # a file name of any bytes is a name
            cases.append(Case("text:arg", tuple(argv), "any" if odd_but_valid else "bad"))
    cases.append(Case("text:arg", ("search", "--min-sigma", "1e-3", "-o", BIG + ".json")))
    cases.append(Case("text:arg", ("evaluate", BIG + ".json", "--min-sigma", "1e-3")))
    cases.append(Case("text:arg", ("search", "--min-sigma", "1e-3", "--name", "\x1b[2Jx", "-o", "n.json"), "any"))
    for title in ("$\\frac{", "$x^$", "$$", "\x1b[2J", "\ud800", BIG, "$\\notacommand$", "a$b"):
        for kind in (["map", "keller5", "--min-sigma", "1e-3"], ["histogram", "keller5", "--source", "gaussian:8x8"]):
            argv = ["plot", *kind, "--title", title, "-o", "t.png"]
            cases.append(Case("text:title", tuple(a.encode("utf-8", "surrogatepass") if "\ud800" in a else a
                                                  for a in argv), "any"))
    return cases


def number_cases() -> list[Case]:
    cases = []
    bad = [
        ["predict", "--model-size", "1e-320", "--layer", "mid.q"],
        ["predict", "--model-size", "70", "--layer", "mid.q"],
        ["search", "--model-size", "1e-320", "--layer", "mid.q", "--quantile", "0.5"],
        ["recipe", "--model-size", "1e-320", "--tol", "0.3"],
        ["recipe", "--model-size", "1e400", "--tol", "0.3"],
        ["plot", "laws", "--model-sizes", "1e-320", "-o", "l.png"],
        ["plot", "laws", "--model-sizes", "1e9,1e-320", "-o", "l.png"],
        ["predict", "--model-size", "inf", "--layer", "mid.q"],
        ["predict", "--model-size", "nan", "--layer", "mid.q"],
    ]
    cases += [Case("number:odd-but-valid", tuple(a), "any") for a in
              (["predict", "--shape", "1024x4096", "--quantile", "1e-320"],
               ["predict", "--shape", "99999999999x99999999999", "--quantile", "0.5"],
               ["evaluate", "keller5", "--min-sigma", " 1e-3"], ["evaluate", "keller5", "--min-sigma", "1e-3 "],
               ["evaluate", "keller5", "--min-sigma", "1e-3", "--guard-sigma", "1e3", "--json"])]
    for seed in ("-1", "4294967296", "18446744073709551616", "1e9", "1.5", "٣"):
        bad += [["search", "--min-sigma", "1e-3", "--objective", "worst", "--trials", "2", "--seed", seed],
                ["search", "--min-sigma", "1e-3", "--seed", seed],
                ["pareto", "--min-sigma", "1e-3", "--shape", "8x8", "--trials", "2", "--seed", seed],
                ["plot", "histogram", "keller5", "--source", "gaussian:8x8", "--seed", seed, "-o", "h.png"]]
        cases += [Case("number:seed", tuple(a), torch=True) for a in
                  (["validate", "keller5", "--source", "gaussian:8x8", "--seed", seed],
                   ["capture", "--out-dir", "cap", "--seed", seed, "--train-steps", "2"],
                   ["train-compare", "keller5", "--seeds", seed, "--quick"])]
    for count in ("1e9", "1000000000", "-1", "0"):
        bad += [["search", "--min-sigma", "1e-3", "--objective", "worst", "--trials", count],
                ["search", "--min-sigma", "1e-3", "--objective", "worst", "--trials", "2", "--jobs", count],
                ["search", "--min-sigma", "1e-3", "--steps", count],
                ["search", "--min-sigma", "1e-3", "--max-steps", count, "--degrees", "auto"],
                ["pareto", "--min-sigma", "1e-3", "--shape", "8x8", "--trials", count],
                ["plot", "histogram", "keller5", "--source", "gaussian:8x8", "--bins", count, "-o", "h.png"],
                ["plot", "map", "keller5", "--min-sigma", "1e-3", "--dpi", count, "-o", "m.png"],
                ["plot", "frontier", "--min-sigma", "1e-3", "--max-steps", count, "-o", "f.png"],
                ["search", "--min-sigma", "1e-3", "--normalize", "spectral", "--power-iterations", count],
                ["export", "keller5", "--to", "optax", "--steps", count],
                ["evaluate", "keller5", "--min-sigma", "1e-3", "--steps", count],
                ["predict", "--shape", "1024x4096", "--heads", count, "--quantile", "0.5"]]
        cases += [Case("number:count", tuple(a), torch=True, timeout=120) for a in
                  (["validate", "keller5", "--source", "gaussian:8x8", "--repeats", count],
                   ["train-compare", "keller5", "--seeds", count, "--quick"],
                   ["capture", "--out-dir", "cap", "--batch", count, "--train-steps", "2"],
                   ["capture", "--out-dir", "cap", "--seq-len", count, "--train-steps", "2"],
                   ["validate", "keller5", "--source", "gaussian:8x8", "--heads", count])]
    bad += [["plot", "map", "keller5", "--min-sigma", "1e-3", "--size", "1e9x1e9", "-o", "m.png"],
            ["plot", "map", "keller5", "--min-sigma", "1e-3", "--size", "0x0", "-o", "m.png"],
            ["plot", "map", "keller5", "--min-sigma", "1e-3", "--size", "-1x4", "-o", "m.png"],
            ["plot", "map", "keller5", "--min-sigma", "1e-3", "--ymax", "1e309", "-o", "m.png"]]
    cases += [Case("number:torch", tuple(a), torch=True, timeout=120) for a in
              (["validate", "keller5", "--source", "gaussian:999999x999999", "--repeats", "1"],
               ["validate", "keller5", "--source", "spectrum:logu:1e-320:8x8", "--repeats", "1"])]
    cases[-1] = Case("number:odd-but-valid", cases[-1].argv, "any", torch=True, timeout=120)
    for flag in ("--min-sigma", "--tol", "--max-sigma"):
        for value in ("-1e-3", "١e-3", "１", "1_0", "0x10", "inf", "nan", "1e309", "-0"):
            argv = ["evaluate", "keller5", "--min-sigma", "1e-3", flag, value]
            if flag == "--min-sigma":
                argv = ["evaluate", "keller5", flag, value]
            bad.append(argv)
    bad += [["search", "--min-sigma", "1e-3", "--degree-choices", ""],
            ["search", "--min-sigma", "1e-3", "--objective", "worst", "--degree-choices", ","],
            ["search", "--min-sigma", "1e-3", "--objective", "worst", "--strategies", ""],
            ["pareto", "--min-sigma", "1e-3", "--shape", "8x8", "--strategies", ",,"],
            ["plot", "frontier", "--min-sigma", "1e-3", "--presets", ",,", "-o", "f.png"],
            ["search", "--min-sigma", "1e-3", "--degrees", ""],
            ["search", "--min-sigma", "1e-3", "--degrees", ",5"],
            ["plot", "laws", "--model-sizes", "", "-o", "l.png"],
            ["plot", "laws", "--layer", "", "-o", "l.png"],
            ["recipe", "--model-size", "1e9", "--tol", "0.3", "--degree-choices", ""]]
    cases += [Case("number:list", tuple(a), torch=True) for a in
              (["capture", "--out-dir", "cap", "--sizes", "", "--train-steps", "2"],
               ["capture", "--out-dir", "cap", "--capture-at", ",", "--train-steps", "2"],
               ["train-compare", "keller5", "--lr-grid", "", "--quick"])]
    cases += [Case("number", tuple(a), timeout=120) for a in bad]
    cases.append(Case("number:ok", ("search", "--model-size", "70B", "--layer", "final.o", "--quantile", "0.5"), "ok"))
    return cases


def output_cases() -> list[Case]:
    cases = []
    for argv in (["search", "--min-sigma", "1e-3", "-o", "newdir/"], ["export", "keller5", "--to", "optax", "-o", "newdir/"],
                 ["fit", "m.csv", "-o", "newdir/"], ["recipe", "--model-size", "1e9", "--tol", "0.3", "-o", "newdir/"],
                 ["plot", "map", "keller5", "--min-sigma", "1e-3", "-o", "newdir/"],
                 ["pareto", "--min-sigma", "1e-3", "--shape", "8x8", "--trials", "2", "-o", "newdir/"],
                 ["search", "--min-sigma", "1e-3", "-o", "good.json/"], ["search", "--min-sigma", "1e-3", "-o", ""],
                 ["search", "--min-sigma", "1e-3", "-o", "fifo.json"], ["search", "--min-sigma", "1e-3", "-o", "lnk.json"],
                 ["search", "--min-sigma", "1e-3", "-o", "/dev/null"], ["search", "--min-sigma", "1e-3", "-o", "."],
                 ["search", "--min-sigma", "1e-3", "-o", "missing/x.json"]):
        cases.append(Case("output:-o", tuple(argv), forbid=("newdir",)))
    cases += [Case("output:torch", tuple(a), torch=True, forbid=("newdir",)) for a in
              (["validate", "keller5", "--source", "gaussian:8x8", "-o", "newdir/"],
               ["train-compare", "keller5", "--quick", "-o", "newdir/"],
               ["train-compare", "keller5", "--quick", "--plot", "newdir/"],
               ["capture", "--out-dir", "", "--train-steps", "2"],
               ["capture", "--out-dir", "good.json", "--train-steps", "2"],
               ["capture", "--out-dir", "fifo.json", "--train-steps", "2"],
               ["validate", "keller5", "--source", "gaussian:8x8", "--kernel", "fused", "--restarts", "2"],
               ["validate", "keller5", "--source", "gaussian:8x8", "--kernel", "unfused", "--restarts", "2"])]
    cases.append(Case("output:sqlite-ro", ("search", "--min-sigma", "1e-3", "--objective", "worst", "--trials", "2",
                                           "--storage", "sqlite:///ro.db?mode=ro"), forbid=("ro.db",)))
    cases.append(Case("output:sqlite-ro", ("pareto", "--min-sigma", "1e-3", "--shape", "8x8", "--trials", "2",
                                           "--storage", "sqlite:///ro.db?mode=ro"), forbid=("ro.db",)))
    cases.append(Case("output:storage", ("search", "--min-sigma", "1e-3", "--objective", "worst", "--trials", "2",
                                         "--storage", "postgresql://user:secret@127.0.0.1:1/x"), timeout=30))
    return cases


STREAM_COMMANDS = [["presets"], ["evaluate", "keller5", "--min-sigma", "1e-3"], ["schema"], ["search", "--min-sigma", "1e-3"],
                   ["export", "keller5", "--to", "optax"], ["search", "--help"], [],
                   ["compare", "keller5", "cans5_eo", "--min-sigma", "1e-3"], ["predict", "--model-size", "70e9", "--layer", "final.o"],
                   ["search", "--min-sigma", "1e-3", "-o", "-"], ["evaluate", "keller5", "--min-sigma", "1e-3", "--json"],
                   ["evaluate", "keller5", "--min-sigma", "1e-3", "--latex"]]


def stream_cases() -> list[Case]:
    cases = []
    for argv in STREAM_COMMANDS:
        cases.append(Case("stream:/dev/full", tuple(argv), "stream", stdout="/dev/full"))
        cases.append(Case("stream:ascii", tuple(argv), "stream", env=(("PYTHONIOENCODING", "ascii"),)))
        cases.append(Case("stream:latin1-C", tuple(argv), "stream", env=(("PYTHONIOENCODING", "latin-1"),)))
    for argv in (["evaluate", "keller5", "--min-sigma", "1e-3", "--guard-sigma", "1.5", "--json"],
                 ["compare", "keller5", "cans5_eo", "--min-sigma", "1e-3", "--guard-sigma", "1.5", "--json"],
                 ["evaluate", "good.json", "--min-sigma", "1e-300", "--json"],
                 ["presets", "--json"], ["presets", "show", "keller5", "--json"],
                 ["predict", "--model-size", "1e9", "--layer", "final.o", "--json"],
                 ["predict", "--shape", "1024x4096", "--quantile", "0.5", "--json"]):
        cases.append(Case("json:strict", tuple(argv), "ok", json_out=True))
    return cases


SIGINT_COMMANDS = [  # (argv, seconds before SIGINT, torch)
    (["search", "--min-sigma", "1e-3", "--objective", "worst", "--trials", "400", "--storage", "sqlite:///i.db",
      "--study-name", "s"], 6, False),
    (["search", "--min-sigma", "1e-3", "--objective", "worst", "--trials", "400", "--jobs", "2"], 6, False),
    (["pareto", "--min-sigma", "1e-3", "--shape", "64x64", "--dtype", "bf16", "--trials", "400"], 8, True),
    (["search", "--min-sigma", "1e-5", "--for", "torch-muon"], 3, False),  # a design that takes ~9 s (a study-free path)
    (["recipe", "--model-size", "70e9", "--tol", "0.3"], 2, False),
    (["validate", "keller5", "--source", "gaussian:1024x1024", "--repeats", "200"], 6, True),
    (["capture", "--out-dir", "cap", "--train-steps", "5000"], 8, True),
    (["train-compare", "keller5", "--train-steps", "5000", "--quick"], 8, True),
    (["plot", "frontier", "--min-sigma", "1e-5", "--max-steps", "12", "--dpi", "600", "--size", "16x10", "-o", "f.png"],
     2, False),  # ~5 s: at ~2.7 s the plain figure could finish first (rc 0, the Ctrl-C after it ignored)
]


def sigint_cases() -> list[Case]:
    return [Case("sigint", tuple(a), "sigint", torch=t, sigint_after=s, timeout=60) for a, s, t in SIGINT_COMMANDS]


def help_cases() -> list[Case]:
    commands = [[], ["search"], ["evaluate"], ["compare"], ["presets"], ["export"], ["pareto"], ["predict"], ["fit"],
                ["recipe"], ["validate"], ["capture"], ["schema"], ["train-compare"], ["plot"], ["plot", "map"],
                ["plot", "intervals"], ["plot", "histogram"], ["plot", "frontier"], ["plot", "laws"]]
    cases = [Case("help", (*c, "--help"), "ok", width=True, env=(("COLUMNS", "80"),)) for c in commands]
    cases += [Case("help:wide-term", (*c, "--help"), "ok", width=True, env=(("COLUMNS", "250"),)) for c in commands]
    cases += [Case("width:schema", ("schema", kind), "ok", width=True)
              for kind in ("schedule", "recipe", "laws", "pareto", "validation", "capture")]
    return cases


LIBRARY = [
    "ns.Schedule.from_coefficients([[3.4445, -4.775, 2.0315]]).extended(-1)",
    "ns.Schedule.from_coefficients([[3.4445, -4.775, 2.0315]]).extended(True)",
    "ns.Schedule.from_coefficients([['3.4', -4.775, 2.0315]])",
    "ns.Schedule.from_coefficients([[3.4445, -4.775, 2.0315]], norm_div=True)",
    "ns.Schedule.from_coefficients([[10**400, -4.775, 2.0315]])",
    "ns.Schedule.from_coefficients([[1e308, -1e308, 1e308]]).extended(2)",
    "ns.Band(10**400)",
    "ns.Band(1e-3, 10**400)",
    "ns.Band(True)",
    "ns.Band('1e-3')",
    "ns.load_schedule('a' * 300)",
    "ns.load_schedule('a' * 300 + '.json')",
    "ns.load_schedule('fifo.json')",
    "ns.load_schedule('deep.json')",
    "ns.load_schedule('')",
    "export('keller5', 'optax')",
    "export(42, 'optax')",
    "export('keller5', 'nope')",
    "ns.evaluate('keller5', -1e-3)",
]


def library_cases() -> list[Case]:
    cases = [Case("library", (), "any", code=snippet) for snippet in LIBRARY]
    cases += [Case("library", (), "bad", code=s) for s in ("ns.load_schedule('fifo.json')", "ns.load_schedule('deep.json')",
                                                             "ns.Band(10**400)", "export(42, 'optax')")]
    return cases


# ---------------------------------------------------------------------------------------------------------------
# Running and checking
# ---------------------------------------------------------------------------------------------------------------

LIBRARY_RUNNER = """
import sys
import nsdesign as ns
from nsdesign.export import export
from nsdesign.errors import InputError
try:
    value = eval(sys.argv[1])
except InputError as exc:
    print(f"nsdesign: error: {exc}", file=sys.stderr)
    sys.exit(2)
print(repr(value)[:200])
"""


def _controls(text: str) -> list[str]:
    return sorted({repr(ch) for ch in text if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cs")
                   or ch in "\u2028\u2029\x85"})


def _default_sigint() -> None:
    """A job started in the background of a non-interactive shell ignores SIGINT, and its children inherit that;
    the command under test must see Ctrl-C as a terminal would send it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_case(case: Case, keep: bool = False) -> Result:
    result = Result(case)
    with tempfile.TemporaryDirectory(prefix="nsd-adv-") as tmp:
        root = Path(tmp)
        _fixtures(root)
        before = _snapshot(root)
        env = {**os.environ, "COLUMNS": "80", "PYTHONWARNINGS": "ignore", **dict(case.env)}
        env.pop("PYTHONIOENCODING", None) if "PYTHONIOENCODING" not in dict(case.env) else None
        if case.code:
            command = [PYTHON, "-c", LIBRARY_RUNNER, case.code]
        else:
            command = [PYTHON, "-m", "nsdesign", *case.argv]
        out_target = open(case.stdout, "wb") if case.stdout else subprocess.PIPE
        start = time.monotonic()
        proc = subprocess.Popen(command, cwd=root, env=env, stdout=out_target, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_default_sigint)
        try:
            if case.sigint_after:
                try:
                    proc.wait(case.sigint_after)
                    result.problems.append(f"finished (rc {proc.returncode}) before the SIGINT")
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=case.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            result.problems.append(f"hang: no exit within {case.timeout:.0f} s")
        finally:
            if case.stdout:
                out_target.close()
        result.seconds = time.monotonic() - start
        encoding = dict(case.env).get("PYTHONIOENCODING", "utf-8")  # a latin-1 stream holds latin-1 bytes
        _check(case, proc.returncode, (stdout or b"").decode(encoding, "surrogateescape"),
               stderr.decode(encoding, "surrogateescape"), root, before, result)
    return result


def _check(case: Case, rc: int, stdout: str, stderr: str, root: Path, before: dict, result: Result) -> None:
    problems = result.problems
    lines = [line for line in stderr.splitlines() if line.strip()]
    if "Traceback" in stderr or "Traceback" in stdout:
        problems.append("traceback: " + next((l for l in reversed(lines) if l.strip()), "")[:120])
    controls = _controls(stdout + stderr)
    if controls:
        problems.append(f"raw control characters {' '.join(controls)}")
    if case.expect == "sigint":
        if rc != 130 or lines[-1:] != ["nsdesign: interrupted"] or len(lines) > 1 + sum(
                not l.startswith("nsdesign:") and ("%" in l or "it/s" in l or "trial" in l.lower() or l.startswith("training "))
                for l in lines):  # a progress line may precede the interrupt
            problems.append(f"sigint: rc {rc}, stderr tail {lines[-3:]!r}")
        return
    if case.expect == "stream":
        if rc == 0:
            return  # written (encoded with replacements, or nothing to encode)
        errors = [line for line in lines if not line.startswith(("nsdesign: warning:", "  "))]  # warnings may precede
        if len(errors) != 1 or len(errors[0]) > 80 or errors != lines[-1:]:
            problems.append(f"stream: rc {rc}, {len(lines)} stderr lines: {lines[:2]!r}")
        return
    if case.expect == "bad" or (case.expect == "any" and rc != 0):
        if rc != 2:
            problems.append(f"exit code {rc}, expected 2" + (f" ({lines[-1][:80]!r})" if lines else ""))
        if len(lines) != 1 or not lines[0].startswith("nsdesign: error: "):
            problems.append(f"{len(lines)} stderr lines: {[l[:80] for l in lines[:3]]!r}")
        elif len(lines[0]) > 80 and not case.code:  # the library raises InputError; 80 columns is the CLI's
            problems.append(f"error line of {len(lines[0])} columns: {lines[0][:100]!r}…")
        if stdout.strip():
            problems.append(f"stdout on failure: {stdout[:80]!r}")
        if _snapshot(root) != before:
            changed = set(_snapshot(root).items()) ^ set(before.items())
            problems.append(f"files changed on failure: {sorted({Path(k).name for k, _ in changed})[:4]}")
    elif case.expect == "ok" and rc != 0:
        problems.append(f"exit code {rc}, expected 0: {lines[-1:]!r}")
    for name in case.forbid:
        if os.path.lexists(root / name):
            problems.append(f"{name} was created")
    if rc == 0 and case.json_out:
        try:
            json.loads(stdout, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        except ValueError as exc:
            problems.append(f"not strict JSON: {str(exc)[:80]}")
    if rc == 0 and case.width:
        from rich.cells import cell_len

        widest = max(stdout.splitlines(), key=cell_len, default="")
        if cell_len(widest) > 80:
            problems.append(f"stdout line of {cell_len(widest)} columns: {widest[:60]!r}…")


def all_cases() -> list[Case]:
    cases = (reader_cases() + name_cases() + number_cases() + output_cases() + stream_cases() + sigint_cases()
             + help_cases() + library_cases())
    return [c for c in cases if HAS_TORCH or not c.torch]


def _label(case: Case) -> str:
    text = " ".join(repr(a) if not isinstance(a, str) or not a.isprintable() or " " in a or not a else a
                    for a in case.argv) if case.argv else case.code
    return text if len(text) <= 110 else text[:107] + "…"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the cases whose group or arguments contain this text")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2: one per core)")
    parser.add_argument("--json", help="write every failure here as JSON")
    args = parser.parse_args()
    cases = [c for c in all_cases() if args.only in c.group or args.only in _label(c)]
    start = time.monotonic()
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(run_case, cases))
    failures = [r for r in results if r.problems]
    for r in failures:
        print(f"FAIL [{r.case.group}] {_label(r.case)}\n     {'; '.join(r.problems)}")
    groups = sorted({r.case.group.split(":")[0] for r in results})
    for group in groups:
        mine = [r for r in results if r.case.group.split(":")[0] == group]
        print(f"  {group:<8} {len(mine):4d} cases, {sum(bool(r.problems) for r in mine):3d} failures")
    print(f"cases {len(results)}, failures {len(failures)} ({time.monotonic() - start:.0f} s, torch {HAS_TORCH})")
    if args.json:
        Path(args.json).write_text(json.dumps([{"group": r.case.group, "case": _label(r.case), "problems": r.problems}
                                               for r in failures], indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
