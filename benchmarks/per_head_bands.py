"""Per-head and per-shard bands, run by hand: `python benchmarks/per_head_bands.py [--json PATH] [--skip-recipe]`.

Question: when Newton–Schulz runs one head (or one shard) at a time, which band does each block see? Each
block is Frobenius-normalized alone, so its band is the block's, not the fused matrix's. On Gaussian
stand-ins (numpy, seeded, float64 Gram eigenvalues) this prints the measured Frobenius band
[σ_min/‖X‖_F, σ_max/‖X‖_F] of each shape against Marchenko–Pastur's support
[(1−√y)/√m, (1+√y)/√m] (nsdesign.laws.marchenko_pastur), for the brief's shapes and the 70B (Llama-3.1-70B:
d_model 8192, 64 heads / 8 kv of head_dim 128) attention shapes, fused and per head. A per-head row
cuts one generated fused matrix into its heads (q/k/v: rows, o: columns; nsdesign.laws.blocks) and
reports the mean over the heads of each head's band, with the lowest σ_min of any head in brackets.

Then the 70B recipe (nsdesign.plans.recipe, δ = 0.3, q = 0.5, default bf16 check) with fused attention
and with per-head attention (band edge × the Marchenko–Pastur ratio block/fused): steps and GFLOP per
attention matrix and the totals. FLOP counts are exact; the Gaussian figures repeat for the seed.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

import numpy as np

from nsdesign.core.cost import Shape
from nsdesign.laws.blocks import blocks_of
from nsdesign.laws.marchenko_pastur import band_edge_support

SEED = 0
# (label, fused rows x cols, split: None | ("heads", H) rows | ("cols", H) columns)
CASES: tuple[tuple[str, tuple[int, int], Any], ...] = (
    ("128x7168", (128, 7168), None),
    ("256x2048", (256, 2048), None),
    ("2048x7168", (2048, 7168), None),
    ("8192x7168", (8192, 7168), None),
    ("8192x7168 per head (64)", (8192, 7168), ("heads", 64)),
    ("70B q/o 8192x8192", (8192, 8192), None),
    ("70B q per head (64)", (8192, 8192), ("heads", 64)),
    ("70B o per head (64)", (8192, 8192), ("cols", 64)),
    ("70B k/v 1024x8192", (1024, 8192), None),
    ("70B k/v per head (8)", (1024, 8192), ("heads", 8)),
)
SIZE, TOL, QUANTILE = 70e9, 0.3, 0.5


def frobenius_band(x: np.ndarray) -> tuple[float, float]:
    """(σ_min, σ_max) / ‖x‖_F, from the float64 eigenvalues of the smaller Gram matrix."""
    gram = x @ x.T if x.shape[0] <= x.shape[1] else x.T @ x
    eig = np.linalg.eigvalsh(gram)
    norm = math.sqrt(float(np.trace(gram)))
    return math.sqrt(max(float(eig[0]), 0.0)) / norm, math.sqrt(float(eig[-1])) / norm


def measure(label: str, dims: tuple[int, int], split: Any, cache: dict[tuple[int, int], np.ndarray]) -> dict[str, Any]:
    if dims not in cache:
        cache.clear()  # one fused matrix at a time (8192x8192 float64 is 0.5 GB)
        cache[dims] = np.random.default_rng([SEED, *dims]).standard_normal(dims)
    x = cache[dims]
    if split is None:
        lo, hi = frobenius_band(x)
        block, shape, count, lowest = dims, Shape(*dims), 1, lo
    else:
        kind, heads = split
        blocks = blocks_of(dims, heads=heads) if kind == "heads" else blocks_of(dims, block=(dims[0], dims[1] // heads))
        bands = [frobenius_band(b) for b in blocks.split(x)]  # o: its heads are column blocks
        lo, hi = float(np.mean([b[0] for b in bands])), float(np.mean([b[1] for b in bands]))
        block, shape, count = (blocks.block_rows, blocks.block_cols), blocks.shape, blocks.count
        lowest = min(b[0] for b in bands)
    mp_lo, mp_hi = band_edge_support(shape)
    return {"case": label, "fused": list(dims), "block": list(block), "blocks": count,
            "measured": [lo, hi], "lowest_sigma_min": lowest, "marchenko_pastur": [mp_lo, mp_hi]}


def print_bands(rows: list[dict[str, Any]]) -> None:
    print(f"Frobenius band [σ_min, σ_max]/‖X‖_F, Gaussian (seed {SEED}) vs Marchenko–Pastur:")
    print(f"{'case':<24}{'NS block':>10}  {'measured':<21}{'Marchenko–Pastur':<21}")
    for r in rows:
        (lo, hi), (a, b) = r["measured"], r["marchenko_pastur"]
        block = f"{r['block'][0]}x{r['block'][1]}"
        print(f"{r['case']:<24}{block:>10}  {f'[{lo:.3g}, {hi:.3g}]':<21}[{a:.3g}, {b:.3g}]")
        if r["blocks"] > 1:
            print(f"{'':<36}(lowest σ_min of the {r['blocks']} blocks: {r['lowest_sigma_min']:.3g})")


def recipe_rows(fused: Any, per_head: Any) -> list[dict[str, Any]]:
    """Per attention law: steps and GFLOP per matrix (all blocks), fused and per head."""
    by_law = {g.law: g for g in reversed(fused.groups)}
    out = []
    for g in per_head.groups:
        layer = next(x for x in per_head.layers if x.schedule == g.name)
        if layer.block_shape is None:
            continue
        f = by_law[g.law]
        f_layer = next(x for x in fused.layers if x.schedule == f.name)
        out.append({"law": g.law, "fused_shape": str(f.shape), "fused_steps": f.design.schedule.num_steps,
                    "fused_gflop": f_layer.flops / 1e9, "fused_edge": f.edge, "block": str(g.shape),
                    "blocks": layer.blocks, "head_steps": g.design.schedule.num_steps,
                    "head_gflop": layer.flops / 1e9, "head_edge": g.edge})
    return out


def print_recipe(rows: list[dict[str, Any]], totals: dict[str, float]) -> None:
    print()
    print(f"70B recipe (δ = {TOL:g}, q = {QUANTILE:g}, lower edge, bf16 check), attention fused vs per head:")
    print(f"{'law':<12}{'fused':>10}{'edge':>9}{'k':>3}{'GFLOP':>8}  {'per head':<13}{'edge':>9}{'k':>3}{'GFLOP':>8}")
    for r in rows:
        head = f"{r['block']} ×{r['blocks']}"
        print(f"{r['law']:<12}{r['fused_shape']:>10}{r['fused_edge']:>9.3g}{r['fused_steps']:>3}{_g(r['fused_gflop']):>8}  "
              f"{head:<13}{r['head_edge']:>9.3g}{r['head_steps']:>3}{_g(r['head_gflop']):>8}")
    print("k: NS steps; GFLOP per matrix (all its heads); edge: the design (lower) edge")
    for what in ("attention", "model"):
        a, b = totals[f"{what}_fused_tflop"], totals[f"{what}_per_head_tflop"]
        print(f"{what}: fused {a:.4g} TFLOP, per head {b:.4g} TFLOP ({100 * (b / a - 1):+.1f}%) per optimizer step")


def _g(gflop: float) -> str:
    return f"{gflop:.4g}" if gflop < 1000 else f"{gflop:.0f}"


def run_recipes() -> tuple[list[dict[str, Any]], dict[str, float]]:
    from nsdesign.plans.recipe import build_recipe

    fused = build_recipe(SIZE, TOL, quantile=QUANTILE)
    per_head = build_recipe(SIZE, TOL, quantile=QUANTILE, per_head=True)
    rows = recipe_rows(fused, per_head)
    attention = {law for law in (r["law"] for r in rows)}
    att_fused = sum(x.flops for x in fused.layers if x.law in attention)
    att_head = sum(x.flops for x in per_head.layers if x.law in attention)
    totals = {"attention_fused_tflop": att_fused / 1e12, "attention_per_head_tflop": att_head / 1e12,
              "model_fused_tflop": fused.total_flops() / 1e12, "model_per_head_tflop": per_head.total_flops() / 1e12,
              "per_head_meets_tol": per_head.all_meet_tol(),
              "per_head_check_failures": [g.name for g in per_head.lowp_failures()]}
    return rows, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--skip-recipe", action="store_true", help="bands only (the recipes take about a minute)")
    args = parser.parse_args()
    start = time.perf_counter()
    cache: dict[tuple[int, int], np.ndarray] = {}
    bands = [measure(label, dims, split, cache) for label, dims, split in CASES]
    band_seconds = time.perf_counter() - start
    print_bands(bands)
    result: dict[str, Any] = {"seed": SEED, "bands": bands, "band_seconds": band_seconds}
    if not args.skip_recipe:
        rows, totals = run_recipes()
        print_recipe(rows, totals)
        result.update({"recipe": {"model_size": SIZE, "tol": TOL, "quantile": QUANTILE, "attention": rows,
                                  "totals": totals}})
    result["seconds"] = time.perf_counter() - start
    print(f"\n{result['seconds']:.0f} s (bands {band_seconds:.0f} s), numpy {np.__version__}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
