"""Fuzzing the CLI's bad-input contract (issue 14), in-process through `nsdesign.cli.main.main(argv)`.

For every generated command line — numbers from the ordinary to NaN/±inf/1e308/subnormals/junk text,
schedule JSON files (valid, malformed, huge or empty coefficients, wrong `degree` fields, garbage bytes),
measurement CSVs, matrix files (.npy of any small shape and dtype, empty, NaN) and output paths (new file,
regular file, `-`, `''`, a directory, a FIFO, a symlink, a missing folder) — the command must either

* exit 0 with non-empty output on stdout (JSON that parses where JSON was asked for), or
* exit 2 with exactly one stderr line `nsdesign: error: …`, nothing on stdout, no traceback,

and a failed command must leave every file in its working folder exactly as it was (names, bytes, kinds).

The second hardening pass adds one case per root cause: FIFO inputs for every reader (refused within a second),
hostile JSON (deep nesting, huge ints, overflowing floats, bool/float versions), odd .npy/.safetensors dtypes,
control characters in names, strict `--json`, bounded seeds/counts/model sizes, outputs checked before work,
and Ctrl-C (one line, exit 130, no Optuna traceback, a prompt resume).

Profiles: the normal run executes a short profile (a few dozen examples per command, well under 30 s in
total on a 2-core CPU). The long profile (≥ 10,000 examples in all) runs under the `fuzz` marker:

    NSDESIGN_FUZZ=long python -m pytest tests/test_fuzz_cli.py -m fuzz -q

(`python -m pytest tests/test_fuzz_cli.py -m fuzz` alone also selects it: the module reads `-m` from the command
line. Without either, the `fuzz`-marked test skips.)
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import stat
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsdesign.cli.main import main

def _long_requested() -> bool:
    """NSDESIGN_FUZZ=long, or a pytest command line that selects the `fuzz` marker (`-m fuzz`)."""
    import sys

    if os.environ.get("NSDESIGN_FUZZ", "").lower() == "long":
        return True
    argv = sys.argv
    for i, arg in enumerate(argv):
        expression = argv[i + 1] if arg == "-m" and i + 1 < len(argv) else arg[2:] if arg.startswith("-m") and len(arg) > 2 else None
        if expression and "fuzz" in expression and "not fuzz" not in expression:
            return True
    return False


LONG = _long_requested()

# ---------------------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------------------

SPECIAL_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-3, 1e-15, 1e-16, 5e-324, 1e-320, 1e308, -1e308, 1e300, 1.7976931348623157e308,
                  math.inf, -math.inf, math.nan, 1.02, 2.0, 0.999999999, 1e3, 1e6, 3.0, 0.1]

finite_or_not = st.one_of(st.sampled_from(SPECIAL_FLOATS), st.floats(allow_nan=True, allow_infinity=True, width=64))
number_text = st.one_of(
    finite_or_not.map(repr),
    st.sampled_from(["", " ", "nan", "inf", "-inf", "1e", "0x10", "1,2", "abc", "１", "1e-3", "--1", "1_000", "+5"]),
    st.integers(-10**20, 10**20).map(str),
)
int_text = st.one_of(st.integers(-5, 120).map(str), st.sampled_from(["0", "-1", "1.5", "", "1e3", "10000000000", "five", "True"]))
band_low = st.one_of(st.sampled_from(["1e-3", "0.01", "0.1", "0.3"]), number_text)
degree_text = st.one_of(st.sampled_from(["3", "5", "7", "9", "31", "33", "4", "1", "0", "-5", "5.0", "3,5,7", "5,5", "auto", "", ",", "5,,5"]), int_text)
shape_text = st.one_of(st.sampled_from(["256x1024", "4x8", "0x5", "1x1", "3X7", "8×8", "x", "", "-1x5", "2.5x5", "99999999999x2"]),
                       st.text(alphabet="0123456789xX ×-.", max_size=12))
quantile_text = st.one_of(st.sampled_from(["0.5", "0.1", "0.9", "0", "1", "1.5"]), number_text)
preset_names = st.sampled_from(["keller5", "polar_express_modded5", "cans5_eo", "no_such_preset"])

json_number = st.one_of(finite_or_not, st.integers(-10**400, 10**400), st.booleans(), st.none(), st.text(max_size=3))
rows = st.lists(st.lists(json_number, min_size=0, max_size=6), min_size=0, max_size=5)
good_rows = st.lists(st.lists(st.floats(-4, 4), min_size=3, max_size=3), min_size=1, max_size=6)


@st.composite
def schedule_documents(draw):
    """A schedule file's bytes: mostly near-valid JSON documents, sometimes plain garbage."""
    kind = draw(st.sampled_from(["good", "mutated", "huge", "empty", "garbage", "polar", "other_json"]))
    if kind == "garbage":
        return draw(st.binary(max_size=64))
    if kind == "other_json":
        return json.dumps(draw(st.one_of(st.lists(st.integers(), max_size=3), st.integers(), st.text(max_size=5), st.none()))).encode()
    if kind == "empty":
        return draw(st.sampled_from([b"", b"{}", b'{"schema_version": 1}', b'{"schema_version": 1, "coefficients": []}',
                                     b'{"schema_version": 1, "coefficients": [[]]}']))
    document = {"schema_version": 1, "coefficients": draw(good_rows)}
    if kind == "huge":
        document["coefficients"] = [[draw(st.sampled_from([1e308, -1e308, 1e200, 1e39, 7e4])) for _ in range(3)]]
    if kind == "mutated":
        document["coefficients"] = draw(st.one_of(rows, good_rows))
        for key, values in (("degree", st.one_of(st.integers(-3, 40), st.floats(), st.text(max_size=2), st.none())),
                            ("norm_div", st.one_of(finite_or_not, st.text(max_size=2), st.none())),
                            ("extension", st.one_of(st.sampled_from(["exact", "repeat_last", "cycle", "nope", ""]), st.integers())),
                            ("schema_version", st.one_of(st.integers(-1, 3), st.text(max_size=2), st.none()))):
            if draw(st.booleans()):
                document[key] = draw(values)
    if kind == "polar":
        document = {"degree": 5, "params": {}, "coefficients": document["coefficients"]}
    text = json.dumps(document, allow_nan=True)  # NaN/Infinity literals are part of what users may hand us
    return text.encode()


