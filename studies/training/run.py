"""Study: does a designed Newton–Schulz schedule train better, or cheaper? End-to-end Muon runs with error bars.

For each model size (byte-level GPTs of `nsdesign capture`, trained on the Python standard library's sources with a
held-out 10% validation split):

1. Capture the band: train keller5 at seed 0 with `nsdesign.torch.train_compare` (which records the singular-value
   quantiles of every Frobenius-normalized momentum buffer M/‖M‖_F during training) and take the band edge
   L = the smallest matrix's q = 0.9 quantile (descending rank), median over the recorded steps after half-way.
2. Design for that band with `nsdesign search --min-sigma L` (5 steps, and 4 steps: one fewer), with the Polar
   Express cushion 0.02, safety 1.02 and norm_div 1.02 of modded-nanogpt's list; and a per-layer recipe: for each
   matrix its own measured edge and the FLOP-cheapest quintic greedy schedule that meets, on that band, the worst
   error the 5-step design reaches on the hardest band (`nsdesign.design.solvers.cheapest_schedule`).
3. Train all schedules × seeds with the same initialization and batch order per seed (`train_compare`, resumable:
   the keller5 seed-0 run of step 1 is reused), then report final validation loss (mean ± std), paired differences
   against keller5 with 95% t-intervals over seeds, steps / NS FLOPs / wall time to reach keller5's final loss, and
   the momentum band measured under each schedule against the band the designs assumed.

    python studies/training/run.py            # full run (see README.md for the measured runtime)
    python studies/training/run.py --worker   # optional, alongside it on the other core: shares the training
    python studies/training/run.py --quick    # seconds; a 32-wide model, a few steps (used by the tests)

`--worker` trains the same runs (same `train_compare` arguments, hence the same run keys and files) in the reverse
order, waiting for each size's designed schedules to appear, then stops without reports; the main invocation
loads what it finished. Two processes on two cores roughly halve the wall time; at most one run per size is
trained by both (where they meet), with identical results.

Times: wall seconds depend on whatever else the machine runs; the process CPU seconds (`time.process_time`,
torch held to one thread) much less so, which makes them the time measure to compare across schedules here.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import math
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import _common as common  # noqa: E402

import numpy as np  # noqa: E402

from nsdesign._files import write_json_atomic  # noqa: E402
from nsdesign.cli.main import main as cli_main  # noqa: E402
from nsdesign.core.cost import Shape, flops  # noqa: E402
from nsdesign.core.metrics import worst_error  # noqa: E402
from nsdesign.core.schedule import Schedule  # noqa: E402
from nsdesign.documents import load_schedule  # noqa: E402

DESIGNED = ("designed5", "designed4", "schatten8_4", "recipe")  # the files design_schedules writes, recipe last
PRESETS = ("keller5", "polar_express_modded5", "deepseek_v4_10", "cubic5_eo")  # cubic5_eo: the relaxed cubic (arXiv 2606.00371)
EDGE_Q = 0.9
KNOBS = ("--cushion", "0.02", "--safety", "1.02", "--norm-div", "1.02")
# Sizes for a 2-core machine. The larger one is meant to be the biggest that trains in about 5 minutes there:
# 192×6 (2.8M parameters) at 400 steps, whose runs took 292–378 CPU seconds each (README.md, torch on 1 thread).
# With --worker on the other core the whole study (72 runs) took 96 min wall.
FULL = {"sizes": (("192x6", 400), ("tiny", 300), ("nano", 300)), "seeds": 3, "eval_every": 25, "text_bytes": 4 << 20}
QUICK = {"sizes": (("nano", 12), ("32x1", 8)), "seeds": 2, "eval_every": 4, "text_bytes": 1 << 18}


def _arguments(parser) -> None:
    parser.add_argument("--worker", action="store_true",
                        help="train the runs in reverse order alongside a main invocation, then stop (no reports)")


def main() -> None:
    args, timer, dpi = common.start(HERE, __doc__, _arguments)
    import torch

    torch.set_num_threads(1)  # one core per study process: CPU seconds then measure one thread's work
    from nsdesign.torch.training import train_compare

    plan = QUICK if args.quick else FULL
    out: Path = args.out
    if args.worker:
        return worker(plan, out)
    results = {"sizes": [], "command": common.command("training", args.quick), "eval_every": plan["eval_every"]}
    loads: list[float] = []
    for model, steps in plan["sizes"]:
        common_kwargs = _kwargs(plan, out, model, steps)
        common.note(f"[{timer.seconds():.0f} s] {model}: capturing the band (keller5, seed 0)")
        capture = train_compare(["keller5"], seeds=[0], **common_kwargs)
        band = {**measured_band(capture.runs[0]), "width": capture.settings.width}
        designs = design_schedules(band, out / "schedules" / model, model)
        specs = list(PRESETS) + [str(p) for p in designs["files"].values()]
        labels = list(PRESETS) + list(designs["files"])
        common.note(f"[{timer.seconds():.0f} s] {model}: band edge L = {band['edge']:.3g}; training {len(specs)} "
                    f"schedules × {plan['seeds']} seeds")
        comparison = train_compare(specs, labels=labels, seeds=plan["seeds"], progress=_progress(model, loads),
                                   **common_kwargs)
        write_json_atomic(out / f"comparison_{model}.json", comparison.to_dict())
        fig_name = f"loss_{model}.png"
        from nsdesign.plot.training import comparison_figure
        from nsdesign.torch.training import CONFIDENCE

        common.save(comparison_figure(comparison, dpi=dpi, confidence=CONFIDENCE), out / fig_name)
        results["sizes"].append(size_result(comparison, band, designs, fig_name))
    common.save(band_figure(results["sizes"], dpi), out / "band.png")
    results["seconds"] = timer.seconds()
    results["reused_runs"] = sum(size["skipped"] for size in results["sizes"]) - len(results["sizes"])
    results["run_seconds_sum"] = sum(size["run_seconds"] for size in results["sizes"])
    results["run_cpu_seconds_sum"] = sum(size["run_cpu_seconds"] for size in results["sizes"])
    results["finished_utc"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    stamps = [p.stat().st_mtime for p in (out / "runs").glob("*/*.json")]
    utc = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%H:%M UTC")  # noqa: E731
    results["run_files_written"] = [utc(min(stamps)), utc(max(stamps))] if stamps else None
    results["machine"] = common.machine()
    results["load"] = common.load()
    results["load_during_runs"] = [min(loads), max(loads)] if loads else None
    common.write_json(out / "results.json", results)
    (out / "README.md").write_text(readme(results, args.quick) + kept_section(out / "README.md"), encoding="utf-8")
    print(f"done in {timer.seconds():.0f} s", flush=True)


KEPT = "## Protocol and what the evidence supports"


def kept_section(path: Path) -> str:
    """The hand-written protocol section at the end of an existing README (from `KEPT` on), so a regenerated
    README keeps it; empty when there is none."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    at = text.find(KEPT)
    return "" if at < 0 else "\n" + text[at:]


