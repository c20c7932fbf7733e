"""The loop closed: capture the momentum band of the model being trained, design from it, train with the designs.

For each size (a byte-level GPT of `nsdesign.torch.model` and a batch shape):

1. Capture: one keller5 run (Muon lr 0.02, seed `CAPTURE_SEED`, never a tuning or comparison seed) with the
   comparison's own settings records every hidden matrix's Frobenius-normalized momentum spectrum at 1/8, 1/4,
   1/2, 3/4 and all of training (`train_compare(..., band_spectra=True)`).
2. Band: per matrix, σ at q = 0.9 (descending rank), median over the captured steps from half-way on; the band
   edge L is the smallest matrix's. The same spectra under a Schatten-8 normalizer give that normalizer's band.
   Predicted beside it, per matrix: Marchenko–Pastur for its shape and the momentum law of its depth
   (arXiv 2606.04058; extrapolated far below the 77M–2.8B parameters it was fitted on).
3. Target: the capture run's validation loss at 3/4 of training, rounded up to 0.01 — fixed here, before any
   comparison run, and the same for every schedule (not keller5's own final loss).
4. Designs for [L, 1]: `designed5` = `nsdesign.recommend` (the per-step safe default, 5 steps); `schatten8_4` =
   `nsdesign.plans.normalizer.design_for_normalizer("schatten8", steps=4)` on the Schatten-8 band, run with
   that normalizer; `muon_triple5` = `nsdesign.design_for("torch-muon", ...)`, the best repeated triple for
   torch.optim.Muon (here run by nsdesign's Muon in fp32, like every other schedule).
5. Train keller5 (baseline), polar_express_modded5, deepseek_v4_10, cubic5_eo and the three designs: Muon lr
   tuned per schedule on the size's log grid (`lr_grid`; tuning seed 1000, validation half of the held-out
   text), then every seed at its chosen lr; final TEST loss paired against keller5 with Holm's correction and
   the minimum detectable difference; steps to the fixed target (interpolated crossing of the validation curve).

Every run is stored in `runs/<size>/` under a key of its settings, schedule coefficients, seed and code version,
so an interrupted study re-run resumes where it stopped (`nsdesign.torch.runstore`).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

PRESETS = ("keller5", "polar_express_modded5", "deepseek_v4_10", "cubic5_eo")
DESIGNED = ("designed5", "schatten8_4", "muon_triple5")
EDGE_Q = 0.9
CAPTURE_SEED = 2000
LR_GRID = (0.01, 0.02, 0.04, 0.08)
TARGET_AT = 0.75  # of the capture run's steps
# Sized for one core (torch on 1 thread) of a shared 2-core machine; per-step CPU time measured on this machine
# with keller5: 32x2 at 64 × 256 bytes ≈ 0.25 s (a 300-step run: 74 CPU s), at 16 × 128 bytes ≈ 0.03 s; the
# 16K-byte size's 85 runs (capture, 7 × 4 lr-grid runs, 7 × 8 seeds) then need ≈ 75 CPU-min, the 2K size ≈ 15.
FULL: dict[str, Any] = {
    "sizes": (  # the cheap size first, so one complete closed loop exists early; then the ≥16K-byte regime
        {"name": "32x2_b2K", "model": "32x2", "batch": 16, "seq_len": 128, "steps": 240, "eval_every": 24,
         "eval_batches": 8, "rms_view": True},  # the second view of step size: 56 more runs, cheap at 2K
        {"name": "32x2_b16K", "model": "32x2", "batch": 64, "seq_len": 256, "steps": 200, "eval_every": 20,
         "eval_batches": 2, "lr_grid": (*LR_GRID, 0.16),  # keller5 chose 0.08, the 4-value grid's edge, here
         "rms_view": True},
        # where the loss flattens (a keller5 probe: 2.319 at step 400, 2.281 at 600): a one-layer model at 16K
        # bytes, 600 steps; the lr grid is tuned on 300-step runs (≈ 65 CPU s a 600-step run)
        {"name": "32x1_b16K_600", "model": "32x1", "batch": 64, "seq_len": 256, "steps": 600, "eval_every": 50,
         "eval_batches": 2, "lr_grid": (0.02, 0.04, 0.08, 0.16), "tune_steps": 300},
    ),
    "seeds": 8, "text_bytes": 4 << 20,
}
QUICK: dict[str, Any] = {
    "sizes": ({"name": "nano_quick", "model": "nano", "batch": 4, "seq_len": 32, "steps": 8, "eval_every": 2,
               "eval_batches": 2, "rms_view": True},),
    "seeds": 2, "text_bytes": 1 << 18,
}


def lr_grid(size: dict) -> tuple[float, ...]:
    """The size's Muon lr grid: `LR_GRID`, or a wider one where a schedule chose the edge of it."""
    return tuple(size.get("lr_grid", LR_GRID))


