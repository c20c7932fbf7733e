"""Designs in the consumers' own forms, measured exactly and in the consumers' own kernels (issue 21).

    python benchmarks/consumer_forms.py -o benchmarks/consumer_forms.json              # ~6 min on 2 cores
    python benchmarks/consumer_forms.py --capture DIR -o …   # adds captured momentum (`nsdesign capture --out-dir DIR`)

1. Exact, band [1e-3, 1], guard max F ≤ 1.25 on [0, 1.02]: the repeated triple `search --for torch-muon` designs
   at ns_steps 5–8 (bf16-checked), the bare guarded optimum (no bf16 check), the bracket (greedy per-step
   optimum, a lower bound for any composition), the safe per-step list, keller5's triple repeated.
2. torch's fused bf16 kernel (the addmm sequence of torch.optim.Muon, real torch on the CPU) on a 512×2048
   matrix with σ log-spaced in [1e-3, 1.02], no normalization. Measure: max |1 − u_iᵀ Y v_i| over the input's
   singular directions with σ_i ≤ 1 (projection error), and the output's σ_max.
3. torch.optim.Muon's own `_zeropower_via_newtonschulz` (Frobenius normalization inside) on what users see:
   a Gaussian 1024×4096 and, with --capture, captured momentum buffers. Projection error over the top 99% of
   directions (the smallest 1% sit at the bf16 floor), and σ_max. Besides the [1e-3, 1] triples, a triple
   designed for the Gaussian's Marchenko–Pastur band and one for each matrix's own band [σ_1%/‖X‖_F, 1]
   (an oracle band: what `search --for torch-muon --min-sigma` with a measured edge gives).
4. DeepSpeed's fixed default (Keller's triple × 5, Gram form, fp16, restart before step 2) in the Gram
   rounding model against the best triple with its best restart plan, on the full band, the Gaussian's
   Marchenko–Pastur band and a per-head block's band.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import sys
import time

import numpy as np
import torch

from nsdesign.core.band import Band
from nsdesign.core.cost import Shape
from nsdesign.core.metrics import worst_error
from nsdesign.core.schedule import Schedule
from nsdesign.design.safe import safe_greedy
from nsdesign.design.triple import repeated_triple
from nsdesign.laws import predict_band
from nsdesign.precision import band_matrix, matrix_error
from nsdesign.precision.restarts import design_restarts, gram_error
from nsdesign.presets import preset
from nsdesign.torch.crosscheck import run_torch

KELLER = preset("keller5").steps[0].coefficients


def repeated(triple: tuple[float, ...], steps: int) -> Schedule:
    return Schedule.from_coefficients([triple] * steps, 1.0, "repeat_last")


def exact_table(steps: range) -> list[dict]:
    rows = []
    for k in steps:
        design = repeated_triple(1e-3, k)
        bare = repeated_triple(1e-3, k, check=False)
        per_step = safe_greedy(1e-3, 1.0, k).error
        rows.append({
            "ns_steps": k, "triple": list(design.triple), "error": design.error, "robustness": design.robustness,
            "max_f": design.max_f, "bf16_model_sigma_max": design.checks[-1].value, "passed": design.passed,
            "bare_error": bare.error, "bare_triple": list(bare.triple), "lower_bound": design.lower_bound,
            "safe_per_step_error": per_step, "keller_error": worst_error(repeated(KELLER, k), 1e-3, 1.0),
        })
        print(f"exact k={k}: triple {design.error:.4f} (bare {bare.error:.4f}), bound {design.lower_bound:.4f}, "
              f"per-step {per_step:.4f}, keller {rows[-1]['keller_error']:.4f}", flush=True)
    rows.append({"reference": "polar_express_modded5", "error": worst_error(preset("polar_express_modded5"), 1e-3, 1.0)})
    return rows


def projection(u: np.ndarray, v: np.ndarray, y: np.ndarray, keep: np.ndarray) -> tuple[float, float]:
    gains = np.einsum("im,ij,jm->m", u, y, v)
    return float(np.max(np.abs(1.0 - gains[keep]))), float(np.linalg.svd(y, compute_uv=False).max())


def fused_synthetic(rows: list[dict]) -> list[dict]:
    from nsdesign._matrices import haar_factors

    m, n = 512, 2048
    u, v = haar_factors(m, n, 0)
    sigma = np.geomspace(1.02, 1e-3, m)
    x = (u * sigma) @ v.T
    out = []
    for row in (r for r in rows if "ns_steps" in r):
        k = row["ns_steps"]
        for name, triple in (("designed", tuple(row["triple"])), ("keller", KELLER)):
            t0 = time.time()
            err, top = projection(u, v, run_torch(repeated(triple, k), x, "bf16"), sigma <= 1.0)
            out.append({"ns_steps": k, "schedule": name, "projection_error": err, "sigma_max": top,
                        "seconds": time.time() - t0})
            print(f"torch fused bf16 512x2048 k={k} {name}: projection {err:.4f}, σ_max {top:.4f}", flush=True)
    return out


def muon_call(matrix: np.ndarray, triple: tuple[float, ...], steps: int) -> np.ndarray:
    from torch.optim._muon import _zeropower_via_newtonschulz

    grad = torch.from_numpy(np.asarray(matrix, dtype=np.float32))
    return _zeropower_via_newtonschulz(grad, tuple(triple), steps, 1e-7).to(torch.float64).numpy()


def users_matrices(matrices: dict[str, np.ndarray], designs: dict[str, tuple[tuple[float, ...], int]]) -> list[dict]:
    out = []
    for label, matrix in matrices.items():
        wide = matrix if matrix.shape[0] <= matrix.shape[1] else matrix.T
        u, s, vt = np.linalg.svd(wide.astype(np.float64), full_matrices=False)
        keep = s >= np.quantile(s, 0.01)
        own = float(np.quantile(s, 0.01) / np.linalg.norm(s))  # the matrix's own band edge (an oracle band)
        mine = {f"triple5 own band [{own:.3g}, 1]": (repeated_triple(Band(own, 1.0), 5).triple, 5)}
        for name, (triple, k) in {**designs, **mine}.items():
            y = muon_call(wide, triple, k)
            err, top = projection(u, vt.T, y, keep)
            out.append({"matrix": label, "shape": list(wide.shape), "schedule": name, "ns_steps": k,
                        "projection_error_top99": err, "sigma_max": top,
                        "band_frobenius": [float(s.min() / np.linalg.norm(s)), float(s.max() / np.linalg.norm(s))]})
            print(f"torch.optim.Muon {label} {name}: projection(top 99%) {err:.4f}, σ_max {top:.4f}", flush=True)
    return out


def deepspeed_default(bands: dict[str, Band]) -> list[dict]:
    """Keller × 5 in fp16 Gram with DeepSpeed's restart before step 2, vs the best triple + best restart plan."""
    out = []
    keller = repeated(KELLER, 5)
    for label, band in bands.items():
        design = repeated_triple(band, 5, kernel="gram", dtype="fp16")
        plan = design_restarts(design.schedule, "fp16", (128, 512), band.min_sigma)
        row = {
            "band": label, "min_sigma": band.min_sigma, "max_sigma": band.max_sigma,
            "keller_exact": worst_error(keller, band.min_sigma, band.max_sigma),
            "keller_fp16_gram_restart2": matrix_error(keller, band_matrix(band.min_sigma, band.max_sigma, (128, 512)),
                                                      "fp16", kernel="gram", restarts=(2,)).error,
            "triple": list(design.triple), "triple_exact": design.error,
            "triple_fp16_gram": matrix_error(design.schedule, band_matrix(band.min_sigma, band.max_sigma, (128, 512)),
                                             "fp16", kernel="gram", restarts=plan.restarts).error,
            "restarts": list(plan.restarts),
            "triple_fp16_gram_restart2": gram_error(design.schedule, (2,), "fp16", (128, 512), band.min_sigma),
        }
        out.append(row)
        print(f"deepspeed {label}: keller exact {row['keller_exact']:.4f}, fp16 gram {row['keller_fp16_gram_restart2']:.4f}"
              f" | triple exact {row['triple_exact']:.4f}, fp16 gram {row['triple_fp16_gram']:.4f} "
              f"restarts {row['restarts']}", flush=True)
    return out


