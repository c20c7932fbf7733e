"""The guarded readers and library checks of the second hardening pass (root causes, one test each).

Every reader refuses a non-regular file before opening it (a FIFO would block for ever), bounds what it parses
(JSON depth, integer length, float overflow) and maps all of it to a one-line InputError; library objects refuse
bools, numeric strings and overflowing ints; the CLI's sanitizer and strict numbers behave as documented.
"""

from __future__ import annotations

import json
import math
import os
import threading

import numpy as np
import pytest

from nsdesign._files import (
    MAX_INT_DIGITS,
    MAX_JSON_DEPTH,
    parse_json,
    read_bytes,
    read_json,
    read_npy,
    read_npz,
    read_safetensors,
    read_text,
    require_regular,
    strict_json,
)
from nsdesign.cli._text import terminal_safe
from nsdesign.cli._vocabulary import integer, real
from nsdesign.core.band import Band
from nsdesign.core.limits import MAX_SEED, check_count, check_model_size, check_seed
from nsdesign.core.schedule import Schedule
from nsdesign.documents import load_schedule, read_schedule_document
from nsdesign.errors import InputError


def _refused_quickly(call, *fifos: str, seconds: float = 1.0) -> InputError:
    """The InputError `call` raises, within `seconds`; a hang on a FIFO is ended (a writer opens it) and fails."""
    result: dict[str, BaseException] = {}

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - reported below
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        for fifo in fifos:  # unblock the reader so the test process does not hang
            with open(fifo, "wb"):
                pass
        thread.join(5)
        pytest.fail(f"still reading after {seconds} s (blocked on a FIFO?)")
    error = result.get("error")
    assert isinstance(error, InputError), repr(error)
    assert "\n" not in str(error)
    return error


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    return str(path)


@pytest.mark.parametrize("reader", [read_bytes, read_text, read_json, read_npy, read_npz, read_safetensors])
def test_every_reader_refuses_a_fifo_without_blocking(reader, fifo):
    assert "FIFO" in str(_refused_quickly(lambda: reader(fifo), fifo))


def test_a_symlink_to_a_fifo_a_directory_and_a_device_are_refused(fifo, tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(fifo)
    assert "FIFO" in str(_refused_quickly(lambda: read_json(link), fifo))
    assert "directory" in str(_refused_quickly(lambda: read_json(tmp_path)))
    assert "device" in str(_refused_quickly(lambda: read_json("/dev/null")))
    with pytest.raises(InputError, match="not found"):
        require_regular(tmp_path / "missing.json", "JSON file")
    with pytest.raises(InputError, match="too long"):
        require_regular("a" * 300 + ".json")


def test_a_file_over_the_size_bound_is_refused_unread(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 100)
    with pytest.raises(InputError, match="at most 10"):
        read_bytes(path, "CSV file", limit=10)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[" * 10_000, "nested too deeply"),
        ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), "nested too deeply"),
        ("[" + "9" * 5000 + "]", "digits"),
        ("[" + "9" * (MAX_INT_DIGITS + 1) + "]", "digits"),
        ("[1e400]", "overflows"),
        ("[-1e999]", "overflows"),
        ('{"a": ', "not valid JSON"),
    ],
)
def test_json_bounds(text, fragment):
    with pytest.raises(InputError, match=fragment):
        parse_json(text, "doc.json")


def test_json_within_bounds_still_parses():
    depth = MAX_JSON_DEPTH
    assert parse_json("[" * depth + "]" * depth, "x") is not None
    assert parse_json("[" + "9" * MAX_INT_DIGITS + ", 1e308, NaN]", "x")[1] == 1e308


@pytest.mark.parametrize("version", [True, 2.0, 1.0, "2"])
def test_schema_version_must_be_an_integer(version):
    document = {"schema_version": version, "coefficients": [[3.0, -4.7, 2.0]]}
    with pytest.raises(InputError, match="schema_version"):
        read_schedule_document(document)