@st.composite
def measurement_csv(draw):
    header = draw(st.sampled_from(["depth,matrix,quantile,model_params,sigma", "depth,matrix,matrix_printed,quantile,model_params,sigma",
                                   "a,b,c", "", "depth,matrix,quantile,model_params"]))
    lines = [header] if header else []
    for _ in range(draw(st.integers(0, 8))):
        depth = draw(st.sampled_from(["final", "mid", "mid_early", "bogus", ""]))
        matrix = draw(st.sampled_from(["q", "k", "o", "mlp_up", "x"]))
        quantile = draw(st.sampled_from(["0.1", "0.5", "0.9", "2", "nan", ""]))
        size = draw(st.one_of(st.sampled_from(["7.7e7", "1.6e8", "3e8", "1e9", "0", "-1", "inf"]), number_text))
        sigma = draw(st.one_of(st.sampled_from(["0.05", "0.01", "0.002", "0", "-1", "nan"]), number_text))
        cells = [depth, matrix, quantile, size, sigma]
        if "matrix_printed" in header:
            cells.insert(2, matrix)
        lines.append(",".join(cells))
    if draw(st.booleans()):
        return "\n".join(lines).encode()
    return draw(st.binary(max_size=40))


@st.composite
def matrix_files(draw):
    """(suffix, bytes-producing function) for a tiny matrix file."""
    shape = draw(st.one_of(st.tuples(st.integers(0, 5), st.integers(0, 7)), st.tuples(st.integers(0, 3)),
                           st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(0, 3))))
    dtype = draw(st.sampled_from(["float32", "float64", "float16", "int32", "complex64", "bool"]))
    fill = draw(st.sampled_from(["randn", "zeros", "nan", "inf", "huge"]))
    seed = draw(st.integers(0, 3))
    return shape, dtype, fill, seed


def _matrix(shape, dtype, fill, seed) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = {"randn": lambda: rng.standard_normal(shape), "zeros": lambda: np.zeros(shape),
            "nan": lambda: np.full(shape, np.nan), "inf": lambda: np.full(shape, np.inf),
            "huge": lambda: np.full(shape, 1e300)}[fill]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return base.astype(dtype)


OUTPUT_KINDS = ["new", "regular", "stdout", "empty", "directory", "fifo", "symlink", "dangling", "missing_dir", "none"]