def size_kwargs(size: dict, plan: dict, out: Path) -> dict:
    """The `train_compare` arguments every run of one size shares (hence the same run keys on a re-run)."""
    return dict(model=size["model"], batch=size["batch"], seq_len=size["seq_len"], train_steps=size["steps"],
                eval_every=size["eval_every"], eval_batches=size["eval_batches"], max_text_bytes=plan["text_bytes"],
                runs_dir=out / "runs" / size["name"])


def capture_steps(steps: int) -> tuple[int, ...]:
    return tuple(sorted({max(1, round(steps * f)) for f in (1 / 8, 1 / 4, 1 / 2, 3 / 4, 1)}))


# --------------------------------------------------------------------------------------------------
# Band: measured and predicted
# --------------------------------------------------------------------------------------------------


def measured_band(run: Any) -> dict:
    """Per matrix: σ(q=0.9) at every captured step, its median from half-way on, σ_max, shape, and the
    Schatten-8 band (lo, hi) of the same spectra; L = the smallest matrix's median σ(q=0.9)."""
    from nsdesign.core.normalizers import get
    from nsdesign.laws.normalized import band_of_spectrum

    steps = [int(e["step"]) for e in run.band]
    i = list(run.band[0]["quantiles"]).index(EDGE_Q)
    s8 = get("schatten8")
    matrices: dict[str, dict] = {}
    for entry in run.band:
        late = int(entry["step"]) * 2 >= max(steps)
        for name, m in entry["matrices"].items():
            row = matrices.setdefault(name, {"shape": m["shape"], "steps": [], "q": [], "late_q": [], "s8": []})
            row["steps"].append(int(entry["step"]))
            row["q"].append(m["quantiles"][i])
            if late:
                row["late_q"].append(m["quantiles"][i])
                row["s8"].append(band_of_spectrum(s8, EDGE_Q, m["sigma"], "capture").normalized)
    for row in matrices.values():
        row["edge"] = statistics.median(row.pop("late_q"))
        pairs = row.pop("s8")
        row["s8_edge"] = statistics.median(p[0] for p in pairs)
        row["s8_max"] = max(p[1] for p in pairs)
    edge_name = min(matrices, key=lambda n: matrices[n]["edge"])
    return {"edge": matrices[edge_name]["edge"], "edge_matrix": edge_name, "capture_steps": steps,
            "s8_edge": min(r["s8_edge"] for r in matrices.values()),
            "s8_max": max(r["s8_max"] for r in matrices.values()), "matrices": matrices}


def predictions(band: dict, n_layer: int, params: int) -> dict:
    """Per matrix: the Marchenko–Pastur σ(q=0.9) of its shape and the momentum law's for its depth label."""
    from nsdesign.core.cost import Shape
    from nsdesign.errors import InputError
    from nsdesign.laws.predict import predict_band
    from nsdesign.torch.capture import depth_blocks

    labels: dict[int, str] = {}
    for label, block in depth_blocks(n_layer).items():
        labels.setdefault(block, label)  # the first (shallowest) depth label of each block
    out = {}
    for name, row in band["matrices"].items():
        block, kind = int(name.split(".")[1]), name.split(".")[2]
        mp = predict_band(EDGE_Q, shape=Shape(*row["shape"])).min_sigma
        try:
            law = predict_band(EDGE_Q, model_size=float(params), layer=f"{labels[block]}.{kind}").min_sigma
        except InputError:
            law = None
        out[name] = {"mp": mp, "law": law, "law_layer": f"{labels[block]}.{kind}"}
    return out


def target_loss(run: Any, steps: int) -> float:
    """The capture run's validation loss at the evaluation nearest `TARGET_AT` of training, rounded up to 0.01."""
    at = min(range(len(run.eval_steps)), key=lambda k: abs(run.eval_steps[k] - TARGET_AT * steps))
    return math.ceil(run.val_loss[at] * 100) / 100


# --------------------------------------------------------------------------------------------------
# Designs from the measured band
# --------------------------------------------------------------------------------------------------