def _kwargs(plan: dict, out: Path, model: str, steps: int) -> dict:
    """The `train_compare` arguments of one size: shared by the main invocation and --worker (same run keys)."""
    return dict(train_steps=steps, model=model, runs_dir=out / "runs" / model, eval_every=plan["eval_every"],
                max_text_bytes=plan["text_bytes"])


def worker(plan: dict, out: Path) -> None:
    """Train each size's runs in reverse order once the main invocation has written its designs."""
    from nsdesign.torch.training import train_compare

    for model, steps in plan["sizes"]:
        directory = out / "schedules" / model
        while not (directory / "recipe.json").is_file():  # written last by design_schedules
            time.sleep(5)
        specs = [*PRESETS, *(str(directory / f"{name}.json") for name in DESIGNED)][::-1]
        labels = [*PRESETS, *DESIGNED][::-1]
        common.note(f"worker: {model}: training {len(specs)} schedules in reverse order")
        train_compare(specs, labels=labels, seeds=list(range(plan["seeds"]))[::-1], progress=_progress(f"worker {model}"),
                      **_kwargs(plan, out, model, steps))
    print("worker done", flush=True)


def _progress(model: str, loads: list[float] | None = None):
    from nsdesign.torch.training import print_line

    state = {"done": 0, "total": 0}

    def say(event):
        if event["event"] == "start":
            state["total"] = event["total"]
            return
        state["done"] += 1
        if loads is not None and event["event"] == "run":
            loads.append(os.getloadavg()[0])  # the 1-minute load average as each run finishes
        if common.progress_enabled():  # one line per finished run, on stderr
            print(f"{model} ", end="", file=sys.stderr, flush=True)
            print_line(event, state["done"], state["total"], sys.stderr)

    return say