# ---------------------------------------------------------------------------------------------------------
# The harness
# ---------------------------------------------------------------------------------------------------------


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root (not following links): kind, and bytes for regular files, target for links."""
    out: dict[str, tuple] = {}
    for path in sorted(root.rglob("*")):
        st_ = os.lstat(path)
        key = str(path.relative_to(root))
        if stat.S_ISLNK(st_.st_mode):
            out[key] = ("link", os.readlink(path))
        elif stat.S_ISREG(st_.st_mode):
            out[key] = ("file", path.read_bytes())
        else:
            out[key] = (stat.S_IFMT(st_.st_mode),)
    return out


def _output_path(kind: str, root: Path) -> str | None:
    if kind == "none":
        return None
    if kind == "new":
        return str(root / "out.json")
    if kind == "regular":
        (root / "old.json").write_text("keep\n")
        return str(root / "old.json")
    if kind == "stdout":
        return "-"
    if kind == "empty":
        return ""
    if kind == "directory":
        (root / "adir").mkdir()
        return str(root / "adir")
    if kind == "fifo":
        os.mkfifo(root / "fifo")
        return str(root / "fifo")
    if kind == "symlink":
        (root / "target.json").write_text("target\n")
        (root / "link.json").symlink_to(root / "target.json")
        return str(root / "link.json")
    if kind == "dangling":
        (root / "dangling.json").symlink_to(root / "nowhere.json")
        return str(root / "dangling.json")
    return str(root / "missing" / "out.json")


def run_contract(argv: list[str], root: Path, output: str | None = None, expect_json: bool = False) -> int:
    """Run one command line and check the contract; returns the exit code."""
    before = _snapshot(root)
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Python warnings are the library's business; the CLI contract is text
            try:
                code = main(argv)
            except SystemExit as exc:  # only --help / --version exit through argparse
                assert exc.code == 0 and any(a.startswith("-") for a in argv), (argv, exc.code, err.getvalue())
                return 0
    finally:
        os.chdir(cwd)
    stdout, stderr = out.getvalue(), err.getvalue()
    assert "Traceback" not in stderr and "Traceback" not in stdout, (argv, stderr)
    assert code in (0, 2), (argv, code, stderr)
    if code == 2:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("nsdesign: error: "), (argv, stderr)
        assert stdout == "", (argv, stdout)
        assert _snapshot(root) == before, (argv, "files changed on failure")
        return code
    assert stdout.strip() or (output not in (None, "-") and Path(root, output).exists()), (argv, stdout, stderr)
    for line in stderr.splitlines():
        assert line.startswith(("nsdesign: warning:", "nsdesign: note:")) or not line.startswith("nsdesign: error"), (argv, stderr)
    if expect_json:
        json.loads(stdout, parse_constant=_no_constants)  # strict JSON: no NaN/Infinity literals
    after = _snapshot(root)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    allowed = {os.path.relpath(output, root)} if output not in (None, "-", "") else set()
    assert changed <= allowed, (argv, changed)
    if output not in (None, "-"):
        assert os.lstat(output).st_mode & stat.S_IFMT(0o170000) == stat.S_IFREG
    return code


def _no_constants(name: str):
    raise AssertionError(f"non-standard JSON constant {name} in output")


def _fresh() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="nsd-fuzz-")


def _profile(short: int, long: int):
    return settings(
        max_examples=long if LONG else short,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=not LONG,  # the normal run is reproducible; the long one explores
        database=None,
    )


def _optional(flag: str, strategy):
    return st.one_of(st.just([]), strategy.map(lambda v: [flag, v]))


# ---------------------------------------------------------------------------------------------------------
# Per-command properties (short profile; the fuzz marker re-runs them long)
# ---------------------------------------------------------------------------------------------------------


@st.composite
def evaluate_args(draw):
    command = draw(st.sampled_from(["evaluate", "compare"]))
    extra = []
    for flag, strategy in (("--max-sigma", number_text), ("--tol", number_text), ("--headroom", number_text),
                           ("--shape", shape_text), ("--steps", int_text)):
        extra += draw(_optional(flag, strategy))
    if command == "evaluate" and draw(st.booleans()):
        extra.append("--json")
    return command, ["--min-sigma", draw(band_low), *extra]


@_profile(short=15, long=2500)
@given(args=evaluate_args(), document=schedule_documents(), use_file=st.booleans(), name=preset_names)
def test_fuzz_evaluate_and_compare(args, document, use_file, name):
    command, rest = args
    with _fresh() as tmp:
        root = Path(tmp)
        (root / "s.json").write_bytes(document)
        target = "s.json" if use_file else name
        schedules = [target] if command == "evaluate" else [target, "keller5"]
        run_contract([command, *schedules, *rest], root, expect_json="--json" in rest)


@st.composite
def search_args(draw):
    argv = ["search"]
    if draw(st.integers(0, 5)) == 0:
        argv += ["--model-size", draw(number_text), "--layer", draw(st.sampled_from(["final.o", "mid.q", "nope", ""])),
                 "--quantile", draw(quantile_text)]
    elif draw(st.integers(0, 6)) == 0:
        argv += ["--shape", draw(shape_text), "--quantile", draw(quantile_text)]
    else:
        argv += ["--min-sigma", draw(band_low)]
    for flag, strategy in (("--steps", st.one_of(st.sampled_from(["1", "2", "5", "8"]), int_text)), ("--degree", degree_text),
                           ("--max-sigma", number_text), ("--cushion", number_text), ("--safety", number_text),
                           ("--norm-div", number_text), ("--max-steps", int_text), ("--headroom", number_text)):
        if draw(st.integers(0, 3)) == 0:
            argv += [flag, draw(strategy)]
    if draw(st.integers(0, 3)) == 0 and "--steps" not in argv:
        argv += ["--tol", draw(number_text)]
    if draw(st.integers(0, 3)) > 0:
        argv.append("--exact")  # the safe default runs a bf16 proxy check: slower, fuzzed less often
    if draw(st.integers(0, 4)) == 0:
        argv += ["--format", draw(st.sampled_from(["json", "python", "polar-express"]))]
    return argv


@_profile(short=12, long=2500)
@given(argv=search_args(), output=st.sampled_from(OUTPUT_KINDS))
def test_fuzz_search(argv, output):
    with _fresh() as tmp:
        root = Path(tmp)
        path = _output_path(output, root)
        full = argv + ([] if path is None else ["-o", path])
        as_json = path == "-" and ("--format" not in argv or argv[argv.index("--format") + 1] == "json")
        run_contract(full, root, output=path, expect_json=as_json)


@_profile(short=12, long=1500)
@given(document=schedule_documents(), use_file=st.booleans(), name=preset_names,
       target=st.sampled_from(["torch-muon", "optax", "dion", "emerging-optimizers", "gram-newton-schulz", "python",
                               "polar-express", "nope"]),
       steps=st.one_of(st.none(), int_text), output=st.sampled_from(OUTPUT_KINDS))
def test_fuzz_export(document, use_file, name, target, steps, output):
    with _fresh() as tmp:
        root = Path(tmp)
        (root / "s.json").write_bytes(document)
        path = _output_path(output, root)
        argv = ["export", "s.json" if use_file else name, "--to", target]
        if steps is not None:
            argv += ["--steps", steps]
        if path is not None:
            argv += ["-o", path]
        run_contract(argv, root, output=path)


@_profile(short=12, long=1500)
@given(mode=st.sampled_from(["law", "shape", "both", "neither"]), size=number_text, layer=st.sampled_from(["final.o", "mid.q", "x.y", ""]),
       shape=shape_text, quantile=st.one_of(st.none(), quantile_text), as_json=st.booleans())
def test_fuzz_predict(mode, size, layer, shape, quantile, as_json):
    argv = ["predict"]
    if mode in ("law", "both"):
        argv += ["--model-size", size, "--layer", layer]
    if mode in ("shape", "both"):
        argv += ["--shape", shape]
    if quantile is not None:
        argv += ["--quantile", quantile]
    if as_json:
        argv.append("--json")
    with _fresh() as tmp:
        run_contract(argv, Path(tmp), expect_json=as_json)


@_profile(short=10, long=1000)
@given(csv_bytes=measurement_csv(), output=st.sampled_from([k for k in OUTPUT_KINDS if k != "none"]))
def test_fuzz_fit(csv_bytes, output):
    with _fresh() as tmp:
        root = Path(tmp)
        (root / "m.csv").write_bytes(csv_bytes)
        path = _output_path(output, root)
        run_contract(["fit", "m.csv", "-o", path], root, output=path, expect_json=path == "-")


@_profile(short=3, long=800)
@given(matrix=matrix_files(), suffix=st.sampled_from([".npy", ".pt", ".safetensors"]), name=preset_names,
       dtype=st.sampled_from(["fp32", "fp64", "bf16", "fp16"]), form=st.sampled_from(["fused", "unfused", "gram"]),
       steps=st.one_of(st.none(), st.sampled_from(["1", "3", "0", "-1"])), source_kind=st.sampled_from(["file", "gaussian", "spectrum"]),
       shape=shape_text, low=number_text, output=st.sampled_from(["none", "stdout", "new", "fifo", "symlink", "empty"]))
def test_fuzz_validate(matrix, suffix, name, dtype, form, steps, source_kind, shape, low, output):
    pytest.importorskip("torch")
    import torch

    torch.set_num_threads(1)
    with _fresh() as tmp:
        root = Path(tmp)
        array = _matrix(*matrix)
        if source_kind == "file":
            path = root / f"m{suffix}"
            if suffix == ".npy":
                np.save(path, array)
            else:
                try:
                    tensor = torch.from_numpy(np.ascontiguousarray(array))
                except TypeError:
                    tensor = torch.zeros(3)
                if suffix == ".pt":
                    torch.save({"w": tensor}, path)
                else:
                    from safetensors.torch import save_file

                    try:
                        save_file({"w": tensor.contiguous()}, str(path))
                    except Exception:
                        path.write_bytes(b"not safetensors")
            source = f"file:{path.name}"
        elif source_kind == "gaussian":
            source = f"gaussian:{shape}" if draw_small(shape) else "gaussian:4x8"
        else:
            source = f"spectrum:logu:{low}:{shape if draw_small(shape) else '4x8'}"
        out_path = _output_path(output, root)
        if out_path not in (None, "-", "") and output in ("new",):
            out_path = str(root / "report.json")
        argv = ["validate", name, "--source", source, "--dtype", dtype, "--kernel", form, "--repeats", "1"]
        if steps is not None:
            argv += ["--steps", steps]
        if out_path is not None:
            argv += ["-o", out_path]
        run_contract(argv, root, output=out_path, expect_json=out_path == "-")


def draw_small(shape: str) -> bool:
    """Synthetic sources are fuzzed only at small sizes (the memory pre-check has its own tests)."""
    import re

    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", shape)
    return match is None or int(match.group(1)) * int(match.group(2)) <= 4096


@_profile(short=2, long=600)
@given(document=schedule_documents(), use_file=st.booleans(), name=preset_names,
       kind=st.sampled_from(["map", "intervals"]), low=band_low, high=st.one_of(st.none(), number_text),
       ymax=st.one_of(st.none(), number_text), suffix=st.sampled_from([".png", ".svg", ".pdf", ""]),
       output=st.sampled_from(["new", "stdout", "directory", "fifo", "symlink", "missing_dir", "empty"]))
def test_fuzz_plot(document, use_file, name, kind, low, high, ymax, suffix, output):
    pytest.importorskip("matplotlib")
    with _fresh() as tmp:
        root = Path(tmp)
        (root / "s.json").write_bytes(document)
        path = _output_path(output, root)
        if output == "new":
            path = str(root / f"fig{suffix}")
        argv = ["plot", kind, "s.json" if use_file else name, "--min-sigma", low, "-o", path, "--dpi", "20"]
        if high is not None:
            argv += ["--max-sigma", high]
        if ymax is not None and kind == "map":
            argv += ["--ymax", ymax]
        run_contract(argv, root, output=path)


@pytest.mark.slow
@_profile(short=2, long=600)
@given(size=st.one_of(st.sampled_from(["1e8", "1e9", "7e9"]), number_text), tol=st.one_of(st.sampled_from(["0.05", "0.1"]), number_text),
       degrees=st.one_of(st.none(), degree_text), cushion=st.one_of(st.none(), number_text), bf16=st.booleans(),
       config=st.one_of(st.none(), st.fixed_dictionaries({"d_model": st.sampled_from([64, 128, 0, -1, 1.5]),
                                                          "n_layers": st.sampled_from([2, 4, 0, 10**6, "x"]),
                                                          "n_heads": st.sampled_from([2, 4, 3, 0])})),
       output=st.sampled_from(["none", "new", "stdout", "fifo", "symlink"]))
def test_fuzz_recipe(size, tol, degrees, cushion, bf16, config, output):
    with _fresh() as tmp:
        root = Path(tmp)
        argv = ["recipe", "--model-size", size, "--tol", tol]
        if config is not None:
            (root / "c.json").write_text(json.dumps(config))
            argv += ["--config", "c.json"]
        if degrees is not None:
            argv += ["--degrees", degrees]
        if cushion is not None:
            argv += ["--cushion", cushion]
        if bf16:
            argv.append("--bf16")
        path = _output_path(output, root)
        if path is not None:
            argv += ["-o", path]
        run_contract(argv, root, output=path, expect_json=path == "-")


@_profile(short=15, long=800)
@given(argv=st.lists(st.one_of(st.sampled_from(["search", "evaluate", "export", "presets", "predict", "fit", "--json", "-o", "--min-sigma",
                                                 "--steps", "--to", "keller5", "--", "-", "--help-me", "1e-3", "5"]),
                               st.text(max_size=6)), max_size=6))
def test_fuzz_any_argv(argv):
    """Arbitrary token soup: never a traceback, never a code other than 0 or 2 (help exits are excluded)."""
    with _fresh() as tmp:
        run_contract(argv, Path(tmp))


# ---------------------------------------------------------------------------------------------------------
# Hardening, second pass: one case per root cause (hostile files, bounds, terminal text, interrupts, outputs)
# ---------------------------------------------------------------------------------------------------------

HAS_TORCH = __import__("importlib.util").util.find_spec("torch") is not None


def _within(seconds: float, call, fifos=()):
    """call()'s result within `seconds`: a FIFO read would block for ever, so a hang is ended (a writer opens each
    FIFO, the reader sees end-of-file) and reported as a failure instead of hanging the suite."""
    import threading

    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", call()), daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        for fifo in fifos:
            with open(fifo, "wb"):
                pass
        thread.join(10)
        pytest.fail(f"no answer within {seconds} s: blocked on a FIFO?")
    assert "value" in result, "the command raised instead of returning an exit code"
    return result["value"]


FIFO_ARGV = [  # {f}: a FIFO (named as the command expects), {l}: a symbolic link to it
    (["evaluate", "{f}.json", "--min-sigma", "1e-3"], False),
    (["evaluate", "{l}.json", "--min-sigma", "1e-3"], False),
    (["compare", "keller5", "{f}.json", "--min-sigma", "1e-3"], False),
    (["export", "{f}.json", "--to", "optax"], False),
    (["predict", "--laws", "{f}.json", "--model-size", "1e9", "--layer", "mid.q"], False),
    (["recipe", "--config", "{f}.json", "--model-size", "1e9", "--tol", "1e-2"], False),
    (["fit", "{f}.csv", "-o", "laws.json"], False),
    (["search", "--spectrum", "{f}.npy", "--min-sigma", "1e-3", "--objective", "weighted", "--steps", "3"], False),
    (["predict", "--normalize", "spectral", "--spectrum", "{f}.npy", "--quantile", "0.5"], False),
    (["plot", "histogram", "keller5", "--source", "file:{f}.npy", "-o", "h.png"], False),
    (["plot", "frontier", "--pareto", "{f}.json", "-o", "f.png"], False),
    (["search", "--min-sigma", "1e-3", "--storage", "journal:{f}.log", "--trials", "2"], False),
    (["validate", "keller5", "--source", "file:{f}.npy"], True),
    (["train-compare", "keller5", "--text", "{f}.txt"], True),
    (["capture", "--text", "{f}.txt", "--out-dir", "cap"], True),
]


@pytest.mark.parametrize("argv, needs_torch", FIFO_ARGV, ids=lambda v: " ".join(v[:3]) if isinstance(v, list) else "")
def test_fifo_inputs_are_refused_within_a_second(argv, needs_torch, tmp_path):
    """A FIFO (or a link to one) where a file is read: exit 2 at once, not a read that blocks for ever."""
    if needs_torch and not HAS_TORCH:
        pytest.skip("needs torch")
    suffix = next(a for a in argv if "{" in a).rsplit(".", 1)[-1]
    fifo = tmp_path / f"pipe.{suffix}"
    os.mkfifo(fifo)
    (tmp_path / f"link.{suffix}").symlink_to(fifo)
    concrete = [a.replace("{f}." + suffix, str(fifo)).replace("{l}." + suffix, str(tmp_path / f"link.{suffix}"))
                for a in argv]
    warm = [a.replace(str(fifo), str(tmp_path / "nowhere" / "missing")) for a in concrete]
    run_contract(warm, tmp_path)  # imports (torch …) happen here, outside the one-second budget
    assert _within(1.0, lambda: run_contract(concrete, tmp_path), [fifo]) == 2


HOSTILE_JSON = {
    "deep": b"[" * 10_000,
    "deep_object": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "huge_int": b'{"schema_version": 2, "coefficients": [[' + b"9" * 5000 + b", 1, 1]]}",
    "long_int": b'{"schema_version": 2, "coefficients": [[' + b"9" * 400 + b", 1, 1]]}",
    "overflow": b'{"schema_version": 2, "coefficients": [[1e400, 1, 1]]}',
    "version_true": b'{"schema_version": true, "coefficients": [[3, -4.7, 2]]}',
    "version_float": b'{"schema_version": 2.0, "coefficients": [[3, -4.7, 2]]}',
    "string_coefficient": b'{"schema_version": 2, "coefficients": [["3", -4.7, 2]]}',
    "bool_norm_div": b'{"schema_version": 2, "norm_div": true, "coefficients": [[3, -4.7, 2]]}',
    "surrogate_bytes": b'{"schema_version": 2, "coefficients": [[3, -4.7, 2]], "name": "\xed\xa0\x80"}',
}
JSON_READERS = [
    ["evaluate", "{p}", "--min-sigma", "1e-3"],
    ["export", "{p}", "--to", "optax"],
    ["predict", "--laws", "{p}", "--model-size", "1e9", "--layer", "mid.q"],
    ["recipe", "--config", "{p}", "--model-size", "1e9", "--tol", "1e-2"],
    ["plot", "frontier", "--pareto", "{p}", "-o", "f.png"],
]


@pytest.mark.parametrize("kind", sorted(HOSTILE_JSON))
@pytest.mark.parametrize("argv", JSON_READERS, ids=lambda v: v[0] if v[0] != "plot" else "plot-frontier")
def test_hostile_json_is_one_line_exit_2(kind, argv, tmp_path):
    (tmp_path / "doc.json").write_bytes(HOSTILE_JSON[kind])
    assert run_contract([a.replace("{p}", "doc.json") for a in argv], tmp_path) == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, make, code",
    [
        ("be.npy", lambda p: np.save(p, np.eye(8, 6).astype(">f8") + 0.1), 0),
        ("ld.npy", lambda p: np.save(p, np.eye(8, 6).astype(np.longdouble)), 2 if np.dtype(np.longdouble).itemsize > 8 else 0),
        ("empty.npy", lambda p: open(p, "wb").close(), 2),
        ("c.npy", lambda p: np.save(p, np.eye(8, 6).astype(np.complex64)), 2),
        ("obj.npy", lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True), 2),
    ],
)
def test_odd_npy_files(name, make, code, tmp_path):
    make(tmp_path / name)
    figure = str(tmp_path / "h.png")
    assert run_contract(["plot", "histogram", "keller5", "--source", f"file:{name}", "-o", figure], tmp_path,
                        output=figure) == code
    if HAS_TORCH:
        assert run_contract(["validate", "keller5", "--source", f"file:{name}", "--repeats", "1"], tmp_path) == code


@pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
def test_fp8_safetensors_is_refused(tmp_path):
    import torch
    from safetensors.torch import save_file

    if not hasattr(torch, "float8_e4m3fn"):
        pytest.skip("this torch has no fp8")
    save_file({"w": torch.randn(8, 6).to(torch.float8_e4m3fn)}, str(tmp_path / "w.safetensors"))
    assert run_contract(["validate", "keller5", "--source", "file:w.safetensors"], tmp_path) == 2
    assert run_contract(["plot", "histogram", "keller5", "--source", "file:w.safetensors", "-o", "h.png"], tmp_path) == 2


@pytest.mark.parametrize("name", ["\x1b[2J\x1b[31mred", "a\r\nforged line", "[/bold] markup", "lone \ud800 surrogate", "n" * 300])
def test_hostile_schedule_names_print_as_plain_text(name, tmp_path):
    document = {"schema_version": 2, "name": name, "coefficients": [[3.4445, -4.775, 2.0315]]}
    (tmp_path / "s.json").write_text(json.dumps(document))
    path = str(tmp_path / "s.json")
    for argv in (["evaluate", path, "--min-sigma", "1e-3"], ["compare", path, "keller5", "--min-sigma", "1e-3"]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert main(argv) == 0, err.getvalue()
        text = out.getvalue()
        assert "\x1b" not in text and "\r" not in text and "forged line\n" not in text
        text.encode("utf-8")  # no lone surrogate reaches the terminal


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "keller5", "--min-sigma", "1e-3", "--guard-sigma", "1.5", "--json"],
        ["compare", "keller5", "cans5_eo", "--min-sigma", "1e-3", "--guard-sigma", "1.5", "--json"],
        ["presets", "show", "keller5", "--json"],
        ["predict", "--model-size", "1e9", "--layer", "final.o", "--json"],
    ],
)
def test_json_output_is_strict(argv, tmp_path):
    assert run_contract(argv, tmp_path, expect_json=True) == 0


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["evaluate", "keller5", "--min-sigma", "-1e-3"], "--min-sigma"),
        (["evaluate", "keller5", "--min-sigma", "-5"], "--min-sigma"),
        (["evaluate", "keller5", "--min-sigma", "١e-3"], "--min-sigma"),
        (["evaluate", "keller5", "--min-sigma", "1e-3", "--max-sigma", "１"], "--max-sigma"),
        (["evaluate", "keller5", "--min-sigma", "1e-3", "--tol", "1_0"], "--tol"),
        (["search", "--min-sigma", "1e-3", "--seed", "٣"], "--seed"),
        (["search", "--min-sigma", "1e-3", "--seed", "4294967296"], "--seed"),
        (["search", "--min-sigma", "1e-3", "--seed", "-1"], "--seed"),
        (["pareto", "--min-sigma", "1e-3", "--shape", "8x8", "--seed", "99999999999999999999"], "--seed"),
        (["plot", "histogram", "keller5", "--source", "gaussian:8x8", "--seed", "4294967296", "-o", "h.png"], "--seed"),
        (["predict", "--model-size", "1e-320", "--layer", "mid.q"], "--model-size"),
        (["recipe", "--model-size", "1e-320", "--tol", "1e-2"], "--model-size"),
        (["search", "--min-sigma", "1e-3", "-o", "newdir/"], "ends in /"),
        (["evaluate", "a" * 300, "--min-sigma", "1e-3"], "not a preset or a schedule"),
        (["evaluate", "a" * 300 + ".json", "--min-sigma", "1e-3"], "too long"),
        (["plot", "histogram", "keller5", "--source", "file:" + "a" * 300 + ".npy", "-o", "h.png"], "not a file"),
        (["search", "--min-sigma", "1e-3", "--study-name", "x", "--storage", "journal:" + "a" * 300], "storage"),
    ],
)
def test_bounded_inputs_are_refused_by_flag(argv, fragment, tmp_path):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            assert main(argv) == 2
        finally:
            os.chdir(cwd)
    line = err.getvalue().strip()
    assert "\n" not in line and fragment in line and "expected one argument" not in line, line
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the folder `newdir`


@pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["validate", "keller5", "--source", "gaussian:8x8", "--repeats", "100000"], "--repeats"),
        (["validate", "keller5", "--source", "gaussian:8x8", "--seed", "4294967296"], "--seed"),
        (["train-compare", "keller5", "--seeds", "100000"], "--seeds"),
        (["capture", "--out-dir", "", "--train-steps", "2"], "--out-dir"),
        (["capture", "--out-dir", "cap", "--seed", "4294967296", "--train-steps", "2"], "--seed"),
    ],
)
def test_bounded_torch_inputs_are_refused_before_work(argv, fragment, tmp_path):
    assert run_contract(argv, tmp_path) == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
def test_capture_checks_its_output_names_before_training(tmp_path):
    (tmp_path / "cap" / "capture.json").mkdir(parents=True)  # a folder where the manifest goes
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["capture", "--out-dir", str(tmp_path / "cap"), "--train-steps", "2", "--quiet"])
    assert code == 2 and "capture.json" in err.getvalue() and "training" not in err.getvalue()
    assert [p.name for p in (tmp_path / "cap").iterdir()] == ["capture.json"]


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def test_ctrl_c_is_one_line_exit_130(monkeypatch, capsys):
    monkeypatch.setattr("nsdesign.cli.design_commands.load_schedule", _interrupt)  # the name evaluate calls
    assert main(["evaluate", "keller5", "--min-sigma", "1e-3"]) == 130
    captured = capsys.readouterr()
    assert captured.err == "nsdesign: interrupted\n" and captured.out == ""


@pytest.mark.slow
def test_ctrl_c_in_a_study_prints_no_optuna_traceback_and_the_resume_is_prompt(monkeypatch, capsys, tmp_path):
    import time

    import nsdesign.search.study as study

    real = study.evaluate_candidate
    calls = []

    def second_call_interrupts(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(study, "evaluate_candidate", second_call_interrupts)
    argv = ["search", "--min-sigma", "1e-3", "--trials", "4", "--quiet", "--storage", f"sqlite:///{tmp_path / 's.db'}",
            "--study-name", "interrupted"]
    assert main(argv) == 130
    captured = capsys.readouterr()
    assert captured.err == "nsdesign: interrupted\n", captured.err  # no "Trial 1 failed …" traceback
    monkeypatch.setattr(study, "evaluate_candidate", real)
    start = time.monotonic()
    assert main(argv) == 0
    assert time.monotonic() - start < 15  # no 20 s wait for the seeds of the interrupted run


@st.composite
def hostile_documents(draw):
    """Schedule-file bytes aimed at the readers' bounds: nesting, integer length, overflow, versions, names."""
    kind = draw(st.sampled_from(["deep", "int", "float", "version", "name"]))
    if kind == "deep":
        opener = draw(st.sampled_from([b"[", b'{"a":']))
        return opener * draw(st.integers(1, 3000))
    if kind == "int":
        return b'{"schema_version": 2, "coefficients": [[' + b"9" * draw(st.integers(250, 5000)) + b", 1, 1]]}"
    if kind == "float":
        return f'{{"schema_version": 2, "coefficients": [[1e{draw(st.integers(300, 400))}, 1, 1]]}}'.encode()
    if kind == "version":
        version = draw(st.sampled_from(["true", "false", "2.0", "1.0", '"2"', "null", "3", "-1", "1e0"]))
        return f'{{"schema_version": {version}, "coefficients": [[3, -4.7, 2]]}}'.encode()
    name = draw(st.text(max_size=300))
    return json.dumps({"schema_version": 2, "name": name, "coefficients": [[3.4445, -4.775, 2.0315]]}).encode()


