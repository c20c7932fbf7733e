"""The closed-loop study's statistics and README text, recomputed from the per-size results (no torch here).

Statistics (`nsdesign.core.paired`): per size, each schedule's final test loss minus keller5's, paired by seed,
with a Student-t interval; Holm's correction across EVERY comparison of the study (all sizes together), each
interval then at its Holm level with the minimum detectable difference (power 0.8) beside it; and, separately,
the paired difference in steps to the target loss fixed before the runs, Holm-corrected across its own family.
"""

from __future__ import annotations

import math
from typing import Any

import _common as common

BASELINE = "keller5"


def statistics(sizes: list[dict]) -> dict:
    """Study-wide Holm families: final test loss and steps to target, both against keller5."""
    from dataclasses import asdict

    from nsdesign.core.paired import holm, paired_differences

    loss, steps, keys_loss, keys_steps = [], [], [], []
    for size in sizes:
        finals = size["finals"]
        reach = {r["label"]: r["reach_steps"] for r in size["rows"]}
        for label in size["labels"]:
            if label == BASELINE:
                continue
            loss.append(paired_differences(label, finals[label], finals[BASELINE]))
            keys_loss.append(size["name"])
            a, b = reach[label], reach[BASELINE]
            if all(v is not None for v in a + b):
                steps.append(paired_differences(label, a, b))
                keys_steps.append(size["name"])
    rms, keys_rms = [], []
    for size in sizes:
        view = size.get("rms_view")
        for label in (view or {}).get("labels", []):
            if label != BASELINE:
                rms.append(paired_differences(label, view["finals"][label], view["finals"][BASELINE]))
                keys_rms.append(size["name"])
    return {
        "loss_rms": [{"size": k, **_clean(asdict(d)), "verdict": d.verdict} for k, d in zip(keys_rms, holm(rms))],
        "family_rms": len(rms),
        "loss": [{"size": k, **_clean(asdict(d)), "verdict": d.verdict} for k, d in zip(keys_loss, holm(loss))],
        "steps_to_target": [{"size": k, **_clean(asdict(d)), "verdict": d.verdict} for k, d in zip(keys_steps, holm(steps))],
        "family_loss": len(loss), "family_steps": len(steps),
    }