def designs(band: dict, directory: Path) -> tuple[list[Any], dict]:
    """The three designs for the measured band, written as schedule files and returned as ScheduleSpecs."""
    from nsdesign._files import write_json_atomic
    from nsdesign.core.metrics import worst_error
    from nsdesign.design.recommend import recommend
    from nsdesign.plans.consumer import design_for
    from nsdesign.plans.normalizer import design_for_normalizer
    from nsdesign.torch.training import resolve_spec

    directory.mkdir(parents=True, exist_ok=True)
    edge = band["edge"]
    reused = _designed_before(band, directory)
    if reused is not None:
        return [resolve_spec(str(directory / f"{label}.json"), label) for label in DESIGNED], reused
    per_step = recommend((edge, 1.0), steps=5)
    # up to 1, the bound Schatten-8 guarantees (σ_max/‖σ‖_8 ≤ 1); the measured top is band["s8_max"]
    normalized = design_for_normalizer("schatten8", min_sigma=band["s8_edge"], max_sigma=1.0, steps=4)
    triple = design_for("torch-muon", (edge, 1.0), steps=5)
    documents = {"designed5": per_step.document(), "schatten8_4": normalized.document(), "muon_triple5": triple.document()}
    specs, info = [], {}
    for label, document in documents.items():
        path = directory / f"{label}.json"
        write_json_atomic(path, document)
        spec = resolve_spec(str(path), label)
        specs.append(spec)
        info[label] = {"file": path.name, "steps": spec.schedule.num_steps,
                       "normalizer": None if spec.normalizer is None else spec.normalizer.get("name"),
                       "worst_error_on_band": worst_error(spec.schedule, edge, 1.0)}
    info["schatten8_4"]["worst_error_on_band"] = worst_error(normalized.guarded.schedule, band["s8_edge"], 1.0)
    info["schatten8_4"]["band"] = [band["s8_edge"], 1.0]
    info["muon_triple5"]["passed"] = bool(triple.passed)
    write_json_atomic(directory / "designed_for.json", {"edge": edge, "s8_edge": band["s8_edge"], "info": info})
    return specs, info


def _designed_before(band: dict, directory: Path) -> dict | None:
    """The designs' info when this directory holds designs made for exactly this measured band, else None.

    Why: a resumed study must train the very schedules it started with, even if the design code changed in
    between (new coefficients would be new run keys, and the finished runs would be trained again)."""
    import json

    path = directory / "designed_for.json"
    if not path.is_file() or not all((directory / f"{label}.json").is_file() for label in DESIGNED):
        return None
    recorded = json.loads(path.read_text(encoding="utf-8"))
    same = recorded.get("edge") == band["edge"] and recorded.get("s8_edge") == band["s8_edge"]
    return recorded["info"] if same else None


# --------------------------------------------------------------------------------------------------
# One size
# --------------------------------------------------------------------------------------------------


def run_size(size: dict, plan: dict, out: Path, say: Any, progress: Any) -> tuple[Any, dict]:
    """Capture, design, train; returns the comparison and the size's result dictionary."""
    from nsdesign.torch.training import LrTuning, train_compare

    kwargs = size_kwargs(size, plan, out)
    say(f"{size['name']}: capturing the band (keller5, seed {CAPTURE_SEED})")
    capture = train_compare(["keller5"], seeds=[CAPTURE_SEED], band_at=capture_steps(size["steps"]), band_spectra=True,
                            **kwargs)
    run = capture.runs[0]
    band = measured_band(run)
    predicted = predictions(band, capture.settings.n_layer, run.model_params)
    target = target_loss(run, size["steps"])
    specs, info = designs(band, out / "schedules" / size["name"])
    say(f"{size['name']}: L = {band['edge']:.3g} ({band['edge_matrix']}), target loss {target:.2f}; training "
        f"{len(PRESETS) + len(specs)} schedules × ({len(lr_grid(size))} lrs + {plan['seeds']} seeds)")
    tuning = LrTuning(lr_grid(size), steps=size.get("tune_steps"))  # steps None: the comparison's own
    comparison = train_compare([*PRESETS, *specs], labels=[*PRESETS, *DESIGNED], seeds=plan["seeds"],
                               lr_tuning=tuning, target_loss=target, progress=progress(size["name"]), **kwargs)
    result = size_result(size, comparison, capture, band, predicted, target, info)
    if size.get("rms_view"):
        result["rms_view"] = _rms_view(size, plan, specs, comparison, target, kwargs, say, progress)
    result["store_cpu_s"], result["store_runs"] = stored_cpu(kwargs["runs_dir"])
    return comparison, result


