"""Designed schedules under each normalizer vs every preset under Frobenius, in emulated bf16, on real matrices.

    python benchmarks/normalizers.py                                  # Gaussian 1024x4096 and 2048x2048 (4096x4096: 26 min)
    python benchmarks/normalizers.py --capture /tmp/cap --gaussian ''  # captured momentum buffers only

The measure (issue 9): max |1 − f(σ_i)| over the matrix's singular directions after dropping the smallest 1%,
where f(σ_i) = u_iᵀ Y v_i is the gain the run Y gives input direction i (u_i, v_i from the float64 SVD of the
matrix the schedule was designed to orthogonalize; for AOL that is D·X, whose polar factor differs from X's —
the script reports that bias separately as ‖polar(DX) − polar(X)‖₂).

Arithmetic: emulated bf16, unfused form with fp32 accumulation (every matmul runs in fp32 on bf16-rounded
operands and is rounded to bf16; element-wise sums in fp32, rounded to bf16), as in Keller Jordan's muon.py:
    A = bf(X Xᵀ);  B = bf(b·A + c·bf(A A));  X = bf(a·X + bf(B X)).
The normalizer's first step follows nsdesign.torch.normalize (Frobenius pre-scale, scalars in fp32).

Designs: `nsdesign.plans.normalizer.design_for_normalizer` with k quintic steps on the normalizer's band and its
default guard band (|1 − F| ≤ 0.3 up to 1.0 or 1.02). Gaussian: the Marchenko–Pastur band for the shape
(q = 0.99). Captured buffers: each buffer's own band [σ_0.99, σ_max] under the normalizer (an oracle band:
pooled over a block, near-singular attention buffers push σ_0.99 to ~1e-6 and no short design exists).
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
import time

import numpy as np
import torch

from nsdesign.core.cost import Shape
from nsdesign.core.normalizers import NORMALIZERS, Normalizer
from nsdesign.plans.normalizer import design_for_normalizer
from nsdesign.presets import preset, preset_names


def bf(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.bfloat16).to(torch.float32)


def _bracket(A: torch.Tensor, tail: tuple[float, ...]) -> torch.Tensor:
    """bf(c1·A + c2·A² + …) by Horner, every product rounded (tail non-empty)."""
    B = bf(tail[-1] * A)
    for c in reversed(tail[:-1]):
        B = bf(bf(A @ B) + c * A)
    return B


def run_bf16(X: torch.Tensor, rows: list[tuple[float, ...]], normalizer: Normalizer, norm_div: float) -> torch.Tensor:
    """Emulated bf16 unfused Newton–Schulz on a wide fp32/fp64 X."""
    X0 = bf((X / torch.linalg.matrix_norm(X)).float())
    first, rest = rows[0], rows[1:]
    a, tail = first[0], first[1:]
    if normalizer.name == "frobenius":
        X1 = bf(X0 / norm_div)
        A1 = bf(X1 @ X1.T)
        B = _bracket(A1, tail)
    else:
        A = bf(X0 @ X0.T)
        if normalizer.name == "aol":
            d = A.abs().sum(dim=1, keepdim=True).clamp_min(1e-30).rsqrt() / norm_div
            X1, A1 = bf(X0 * d), bf(A * d * d.T)
            B = _bracket(A1, tail)
        elif normalizer.name == "schatten8":
            A2 = bf(A @ A)
            t = float(torch.linalg.matrix_norm(A2)) ** -0.25 / norm_div
            X1, A1, A2t = bf(X0 * t), bf(A * t * t), bf(A2 * t**4)
            B = bf(tail[0] * A1 + tail[1] * A2t) if len(tail) == 2 else None
            if B is None:
                raise SystemExit("schatten8 benchmark runs quintic first steps only")
        else:
            if normalizer.name == "schatten4":
                t = float(torch.linalg.matrix_norm(A)) ** -0.5 / norm_div
            else:
                v = torch.ones(A.shape[0], 1) / math.sqrt(A.shape[0])
                lam = 1.0
                for _ in range(normalizer.power_iterations):
                    w = A @ v
                    lam = float(torch.linalg.vector_norm(w))
                    v = w / lam
                t = 1.0 / (normalizer.safety * math.sqrt(lam)) / norm_div
            X1, A1 = bf(X0 * t), bf(A * t * t)
            B = _bracket(A1, tail)
    X = bf(a * X1 + bf(B @ X1))
    for row in rest:
        a, tail = row[0], row[1:]
        if not tail:
            X = bf(a * X)
            continue
        A = bf(X @ X.T)
        X = bf(a * X + bf(_bracket(A, tail) @ X))
    return X


def measure(Y: torch.Tensor, U: torch.Tensor, Vt: torch.Tensor, keep: int) -> float:
    gains = torch.einsum("mi,mn,in->i", U[:, :keep], Y.double(), Vt[:keep])
    return float((1 - gains).abs().max())


def rows_of(schedule) -> list[tuple[float, ...]]:
    return [tuple(float(c) for c in p.coefficients) for p in schedule.steps]


def evaluate_matrix(name: str, X: np.ndarray, designs: dict, results: list, presets: list[str]) -> None:
    wide = X if X.shape[0] <= X.shape[1] else X.T
    Xt = torch.from_numpy(np.ascontiguousarray(wide)).double()
    U, S, Vt = torch.linalg.svd(Xt, full_matrices=False)
    keep = int(math.ceil(0.99 * S.numel()))
    for p in presets:
        s = preset(p)
        Y = run_bf16(Xt.float(), rows_of(s), Normalizer("frobenius"), s.input_scale)
        results.append({"matrix": name, "kind": "preset", "name": p, "steps": s.num_steps, "normalizer": "frobenius",
                        "error": measure(Y, U, Vt, keep)})
    aol_bases = None
    for (norm_name, k), d in designs.items():
        norm = Normalizer(norm_name)
        s = d.guarded.schedule
        Y = run_bf16(Xt.float(), rows_of(s), norm, s.input_scale)
        if norm_name == "aol":
            if aol_bases is None:
                Dx = torch.from_numpy(norm.apply(wide))
                Ua, _, Va = torch.linalg.svd(Dx, full_matrices=False)
                pol, pol_a = U @ Vt, Ua @ Va
                aol_bases = (Ua, Va, float(torch.linalg.matrix_norm(pol_a - pol, 2)))
            err = measure(Y, aol_bases[0], aol_bases[1], keep)
            extra = {"aol_bias": aol_bases[2], "error_vs_polar_x": measure(Y, U, Vt, keep)}
        else:
            err, extra = measure(Y, U, Vt, keep), {}
        results.append({"matrix": name, "kind": "design", "name": f"{norm_name}-{k}", "steps": k, "normalizer": norm_name,
                        "error": err, "band": [d.guarded.min_sigma, d.guarded.max_sigma],
                        "exact_error": d.guarded.error, "guard_error": d.guarded.guard_error, **extra})
    print(f"  {name}: done", file=sys.stderr, flush=True)


def designs_for(steps: list[int], **band) -> dict:
    out = {}
    for norm in NORMALIZERS:
        for k in steps:
            try:
                out[(norm, k)] = design_for_normalizer(norm, steps=k, **band)
            except Exception as exc:  # an unreachable guard at this k: reported, not hidden
                print(f"  no {norm} design with {k} steps: {exc}", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gaussian", default="1024x4096,2048x2048", help="comma list of shapes ('' for none)")
    parser.add_argument("--capture", help="a `nsdesign capture --out` directory: its final-step buffers")
    parser.add_argument("--steps", default="2,3,4,5,6")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--presets", help="comma list of presets to measure (default: every preset; '' for none)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("-o", "--output", default="benchmarks/normalizers_results.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    steps = [int(s) for s in args.steps.split(",")]
    presets = list(preset_names()) if args.presets is None else [p for p in args.presets.split(",") if p]
    results: list = []
    start = time.time()
    for text in [s for s in args.gaussian.split(",") if s]:
        shape = Shape.parse(text)
        X = np.random.default_rng(args.seed).standard_normal((shape.m, shape.n))
        evaluate_matrix(f"gaussian {shape}", X, designs_for(steps, shape=shape), results, presets)
    if args.capture:
        buffers = load_capture(pathlib.Path(args.capture))
        for group, mats in buffers.items():
            for name, M in mats:
                # One band per buffer, from its own spectrum (an oracle band: the best a design can know); pooling
                # all buffers of a block gives σ_0.99 ~ 1e-6 (near-singular attention buffers) and no design at all.
                designs = {}
                for norm in NORMALIZERS:
                    s = np.linalg.svd(Normalizer(norm).apply(M), compute_uv=False)
                    lo, hi = float(s[math.ceil(0.99 * s.size) - 1]), float(s[0])
                    guard = Normalizer(norm).default_guard_sigma
                    for k in steps:
                        try:
                            designs[(norm, k)] = design_for_normalizer(
                                norm, min_sigma=lo, max_sigma=min(hi, guard), steps=k
                            )
                        except Exception as exc:
                            print(f"  {name}: no {norm} design with {k} steps: {exc}", file=sys.stderr)
                evaluate_matrix(f"{group} {name}", M, designs, results, presets)
    meta = {"command": " ".join(sys.argv), "seconds": time.time() - start, "torch_threads": args.threads,
            "machine": "2-core x86_64 CPU, no GPU", "measure": "max|1-u_i^T Y v_i| over the top 99% of directions"}
    pathlib.Path(args.output).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print(table(results))


def load_capture(root: pathlib.Path) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Last-step momentum buffers of a `nsdesign capture` directory (safetensors), as mid and final blocks."""
    from safetensors import safe_open

    files = sorted(root.rglob("step*.safetensors"))
    if not files:
        raise SystemExit(f"no step*.safetensors buffers under {root}")
    out: dict[str, list[tuple[str, np.ndarray]]] = {"captured mid": [], "captured final": []}
    by_size: dict[pathlib.Path, list[pathlib.Path]] = {}
    for f in files:
        by_size.setdefault(f.parent, []).append(f)
    for folder, group in sorted(by_size.items()):
        last = max(group, key=lambda f: int(f.stem.removeprefix("step")))
        with safe_open(str(last), framework="pt") as handle:
            n_layer = int(handle.metadata()["n_layer"])
            for key in handle.keys():
                block = int(key.split(".")[0].removeprefix("block"))
                which = "captured final" if block == n_layer - 1 else ("captured mid" if block == n_layer // 2 else None)
                if which:
                    out[which].append((f"{folder.name}/{last.stem}/{key}", handle.get_tensor(key).double().numpy()))
    return {k: v for k, v in out.items() if v}


def table(results: list) -> str:
    """Markdown: per matrix, best preset error at each step count vs each normalizer's design."""
    lines = []
    matrices = list(dict.fromkeys(r["matrix"] for r in results))
    for m in matrices:
        rows = [r for r in results if r["matrix"] == m]
        presets = [r for r in rows if r["kind"] == "preset"]
        designs = [r for r in rows if r["kind"] == "design"]
        ks = sorted({r["steps"] for r in designs})
        lines.append(f"\n**{m}** — max|1−f(σ)|, emulated bf16, smallest 1% dropped\n")
        lines.append("| steps | " + " | ".join(NORMALIZERS) + " |")
        lines.append("|---" * (len(NORMALIZERS) + 1) + "|")
        for k in ks:
            cells = []
            for n in NORMALIZERS:
                hit = [r for r in designs if r["steps"] == k and r["normalizer"] == n]
                cells.append(f"{hit[0]['error']:.3g}" if hit else "—")
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
        lines.append("\npresets under Frobenius: " + ", ".join(
            f"{r['name']} ({r['steps']}) {r['error']:.3g}" for r in sorted(presets, key=lambda r: (r["steps"], r["error"]))))
        aol = [r for r in designs if "aol_bias" in r]
        if aol:
            lines.append(f"\nAOL bias ‖polar(DX) − polar(X)‖₂ = {aol[0]['aol_bias']:.3g}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