def _clean(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def band_panels(sizes: list[dict]) -> list[dict]:
    """The figure's input: per size, per matrix, measured σ(q) over steps, the designs' value, MP and law."""
    from closed_loop import EDGE_Q

    panels = []
    for size in sizes:
        rows = []
        for name, m in size["band_matrices"].items():
            p = size["predicted"][name]
            rows.append({"name": name.replace("blocks.", "").replace(".weight", ""), "measured": m["q"],
                         "edge": m["edge"], "mp": p["mp"], "law": p["law"]})
        panels.append({"title": f"{size['name']}: {size['width']}×{size['n_layer']}, {size['params']:,} parameters, "
                                f"batch {size['batch']}×{size['seq_len']} bytes; steps {size['band']['capture_steps']}",
                       "edge_q": EDGE_Q, "rows": rows})
    return panels


def _f(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:+.{digits}f}"


def _loss_table(size: dict, stats: dict) -> str:
    by = {d["label"]: d for d in stats["loss"] if d["size"] == size["name"]}
    rows = []
    for r in size["rows"]:
        d = by.get(r["label"])
        rows.append([f"`{r['label']}`", f"{r['lr']:g}", _pm(r["mean"], r["std"]),
                     "—" if d is None else _f(d["mean"]),
                     "—" if d is None else f"[{_f(d['holm_low'])}, {_f(d['holm_high'])}] ({100 * d['holm_confidence']:.2f}%)",
                     "—" if d is None else f"{d['mdd']:.4f}" if d["mdd"] is not None else "—",
                     "—" if d is None else f"{d['p_holm']:.3f}" if d["p_holm"] is not None else "—",
                     "keller5" if d is None else d["verdict"]])
    return common.markdown_table(["schedule", "lr", "test loss (mean ± std)", "Δ vs keller5", "Holm interval",
                                  "MDD", "Holm p", "verdict"], rows)


def _rms_section(size: dict, stats: dict) -> str:
    """The second view of step size: every update at an exact polar factor's RMS, one lr for all."""
    view = size.get("rms_view")
    if not view:
        return ""
    by = {d["label"]: d for d in stats.get("loss_rms", []) if d["size"] == size["name"]}
    rows = []
    for r in view["rows"]:
        d = by.get(r["label"])
        rows.append([f"`{r['label']}`", _pm(r["mean"], r["std"]), "—" if d is None else _f(d["mean"]),
                     "—" if d is None else f"[{_f(d['holm_low'])}, {_f(d['holm_high'])}] ({100 * d['holm_confidence']:.2f}%)",
                     "—" if d is None or d["mdd"] is None else f"{d['mdd']:.4f}",
                     "keller5" if d is None else d["verdict"]])
    table = common.markdown_table(["schedule", "test loss (mean ± std)", "Δ vs keller5", "Holm interval", "MDD",
                                   "verdict"], rows)
    return f"""
Second view of step size: every Muon update rescaled to the RMS of the exact polar factor of its momentum
(`train-compare --match-rms`), so all schedules step the same size at one lr, keller5's tuned {view['lr']:g}, and
differ only in direction. Δ paired by seed; Holm across this view's own {stats['family_rms']} comparisons:

{table}
"""


def _reach_table(size: dict, stats: dict) -> str:
    by = {d["label"]: d for d in stats["steps_to_target"] if d["size"] == size["name"]}
    rows = []
    for r in size["rows"]:
        d = by.get(r["label"])
        reached = [v for v in r["reach_steps"] if v is not None]
        rows.append([f"`{r['label']}`", f"{r['reached']}/{r['n']}",
                     f"{sum(reached) / len(reached):.1f}" if reached else "—",
                     "—" if d is None else f"{d['mean']:+.1f} [{d['holm_low']:+.1f}, {d['holm_high']:+.1f}]",
                     "keller5" if r["label"] == BASELINE else "—" if d is None else d["verdict"]])
    return common.markdown_table(["schedule", "seeds reaching the target", "mean steps", "Δ steps vs keller5 (Holm interval)",
                                  "verdict"], rows)


def _cost_table(size: dict) -> str:
    rows = [[f"`{r['label']}`", r["ns_gflop_per_step"], r["cpu_s"], r["ns_cpu_s"],
             None if r["ns_share"] is None else f"{100 * r['ns_share']:.1f}%", r["band_edge_last"]] for r in size["rows"]]
    return common.markdown_table(["schedule", "NS GFLOP/step", "CPU s per run", "NS CPU s", "NS share of a step (CPU)",
                                  "smallest σ(q=0.9) at the end"], rows, digits=3)


def _pm(mean: Any, std: Any) -> str:
    if mean is None or not math.isfinite(mean):
        return "diverged"
    return f"{mean:.4f} ± {std:.4f}" if std is not None and math.isfinite(std) else f"{mean:.4f}"


def _band_text(size: dict) -> str:
    b, d = size["band"], size["designs"]
    mp = [p["mp"] for p in size["predicted"].values()]
    law = [p["law"] for p in size["predicted"].values() if p["law"] is not None]
    edges = [m["edge"] for m in size["band_matrices"].values()]
    ratio = [m["edge"] / size["predicted"][n]["mp"] for n, m in size["band_matrices"].items()]
    law_text = f"{min(law):.3g}–{max(law):.3g}" if law else "—"
    return (f"Measured (capture run, steps {b['capture_steps']}): σ(q=0.9) per matrix, median from half-way on, "
            f"{min(edges):.3g}–{max(edges):.3g}; the band edge the designs used, L = **{b['edge']:.4g}** "
            f"(`{b['edge_matrix']}`); under Schatten-8 [{b['s8_edge']:.4g}, {b['s8_max']:.4g}]. Predicted for the same "
            f"matrices: Marchenko–Pastur {min(mp):.3g}–{max(mp):.3g} (measured/MP {min(ratio):.2f}–{max(ratio):.2f}), "
            f"momentum law {law_text} (extrapolated from 77M–2.8B parameters down to {size['params']:,}). Designs: "
            + "; ".join(f"`{k}` {v['steps']} steps" + (f" under {v['normalizer']}" if v["normalizer"] else "")
                        + f", worst error on its band {v['worst_error_on_band']:.3g}" for k, v in d.items()) + ".")


def _flatten_text(size: dict) -> str:
    steps, curve = size["eval_steps"], size["keller5_val_curve"]
    n = len(curve)
    i80 = min(range(n), key=lambda k: abs(steps[k] - 0.8 * steps[-1]))
    i50 = min(range(n), key=lambda k: abs(steps[k] - 0.5 * steps[-1]))
    return (f"keller5's mean validation loss: {curve[0]:.3f} at step 0, {curve[i50]:.3f} at step {steps[i50]}, "
            f"{curve[i80]:.3f} at step {steps[i80]}, {curve[-1]:.3f} at step {steps[-1]} (the last 20% of steps, "
            f"under the lr cool-down, take it down by {curve[i80] - curve[-1]:.3f} nats/byte).")


def size_section(size: dict, stats: dict) -> str:
    return f"""## {size['name']}: width {size['width']}, {size['n_layer']} blocks, {size['params']:,} parameters; batch {size['batch']} × {size['seq_len']} = {size['bytes_per_step']:,} bytes per step; {size['steps']} steps

{_band_text(size)}

Target loss, fixed from the capture run before any comparison run: **{size['target_loss']:.2f}** nats/byte
(its validation loss at 3/4 of training, rounded up). {_flatten_text(size)}

Final test loss (nats/byte; {len(size['seeds'])} seeds, each schedule at the lr it chose on the grid
{size['lr_grid']} from the validation loss of tuning seed 1000). Δ = schedule − keller5 paired by seed; the interval
is at the comparison's Holm level across all {stats['family_loss']} comparisons of the study; MDD = the true
difference that level detects with power 0.8:

{_loss_table(size, stats)}
{_rms_section(size, stats)}
Steps to the target loss (interpolated crossing of the validation curve; Δ over seeds where every run reached it,
Holm across the {stats['family_steps']} such comparisons):

{_reach_table(size, stats)}

Cost: NS FLOPs per step over all Muon matrices, and the process CPU time of the training steps (evaluation
excluded; mean per run), of which inside Newton–Schulz; the momentum band at the last recorded step under each
schedule:

{_cost_table(size)}

![loss curves]({size['figure']})
"""


def answer(results: dict) -> str:
    """What the evidence supports and what it does not: generated from the Holm verdicts, no hand-picked rows."""
    stats = results["statistics"]
    lines = []
    resolved = [d for d in stats["loss"] if d["verdict"] != "unresolved"]
    if resolved:
        for d in resolved:
            lines.append(f"- `{d['label']}` on {d['size']}: {d['verdict']} than keller5 in final test loss, Δ = "
                         f"{d['mean']:+.4f} [{d['holm_low']:+.4f}, {d['holm_high']:+.4f}] at Holm level "
                         f"{100 * d['holm_confidence']:.2f}% (Holm p {d['p_holm']:.3g}).")
    elif stats["family_loss"] == 0:
        lines.append("- No size has finished its seeds yet: no loss comparison.")
    else:
        lines.append(f"- No schedule's final test loss differs from keller5's after Holm's correction across the "
                     f"{stats['family_loss']} comparisons.")
    unresolved = [d for d in stats["loss"] if d["verdict"] == "unresolved" and d["mdd"] is not None]
    if unresolved:
        lines.append(f"- Unresolved does not mean equal: at these seeds the Holm-level minimum detectable differences are "
                     f"{min(d['mdd'] for d in unresolved):.4f}–{max(d['mdd'] for d in unresolved):.4f} nats/byte; "
                     "smaller true differences would usually be missed.")
    if stats.get("family_rms"):
        moved = [d for d in stats["loss_rms"] if d["verdict"] != "unresolved"]
        viewed = ", ".join(dict.fromkeys(d["size"] for d in stats["loss_rms"]))
        lines.append(f"- With every update at an exact polar factor's RMS (one lr for all, the second view of step "
                     f"size, on {viewed}): " + ("; ".join(f"`{d['label']}` on {d['size']} {d['verdict']} ({d['mean']:+.4f} "
                                            f"[{d['holm_low']:+.4f}, {d['holm_high']:+.4f}])" for d in moved)
                                  if moved else f"no schedule differs from keller5 after Holm across its "
                                  f"{stats['family_rms']} comparisons") + ".")
    steps = [d for d in stats["steps_to_target"] if d["verdict"] != "unresolved"]
    lines.append("- Steps to the fixed target: " + ("no comparison yet" if stats["family_steps"] == 0 else "; ".join(
        f"`{d['label']}` on {d['size']} {d['verdict']} ({d['mean']:+.1f} steps [{d['holm_low']:+.1f}, {d['holm_high']:+.1f}])"
        for d in steps) if steps else "no difference from keller5 survives Holm's correction") + ".")
    for size in results["sizes"]:
        chosen: dict[float, list[str]] = {}
        for r in size["rows"]:
            chosen.setdefault(r["lr"], []).append(f"`{r['label']}`")
        edge = [r["label"] for r in size["rows"] if r["lr"] in (min(size["lr_grid"]), max(size["lr_grid"]))]
        lines.append(f"- Step size on {size['name']}: the lr grid chose " + "; ".join(
            f"{lr:g} for {', '.join(labels)}" for lr, labels in sorted(chosen.items()))
            + (f" (at the grid's edge: {', '.join(edge)}; a wider grid might move them)" if edge else
               " (every choice inside the grid)")
            + ("; at one common lr the schedules that chose another would have run at a step size that is not "
               "their best." if len(chosen) > 1 else "."))
    shares = [(s["name"], r["ns_share"]) for s in results["sizes"] for r in s["rows"] if r["ns_share"] is not None]
    for name in dict.fromkeys(n for n, _ in shares):
        values = [v for n, v in shares if n == name]
        size = next(s for s in results["sizes"] if s["name"] == name)
        lines.append(f"- Newton–Schulz took {100 * min(values):.1f}–{100 * max(values):.1f}% of a training step's CPU "
                     f"time on {name} ({size['bytes_per_step']:,} bytes per step): the most any schedule could save "
                     "there by being cheaper.")
    for p in results.get("partial", []):
        values = [v for v in p["ns_share"].values() if v is not None] + [p["capture_ns_share"]]
        span = f"{100 * min(values):.1f}" + ("" if min(values) == max(values) else f"–{100 * max(values):.1f}")
        lines.append(f"- Newton–Schulz took {span}% of a training step's CPU time on {p['name']} "
                     f"({p['bytes_per_step']:,} bytes per step; {p['runs_done']} finished run(s) of a size still "
                     "training): the most any schedule could save there by being cheaper.")
    return "\n".join(lines)


def partial_section(p: dict) -> str:
    """What an unfinished size's stored runs already show (no loss comparison: its seeds are not all done)."""
    steps, curve = p["capture_eval_steps"], p["capture_val_curve"]
    i80 = min(range(len(steps)), key=lambda k: abs(steps[k] - 0.8 * steps[-1]))
    i50 = min(range(len(steps)), key=lambda k: abs(steps[k] - 0.5 * steps[-1]))
    shares = "; ".join(f"`{k}` {100 * v:.1f}% ({p['runs_per_schedule'][k]} runs)" for k, v in p["ns_share"].items()
                       if v is not None)
    return f"""## {p['name']} (still training: {p['runs_done']} of {p['runs_planned']} runs done): {p['model']}, {p['params']:,} parameters; batch {p['batch']} × {p['seq_len']} = {p['bytes_per_step']:,} bytes per step; {p['steps']} steps

No loss comparison yet: its lr grid and seeds are not all trained. Its runs were made by training code
`{p['code']}`{'' if p['current_code'] else ' (not the code of the tree that wrote this README: resuming from this tree trains them again)'}. What the finished runs already measure:

- Band (capture run, steps {p['band']['capture_steps']}): L = {p['band']['edge']:.4g} (`{p['band']['edge_matrix']}`); the
  target loss fixed from it: {p['target_loss']:.2f} nats/byte.
- Does the loss flatten? The capture run (keller5, lr 0.02): validation loss {curve[0]:.3f} at step 0,
  {curve[i50]:.3f} at step {steps[i50]}, {curve[i80]:.3f} at step {steps[i80]}, {curve[-1]:.3f} at step {steps[-1]}: the
  last 20% of steps, under the lr cool-down, still take it down by {curve[i80] - curve[-1]:.3f} nats/byte.
- Newton–Schulz share of a training step's CPU time at {p['bytes_per_step']:,} bytes per step: keller5's capture run
  {100 * p['capture_ns_share']:.1f}%; over the finished runs per schedule: {shares or '—'}.
- CPU time of the finished runs' training steps: {p['cpu_s_done'] / 60:.1f} min.

The lr grid so far (final validation loss of tuning seed 1000; "—": not trained yet):

{_tuning_table(p)}
{_interim_text(p)}"""


def _interim_text(p: dict) -> str:
    """An interim comparison over the complete seeds, Holm across this size's own comparisons: labelled as such,
    never part of the study's headline (its seeds are fewer than planned)."""
    from nsdesign.core.paired import holm, paired_differences

    block = p.get("interim")
    if not block or len(block["seeds"]) < 2:
        return ""
    finals, seeds = block["finals"], block["seeds"]
    diffs = holm([paired_differences(label, finals[label], finals[BASELINE]) for label in finals if label != BASELINE])
    rows = [[f"`{d.label}`", f"{block['chosen'][d.label]:g}", _f(d.mean), f"[{_f(d.holm_low)}, {_f(d.holm_high)}]",
             f"{d.mdd:.4f}", f"{d.p_holm:.3f}", d.verdict] for d in diffs]
    reach = block["reach_steps"]
    counts = ", ".join(f"`{k}` {sum(v is not None for v in reach[k])}/{len(seeds)}" for k in reach)
    return f"""
**Interim** comparison over the {len(seeds)} complete seeds {seeds} (of {len(p['seeds'])} planned; keller5 at lr
{block['chosen'][BASELINE]:g}): final test loss Δ = schedule − keller5, Holm across this size's {len(diffs)}
comparisons (not the study's family), MDD at each Holm level. Seeds reaching the target {p['target_loss']:.2f}: {counts}.

{common.markdown_table(["schedule", "lr", "Δ vs keller5", "Holm interval", "MDD", "Holm p", "verdict"], rows)}
"""


def _tuning_table(p: dict) -> str:
    grid = [str(lr) for lr in p["lr_grid"]]
    rows = [[f"`{label}`", *(by.get(lr) for lr in grid)] for label, by in p.get("tuning", {}).items() if by]
    return common.markdown_table(["schedule", *(f"lr {lr}" for lr in grid)], rows)


def readme(results: dict, quick: bool) -> str:
    head = "**QUICK RUN** — checks the code path, not the science.\n\n" if quick else ""
    status = "" if results["complete"] else (
        f"**PARTIAL**: {len(results['sizes'])} of {len(results['planned'])} sizes finished "
        f"({', '.join(results['planned'])}); re-run `{results['command']}` to resume (stored runs are reused).\n\n")
    sections = "\n".join([*(size_section(s, results["statistics"]) for s in results["sizes"]),
                          *(partial_section(p) for p in results.get("partial", []))])
    cpu = sum(s.get("store_cpu_s", s["run_cpu_s"] + s["capture_cpu_s"]) for s in results["sizes"])
    runs = sum(s.get("store_runs", 0) for s in results["sizes"])
    every = [*results["sizes"], *results.get("partial", [])]
    first = every[0]
    return f"""# Does a schedule designed for the measured band train better? (the loop closed)

{head}{status}Per size: one keller5 capture run records every hidden matrix's momentum spectrum at several points of training;
three schedules are designed from that measured band — `designed5` (per-step safe default, `nsdesign.recommend`),
`schatten8_4` (4 steps co-designed with a Schatten-8 normalizer, `search --normalize schatten8`) and `muon_triple5`
(the best repeated triple for torch.optim.Muon, `nsdesign.design_for("torch-muon", band)`) — and trained against
`keller5`, `polar_express_modded5`, `deepseek_v4_10` and `cubic5_eo`. Each schedule's Muon lr is tuned on a log
grid of factor 2 (per size below; one tuning seed, validation half of the held-out text), then {len(first['seeds'])} seeds train at
the chosen lr with the same initialization and batch order per seed; the reported loss is on the test half, which
no choice looked at. Byte-level GPTs (`nsdesign.torch.model`), text {first['text_source']} ({first['text_bytes']:,} bytes),
Muon (momentum 0.95, Nesterov, fp32 Newton–Schulz) on the hidden matrices, AdamW (lr 3e-3) on the rest, warm-up then
a linear decay over the last 40% of steps. How the pieces fit: `closed_loop.py`; statistics: `statistics_view.py`.

    {results['command']}

Training CPU time of all {runs} runs (capture, lr grid, seeds): {cpu / 60:.1f} min (process CPU time of the training
steps, torch on 1 thread; evaluation excluded); this invocation
{results['seconds_this_invocation'] / 60:.1f} min wall, finished {results['finished_utc']}, on {results['machine']}
(1-minute load average at the end {results['load']}: the machine is shared, so compare CPU seconds, not wall).

## What the evidence supports

{answer(results)}

What it does not support: anything about models beyond these (width {max(s['width'] for s in every)},
at most {max(s['params'] for s in every):,} parameters, {max(s['steps'] for s in every)} steps, CPU,
fp32 Newton–Schulz), about bf16 kernels, or about torch.optim.Muon itself (its triple ran in nsdesign's Muon here).

![predicted vs measured band per layer](band_layers.png)

{sections}
Files: `results.json` (everything above, with per-seed losses and the tuning grid), `runs/<size>/` (one JSON per
run: the resume store), `schedules/<size>/` (the designed schedule files), `loss_<size>.png`, `band_layers.png`.
"""