# --------------------------------------------------------------------------------------------------
# Band and designs
# --------------------------------------------------------------------------------------------------


def measured_band(run) -> dict:
    """Edge L (smallest matrix's q=0.9, median over band steps from half-way on) and each matrix's own edge."""
    steps = [int(e["step"]) for e in run.band]
    late = [e for e in run.band if int(e["step"]) * 2 >= max(steps)]
    i = list(late[0]["quantiles"]).index(EDGE_Q)
    per_matrix = {name: statistics.median(e["matrices"][name]["quantiles"][i] for e in late) for name in late[0]["matrices"]}
    sigma_max = max(m["sigma_max"] for e in late for m in e["matrices"].values())
    return {"edge": min(per_matrix.values()), "per_matrix": per_matrix, "sigma_max": sigma_max,
            "steps": [int(e["step"]) for e in late]}


def search(min_sigma: float, steps: int, path: Path) -> Schedule:
    """`nsdesign search` in-process (its table goes to a buffer; the schedule file is what we keep)."""
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli_main(["search", "--min-sigma", f"{min_sigma:.6g}", "--steps", str(steps), *KNOBS, "-o", str(path)])
    if code != 0:
        raise SystemExit(f"nsdesign search failed for L={min_sigma}")
    return load_schedule(str(path))


def design_schedules(band: dict, directory: Path, model: str) -> dict:
    from nsdesign.design.solvers import cheapest_schedule
    from nsdesign.torch.model import MATRICES

    directory.mkdir(parents=True, exist_ok=True)
    edge = band["edge"]
    five = search(edge, 5, directory / "designed5.json")
    four = search(edge, 4, directory / "designed4.json")
    with contextlib.redirect_stdout(io.StringIO()):  # the same band, designed for a Schatten-8 normalizer, one step fewer
        code = cli_main(["search", "--min-sigma", f"{edge:.6g}", "--steps", "4", "--normalize", "schatten8", *KNOBS,
                         "-o", str(directory / "schatten8_4.json")])
    if code != 0:
        raise SystemExit(f"nsdesign search --normalize schatten8 failed for L={edge}")
    tol = worst_error(five, edge, 1.0)
    schedules, layers, total = {}, [], 0.0
    width = band_width(band)
    shapes = {"q": (width, width), "k": (width, width), "v": (width, width), "o": (width, width),
              "mlp_up": (4 * width, width), "mlp_down": (width, 4 * width)}
    for name, lo in band["per_matrix"].items():
        kind = name.split(".")[2]
        design = cheapest_schedule(lo / 1.02, tol, Shape(*shapes[kind]), degrees=(5,), max_sigma=1 / 1.02,
                                   cushion=0.02, safety=1.02)
        schedule = Schedule(design.schedule.steps, 1.02)
        key = f"s{schedule.num_steps}_{kind}_{name.split('.')[1]}"
        schedules[key] = schedule.to_dict()
        total += flops(schedule, Shape(*shapes[kind]))
        layers.append({"name": name, "schedule": key, "min_sigma": lo, "steps": schedule.num_steps})
    recipe = {"schema_version": 1, "kind": "nsdesign-recipe",
              "about": f"per-matrix bands measured on {model}'s own momentum (keller5, seed 0); cheapest quintic "
                       f"greedy schedule meeting max|1-F| <= {tol:.4g} on [L_matrix, 1]",
              "schedules": schedules, "layers": layers}
    write_json_atomic(directory / "recipe.json", recipe)
    assert all(k in MATRICES for k in shapes)
    files = {name: directory / f"{name}.json" for name in DESIGNED}
    assert all(path.is_file() for path in files.values())
    return {"files": files,
            "tol": tol, "edge": edge, "recipe_steps": {l["name"]: l["steps"] for l in layers},
            "designed4_error": worst_error(four, edge, 1.0)}


