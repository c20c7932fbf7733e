"""Per-head and per-shard blocks (nsdesign.laws.blocks): shapes, errors, and the block's Marchenko–Pastur band."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nsdesign.core.cost import Shape
from nsdesign.errors import InputError
from nsdesign.laws import predict_band
from nsdesign.laws import marchenko_pastur as mp
from nsdesign.laws.blocks import Blocks, block_lift, block_shape, blocks_of


def test_heads_split_the_rows():
    assert block_shape("8192x7168", heads=64) == Shape(128, 7168)
    assert block_shape((1024, 8192), heads=8) == Shape(128, 8192)
    assert block_shape("256x2048") == Shape(256, 2048)  # neither: the matrix itself
    split = blocks_of("8192x7168", heads=64)
    assert split == Blocks(8192, 7168, 128, 7168) and split.count == 64 and split.fused == Shape(8192, 7168)
    assert split.label() == "64 blocks of 128x7168 in 8192x7168"


def test_block_tiles_the_matrix():
    split = blocks_of("8192x7168", block="1024x3584")
    assert (split.count, split.shape) == (16, Shape(1024, 3584))
    assert block_shape((4096, 4096), block=(4096, 512)) == Shape(512, 4096)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"heads": 3}, "heads 3 does not divide the 8192 rows"),
        ({"heads": 0}, "heads must be a positive integer"),
        ({"heads": 2.0}, "heads must be a positive integer"),
        ({"block": "1000x7168"}, "block 1000x7168 does not tile 8192x7168"),
        ({"block": "128by7168"}, "block must look like"),
        ({"heads": 64, "block": "128x7168"}, "not both"),
    ],
)
def test_bad_splits_are_one_line_input_errors(kwargs, fragment):
    with pytest.raises(InputError) as info:
        blocks_of("8192x7168", **kwargs)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_split_is_the_per_head_view():
    x = np.arange(6 * 4, dtype=float).reshape(6, 4)
    heads = blocks_of(x.shape, heads=3).split(x)
    assert heads.shape == (3, 2, 4) and np.array_equal(heads, x.reshape(3, 2, 4))  # DeepSpeed's [H, d, in] view
    tiles = blocks_of(x.shape, block=(3, 2)).split(x)
    assert tiles.shape == (4, 3, 2)
    assert np.array_equal(tiles[1], x[:3, 2:]) and np.array_equal(tiles[2], x[3:, :2])


def test_predict_band_for_a_block():
    block = predict_band(0.5, shape="8192x7168", heads=64)
    assert block.min_sigma == mp.quantile(0.5, Shape(128, 7168))
    assert "one of 64 blocks of 128x7168 in 8192x7168" in block.source
    fused = predict_band(0.5, shape="8192x7168")
    assert block.min_sigma / fused.min_sigma == pytest.approx(block_lift(0.5, Shape(8192, 7168), Shape(128, 7168)))
    with pytest.raises(InputError, match="momentum laws describe whole matrices"):
        predict_band(0.5, model_size=70e9, layer="final.q", heads=64)
    with pytest.raises(InputError, match="give the shape too"):
        predict_band(0.5, heads=64)


def test_block_band_matches_a_sampled_gaussian_block():
    # One 128x7168 head of a Gaussian 8192x7168 matrix, Frobenius-normalized alone: its band sits at the
    # Marchenko–Pastur support of the block ([0.0766, 0.1002]), not of the fused matrix ([0.0008, 0.023]).
    x = np.random.default_rng(0).standard_normal((1024, 7168))
    head = blocks_of(x.shape, heads=8).split(x)[3]
    sigma = np.linalg.svd(head, compute_uv=False) / np.linalg.norm(head)
    lo, hi = mp.band_edge_support(block_shape("8192x7168", heads=64))
    assert (lo, hi) == pytest.approx((0.0766, 0.1002), abs=2e-4)
    assert sigma.min() == pytest.approx(lo, rel=0.03) and sigma.max() == pytest.approx(hi, rel=0.03)
    median = sigma[math.ceil(0.5 * sigma.size) - 1]
    assert median == pytest.approx(predict_band(0.5, shape="8192x7168", heads=64).min_sigma, rel=0.01)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 64), st.integers(1, 64), st.integers(1, 300))
def test_heads_cover_the_matrix(heads, head_dim, cols):
    split = blocks_of((heads * head_dim, cols), heads=heads)
    assert split.count == heads and split.shape == Shape(head_dim, cols)
    assert split.count * split.block_rows * split.block_cols == split.rows * split.cols


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.integers(1, 16), st.integers(1, 16))
def test_tiles_partition_the_entries(a, b, br, bc):
    x = np.arange(a * br * b * bc).reshape(a * br, b * bc)
    tiles = blocks_of(x.shape, block=(br, bc)).split(x)
    assert tiles.shape == (a * b, br, bc)
    assert sorted(tiles.ravel()) == list(range(x.size))


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(st.integers(2, 64), st.integers(1, 63))
def test_heads_not_dividing_rows_are_refused(rows, heads):
    if rows % heads == 0:
        heads = rows + 1
    with pytest.raises(InputError, match="does not divide"):
        blocks_of((rows, 16), heads=heads)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([64, 128, 256]), st.sampled_from([8, 16, 64]), st.sampled_from([0.1, 0.5, 0.9]))
def test_a_head_band_sits_above_the_fused_band(head_dim, heads, q):
    fused = Shape(heads * head_dim, 4096)
    assert block_lift(q, fused, block_shape((heads * head_dim, 4096), heads=heads)) > 1.0