@_profile(short=15, long=1000)
@given(document=hostile_documents(), as_json=st.booleans())
def test_fuzz_hostile_files(document, as_json):
    """Hostile schedule files: exit 0 with strict JSON or clean text, or exit 2 with one line; never a traceback."""
    with _fresh() as tmp:
        root = Path(tmp)
        (root / "s.json").write_bytes(document)
        run_contract(["evaluate", "s.json", "--min-sigma", "1e-3", *(["--json"] if as_json else [])], root,
                     expect_json=as_json)


# ---------------------------------------------------------------------------------------------------------
# The long profile
# ---------------------------------------------------------------------------------------------------------

FUZZ_TESTS = [test_fuzz_evaluate_and_compare, test_fuzz_export, test_fuzz_predict, test_fuzz_fit, test_fuzz_any_argv,
              test_fuzz_search, test_fuzz_validate, test_fuzz_plot, test_fuzz_recipe, test_fuzz_hostile_files]


@pytest.mark.fuzz
@pytest.mark.slow
@pytest.mark.parametrize("test", FUZZ_TESTS, ids=lambda t: t.__name__)
def test_long_profile(test, monkeypatch):
    """≥ 10,000 examples in all (2500 + 1500 + 1500 + 1000 + 800 + 2500 + 800 + 600 + 600 + 1000 = 12,800)."""
    if not LONG:
        pytest.skip("set NSDESIGN_FUZZ=long to run the long profile (see the module docstring)")
    test()