def band_width(band: dict) -> int:
    return int(band["width"])


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


def size_result(comparison, band: dict, designs: dict, figure: str) -> dict:
    from nsdesign.torch.training import band_edges, ns_share

    s = comparison.settings
    rows = []
    for summary, reach in zip(comparison.summaries, comparison.reach):
        runs = comparison.runs_of(summary.label)
        wall = [r.wall_seconds[-1] for r in runs]
        ns = [r.ns_seconds[-1] for r in runs]
        cpu = [r.cpu_seconds[-1] for r in runs if r.cpu_seconds]
        ns_cpu = [r.ns_cpu_seconds[-1] for r in runs if r.ns_cpu_seconds]
        full = len(cpu) == len(runs)
        last_band = [band_edges(r, EDGE_Q)[max(band_edges(r, EDGE_Q))] for r in runs if r.band]
        rows.append({
            "label": summary.label, "mean": summary.mean, "std": summary.std, "n": summary.n, "diverged": summary.diverged,
            "ns_gflop_per_step": runs[0].ns_flops_per_step / 1e9, "wall_s": float(np.mean(wall)), "ns_s": float(np.mean(ns)),
            "cpu_s": float(np.mean(cpu)) if full else None, "ns_cpu_s": float(np.mean(ns_cpu)) if full else None,
            "reach_cpu_s": reach.mean("cpu_seconds") if full else None, "ns_share": ns_share(runs),
            "reach_steps": reach.mean("steps"), "reach_gflop": None if reach.mean("ns_flops") is None else reach.mean("ns_flops") / 1e9,
            "reach_wall_s": reach.mean("wall_seconds"), "reach_ns_s": reach.mean("ns_seconds"), "reached": reach.reached,
            "band_edge_min": float(np.mean([b[0] for b in last_band])) if last_band else None,
            "band_edge_median": float(np.mean([b[1] for b in last_band])) if last_band else None,
        })
    diffs = {d.label: {"mean": d.mean, "std": d.std, "low": d.low, "high": d.high, "excludes_zero": d.excludes_zero}
             for d in comparison.differences}
    return {"model": s.model, "width": s.width, "n_layer": s.n_layer, "params": comparison.runs[0].model_params,
            "steps": s.train_steps, "seeds": list(comparison.seeds), "rows": rows, "differences": diffs,
            "band": {k: v for k, v in band.items() if k != "per_matrix"}, "band_per_matrix": band["per_matrix"],
            "designs": {"tol": designs["tol"], "edge": designs["edge"], "designed4_error": designs["designed4_error"],
                        "recipe_steps": designs["recipe_steps"]},
            "figure": figure, "seconds": comparison.seconds, "skipped": comparison.skipped,
            "run_seconds": float(sum(r.wall_seconds[-1] for r in comparison.runs)),
            "run_cpu_seconds": float(sum(r.cpu_seconds[-1] for r in comparison.runs if r.cpu_seconds)),
            "text_source": s.text_source, "text_bytes": s.text_bytes, "batch": s.batch, "seq_len": s.seq_len,
            "band_steps": list(s.band_at)}