def _rms_view(size: dict, plan: dict, specs: list, comparison: Any, target: float, kwargs: dict, say: Any,
              progress: Any) -> dict:
    """Train the second view of step size (see `rms_view`) at keller5's tuned lr."""
    from nsdesign.torch.training import train_compare

    common_lr = comparison.lrs[PRESETS[0]]
    say(f"{size['name']}: second view, every update at an exact polar factor's RMS, lr {common_lr:g} for all")
    matched = train_compare([*PRESETS, *specs], labels=[*PRESETS, *DESIGNED], seeds=plan["seeds"], muon_lr=common_lr,
                            match_rms=True, target_loss=target, progress=progress(size["name"] + " rms"), **kwargs)
    return rms_view(matched, common_lr)


def rms_view(matched: Any, lr: float) -> dict:
    """The second view of step size (issue: "normalizes the update's RMS to a common value"): each Muon update is
    rescaled to the RMS of the exact polar factor of its momentum, so every schedule takes steps of one size at one
    lr (keller5's tuned lr) and only the update's direction differs."""
    from nsdesign.torch.training import final_losses

    finals = {label: [final_losses(r) for r in matched.runs_of(label)] for label in matched.labels}
    rows = [{"label": s.label, "mean": s.mean, "std": s.std, "n": s.n, "diverged": s.diverged}
            for s in matched.summaries]
    return {"lr": lr, "finals": finals, "rows": rows, "labels": list(matched.labels),
            "run_cpu_s": float(sum(r.cpu_seconds[-1] for r in matched.runs))}


def stored_cpu(store: Path) -> tuple[float, int]:
    """CPU seconds of the training steps of every run in `store` made by this code version (capture, lr grid and
    seeds together), and their count: what the size cost."""
    import json

    from nsdesign.torch.runstore import RUN_FORMAT, code_version

    total, count = 0.0, 0
    for path in sorted(store.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") == RUN_FORMAT and document.get("code") == code_version():
            total += float(document["run"]["cpu_seconds"][-1])
            count += 1
    return total, count


def size_result(size: dict, comparison: Any, capture: Any, band: dict, predicted: dict, target: float,
                info: dict) -> dict:
    """What the README and results.json report for one size (plain numbers; statistics recomputed later)."""
    from nsdesign.torch.training import final_losses, ns_share

    s = comparison.settings
    rows = []
    for summary in comparison.summaries:
        runs = comparison.runs_of(summary.label)
        reach = next(r for r in comparison.target_reach if r.label == summary.label)
        last = [_last_band_edge(r) for r in runs if r.band]
        rows.append({
            "label": summary.label, "lr": comparison.lrs[summary.label], "mean": summary.mean, "std": summary.std,
            "n": summary.n, "diverged": summary.diverged, "ns_gflop_per_step": runs[0].ns_flops_per_step / 1e9,
            "cpu_s": float(np.mean([r.cpu_seconds[-1] for r in runs])),
            "ns_cpu_s": float(np.mean([r.ns_cpu_seconds[-1] for r in runs])), "ns_share": ns_share(runs),
            "reach_steps": list(reach.steps), "reached": reach.reached,
            "band_edge_last": float(np.mean(last)) if last else None,
        })
    finals = {label: [final_losses(r) for r in comparison.runs_of(label)] for label in comparison.labels}
    keller = comparison.runs_of("keller5")
    curve = np.mean([r.val_loss for r in keller if r.diverged_at is None], axis=0)
    return {
        "name": size["name"], "model": s.model, "width": s.width, "n_layer": s.n_layer, "batch": s.batch,
        "seq_len": s.seq_len, "bytes_per_step": s.batch * s.seq_len, "steps": s.train_steps,
        "params": comparison.runs[0].model_params, "seeds": list(comparison.seeds), "labels": list(comparison.labels),
        "finals": finals, "rows": rows, "tuning": [asdict(t) for t in comparison.tuning], "target_loss": target,
        "band": {k: v for k, v in band.items() if k != "matrices"}, "band_matrices": band["matrices"],
        "predicted": predicted, "designs": info, "eval_steps": list(keller[0].eval_steps),
        "keller5_val_curve": [float(v) for v in curve], "capture_cpu_s": capture.runs[0].cpu_seconds[-1],
        "run_cpu_s": float(sum(r.cpu_seconds[-1] for r in comparison.runs)), "skipped": comparison.skipped,
        "notes": list(comparison.notes), "text_source": s.text_source, "text_bytes": s.text_bytes,
        "lr_grid": list(lr_grid(size)),
    }


def _last_band_edge(run: Any) -> float:
    """The smallest matrix's σ(q=0.9) at the run's last band step (the band this schedule's momentum had)."""
    entry = run.band[-1]
    i = list(entry["quantiles"]).index(EDGE_Q)
    return min(m["quantiles"][i] for m in entry["matrices"].values())


# --------------------------------------------------------------------------------------------------
# A size still training: what its stored runs already say
# --------------------------------------------------------------------------------------------------


def partial_size(size: dict, plan: dict, out: Path) -> dict | None:
    """From the run files of an unfinished size (nothing is trained): how many of its runs are done, the band
    and target of its capture run, the capture run's validation curve (does the loss flatten?), and each
    schedule's NS share of a step's CPU time over its finished runs. None when not even the capture run is."""
    import json

    from nsdesign.torch.runstore import RUN_FORMAT, code_version
    from nsdesign.torch.training import ns_share
    from nsdesign.torch.trainrun import RunResult

    store = out / "runs" / size["name"]
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(store.glob("*.json"), key=lambda p: p.stat().st_mtime)]
    documents = [d for d in documents if d.get("format") == RUN_FORMAT]
    captures = [d for d in documents if d["run"]["seed"] == CAPTURE_SEED and d["settings"].get("band_spectra")]
    if not captures:
        return None
    code = captures[-1]["code"]  # the newest capture's code version: the runs a resume from that code reuses
    runs = [(d["settings"], RunResult.from_dict(d["run"])) for d in documents if d["code"] == code]
    settings, capture = next((s, r) for s, r in runs if r.seed == CAPTURE_SEED and s.get("band_spectra"))
    band = measured_band(capture)
    planned = 1 + (len(PRESETS) + len(DESIGNED)) * (len(lr_grid(size)) + plan["seeds"])
    labels = list(dict.fromkeys(r.label for _, r in runs if r.seed != CAPTURE_SEED))
    shares = {label: ns_share([r for _, r in runs if r.label == label and r.seed != CAPTURE_SEED]) for label in labels}
    return {
        "name": size["name"], "model": size["model"], "batch": size["batch"], "seq_len": size["seq_len"],
        "width": settings["width"], "n_layer": settings["n_layer"], "band_matrices": band["matrices"],
        "lr_grid": list(lr_grid(size)), "seeds": list(range(plan["seeds"])), "text_source": settings["text_source"],
        "text_bytes": settings["text_bytes"],
        "predicted": predictions(band, settings["n_layer"], capture.model_params),
        "bytes_per_step": size["batch"] * size["seq_len"], "steps": size["steps"], "params": capture.model_params,
        "runs_done": len(runs), "runs_planned": planned, "code": code, "current_code": code == code_version(), "band": {k: v for k, v in band.items() if k != "matrices"},
        "target_loss": target_loss(capture, size["steps"]), "capture_eval_steps": list(capture.eval_steps),
        "capture_val_curve": [float(v) for v in capture.val_loss], "capture_cpu_s": capture.cpu_seconds[-1],
        "capture_ns_share": ns_share([capture]),
        "ns_share": shares, "runs_per_schedule": {label: sum(r.label == label for _, r in runs) for label in labels},
        "cpu_s_done": float(sum(r.cpu_seconds[-1] for _, r in runs)),
        "tuning": {label: {str(s["muon_lr"]): r.final_val_loss for s, r in runs if r.label == label and r.seed == 1000}
                   for label in labels},
        "interim": interim(runs, size, plan, target_loss(capture, size["steps"])),
    }


