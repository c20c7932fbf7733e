"""Speed of one Newton–Schulz application (nsdesign.torch) against torch.optim.Muon's own NS function.

    python benchmarks/gpu_ns.py                         # CUDA, bf16, 4096×4096 and 4096×16384
    python benchmarks/gpu_ns.py --device cpu --size small   # what runs on a laptop / CI box

What is measured, each as the median of --repeats timed calls after --warmup untimed ones (CUDA synchronized
around every call; the variants of one shape are timed round-robin; machines are shared, so medians, not minima):

  1. a plain bf16 matmul of the product NS is made of (X·Xᵀ on the wide orientation of each shape), timed in the
     same round-robin as the NS variants: the achievable FLOP/s of this device for this shape, the yardstick;
  2. torch.optim.Muon's `_zeropower_via_newtonschulz` (keller5's triple, 5 steps) vs nsdesign's standard form
     running the same 5 steps — equal work, so the ratio is pure overhead (normalization, dispatch);
  3. nsdesign's Gram form vs its standard form on the 1:4 shape, for a 5-step Polar Express list, with the
     default restarts for the dtype (every 2 steps in bf16) and with none;
  4. achieved TFLOP/s of every NS run (FLOPs counted by `nsdesign.torch.kernels.matmul_flops`, i.e. the
     matmuls actually issued) and that as a fraction of the plain matmul's.

`--compile` adds torch.compile'd variants of the nsdesign kernels. `--json FILE` writes the numbers.

`--gram-accuracy` instead prints the accuracy table behind the Gram form's default restarts (docs/runtime.md):
relative error against the fp64 run, standard vs Gram with no / one / the default restarts, bf16 and fp32, on a
log-uniform 256×1024 matrix with σ ∈ [1e-4, 1].
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from typing import Callable

import torch
from torch.optim._muon import _zeropower_via_newtonschulz

from nsdesign.presets import preset
from nsdesign.torch.sources import log_uniform
from nsdesign.torch.kernels import (
    EPS,
    default_restarts,
    matmul_flops,
    newton_schulz,
    orthogonalize,
    resolve_dtype,
    schedule_rows,
)

SHAPES = {"large": ((4096, 4096), (4096, 16384)), "small": ((256, 256), (256, 1024))}


def interleaved_medians(
    variants: dict[str, Callable[[], object]], device: torch.device, warmup: int, repeats: int
) -> dict[str, float]:
    """Median seconds per variant, timing the variants round-robin (one call each per round), so that load from
    other processes on a shared machine hits every variant alike instead of whichever ran last."""

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for fn in variants.values():
        for _ in range(warmup):
            fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def gram_accuracy(device: torch.device) -> None:
    G = log_uniform((256, 1024), 1e-4, 0).to(device)

    def rel(a: torch.Tensor, b: torch.Tensor) -> str:
        if not torch.isfinite(a).all():
            return "diverged"
        value = float((a.double() - b).norm() / b.norm())
        return "diverged" if value > 1e3 else f"{value:.2g}"

    print("| schedule (steps) | dtype | standard | Gram, no restarts | Gram, restart at 2 only | Gram, default restarts |")
    print("|---|---|---|---|---|---|")
    for name in ("keller5", "polar_express_modded5", "polar_express_paper8", "polar_express_pkg10", "polar_express_l1e-4_12"):
        schedule = preset(name)
        exact = newton_schulz(G, schedule, dtype=torch.float64)
        for dtype, label in ((torch.bfloat16, "bf16"), (torch.float32, "fp32")):
            cells = [rel(newton_schulz(G, schedule, dtype=dtype), exact)]
            cells += [rel(newton_schulz(G, schedule, dtype=dtype, kernel="gram", restarts=r), exact) for r in ((), (2,), None)]
            plan = list(default_restarts(schedule.num_steps, dtype))
            print(f"| {name} ({schedule.num_steps}) | {label} | {cells[0]} | {cells[1]} | {cells[2]} | {cells[3]} {plan} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--size", choices=tuple(SHAPES), default="large")
    parser.add_argument("--dtype", default="bf16")
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--gram-accuracy", action="store_true", help="print the Gram restart accuracy table and exit")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.gram_accuracy:
        gram_accuracy(device)
        return
    dtype = resolve_dtype(args.dtype)
    generator = torch.Generator(device=device).manual_seed(0)
    results: list[dict[str, object]] = []

    def record(what: str, shape: tuple[int, int], seconds: float, flop: float) -> None:
        results.append({"what": what, "shape": f"{shape[0]}x{shape[1]}", "ms": seconds * 1e3, "tflops": flop / seconds / 1e12})

    keller = schedule_rows(preset("keller5"))
    pe5 = preset("polar_express_modded5")
    pe5_rows = schedule_rows(pe5)
    restarts = default_restarts(len(pe5_rows), dtype)
    peaks: dict[str, float] = {}
    for shape in SHAPES[args.size]:
        G = torch.randn(shape, device=device, dtype=torch.float32, generator=generator)
        wide = (G if shape[0] <= shape[1] else G.T).to(dtype).contiguous()
        m, n = wide.shape
        variants: dict[str, tuple[Callable[[], object], float]] = {}
        # 1. the yardstick, timed in the same rounds: the X·Xᵀ product NS is made of, on this shape
        variants[f"plain matmul X·Xᵀ {args.dtype}"] = (lambda: wide @ wide.mT, 2.0 * m * m * n)
        # 2. torch's function vs ours at equal steps
        if dtype == torch.bfloat16:
            variants["torch.optim.Muon NS (keller5 ×5)"] = (
                lambda: _zeropower_via_newtonschulz(G, (3.4445, -4.775, 2.0315), 5, EPS),
                matmul_flops(keller, *shape, "standard"),
            )
        variants["nsdesign standard (keller5 ×5)"] = (
            lambda: orthogonalize(G, keller, 1.0, dtype, "standard"), matmul_flops(keller, *shape, "standard"))
        if args.compile:
            variants["nsdesign standard, compiled (keller5 ×5)"] = (
                lambda: orthogonalize(G, keller, 1.0, dtype, "standard", compile=True), matmul_flops(keller, *shape, "standard"))
        # 3. Gram vs standard (same schedule, so the same result up to round-off)
        variants["nsdesign standard (polar_express_modded5)"] = (
            lambda: orthogonalize(G, pe5_rows, pe5.input_scale, dtype, "standard"), matmul_flops(pe5_rows, *shape, "standard"))
        for label, plan in ((f"restarts {list(restarts)}", restarts), ("no restarts", ())):
            variants[f"nsdesign Gram, {label} (polar_express_modded5)"] = (
                lambda plan=plan: orthogonalize(G, pe5_rows, pe5.input_scale, dtype, "gram", plan),
                matmul_flops(pe5_rows, *shape, "gram", plan),
            )
            if args.compile:
                variants[f"nsdesign Gram, {label}, compiled (polar_express_modded5)"] = (
                    lambda plan=plan: orthogonalize(G, pe5_rows, pe5.input_scale, dtype, "gram", plan, compile=True),
                    matmul_flops(pe5_rows, *shape, "gram", plan),
                )
        medians = interleaved_medians({k: v[0] for k, v in variants.items()}, device, args.warmup, args.repeats)
        for what, seconds in medians.items():
            record(what, shape, seconds, variants[what][1])
        peaks[f"{shape[0]}x{shape[1]}"] = results[-len(medians)]["tflops"]  # type: ignore[assignment]

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; dtype {args.dtype}; median of {args.repeats} after {args.warmup} warm-up")
    print("| what | shape | median ms | TFLOP/s | fraction of plain matmul |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['what']} | {r['shape']} | {r['ms']:.4g} | {r['tflops']:.3g} | {r['tflops'] / peaks[r['shape']]:.2f} |")
    by = {(r["what"], r["shape"]): r["ms"] for r in results}
    for shape in SHAPES[args.size]:
        key = f"{shape[0]}x{shape[1]}"
        standard = by[("nsdesign standard (polar_express_modded5)", key)]
        for what, ms in by.items():
            if what[1] == key and what[0].startswith("nsdesign Gram") and "compiled" not in what[0]:
                print(f"Gram speed-up on {key}, {what[0].removeprefix('nsdesign Gram, ')}: {standard / ms:.2f}×")
        if ("torch.optim.Muon NS (keller5 ×5)", key) in by:
            ratio = by[("nsdesign standard (keller5 ×5)", key)] / by[("torch.optim.Muon NS (keller5 ×5)", key)]
            print(f"nsdesign / torch time on {key} at equal steps: {ratio:.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"device": name, "torch": torch.__version__, "dtype": args.dtype, "results": results}, handle, indent=2)


if __name__ == "__main__":
    main()