def band_figure(sizes: list, dpi: int):
    fig = common.figure((6.5 * len(sizes), 4.0), dpi)
    axes = fig.subplots(1, len(sizes), squeeze=False)[0]
    from nsdesign.plot import PALETTE

    for ax, size in zip(axes, sizes):
        common.style(ax)
        labels = [r["label"] for r in size["rows"]]
        x = np.arange(len(labels))
        mins = [r["band_edge_min"] or np.nan for r in size["rows"]]
        meds = [r["band_edge_median"] or np.nan for r in size["rows"]]
        ax.scatter(x, mins, color=PALETTE[0], label=f"measured: smallest matrix q={EDGE_Q}", zorder=3)
        ax.scatter(x, meds, color=PALETTE[1], marker="s", label=f"measured: median matrix q={EDGE_Q}", zorder=3)
        ax.axhline(size["band"]["edge"], color="#444444", linestyle="--", linewidth=1, label="band the designs assumed")
        ax.set_yscale("log")
        ax.set_xticks(x, labels, rotation=35, ha="right", fontsize=8)
        ax.set_ylabel("σ / ‖M‖_F at the last band step")
        ax.set_title(f"{size['model']} ({size['width']}×{size['n_layer']})", fontsize=10)
        ax.legend(fontsize=7)
    return fig


def _reused_text(results: dict) -> str:
    n = results["reused_runs"]
    if n <= 0:
        return "it trained every run itself;"
    return (f"it loaded {n} runs that were already finished (trained by `run.py --worker` on the other core, with "
            "the same run keys, or by an earlier, interrupted invocation);")


def _load_text(results: dict) -> str:
    span = results.get("load_during_runs")
    low_high = f"{span[0]:.1f}–{span[1]:.1f}, " if span else ""
    return f"{low_high}at the end {results['load']}"


def _share(row: dict) -> str:
    """NS share of a step's time (`nsdesign.torch.training.ns_share`: CPU seconds where recorded, else wall)."""
    return "—" if row["ns_share"] is None else f"{100 * row['ns_share']:.0f}%"


def _s(seconds) -> str:
    return "—" if seconds is None else f"{seconds:.1f} s"


def _pm(mean, std) -> str:
    if mean is None or not math.isfinite(mean):
        return "diverged"
    return f"{mean:.4f} ± {std:.4f}" if std is not None and math.isfinite(std) else f"{mean:.4f}"


