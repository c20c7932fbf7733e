"""nsdesign.torch.validate: sources, measurements against the exact map, reports, memory refusal, bad input."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from nsdesign.errors import InputError
from nsdesign.presets import preset
from nsdesign.torch._memory import host_available_bytes, validation_bytes
from nsdesign.torch.kernels import scalar_map
from nsdesign.torch.sources import gaussian, log_uniform, parse_source
from nsdesign.torch.validate import QUANTILES, descending_quantiles, validate, write_report


def _one(report, schedule=None):
    rows = [r for r in report.rows if schedule is None or r.schedule == schedule]
    assert len(rows) == 1
    return rows[0]


def test_fp64_run_reproduces_the_exact_map_on_every_column():
    report = validate(["polar_express_modded5"], ["gaussian:24x40"], dtype="fp64", repeats=1, min_sigma=0.02)
    row = _one(report)
    G = gaussian((24, 40), 0)
    sigma_hat = torch.linalg.svdvals(G) / torch.linalg.vector_norm(G)
    F = scalar_map(preset("polar_express_modded5"), sigma_hat)
    band = sigma_hat >= 0.02
    assert row.band_count == int(band.sum()) and row.rank == 24
    assert row.band_error == pytest.approx(row.band_error_exact, abs=1e-10)
    assert row.band_error_exact == pytest.approx(float((1 - F[band]).abs().max()), rel=1e-12)
    assert row.polar_error == pytest.approx(float(torch.sqrt(((1 - F) ** 2).sum() / 24)), rel=1e-9)
    assert row.mixing < 1e-12
    out = F.abs().sort(descending=True).values
    assert row.sigma_out_max == pytest.approx(float(out[0]), rel=1e-10)
    assert row.sigma_out_min == pytest.approx(float(out[-1]), rel=1e-9)
    assert row.sigma_out_quantiles == pytest.approx(descending_quantiles(out), rel=1e-9)
    assert row.sigma_in_max == pytest.approx(float(sigma_hat[0])) and row.time_ms > 0
    assert (row.dtype, row.form, row.device, row.steps) == ("fp64", "standard", "cpu", 5)


def test_descending_rank_quantiles():
    sigma = torch.arange(10, 0, -1, dtype=torch.float64)  # 10, 9, …, 1
    # q·r = 1, 2.5, 5, 7.5, 9 → ranks 1, 3, 5, 8, 9 (0.7·10 style round-off must not bump a rank)
    assert descending_quantiles(sigma) == (10.0, 8.0, 6.0, 3.0, 2.0)
    assert descending_quantiles(sigma, (0.7,)) == (4.0,)
    assert QUANTILES == (0.1, 0.25, 0.5, 0.75, 0.9)


def test_log_uniform_source_has_the_prescribed_spectrum_and_is_seeded():
    G = log_uniform((30, 50), 1e-3, seed=3)
    sigma = torch.linalg.svdvals(G)
    expected = 1e-3 ** (torch.arange(30, dtype=torch.float64) / 29)
    assert torch.allclose(sigma, expected, rtol=1e-10)
    assert torch.equal(G, log_uniform((30, 50), 1e-3, seed=3))
    assert not torch.equal(G, log_uniform((30, 50), 1e-3, seed=4))
    row = _one(validate(["keller5"], ["spectrum:logu:1e-3:30x50"], dtype="fp64", repeats=1, seed=3))
    assert row.sigma_in_max / row.sigma_in_min == pytest.approx(1e3, rel=1e-9)


def test_bf16_exposes_a_no_headroom_list_that_the_exact_map_calls_fine():
    """docs/background.md §3: the exact greedy list (cans5_eo) has no headroom and blows up in bf16; keller5 does not."""
    report = validate(["cans5_eo", "keller5"], ["gaussian:64x256"], dtype="bf16", repeats=1)
    cans, keller = _one(report, "cans5_eo"), _one(report, "keller5")
    assert cans.band_error_exact < 0.2 and cans.band_error > 0.5 and cans.sigma_out_max > 1.5
    assert keller.band_error == pytest.approx(keller.band_error_exact, abs=0.03)
    assert 0 < keller.mixing < 0.05  # bf16 round-off mixes directions; fp64 does not (previous test)


def test_gram_form_and_steps_are_passed_through():
    report = validate(["keller5"], ["gaussian:16x64"], dtype="fp32", form="gram", steps=7, repeats=1)
    row = _one(report)
    assert row.form == "gram" and row.steps == 7 and row.band_error == pytest.approx(row.band_error_exact, abs=1e-4)
    assert report.settings["restarts"] == "default"


def _file_fixture(tmp_path):
    generator = torch.Generator().manual_seed(0)
    tensors = {
        "layer.weight": torch.randn(12, 20, generator=generator),
        "layer.bias": torch.randn(12, generator=generator),
        "conv.weight": torch.randn(8, 3, 2, 2, generator=generator),
        "half.weight": torch.randn(10, 6, generator=generator).bfloat16(),
    }
    path = tmp_path / "model.safetensors"
    save_file(tensors, str(path))
    return path, tensors


def test_safetensors_file_every_matrix_conv_flattened_vectors_skipped(tmp_path):
    path, tensors = _file_fixture(tmp_path)
    report = validate(["keller5"], [f"file:{path}"], dtype="fp32", repeats=1)
    names = {r.matrix: r for r in report.rows}
    assert set(names) == {"layer.weight", "conv.weight", "half.weight"}
    assert names["conv.weight"].shape == (8, 12) and "flattened (8, 3, 2, 2)" in names["conv.weight"].note
    assert any("conv.weight" in note for note in report.notes)
    assert names["half.weight"].shape == (10, 6)
    only = validate(["keller5"], [f"file:{path}"], dtype="fp32", repeats=1, match=r"^layer\.")
    assert [r.matrix for r in only.rows] == ["layer.weight"]


def test_pt_and_npy_files(tmp_path):
    generator = torch.Generator().manual_seed(1)
    torch.save({"model": {"a": torch.randn(6, 9, generator=generator), "b": torch.ones(4)}}, tmp_path / "ckpt.pt")
    report = validate(["keller5"], [f"file:{tmp_path / 'ckpt.pt'}"], dtype="fp64", repeats=1)
    assert [r.matrix for r in report.rows] == ["model.a"]
    np.save(tmp_path / "m.npy", np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32))
    row = _one(validate(["keller5"], [f"file:{tmp_path / 'm.npy'}"], dtype="fp64", repeats=1))
    assert row.matrix == "m" and row.shape == (7, 5)


def test_capture_directory_source(tmp_path):
    step = tmp_path / "tiny" / "step000010.safetensors"
    step.parent.mkdir()
    save_file({"block0.q": torch.randn(8, 8), "block0.mlp_up": torch.randn(32, 8)}, str(step), metadata={"step": "10"})
    report = validate(["keller5"], [f"capture:{tmp_path}"], dtype="fp32", repeats=1, match="mlp")
    assert [r.matrix for r in report.rows] == ["tiny/step000010/block0.mlp_up"]


def test_reports_are_written_as_json_and_csv(tmp_path):
    report = validate(["keller5", "polar_express_modded5"], ["gaussian:8x12"], dtype="fp32", repeats=2)
    write_report(report, tmp_path / "r.json")
    write_report(report, tmp_path / "r.csv")
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["kind"] == "nsdesign-validation" and len(document["rows"]) == 2
    assert document["rows"][0]["sigma_out_q0.5"] == report.rows[0].sigma_out_quantiles[2]
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [r["schedule"] for r in rows] == ["keller5", "polar_express_modded5"]
    assert rows[0]["shape"] == "8x12" and float(rows[1]["band_error"]) == pytest.approx(report.rows[1].band_error)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.json"]
    with pytest.raises(InputError, match=r"\.json or \.csv"):
        write_report(report, tmp_path / "r.txt")


def test_diverging_run_is_reported_not_raised():
    bad = {"coefficients": [[3.0, 0.0, 5.0]] * 6, "name": "explodes"}  # p(x) = 3x + 5x^5 grows without bound
    row = _one(validate([bad], ["gaussian:8x12"], dtype="fp32", repeats=1))
    assert row.diverged and "diverged" in row.note
    assert json.dumps(row.to_dict())  # inf is written as a string, the document stays valid JSON


def test_memory_estimate_refuses_what_will_not_fit(tmp_path):
    assert host_available_bytes() is not None and host_available_bytes() > 0
    assert validation_bytes(4096, 16384, 2) > 8 * 6 * 4096 * 16384
    with pytest.raises(InputError, match=r"needs [\d.]+ TiB, .* free"):
        validate(["keller5"], ["gaussian:200000x200000"], repeats=1)  # refused before allocating anything
    path, _ = _file_fixture(tmp_path)
    with pytest.raises(InputError, match="layer.weight"):
        validate(["keller5"], [f"file:{path}"], repeats=1, memory_budget=10_000)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("noise:8x8", "unknown source"),
        ("gaussian:8by8", "shape must look like"),
        ("gaussian:0x8", "sides must lie"),
        ("spectrum:logu:2:8x8", r"lower singular value must lie in \(0, 1\]"),
        ("spectrum:flat:1e-3:8x8", "spectrum:logu"),
        ("file:/nonexistent/x.safetensors", "not found"),
        ("capture:/nonexistent", "not found"),
    ],
)
def test_bad_sources(source, message):
    with pytest.raises(InputError, match=message):
        parse_source(source)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.ones(5, dtype=np.float32), "no tensor with ≥ 2 dimensions"),
        (np.ones((3, 3), dtype=np.complex64), "complex"),
        (np.ones((3, 3), dtype=np.int32), "floating-point"),
        (np.zeros((3, 4), dtype=np.float32), "all zeros"),
        (np.array([[1.0, np.nan], [2.0, 3.0]]), "NaN or Inf"),
    ],
)
def test_bad_file_contents(tmp_path, array, message):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(InputError, match=message):
        validate(["keller5"], [f"file:{tmp_path / 'bad.npy'}"], repeats=1)


@pytest.mark.parametrize("suffix", [".npy", ".safetensors", ".pt"])
def test_empty_matrices_are_refused_in_one_line(tmp_path, suffix):
    """A 0×5 matrix has nothing to orthogonalize: refused by name, not a reshape traceback (issue 14)."""
    path = tmp_path / f"empty{suffix}"
    tensor = torch.zeros((0, 5), dtype=torch.float32)
    if suffix == ".npy":
        np.save(path, tensor.numpy())
    elif suffix == ".safetensors":
        save_file({"w": tensor}, str(path))
    else:
        torch.save({"w": tensor}, path)
    with pytest.raises(InputError, match=r"empty, e.g. .*0x5"):
        validate(["keller5"], [f"file:{path}"], repeats=1)


def test_bad_files_and_options(tmp_path):
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    (tmp_path / "junk.pt").write_bytes(b"not a pickle")
    (tmp_path / "x.txt").write_text("hello")
    for name, message in (("junk.safetensors", "safetensors"), ("junk.pt", "cannot read"), ("x.txt", "unsupported file type")):
        with pytest.raises(InputError, match=message):
            validate(["keller5"], [f"file:{tmp_path / name}"], repeats=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .safetensors files"):
        validate(["keller5"], [f"capture:{tmp_path / 'empty'}"], repeats=1)
    with pytest.raises(InputError, match="regular expression"):
        validate(["keller5"], ["gaussian:4x4"], match="(", repeats=1)
    with pytest.raises(InputError, match="min_sigma must lie"):
        validate(["keller5"], ["gaussian:4x4"], min_sigma=0.0)
    with pytest.raises(InputError, match="CUDA is not available"):
        validate(["keller5"], ["gaussian:4x4"], device="cuda")
    with pytest.raises(InputError, match="unknown preset|not a preset or a schedule"):
        validate(["no_such_schedule"], ["gaussian:4x4"])
    with pytest.raises(InputError, match="dtype"):
        validate(["keller5"], ["gaussian:4x4"], dtype="int8")


def test_no_band_directions_gives_none():
    row = _one(validate(["keller5"], ["gaussian:4x6"], dtype="fp64", repeats=1, min_sigma=1.0))
    assert row.band_count == 0 and row.band_error is None and row.band_error_exact is None
    assert math.isfinite(row.polar_error)


def test_nan_and_zero_matrices_are_reported_beside_the_measured_ones(tmp_path):
    from safetensors.torch import save_file as save

    good = torch.randn(8, 24, generator=torch.Generator().manual_seed(0))
    bad = good.clone()
    bad[0, 0] = float("nan")
    path = tmp_path / "mixed.safetensors"
    save({"good": good, "bad": bad, "zero": torch.zeros(8, 24)}, str(path))
    report = validate(["keller5"], [f"file:{path}"], repeats=1)
    assert len(report.rows) == 1
    text = " ".join(report.notes)
    assert "bad" in text and "1 NaN or Inf entries" in text and "skips such an update" in text
    assert "zero" in text and "all zeros" in text
