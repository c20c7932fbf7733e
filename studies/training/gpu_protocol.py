"""GPU protocol: on one H100, within 8 minutes including warm-up, a schedule comparison meant to resolve
±0.01 nats/byte of final test loss, with the step size tuned per schedule first.

    python studies/training/gpu_protocol.py                 # one H100 (--device cuda), 8-minute budget
    python studies/training/gpu_protocol.py --dry-run       # seconds on the CPU: nano model, 2 steps, 1 seed

Plan (the defaults; every number is a flag):

- model 384x6: width 384, 6 blocks, ≈ 10.7M parameters (`nsdesign.torch.model`), batch 64 × 256 bytes, 300
  steps, validation every 30 steps on 4 batches; text: the Python standard library sources (16 MiB), its last 10%
  held out and halved into validation (lr choice, target crossing) and test (the reported loss);
- schedules: keller5 (baseline), polar_express_modded5, deepseek_v4_10, cubic5_eo, and the repeated triple
  `nsdesign.design_for("torch-muon", 1e-3)` designs for the band [1e-3, 1] (label designed_triple5);
- NS in bf16 (torch's Muon on a GPU); the rest in fp32 with TF32 matmuls (`torch.set_float32_matmul_precision
  ("high")`, the same for every schedule);
- warm-up: one throw-away 5-step run (CUDA context, cuBLAS handles, allocator), inside the budget;
- lr first: every schedule × lr of 0.005,0.01,0.02,0.04 for 100 steps on tuning seed 1000 (never a comparison
  seed); per schedule the lr with the lowest final validation loss (`nsdesign.torch.training.LrTuning`);
- then seeds 0, 1, 2, … round-robin, each seed training every schedule at its lr, while the next round still
  fits the wall-clock budget (480 s from the start, estimated from the slowest round so far);
- statistics over complete seeds only (a round cut short is not counted): paired differences against keller5
  with Holm's correction across the 4 comparisons, each interval at its Holm level, and the minimum detectable
  difference MDD = (t(1−α_i/2, n−1) + t(0.8, n−1))·s_d/√n; the comparison resolves ±0.01 when every Holm
  half-width is ≤ 0.01;
- written: OUT/gpu_protocol.json (device name, torch version, plan, phase timings, complete seeds, resolution,
  and the whole comparison with every run) and the run store OUT/gpu_protocol.runs/ (a re-run resumes from it).

Sizing (an estimate, not yet measured on a GPU): ≈ 6·N·T = 6 · 10.7M · 16,384 ≈ 1.05 TFLOP per step; with TF32
and kernel-launch overhead about 20 ms a step, so a 300-step run takes ≈ 6–8 s, a round of 5 schedules ≈ 40 s, the
tuning 20 × 100 steps ≈ 50 s, leaving room for ≈ 9–10 seeds in 480 s. With the paired seed-to-seed spread of the
CPU studies (s_d ≈ 0.005–0.015) and 10 seeds, the Holm half-width for the first of 4 comparisons,
t(1 − 0.0125/2, 9)·s_d/√10 ≈ 1.05·s_d, reaches 0.01 only when s_d ≲ 0.0095: the script reports what it resolved
rather than assuming it.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PRESETS = ("keller5", "polar_express_modded5", "deepseek_v4_10", "cubic5_eo")
DESIGNED = "designed_triple5"
RESOLUTION = 0.01  # nats/byte: the half-width the protocol aims for

FULL: dict[str, Any] = {"device": "cuda", "model": "384x6", "batch": 64, "seq_len": 256, "steps": 300, "tune_steps": 100,
                        "eval_every": 30, "eval_batches": 4, "budget_s": 480.0, "max_seeds": 64,
                        "text_bytes": 16 << 20, "ns_dtype": "bf16", "lr_grid": (0.005, 0.01, 0.02, 0.04),
                        "warmup_steps": 5}
DRY: dict[str, Any] = {**FULL, "device": "cpu", "model": "nano", "batch": 4, "seq_len": 32, "steps": 2, "tune_steps": 1,
                       "eval_every": 1, "eval_batches": 2, "budget_s": 120.0, "max_seeds": 1, "text_bytes": 1 << 18,
                       "warmup_steps": 1}


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="nano model, 2 steps, CPU, 1 seed: checks the script")
    parser.add_argument("--out", type=Path, default=HERE / "gpu", help="output folder (default studies/training/gpu)")
    parser.add_argument("--device", help="cuda (default) or cpu")
    parser.add_argument("--budget-s", type=float, help="wall-clock budget in seconds from the start (480)")
    parser.add_argument("--steps", type=int, help="training steps per comparison run (300)")
    parser.add_argument("--tune-steps", type=int, help="training steps per lr tuning run (100)")
    parser.add_argument("--model", help="model size, WIDTHxLAYERS or a name (384x6)")
    parser.add_argument("--max-seeds", type=int, help="stop after this many seeds even with time left (64)")
    parser.add_argument("--text", help="train on this text file (default: the Python standard library sources)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser.parse_args(argv)


def plan_of(args: argparse.Namespace) -> dict[str, Any]:
    """The defaults of the chosen mode, overridden by the flags given."""
    plan = dict(DRY if args.dry_run else FULL)
    for key in ("device", "budget_s", "steps", "tune_steps", "model", "max_seeds"):
        if getattr(args, key) is not None:
            plan[key] = getattr(args, key)
    plan["text"] = args.text
    return plan


def schedules() -> tuple[list[Any], list[str]]:
    """The four presets and the repeated triple nsdesign designs for torch's Muon on the band [1e-3, 1]."""
    import nsdesign

    designed = nsdesign.design_for("torch-muon", 1e-3, torch_check=False).schedule
    return [*PRESETS, designed], [*PRESETS, DESIGNED]