# ---------------------------------------------------------------------------------------------------------
# The adversarial run's root causes (benchmarks/adversarial_run.py runs them as real processes)
# ---------------------------------------------------------------------------------------------------------


class _FullDisk(io.RawIOBase):
    """A stream like /dev/full: every write fails with ENOSPC."""

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        import errno

        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("argv", [["presets"], ["evaluate", "keller5", "--min-sigma", "1e-3"], ["schema"], []])
def test_stdout_on_a_full_disk_is_one_line(argv, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(io.BufferedWriter(_FullDisk()), encoding="utf-8"))
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err == "nsdesign: error: cannot write the output: No space left on device\n", err


@pytest.mark.parametrize("argv", [["presets"], ["predict", "--shape", "1024x4096"], ["search", "--help"],
                                  ["evaluate", "keller5", "--min-sigma", "1e-3", "--json"]])
def test_an_ascii_stream_gets_escapes_not_a_traceback(argv, monkeypatch):
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    monkeypatch.setattr("sys.stdout", stream)
    try:
        code = main(argv)
    except SystemExit as exc:  # --help
        code = exc.code
    stream.flush()
    assert code == 0 and raw.getvalue()
    if "--json" in argv:
        json.loads(raw.getvalue().decode("ascii"))  # \u escapes inside strings keep it JSON


