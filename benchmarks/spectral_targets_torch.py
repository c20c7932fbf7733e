"""Spectral-shaping pipelines in real torch, fp32 and bf16, on a Gaussian and on captured momentum (issue 26).

    nsdesign capture --out-dir cap --sizes 128x4 --train-steps 150           # ~5 min on 2 cores
    python benchmarks/spectral_targets_torch.py --capture cap    # writes benchmarks/spectral_targets_torch.json

benchmarks/spectral_targets.py measures every pipeline exactly and in the numpy bf16 rounding model on a
1024x4096 Gaussian, and runs torch in fp32 only: torch's CPU bf16 matmul runs at 0.08 GFLOP/s on this AVX2 CPU
(103 s for one 1024x4096 product). This script runs the same pipelines in torch's own bf16 kernels, and in fp32,
at 256x1024 (the same 1:4 aspect, 64x fewer FLOPs per product), on

- a Gaussian (seed 0), and
- the MLP momentum buffers (128x512, the same aspect) of a width-128, 4-block byte-level GPT at the end of 150
  steps of Muon training (`nsdesign capture`): real momentum, whose spectrum reaches far below the Gaussian's.

Each matrix is divided by its Frobenius norm. For each target the band is the one its design is for: clip at
τ = the matrix's median σ and the soft polar on [1e-3, 1]; σ^-0.25 on the matrix's own band [0.95 σ_min, 1.05
σ_max]. nsdesign's design is made at the exact accuracy of the best current practice (as in
spectral_targets.py), so the question is whether it keeps that accuracy in torch's bf16 with its fewer matmuls.
Error: the largest over the matrix's singular directions of |u_iᵀ Y v_i − g(σ_i)| (relative to g for σ^p), from
the float64 SVD (`design.shaping_runs.shaping_accuracy`), restricted to σ_i inside the band (the design's
promise; momentum has directions below 1e-3).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np
import torch

from nsdesign.core.targets import parse_target
from nsdesign.design.shaping import design_target
from nsdesign.design.shaping_practice import current_practice
from nsdesign.torch.shaping import apply_pipeline

HERE = pathlib.Path(__file__).resolve().parent
SHAPE = (256, 1024)
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def gaussian(seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(SHAPE)
    return x / np.linalg.norm(x)


def momentum(folder: pathlib.Path, limit: int) -> dict[str, np.ndarray]:
    """The 1:4 momentum buffers of the last captured step (wide: m ≤ n) with the widest spectra (σ_max/σ_min),
    each divided by its Frobenius norm."""
    from safetensors.numpy import load_file

    out: dict[str, np.ndarray] = {}
    last = sorted(folder.rglob("step*.safetensors"))[-1:]
    for path in last:
        for name, array in sorted(load_file(str(path)).items()):
            a = np.asarray(array, dtype=np.float64)
            a = a if a.ndim != 2 or a.shape[0] <= a.shape[1] else a.T
            if a.ndim == 2 and a.shape[1] == 4 * a.shape[0] and np.linalg.norm(a) > 0:
                out[f"{path.parent.name}/{path.stem}:{name}"] = a / np.linalg.norm(a)
    def spread(a: np.ndarray) -> float:
        s = np.linalg.svd(a, compute_uv=False)
        return float(s.max() / s.min())

    widest = sorted(out, key=lambda k: spread(out[k]), reverse=True)[:limit]  # the widest spectra: the hard cases
    return {k: out[k] for k in widest}


def error_in_band(x: np.ndarray, y: np.ndarray, target, lo: float, hi: float) -> float:
    """max over the singular directions with σ in [lo, hi] of the target's error (inf if Y is not finite)."""
    if not np.isfinite(y).all():
        return float("inf")
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    keep = (s >= lo) & (s <= hi)
    g = target.values(s[keep])
    diag = np.einsum("ij,ij->j", u[:, keep], y @ vt[keep].T)
    err = np.abs(diag - g) / (g if target.error == "relative" else 1.0)
    return float(err.max()) if err.size else float("nan")


def run(pipeline, x: np.ndarray, target, lo: float, hi: float) -> dict:
    row = {"name": pipeline.name, "matmuls": pipeline.matmuls}
    for label, dtype in DTYPES.items():
        start = time.perf_counter()
        y = apply_pipeline(torch.from_numpy(x).to(dtype), pipeline).double().numpy()
        row[f"{label}_seconds"] = time.perf_counter() - start
        row[label] = error_in_band(x, y, target, lo, hi)
    return row


def pipelines(text: str, lo: float, hi: float, shape: tuple[int, int]) -> tuple[object, list]:
    """Current practice, then nsdesign's design at the best practice's exact accuracy."""
    target = parse_target(text)
    practice = list(current_practice(target, hi))
    exact = [p.error(target, lo, hi, 1e-4).upper for p in practice]
    tol = min((e for e in exact if 1e-12 < e < 1), default=0.01 if target.kind == "power" else 1e-3)
    design = design_target(target, lo, hi, tol, shape=shape)
    return target, [*practice, design.pipeline]


def matrix_cases(name: str, x: np.ndarray) -> list[dict]:
    sigmas = np.linalg.svd(x, compute_uv=False)
    tau, band = float(np.median(sigmas)), (0.95 * float(sigmas.min()), 1.05 * float(sigmas.max()))
    cases = []
    for text, lo, hi in ((f"clip:{tau:.4g}", 1e-3, 1.0), ("sigma^-0.25", max(band[0], 1e-4), band[1]),
                         ("soft:0.01", 1e-3, 1.0)):
        target, pipes = pipelines(text, lo, hi, x.shape)
        rows = [run(p, x, target, lo, hi) for p in pipes]
        for r in rows:
            print(f"  {name[:24]:<24} {text:<14} {r['name'][:30]:<30} mm {r['matmuls']:>3} "
                  f"fp32 {r['fp32']:.3g} bf16 {r['bf16']:.3g}", flush=True)
        cases.append({"matrix": name, "shape": list(x.shape), "target": text, "min_sigma": lo, "max_sigma": hi,
                      "matrix_band": [float(sigmas.min()), float(sigmas.max())], "rows": rows})
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--capture", type=pathlib.Path, help="a folder written by `nsdesign capture`")
    parser.add_argument("--matrices", type=int, default=2, help="captured matrices to run (2)")
    parser.add_argument("--out", default=str(HERE / "spectral_targets_torch.json"))
    args = parser.parse_args()
    torch.manual_seed(0)
    matrices = {"gaussian seed 0": gaussian()}
    if args.capture is not None:
        matrices.update(momentum(args.capture, args.matrices))
    cases = [c for name, x in matrices.items() for c in matrix_cases(name, x)]
    document = {
        "issue": 26, "gaussian_shape": list(SHAPE), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "matrices": list(matrices), "cases": cases,
        "command": "nsdesign capture --out-dir cap --sizes 128x4 --train-steps 150; "
                   "python benchmarks/spectral_targets_torch.py --capture cap",
    }
    pathlib.Path(args.out).write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
