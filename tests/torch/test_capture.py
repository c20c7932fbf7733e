"""nsdesign.torch.capture: a very small real capture, its files, and its CSV in the laws data format."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from nsdesign.errors import InputError
from nsdesign.torch.capture import (
    CSV_COLUMNS,
    capture_momentum,
    default_capture_steps,
    depth_blocks,
    parse_sizes,
    stdlib_text,
)
from nsdesign.torch.model import MATRICES
from nsdesign.torch.validate import QUANTILES, descending_quantiles

SHIPPED_CSV = Path(__file__).resolve().parents[2] / "nsdesign" / "laws" / "data" / "momentum_quantiles_2606.04058.csv"
TEXT = b"import os\n\ndef walk(path):\n    for name in sorted(os.listdir(path)):\n        yield os.path.join(path, name)\n" * 60


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    root = tmp_path_factory.mktemp("capture")
    text = root / "text.py"
    text.write_bytes(TEXT)
    result = capture_momentum(root / "out", sizes="nano,32x1", steps=8, text=text, batch=4, seq_len=32, capture_at=[4, 8])
    return result


def _header(path: Path) -> list[str]:
    with path.open() as handle:
        rows = [line for line in handle if not line.startswith("#")]
    return next(csv.reader(rows))


def test_quantile_csv_has_exactly_the_laws_data_columns(captured):
    assert _header(SHIPPED_CSV) == list(CSV_COLUMNS)
    assert _header(captured.quantiles_csv) == list(CSV_COLUMNS)
    rows = list(csv.DictReader(captured.quantiles_csv.open()))
    sizes = {int(r["model_params"]) for r in rows}
    assert len(sizes) == 2  # nano and 32x1
    # every (size, depth, matrix) has the five descending-rank quantiles, σ decreasing with q
    assert len(rows) == 2 * 4 * 6 * 5
    assert {r["quantile"] for r in rows} == {"0.10", "0.25", "0.50", "0.75", "0.90"}
    assert {r["depth"] for r in rows} == {"mid_early", "mid", "mid_late", "final"}
    assert {r["matrix"] for r in rows} == set(MATRICES) and all(r["matrix"] == r["matrix_printed"] for r in rows)
    for i in range(0, len(rows), 5):
        sigmas = [float(r["sigma"]) for r in rows[i : i + 5]]
        assert sigmas == sorted(sigmas, reverse=True) and 0 < sigmas[-1] and sigmas[0] < 1


def test_saved_buffers_are_normalized_labelled_and_reproduce_the_csv(captured):
    out = captured.out_dir
    nano = captured.sizes[0]
    assert nano.files == ("nano/step000004.safetensors", "nano/step000008.safetensors")
    per_step = {}
    for name in nano.files:
        with safe_open(str(out / name), framework="pt") as handle:
            metadata = handle.metadata()
            assert metadata["format"] == "nsdesign-capture/1" and metadata["size"] == "nano"
            assert json.loads(metadata["depths"]) == {"block0": ["mid_early", "mid"], "block1": ["mid_late", "final"]}
            assert sorted(handle.keys()) == sorted(f"block{i}.{m}" for i in range(2) for m in MATRICES)
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}
        assert tensors["block0.mlp_up"].shape == (128, 32) and tensors["block1.mlp_down"].shape == (32, 128)
        for tensor in tensors.values():
            assert float(torch.linalg.vector_norm(tensor.double())) == pytest.approx(1.0, abs=1e-6)
        per_step[int(metadata["step"])] = tensors
    # the stabilized CSV value is the median over captured steps (two steps: their mean) of σ[⌈q·r⌉−1]
    rows = [r for r in csv.DictReader(captured.quantiles_csv.open()) if int(r["model_params"]) == nano.model_params]
    final_v = [r for r in rows if r["depth"] == "final" and r["matrix"] == "v"]
    q = [descending_quantiles(torch.linalg.svdvals(per_step[s]["block1.v"].double())) for s in (4, 8)]
    expected = [(a + b) / 2 for a, b in zip(*q)]
    assert [float(r["sigma"]) for r in final_v] == pytest.approx(expected, rel=1e-4)
    by_step = list(csv.DictReader(captured.by_step_csv.open()))
    assert {r["step"] for r in by_step} == {"4", "8"} and len(by_step) == 2 * len(rows) * 2


def test_manifest_and_training(captured):
    manifest = json.loads(captured.manifest.read_text())
    assert manifest["kind"] == "nsdesign-capture" and manifest["text_bytes"] == len(TEXT)
    assert manifest["settings"]["capture_at"] == [4, 8] and manifest["settings"]["ns_dtype"] == "fp32"
    for size in captured.sizes:
        assert len(size.losses) == 8 and all(math.isfinite(v) for v in size.losses)
        assert size.eval_loss_after < size.eval_loss_before  # 8 steps on a repetitive text: it learns
    assert captured.sizes[1].size.name == "w32l1"


def test_same_seed_same_run(tmp_path):
    text = tmp_path / "t.txt"
    text.write_bytes(TEXT)
    runs = [capture_momentum(tmp_path / f"r{i}", sizes="nano", steps=2, text=text, batch=2, seq_len=16) for i in range(2)]
    assert runs[0].sizes[0].losses == runs[1].sizes[0].losses
    assert runs[0].quantiles_csv.read_text() == runs[1].quantiles_csv.read_text()


def test_default_text_is_the_installed_standard_library_in_sorted_order():
    data, source = stdlib_text(max_bytes=200_000)
    again, _ = stdlib_text(max_bytes=200_000)
    assert source.startswith("stdlib:") and len(data) == 200_000 and data == again
    assert b"def " in data and b"import " in data


def test_depths_sizes_and_defaults():
    assert depth_blocks(4) == {"mid_early": 0, "mid": 1, "mid_late": 2, "final": 3}
    assert depth_blocks(12) == {"mid_early": 2, "mid": 5, "mid_late": 8, "final": 11}
    assert depth_blocks(1) == {"mid_early": 0, "mid": 0, "mid_late": 0, "final": 0}
    assert default_capture_steps(150) == (75, 112, 150) and default_capture_steps(1) == (1,)
    cpu = parse_sizes(None, torch.device("cpu"))
    assert [(s.width, s.n_layer) for s in cpu] == [(64, 4), (96, 4), (128, 4)]
    assert [s.name for s in parse_sizes("tiny, 192x6", torch.device("cpu"))] == ["tiny", "w192l6"]
    assert QUANTILES == (0.1, 0.25, 0.5, 0.75, 0.9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(sizes="huge"), "unknown model size"),
        (dict(sizes="100x4"), "multiple of 32"),
        (dict(sizes="tiny,tiny"), "twice"),
        (dict(steps=0), "positive"),
        (dict(capture_at=[5], steps=3), "capture steps"),
        (dict(text="/nonexistent/file.txt"), "text file not found"),
        (dict(schedule="no_such_preset"), "not a preset or a schedule"),
        (dict(device="cuda"), "CUDA is not available"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    options = dict(sizes="nano", steps=2, batch=2, seq_len=16)
    options.update(kwargs)
    with pytest.raises(InputError, match=message):
        capture_momentum(tmp_path / "out", **options)


def test_too_short_text(tmp_path):
    short = tmp_path / "short.txt"
    short.write_bytes(b"tiny")
    with pytest.raises(InputError, match="need at least"):
        capture_momentum(tmp_path / "out", sizes="nano", steps=2, text=short, seq_len=16)


def _big_schedule(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"schema_version": 1, "coefficients": [[1e308, 1e308, 1e308]], "degree": 5}))
    return str(path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(text="EMPTY"), "the text has 0 bytes"),
        (dict(schedule="BIG"), "beyond fp32's range"),
        (dict(batch=100_000_000), "needs .* lower `batch`"),
        (dict(seq_len=10**9, text="EMPTY"), "needs |the text has"),
    ],
)
def test_refusals_before_any_folder_is_made(tmp_path, kwargs, message):
    """Issue 14: empty text, unrepresentable coefficients and runs that cannot fit in memory are refused in one
    line, and the output folder (with its missing parents) is never created."""
    (tmp_path / "empty.txt").write_bytes(b"")
    resolved = {k: ({"EMPTY": str(tmp_path / "empty.txt"), "BIG": _big_schedule(tmp_path)}.get(v, v)) for k, v in kwargs.items()}
    options = dict(sizes="nano", steps=2, batch=2, seq_len=16)
    options.update(resolved)
    with pytest.raises(InputError, match=message):
        capture_momentum(tmp_path / "a" / "b", **options)
    assert not (tmp_path / "a").exists()


def test_failed_training_leaves_no_empty_folder(tmp_path, monkeypatch):
    import nsdesign.torch.capture as capture

    text = tmp_path / "text.py"
    text.write_bytes(TEXT)

    def diverge(*args, **kwargs):
        raise InputError("training nano diverged at step 1")

    monkeypatch.setattr(capture, "_train_one", diverge)
    with pytest.raises(InputError, match="diverged"):
        capture_momentum(tmp_path / "new" / "out", sizes="nano", steps=2, text=text, batch=2, seq_len=16)
    assert not (tmp_path / "new").exists()
    (tmp_path / "kept").mkdir()  # a folder that existed before is left alone
    with pytest.raises(InputError):
        capture_momentum(tmp_path / "kept", sizes="nano", steps=2, text=text, batch=2, seq_len=16)
    assert (tmp_path / "kept").is_dir()