@pytest.mark.slow
@pytest.mark.parametrize("title", ["$x^$", "$$", "$\\notacommand$", "lone \ud800 surrogate"])
def test_plot_titles_are_checked_not_parsed_in_a_traceback(title, tmp_path):
    code = run_contract(["plot", "map", "keller5", "--min-sigma", "1e-3", "--title", title, "-o", "t.png"], tmp_path,
                        output=str(tmp_path / "t.png"))
    assert code == (0 if "surrogate" in title else 2)


@pytest.mark.parametrize("name", ["\x1b[2J\x1b[31mred", "c1 \x9b31m", "lone \ud800 surrogate"])
@pytest.mark.parametrize("target", ["optax", "python"])
def test_exported_code_has_no_raw_control_characters(name, target, tmp_path, capsys):
    (tmp_path / "s.json").write_text(json.dumps({"schema_version": 2, "name": name,
                                                 "coefficients": [[3.4445, -4.775, 2.0315]] * 5}))
    assert main(["export", str(tmp_path / "s.json"), "--to", target]) == 0
    out = capsys.readouterr().out
    out.encode("utf-8")
    assert not any(ch in out for ch in "\x1b\x9b"), out


@st.composite
def long_arguments(draw):
    """A command line whose one value is long or hostile (the echoed value must be shortened, not wrap)."""
    value = draw(st.one_of(st.text(min_size=60, max_size=300), st.just("a" * 300), st.just("\x1b[2J" * 40)))
    argv = draw(st.sampled_from([["evaluate", "{v}", "--min-sigma", "1e-3"], ["presets", "show", "{v}"],
                                 ["export", "keller5", "--to", "{v}"], ["search", "--min-sigma", "{v}"],
                                 ["search", "--min-sigma", "1e-3", "--shape", "{v}"], ["schema", "{v}"], ["{v}"],
                                 ["predict", "--model-size", "70e9", "--layer", "{v}"],
                                 ["search", "--min-sigma", "1e-3", "--for", "{v}"]]))
    return [value if a == "{v}" else a for a in argv]


@_profile(short=15, long=500)
@given(argv=long_arguments())
def test_fuzz_error_lines_fit_80_columns(argv):
    from rich.cells import cell_len

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), _fresh() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            code = main(argv)
        finally:
            os.chdir(cwd)
    if code == 2:
        line = err.getvalue().rstrip("\n")
        assert "\n" not in line and cell_len(line) <= 80, line