def device_name(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return f"{platform.machine()} CPU ({platform.processor() or 'unknown'}), torch threads {torch.get_num_threads()}"


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    plan = plan_of(args)
    start = time.perf_counter()
    import torch

    from nsdesign.torch.training import LrTuning, train_compare

    if plan["device"].startswith("cuda"):
        torch.set_float32_matmul_precision("high")  # TF32 for the model's fp32 matmuls; NS runs in bf16 anyway
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    specs, labels = schedules()
    args.out.mkdir(parents=True, exist_ok=True)
    store = args.out / "gpu_protocol.runs"
    common = dict(model=plan["model"], batch=plan["batch"], seq_len=plan["seq_len"], eval_every=plan["eval_every"],
                  eval_batches=plan["eval_batches"], ns_dtype=plan["ns_dtype"], device=plan["device"],
                  text=plan["text"], max_text_bytes=plan["text_bytes"], labels=labels, baseline="keller5")
    tuning = LrTuning(plan["lr_grid"], steps=plan["tune_steps"])

    # Warm-up, inside the budget: a throw-away run, not stored.
    train_compare(["keller5"], seeds=[999], train_steps=plan["warmup_steps"], **{**common, "labels": None})
    warmup_s = time.perf_counter() - start
    say(f"gpu_protocol: warm-up {warmup_s:.1f} s on {device_name(plan['device'])}")

    rounds, complete = [], []
    tuning_s = 0.0
    for seed in range(plan["max_seeds"]):
        slowest = max((r["seconds"] for r in rounds), default=0.0)
        if rounds and time.perf_counter() - start + slowest > plan["budget_s"]:
            break
        t0 = time.perf_counter()
        train_compare(specs, seeds=[seed], train_steps=plan["steps"], runs_dir=store, lr_tuning=tuning, **common)
        seconds = time.perf_counter() - t0
        if seed == 0:  # the first call also ran the lr grid: its share of the time is the round's estimate
            tuning_s = seconds
            seconds *= _wall(store, f"*-seed{seed}-*.json") / max(_wall(store, "*.json"), 1e-9)
        rounds.append({"seed": seed, "seconds": seconds})
        complete.append(seed)
        say(f"gpu_protocol: seed {seed} done ({seconds:.1f} s; {time.perf_counter() - start:.0f} s elapsed)")

    comparison = train_compare(specs, seeds=complete, train_steps=plan["steps"], runs_dir=store, lr_tuning=tuning,
                               **common)
    result = {
        "kind": "nsdesign-gpu-protocol",
        "device": device_name(plan["device"]),
        "torch": torch.__version__,
        "plan": {k: (list(v) if isinstance(v, tuple) else v) for k, v in plan.items()},
        "dry_run": bool(args.dry_run),
        "seconds": {"total": time.perf_counter() - start, "warmup": warmup_s, "first_call_with_tuning": tuning_s,
                    "rounds": rounds},
        "complete_seeds": complete,
        "resolution": resolution(comparison),
        "comparison": comparison.to_dict(),
    }
    path = args.out / "gpu_protocol.json"
    path.write_text(json.dumps(_finite(result), indent=1) + "\n", encoding="utf-8")
    for line in summary_lines(comparison, result):
        print(line)
    print(f"wrote {path}")
    return 0


def _wall(store: Path, pattern: str) -> float:
    """Summed training wall seconds of the stored runs matching `pattern`: splits the first call's time (lr grid
    and seed 0 together) in proportion, evaluation and loading included, to estimate one round."""
    total = 0.0
    for path in store.glob(pattern):
        document = json.loads(path.read_text(encoding="utf-8"))
        total += float(document["run"]["wall_seconds"][-1])
    return total


def resolution(comparison: Any) -> dict[str, Any]:
    """The largest Holm half-width and MDD over the comparisons, and whether every half-width is ≤ ±0.01."""
    halves = [(d.holm_high - d.holm_low) / 2 for d in comparison.differences]
    mdds = [d.mdd for d in comparison.differences]
    finite = bool(halves) and all(math.isfinite(h) for h in halves)
    worst = max(halves) if finite else math.nan
    return {"target": RESOLUTION, "max_holm_half_width": worst, "max_mdd": max(mdds) if finite else math.nan,
            "resolved": finite and worst <= RESOLUTION, "n_seeds": len(comparison.seeds)}


def summary_lines(comparison: Any, result: dict[str, Any]) -> list[str]:
    """A short plain-text report (≤ 80 columns): lr per schedule, Δ with Holm interval, MDD, verdict."""
    r = result["resolution"]
    lines = [f"{result['device']}: {len(comparison.seeds)} complete seed(s) in {result['seconds']['total']:.0f} s",
             f"{'schedule':<22} {'lr':>6} {'test loss':>9} {'Δ':>8} {'Holm interval':>19} {'MDD':>6}"]
    diffs = {d.label: d for d in comparison.differences}
    for s in comparison.summaries:
        d = diffs.get(s.label)
        interval = "baseline" if d is None else "— (n < 2)" if not math.isfinite(d.holm_low) else \
            f"[{d.holm_low:+.4f}, {d.holm_high:+.4f}]"
        delta = "" if d is None else f"{d.mean:+.4f}"
        mdd = "" if d is None or not math.isfinite(d.mdd) else f"{d.mdd:.4f}"
        lines.append(f"{s.label[:22]:<22} {comparison.lrs[s.label]:>6g} {s.mean:>9.4f} {delta:>8} {interval:>19} {mdd:>6}")
    lines.append(f"resolves ±{RESOLUTION}: {'yes' if r['resolved'] else 'no'} "
                 f"(largest Holm half-width {r['max_holm_half_width']:.4g})")
    return lines


def _finite(data: Any) -> Any:
    """JSON without NaN/Infinity (null instead), so any reader can load it."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    return data


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    sys.exit(main())