def readme(results: dict, quick: bool) -> str:
    sections = []
    verdicts = []
    shares: list = []
    for size in results["sizes"]:
        rows = size["rows"]
        d = size["differences"]
        table_loss = common.markdown_table(
            ["schedule", "final val loss (mean ± std)", "Δ vs keller5 (mean)", "95% CI", "NS GFLOP/step", "NS CPU s",
             "CPU s", "NS share", "wall s"],
            [[f"`{r['label']}`", _pm(r["mean"], r["std"]),
              "—" if r["label"] == "keller5" else f"{d[r['label']]['mean']:+.4f}",
              "—" if r["label"] == "keller5" else f"[{d[r['label']]['low']:+.4f}, {d[r['label']]['high']:+.4f}]",
              r["ns_gflop_per_step"], r.get("ns_cpu_s"), r.get("cpu_s"), _share(r), r["wall_s"]] for r in rows], digits=4)
        table_reach = common.markdown_table(
            ["schedule", "reached (seeds)", "steps", "NS GFLOP", "CPU s", "wall s"],
            [[f"`{r['label']}`", f"{r['reached']}/{r['n']}", r["reach_steps"], r["reach_gflop"], r.get("reach_cpu_s"),
              r["reach_wall_s"]] for r in rows], digits=4)
        table_band = common.markdown_table(
            ["schedule", f"smallest matrix σ(q={EDGE_Q})", f"median matrix σ(q={EDGE_Q})"],
            [[f"`{r['label']}`", r["band_edge_min"], r["band_edge_median"]] for r in rows], digits=3)
        better = [k for k, v in d.items() if v["excludes_zero"] and v["mean"] < 0]
        worse = [k for k, v in d.items() if v["excludes_zero"] and v["mean"] > 0]
        tied = [k for k, v in d.items() if not v["excludes_zero"]]
        designed = ("designed5", "designed4", "schatten8_4", "recipe")
        base = next(r for r in rows if r["label"] == "keller5")
        lines = []
        for label in designed:
            if label not in d:
                continue
            r = next(r for r in rows if r["label"] == label)
            v = d[label]
            verdict = ("lower loss than keller5 (CI excludes 0)" if label in better else
                       "higher loss than keller5 (CI excludes 0)" if label in worse else
                       "no loss difference from keller5 resolved at this number of seeds (CI contains 0)")
            lines.append(f"- `{label}` on {size['model']}: {verdict}; Δ = {v['mean']:+.4f} "
                         f"[{v['low']:+.4f}, {v['high']:+.4f}]; NS {r['ns_gflop_per_step']:.3g} GFLOP/step vs "
                         f"keller5's {rows[0]['ns_gflop_per_step']:.3g}; training CPU time {_s(r.get('cpu_s'))} vs "
                         f"{_s(base.get('cpu_s'))}; reached keller5's final loss in {r['reached']}/{r['n']} seeds.")
        presets = [r for r in rows if r["label"] in PRESETS]
        for label in designed:
            r = next((r for r in rows if r["label"] == label), None)
            if r is None:
                continue
            beaten = [p["label"] for p in presets if p["mean"] < r["mean"]]
            if r["reach_gflop"] is None:
                reach_text = (f"it did not reach keller5's final loss in every seed ({r['reached']}/{r['n']}), so it "
                              "has no NS-FLOP cost to that loss")
            else:
                cheaper = [p["label"] for p in presets if p["reach_gflop"] is not None and p["reach_gflop"] < r["reach_gflop"]]
                quicker = [p["label"] for p in presets if p.get("reach_cpu_s") is not None and r.get("reach_cpu_s")
                           is not None and p["reach_cpu_s"] < r["reach_cpu_s"]]
                reach_text = ("presets reaching keller5's final loss with fewer NS FLOPs: "
                              f"{', '.join(f'`{c}`' for c in cheaper) or 'none'}; in less CPU time: "
                              f"{', '.join(f'`{c}`' for c in quicker) or 'none'}")
            lines.append(f"- `{label}` on {size['model']}: presets with a lower mean final loss: "
                         f"{', '.join(f'`{b}`' for b in beaten) or 'none'}; {reach_text} (means over seeds; see the "
                         "intervals before reading a ranking into them).")
        resolved = [f"`{k}` {v['mean']:+.4f} [{v['low']:+.4f}, {v['high']:+.4f}]" for k, v in d.items() if v["excludes_zero"]]
        lines.insert(0, f"- {size['model']}: differences from keller5 whose 95% interval excludes 0: "
                        f"{'; '.join(resolved) or 'none'}.")
        verdicts.extend(lines)
        shares.extend(100 * r["ns_share"] for r in rows if r["ns_share"] is not None)
        b = size["band"]
        steps_text = ", ".join(f"`{k.replace('.weight', '')}` {v}" for k, v in size["designs"]["recipe_steps"].items())
        sections.append(f"""## {size['model']}: width {size['width']}, {size['n_layer']} blocks, {size['params']:,} parameters, {size['steps']} steps

Band captured on this model's own momentum (keller5, seed 0, steps {b['steps']}): smallest matrix's σ at q = {EDGE_Q}
(descending rank) **L = {b['edge']:.4g}**, largest normalized σ_max {b['sigma_max']:.3g}. `designed5` / `designed4` are
`nsdesign search --min-sigma {b['edge']:.4g} --steps 5|4 {' '.join(KNOBS)}`; the 5-step design's exact worst error on
[L, 1] is {size['designs']['tol']:.4g}, the 4-step one's {size['designs']['designed4_error']:.4g}. The recipe's steps
per matrix (each on its own measured edge, same tolerance): {steps_text}.

Final validation loss (nats/byte, {len(size['seeds'])} seeds; Δ = schedule − keller5 paired by seed, 95% Student-t
interval), NS FLOPs per training step (all Muon matrices, standard form), and measured seconds of the training steps
(evaluation excluded; means over seeds): process CPU time, of which "NS CPU s" inside Newton–Schulz calls (measured
separately), their ratio "NS share", and wall time:

{table_loss}

Cost of reaching keller5's final validation loss (per seed, keller5's own final loss of that seed is the target;
the crossing is interpolated linearly between evaluations every {results.get('eval_every', '')} steps; mean over seeds, "—" when some seed never got there):

{table_reach}

Momentum band measured during training under each schedule (last band step, mean over seeds) against the band the
designs assumed (L = {b['edge']:.4g}):

{table_band}

![loss curves]({size['figure']})
""")
    seconds = results["seconds"]
    head = "**QUICK RUN** — checks the code path, not the science.\n\n" if quick else ""
    return f"""# Does a designed schedule train better?

{head}End-to-end Muon training on byte-level GPTs (`nsdesign.torch.model`, the models of `nsdesign capture`) with
`nsdesign.torch.train_compare`: each schedule × seed trains from the same initialization on the same batch order
(both fixed by the seed), Muon (lr 0.02, momentum 0.95, Nesterov, fp32 Newton–Schulz on the CPU) on the hidden
matrices and AdamW (lr 3e-3) on embeddings, head and norms, warm-up then a linear decay over the last 40% of steps;
validation on fixed windows of the held-out last 10% of the text ({results['sizes'][0]['text_source']},
{results['sizes'][0]['text_bytes']:,} bytes), batch {results['sizes'][0]['batch']} × {results['sizes'][0]['seq_len']} bytes.

Compared: `keller5` (baseline), `polar_express_modded5`, `deepseek_v4_10`, the relaxed cubic `cubic5_eo`
(arXiv 2606.00371; 2 matmuls per step), and three schedules designed for the band measured on these models' own
momentum: `designed5`, `designed4` (one step fewer), `schatten8_4` (4 steps designed with
`nsdesign search --normalize schatten8` and run by Muon with the Schatten-8 normalizer the file records; its NS FLOPs
count the schedule's matmuls plus the normalizer's own O(m²) work, `Normalizer.extra_flops`: A² is the
first step's product anyway), and a per-matrix `recipe`.

    {results['command']}

Runtime: {seconds:.0f} s ({seconds / 60:.1f} min) wall for this invocation (finished {results['finished_utc']});
{_reused_text(results)} the training steps of all {sum(len(s['rows']) * len(s['seeds']) for s in results['sizes'])} runs took
{results['run_cpu_seconds_sum'] / 60:.1f} min of CPU time and {results['run_seconds_sum'] / 60:.1f} min of wall time in
total (run files written from {results['run_files_written'][0]} to {results['run_files_written'][1]}), on
{results['machine']}; torch limited to 1 thread per process; 1-minute load average as the runs finished
{_load_text(results)}. Compare schedules by NS FLOPs and by CPU seconds: with torch on one thread, a process's CPU
time is the work of its single thread and moves much less than wall time when other jobs share the cores (the wall
seconds are reported too, since they were measured). No GPU was available for this run, so the `--device cuda`
path was not run here.

{chr(10).join(sections)}
## Where designed schedules do not win

{chr(10).join(verdicts)}

At these sizes Newton–Schulz takes {min(shares):.0f}–{max(shares):.0f}% of a training step's measured time (column
"NS share"), so even a schedule with a third fewer NS FLOPs can save at most that share of the wall time; and with {len(results['sizes'][0]['seeds'])} seeds, loss differences of
order 1e-3 nats/byte are below what the intervals resolve. These are CPU-scale models (width ≤ {max(s['width'] for s in results['sizes'])}, {max(s['steps'] for s in results['sizes'])} steps, at most {max(s['params'] for s in results['sizes']):,} parameters);
nothing here says how the comparison goes at the 77M–2.8B scale of the momentum-law paper.

![band](band.png)

Files: `comparison_*.json` (every run: validation curve, times, band quantiles; summary statistics),
`runs/` (one JSON per finished run: the resume store), `schedules/` (the designed schedules and recipe),
`results.json` (the tables above).
"""


if __name__ == "__main__":
    main()