def captured(root: pathlib.Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    files = sorted(root.rglob("*.safetensors"))
    if not files:
        sys.exit(f"no .safetensors buffers under {root}")
    last = load_file(str(files[-1]))
    names = [n for n in sorted(last) if n.endswith(("mlp_up", "mlp_down"))] or sorted(last)
    return {f"captured {files[-1].parent.name}/{n}": last[n] for n in names[-4:]}  # the last two blocks' MLPs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capture", help="a `nsdesign capture --out-dir` directory (its last step's buffers)")
    parser.add_argument("-o", "--output", help="write the results as JSON")
    args = parser.parse_args()
    torch.set_num_threads(2)
    started = time.time()
    exact = exact_table(range(5, 9))
    fused = fused_synthetic(exact)
    gaussian = np.random.default_rng(0).standard_normal((1024, 4096))
    matrices = {"gaussian 1024x4096": gaussian}
    if args.capture:
        matrices.update(captured(pathlib.Path(args.capture)))
    mp = predict_band(0.99, shape=Shape(1024, 4096)).min_sigma
    triple_mp = repeated_triple(Band(mp, 1.0), 5)
    designs = {
        "keller5": (KELLER, 5),
        "triple5 [1e-3, 1]": (tuple(exact[0]["triple"]), 5),
        f"triple5 [{mp:.3g}, 1] (MP 1024x4096)": (triple_mp.triple, 5),
        "keller x6": (KELLER, 6),
        "triple6 [1e-3, 1]": (tuple(exact[1]["triple"]), 6),
    }
    users = users_matrices(matrices, designs)
    bands = {"[1e-3, 1]": Band(1e-3, 1.0), f"MP 1024x4096 q=0.99 [{mp:.3g}, 1]": Band(mp, 1.0),
             "per-head block 128x7168 [0.077, 1]": Band(0.077, 1.0)}
    deepspeed = deepspeed_default(bands)
    result = {
        "meta": {"command": "python " + " ".join(sys.argv), "seconds": time.time() - started,
                 "machine": f"{platform.machine()} CPU, {torch.get_num_threads()} torch threads, no GPU",
                 "torch": torch.__version__},
        "exact": exact, "torch_fused_bf16_512x2048": fused, "torch_optim_muon": users, "deepspeed_default": deepspeed,
    }
    if args.output:
        pathlib.Path(args.output).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"done in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