def test_npy_dtypes(tmp_path):
    values = np.arange(6.0).reshape(2, 3) + 1
    np.save(tmp_path / "be.npy", values.astype(">f8"))
    assert read_npy(tmp_path / "be.npy").dtype.isnative
    np.testing.assert_array_equal(read_npy(tmp_path / "be.npy"), values)
    np.save(tmp_path / "ld.npy", values.astype(np.longdouble))
    if np.dtype(np.longdouble).itemsize > 8:
        with pytest.raises(InputError, match="unsupported"):
            read_npy(tmp_path / "ld.npy")
    np.save(tmp_path / "c.npy", values.astype(np.complex64))
    with pytest.raises(InputError, match="unsupported"):
        read_npy(tmp_path / "c.npy")
    (tmp_path / "empty.npy").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_npy(tmp_path / "empty.npy")
    (tmp_path / "junk.npy").write_bytes(b"\x93NUMPY junk")
    with pytest.raises(InputError, match="readable"):
        read_npy(tmp_path / "junk.npy")


def test_safetensors_fp8_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    save_file = pytest.importorskip("safetensors.torch").save_file
    if not hasattr(torch, "float8_e4m3fn"):
        pytest.skip("this torch has no fp8")
    path = tmp_path / "w.safetensors"
    save_file({"w": torch.ones(4, 4).to(torch.float8_e4m3fn)}, str(path))
    with pytest.raises(InputError, match="F8|dtype"):
        read_safetensors(path)
    from nsdesign.torch.sources import _tensors

    with pytest.raises(InputError, match="F8_E4M3"):
        _tensors(path)


def test_schedule_library_refusals():
    schedule = Schedule.from_coefficients([[3.0, -4.7, 2.0]])
    for bad in (-1, 0, True, 2.5):
        with pytest.raises(InputError, match="steps"):
            schedule.extended(bad)
    with pytest.raises(InputError, match="numbers"):
        Schedule.from_coefficients([["3.0", -4.7, 2.0]])
    with pytest.raises(InputError, match="norm_div"):
        Schedule.from_coefficients([[3.0, -4.7, 2.0]], norm_div=True)
    with pytest.raises(InputError, match="overflows"):
        Schedule.from_coefficients([[10**400, -4.7, 2.0]])
    assert Schedule.from_coefficients(np.array([[3, -4, 2]])).steps[0].coefficients == (3.0, -4.0, 2.0)


def test_band_with_huge_ints_is_an_input_error():
    with pytest.raises(InputError, match="finite"):
        Band(10**400)
    with pytest.raises(InputError, match="finite"):
        Band(1e-3, 10**400)
    with pytest.raises(InputError, match="guard_sigma"):
        Band(1e-3, 1.0, 10**400)


def test_load_schedule_with_a_300_character_name():
    with pytest.raises(InputError, match="not a preset or a schedule"):
        load_schedule("a" * 300)
    with pytest.raises(InputError):
        load_schedule("a" * 300 + ".json")


def test_seeds_counts_and_model_sizes():
    assert check_seed(0) == 0 and check_seed(MAX_SEED) == MAX_SEED
    for bad in (-1, MAX_SEED + 1, True, 1.0):
        with pytest.raises(InputError, match="`seed`"):
            check_seed(bad)
    with pytest.raises(InputError, match="in 1 … 1000"):
        check_count(100_000, "repeats", 1000)
    for bad in (1e-320, 0.0, -5.0, math.inf, math.nan, 10**400, 1e31):
        with pytest.raises(InputError, match="model"):
            check_model_size(bad)
    assert check_model_size(70e9) == 70e9


def test_terminal_safe():
    assert terminal_safe("keller5") == "keller5"
    assert terminal_safe("\x1b[2Jx") == "\\x1b[2Jx"
    assert terminal_safe("a\nb\u2028c") == "a\\nb\\u2028c"
    assert terminal_safe("bad\ud800").encode("utf-8") == "bad\ufffd".encode("utf-8")


def test_strict_json_writes_non_finite_numbers_as_strings():
    text = strict_json({"a": math.inf, "b": [-math.inf, math.nan, 1.5], "c": (1,)})
    assert json.loads(text, parse_constant=lambda name: pytest.fail(name)) == {
        "a": "inf", "b": ["-inf", "nan", 1.5], "c": [1]}


@pytest.mark.parametrize("text", ["١e-3", "1_000", "0x10", "", "1e", "--1", "１"])
def test_strict_numbers_refuse_what_is_not_ascii_notation(text):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        real(text)
    with pytest.raises(argparse.ArgumentTypeError):
        integer(text)


def test_strict_numbers_accept_ordinary_notation():
    assert real("-1e-3") == -1e-3 and real("+.5") == 0.5 and math.isinf(real("inf")) and math.isnan(real("nan"))
    assert integer("42") == 42 and integer("-1") == -1 and integer("+5") == 5
