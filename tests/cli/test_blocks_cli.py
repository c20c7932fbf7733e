"""`--heads` / `--block` on predict, search, recipe and validate, in-process (the `cli` fixture of tests/cli)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nsdesign.core.cost import Shape
from nsdesign.laws import marchenko_pastur as mp


def test_predict_per_head_is_the_block_band(cli):
    result = cli("predict", "--shape", "8192x7168", "--heads", "64", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["min_sigma"] == mp.quantile(0.5, Shape(128, 7168))
    assert "one of 64 blocks of 128x7168 in 8192x7168" in data["source"]
    shard = cli("predict", "--shape", "8192x7168", "--block", "1024x7168", "--quantile", "0.9")
    assert shard.returncode == 0, shard.stderr
    assert f"{mp.quantile(0.9, Shape(1024, 7168)):.6g}" in shard.stdout
    assert all(len(line) <= 80 for line in shard.stdout.splitlines())


def test_search_designs_for_the_block(cli):
    result = cli("search", "--shape", "8192x7168", "--heads", "64", "--quantile", "0.9", "--tol", "0.1", "--exact")
    assert result.returncode == 0, result.stderr
    assert f"band [{mp.quantile(0.9, Shape(128, 7168)):.6g}, 1]" in result.stdout
    assert "FLOPs on 128x7168" in result.stdout and "one of 64 blocks" in result.stdout


@pytest.mark.slow
def test_recipe_per_head_against_fused(cli, tmp_path):
    config = tmp_path / "model.json"
    config.write_text(json.dumps({"d_model": 256, "n_layers": 1, "n_heads": 4, "n_kv_heads": 2, "mlp_ratio": 4}))
    path = tmp_path / "recipe.json"
    result = cli("recipe", "--model-size", "1e9", "--config", "model.json", "--tol", "0.3", "--dtype", "exact",
                 "--heads", "-o", "recipe.json", cwd=tmp_path)  # short paths: the 80-column check is on our text
    assert result.returncode == 0, result.stderr
    assert "per-head attention" in result.stdout and "attention: fused" in result.stdout
    assert "64x256 ×4" in result.stdout and "64x256 ×2" in result.stdout
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    doc = json.loads(path.read_text())
    assert doc["params"]["per_head"] is True
    by_matrix = {layer["matrix"]: layer for layer in doc["layers"]}
    assert by_matrix["q"]["blocks"] == 4 and by_matrix["q"]["block_shape"] == [64, 256]
    assert by_matrix["k"]["blocks"] == 2 and by_matrix["o"]["block_shape"] == [256, 64]  # o: heads are columns
    assert "blocks" not in by_matrix["mlp_up"]
    same = cli("recipe", "--model-size", "1e9", "--config", str(config), "--tol", "0.3", "--dtype", "exact", "--heads", "4")
    assert same.returncode == 0, same.stderr


def test_validate_runs_each_block_alone(cli):
    pytest.importorskip("torch")
    from nsdesign.torch.sources import gaussian

    result = cli("validate", "keller5", "--source", "gaussian:64x24", "--heads", "4", "--dtype", "fp64",
                 "--repeats", "1", "--json")
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)["rows"][0]
    assert (row["blocks"], row["block"], row["shape"], row["rank"]) == (4, [16, 24], [64, 24], 64)
    x = gaussian((64, 24), 0).numpy().reshape(4, 16, 24)
    sigma = np.linalg.svd(x, compute_uv=False) / np.linalg.norm(x, axis=(1, 2))[:, None]
    assert row["sigma_in_max"] == pytest.approx(sigma.max(), rel=1e-9)
    assert row["sigma_in_min"] == pytest.approx(sigma.min(), rel=1e-9)
    table = cli("validate", "keller5", "--source", "gaussian:64x24", "--block", "32x12", "--repeats", "1")
    assert table.returncode == 0, table.stderr
    assert "run as 4 blocks of 32x12" in table.stdout


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("predict", "--shape", "8192x7168", "--heads", "3"), "heads 3 does not divide the 8192 rows"),
        (("predict", "--shape", "8192x7168", "--block", "1000x7168"), "does not tile 8192x7168"),
        (("predict", "--shape", "8192x7168", "--heads", "64", "--block", "128x7168"), "not both"),
        (("predict", "--model-size", "70B", "--layer", "final.q", "--heads", "64"), "whole matrices"),
        (("predict", "--heads", "64"), "give the shape too"),
        (("predict", "--shape", "8192x7168", "--heads", "x"), "--heads"),
        (("search", "--quantile", "0.5", "--heads", "64", "--tol", "0.1"), "give --shape MxN too"),
        (("search", "--shape", "100x7168", "--heads", "64", "--quantile", "0.5"), "does not divide"),
        (("recipe", "--model-size", "70B", "--tol", "0.3", "--heads", "32"), "disagrees with the model's 64 heads"),
    ],
)
def test_bad_splits_exit_2_with_one_line(cli_error, cli, args, fragment):
    assert fragment in cli_error(cli(*args))


def test_validate_bad_split(cli_error, cli):
    pytest.importorskip("torch")
    line = cli_error(cli("validate", "keller5", "--source", "gaussian:30x24", "--heads", "4"))
    assert "gaussian:30x24: heads 4 does not divide the 30 rows" in line
