"""The blocks Newton–Schulz really sees: per-head and per-shard splits of one weight matrix.

Attention projections are often orthogonalized one head at a time (DeepSpeed's per-head Muon and dion's
`num_heads`: a [H·d, in] matrix is viewed as [H, d, in] and each d×in block is orthogonalized alone), and
Megatron forks shard Newton–Schulz blockwise. Each block is Frobenius-normalized on its own, so its band
is that of the block, not of the fused matrix: on Gaussian stand-ins a 128×7168 block sits at about
[0.077, 0.100], the fused 8192×7168 matrix at [0.0008, 0.023] (benchmarks/per_head_bands.py).

`Blocks` records the split; `blocks_of` builds it from `heads` (split the rows: rows = heads × head_dim)
or `block` (a shard shape that tiles the matrix). Orientation matters here, unlike for `Shape`: give the
matrix as 'RxC' text or a (rows, cols) pair; a `Shape` is read as its stored (m ≤ n) orientation.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from typing import Any

from nsdesign.core.cost import Shape
from nsdesign.errors import InputError
from nsdesign.laws.marchenko_pastur import quantile as mp_quantile


@dataclass(frozen=True)
class Blocks:
    """A rows×cols matrix cut into (rows/block_rows)·(cols/block_cols) blocks, each orthogonalized alone."""

    rows: int
    cols: int
    block_rows: int
    block_cols: int

    @property
    def count(self) -> int:
        return (self.rows // self.block_rows) * (self.cols // self.block_cols)

    @property
    def shape(self) -> Shape:
        """The block's shape (wide orientation): what Newton–Schulz, its band and its FLOPs see."""
        return Shape(self.block_rows, self.block_cols)

    @property
    def fused(self) -> Shape:
        return Shape(self.rows, self.cols)

    def label(self) -> str:
        """'64 blocks of 128x7168 in 8192x7168'."""
        return f"{self.count} blocks of {self.block_rows}x{self.block_cols} in {self.rows}x{self.cols}"

    def split(self, x: Any) -> Any:
        """A [rows, cols] numpy array or torch tensor as [count, block_rows, block_cols] (row-major blocks)."""
        br, bc = self.block_rows, self.block_cols
        tiles = x.reshape(self.rows // br, br, self.cols // bc, bc).swapaxes(1, 2)
        return tiles.reshape(self.count, br, bc)


def blocks_of(shape: Any, heads: int | None = None, block: Any = None) -> Blocks:
    """The split of `shape` ('RxC', (rows, cols) or a Shape): `heads` H cuts the rows into H blocks of
    rows/H × cols; `block` ('MxN' or (M, N)) tiles it with M×N shards; neither gives one block."""
    rows, cols = _dims(shape, "matrix shape")
    if heads is not None and block is not None:
        raise InputError("give heads (split the rows) or block (a shard shape), not both")
    if heads is not None:
        if isinstance(heads, bool) or not isinstance(heads, numbers.Integral) or heads < 1:
            raise InputError(f"heads must be a positive integer, got {heads!r}")
        if rows % int(heads):
            raise InputError(
                f"heads {str(heads)[:10]} does not divide the {rows} rows"
            )
        return Blocks(rows, cols, rows // int(heads), cols)
    if block is None:
        return Blocks(rows, cols, rows, cols)
    br, bc = _dims(block, "block")
    if rows % br or cols % bc:
        raise InputError(f"block {br}x{bc} does not tile {rows}x{cols}: its sides must divide {rows} and {cols}")
    return Blocks(rows, cols, br, bc)


def block_shape(shape: Any, heads: int | None = None, block: Any = None) -> Shape:
    """The shape of the blocks NS sees (see `blocks_of`); `shape` itself when neither is given."""
    return blocks_of(shape, heads, block).shape


def block_lift(quantile: float, fused: Shape, block: Shape) -> float:
    """σ_q(block) / σ_q(fused) of Frobenius-normalized i.i.d. matrices (Marchenko–Pastur): how much higher a
    block's band edge sits. Exact for i.i.d. entries; for real momentum matrices it is a model (docs/laws.md)."""
    return mp_quantile(quantile, block) / mp_quantile(quantile, fused)


def _dims(value: Any, what: str) -> tuple[int, int]:
    """(rows, cols) in the given orientation, validated by `Shape`."""
    if isinstance(value, Shape):
        return value.m, value.n
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", value)
        if not match:
            raise InputError(f"{what} must look like 128x7168 (two positive integers), got {value!r}")
        value = (int(match.group(1)), int(match.group(2)))
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise InputError(f"{what} must be 'MxN' text or an (m, n) pair, got {value!r}")
    Shape(value[0], value[1])  # positive integers, or InputError/TypeError
    return int(value[0]), int(value[1])