def interim(runs: list, size: dict, plan: dict, target: float) -> dict | None:
    """The comparison over the seeds already complete (every schedule trained at the lr its grid chose), or None
    while the grid is unfinished: the same rule as `train_compare` (lowest validation loss, ties: smaller lr)."""
    from nsdesign.core.paired import first_reach
    from nsdesign.torch.training import final_losses

    labels = [*PRESETS, *DESIGNED]
    grid = lr_grid(size)
    tuned = {(r.label, float(s["muon_lr"])): r.final_val_loss for s, r in runs if r.seed == 1000}
    if len(tuned) < len(labels) * len(grid):
        return None
    chosen = {label: min(grid, key=lambda lr: (tuned[label, lr], lr)) for label in labels}
    by = {(r.label, r.seed): r for s, r in runs
          if r.seed < plan["seeds"] and float(s["muon_lr"]) == chosen[r.label] and s["train_steps"] == size["steps"]}
    seeds = [seed for seed in range(plan["seeds"]) if all((label, seed) in by for label in labels)]
    return {"seeds": seeds, "chosen": chosen,
            "finals": {label: [final_losses(by[label, seed]) for seed in seeds] for label in labels},
            "reach_steps": {label: [first_reach(by[label, seed].eval_steps, by[label, seed].val_loss, target)
                                    for seed in seeds] for label in labels}}
