"""Study: momentum spectral scaling laws (arXiv 2606.04058) → predicted bands at 7B…1T → what schedules do there.

1. Fit the shipped Fig. 16 data (nsdesign.laws.momentum) and set the fitted exponents beside the paper's quoted ones.
2. Predict the band edge σ_q at 7B, 70B, 300B, 1T with 95% prediction intervals (nsdesign.laws.predict_band).
3. On each predicted band [σ_q(M), 1]: the exact worst error of every preset and of schedules designed for it.
4. Small-scale replication: train small GPT models on CPU with `nsdesign.torch.capture_momentum`, fit their
   momentum quantiles with the same code, compare exponents, and divide the mid-layer quantiles by the
   Marchenko–Pastur quantiles of the same shapes.

    python studies/spectral_laws/run.py            # full run (≈2–3 min on an idle 2-core CPU, most of it training four small models)
    python studies/spectral_laws/run.py --quick    # seconds; tiny models, few steps (used by the tests)
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import _common as common  # noqa: E402

import nsdesign as ns  # noqa: E402
from nsdesign.laws import predict_band  # noqa: E402
from nsdesign.laws.momentum import fit_file, load_laws, read_measurements, shipped_csv_path  # noqa: E402
from nsdesign.plot import PALETTE, laws_figure  # noqa: E402

SIZES = (7e9, 7e10, 3e11, 1e12)
SIZE_NAMES = ("7B", "70B", "300B", "1T")
# arXiv 2606.04058's quoted exponents. MLP: the figure's labels appear swapped (docs/background.md §4); nsdesign's data file
# attributes the steep 0.96 law to the down-projection, so the quoted "MLP 0.52 and 0.96" map to up and down here.
QUOTED = {"final.q": 0.46, "final.k": 0.38, "final.v": 0.58, "final.o": 0.66, "final.mlp_up": 0.52,
          "final.mlp_down": 0.96, "mid_late.q": 0.27}
SHOWN_LAYERS = ("mid_late.q", "mid.mlp_up", "final.q", "final.o", "final.mlp_up", "final.mlp_down")
TOL = 0.1


def pe_recipe(lo: float, steps: int) -> ns.Schedule:
    design = ns.greedy(lo / 1.02, 1.0 / 1.02, steps=steps, cushion=0.02, safety=1.02)
    return ns.Schedule(design.schedule.steps, 1.02)


def main() -> None:
    args, timer, dpi = common.start(HERE, __doc__)
    out: Path = args.out
    table = load_laws()

    # -- 1. fits vs quoted ------------------------------------------------------------------------
    refit = fit_file(shipped_csv_path())  # the shipped table must be exactly this fit
    assert all(math.isclose(a.alpha, b.alpha, rel_tol=1e-9) for a, b in zip(refit.laws, table.laws))
    fits = []
    for layer in table.layers():
        depth, matrix = layer.split(".")
        pooled = table.pooled_exponent(depth, matrix)
        per_q = {law.quantile: law for law in table.for_layer(layer)}
        fits.append({
            "layer": layer, "pooled_alpha": pooled.alpha, "pooled_alpha_se": pooled.alpha_se,
            "quoted_alpha": QUOTED.get(layer),
            "alpha_q0.5": per_q[0.5].alpha, "alpha_q0.9": per_q[0.9].alpha,
            "r2_q0.5": per_q[0.5].r2, "curvature_t_q0.5": per_q[0.5].curvature_t,
        })

    # -- 2. predicted bands -----------------------------------------------------------------------
    bands = []
    for layer in table.layers():
        for q in (0.5, 0.9):
            for size, name in zip(SIZES, SIZE_NAMES):
                p = predict_band(q, model_size=size, layer=layer)
                bands.append({"layer": layer, "q": q, "size": name, "params": size, "sigma": p.min_sigma,
                              "low95": p.interval[0], "high95": p.interval[1]})

    # -- 3. schedules on the predicted bands ------------------------------------------------------
    presets = [n for n in ns.preset_names() if ns.preset(n).norm_div is not None]
    cases = {"final.mlp_down q=0.5 (hardest)": ("final.mlp_down", 0.5),
             "final.o q=0.5": ("final.o", 0.5),
             "mid_late.q q=0.5 (typical)": ("mid_late.q", 0.5),
             "mid_late.q q=0.9 (conservative)": ("mid_late.q", 0.9)}
    on_bands = {}
    for label, (layer, q) in cases.items():
        rows = {}
        edges = [predict_band(q, model_size=s, layer=layer).min_sigma for s in SIZES]
        for name in presets:
            rows[name] = [ns.worst_error(ns.preset(name), e, 1.0) for e in edges]
        rows["greedy5 for the band"] = [ns.greedy(e, steps=5).error for e in edges]
        rows["pe_recipe5 for the band"] = [ns.worst_error(pe_recipe(e, 5), e, 1.0) for e in edges]
        rows["pe_recipe8 for the band"] = [ns.worst_error(pe_recipe(e, 8), e, 1.0) for e in edges]
        rows[f"k*: greedy steps for δ={TOL:g}"] = [ns.min_steps(e, TOL) for e in edges]
        on_bands[label] = {"edges": edges, "rows": rows}

    # -- 4. small-scale replication ---------------------------------------------------------------
    replication = capture_and_fit(args.quick, out)

    # -- figures ----------------------------------------------------------------------------------
    figures = {
        "laws": common.save(laws_figure(quantile=0.5, dpi=dpi), out / "laws_q0.5.png"),
        "exponents": common.save(figure_exponents(fits, replication, dpi), out / "exponents.png"),
        "errors": common.save(figure_errors(on_bands, dpi), out / "errors_on_predicted_bands.png"),
    }
    if replication.get("fits"):
        figures["replication"] = common.save(figure_replication(replication, dpi), out / "replication.png")

    runtime = timer.seconds()
    common.write_json(out / "results.json", {
        "quick": args.quick, "runtime_s": runtime, "machine": common.machine(), "fits": fits, "bands": bands,
        "schedules_on_bands": on_bands, "replication": replication,
    })
    common.write_csv(out / "fits.csv", list(fits[0]), [list(f.values()) for f in fits])
    common.write_csv(out / "bands.csv", list(bands[0]), [list(b.values()) for b in bands])
    (out / "README.md").write_text(readme(args.quick, runtime, fits, bands, on_bands, replication, figures),
                                   encoding="utf-8")
    print(f"spectral_laws: {runtime:.1f} s → {out}")


def capture_and_fit(quick: bool, out: Path) -> dict:
    """Train small models, capture momentum quantiles, fit them. Returns what was done (or why not)."""
    try:
        from nsdesign.torch import capture_momentum
    except (ImportError, AttributeError) as exc:  # pragma: no cover - the optional layer is missing
        return {"done": False, "reason": f"nsdesign.torch.capture is not available ({exc})"}
    if quick:
        settings = {"sizes": ("nano", "64x2", "96x2"), "steps": 4, "batch": 2, "seq_len": 32,
                    "max_text_bytes": 1 << 16}
    else:
        settings = {"sizes": ("32x4", "tiny", "mini", "small"), "steps": 300, "batch": 16, "seq_len": 128,
                    "max_text_bytes": 4 << 20}
    work = Path(tempfile.mkdtemp(prefix="nsdesign-capture-"))
    try:
        result = capture_momentum(work, progress=lambda m: common.note(f"  capture: {m}"), **settings)
        shutil.copyfile(result.quantiles_csv, out / "captured_momentum_quantiles.csv")
        shutil.copyfile(result.by_step_csv, out / "captured_momentum_quantiles_by_step.csv")
        shutil.copyfile(result.manifest, out / "capture.json")
        fitted = fit_file(out / "captured_momentum_quantiles.csv", source="nsdesign capture (this study)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    fits = []
    for layer in fitted.layers():
        depth, matrix = layer.split(".")
        pooled = fitted.pooled_exponent(depth, matrix)
        fits.append({"layer": layer, "pooled_alpha": pooled.alpha, "pooled_alpha_se": pooled.alpha_se})
    points = [{"layer": f"{m.depth}.{m.matrix}", "q": m.quantile, "params": m.model_params, "sigma": m.sigma}
              for m in read_measurements(out / "captured_momentum_quantiles.csv").measurements]
    widths = {r.model_params: r.size.width for r in result.sizes}
    return {
        "done": True, "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
        "mp_ratios": mid_layer_mp_ratios(points, widths),
        "sizes": [{"name": r.size.name, "width": r.size.width, "layers": r.size.n_layer, "params": r.model_params,
                   "eval_loss_before": r.eval_loss_before, "eval_loss_after": r.eval_loss_after,
                   "seconds": r.seconds} for r in result.sizes],
        "text_source": result.text_source, "fits": fits, "points": points,
        "law_table": fitted.document(),
    }


MP_DEPTH = "mid"
MP_QUANTILES = (0.5, 0.9)


def mid_layer_mp_ratios(points: list[dict], widths: dict[int, int]) -> list[dict]:
    """σ_q of each mid-depth momentum buffer over the Marchenko–Pastur σ_q of a Gaussian matrix of its shape.

    Below 1 means the real buffer's spectrum reaches further down than a random matrix's: the band a
    schedule must cover is wider than the random-matrix law predicts (the capture model's q/k/v/o are
    width×width, its MLP matrices width×4·width).
    """
    from nsdesign.core.cost import Shape
    from nsdesign.laws.marchenko_pastur import quantile as mp_quantile

    out = []
    for point in points:
        depth, matrix = point["layer"].split(".")
        if depth != MP_DEPTH or not any(math.isclose(point["q"], q) for q in MP_QUANTILES):
            continue
        width = widths[point["params"]]
        shape = Shape(width, 4 * width) if matrix.startswith("mlp") else Shape(width, width)
        mp = mp_quantile(point["q"], shape)
        out.append({"layer": point["layer"], "q": point["q"], "params": point["params"], "width": width,
                    "sigma": point["sigma"], "mp_sigma": mp, "ratio": point["sigma"] / mp})
    return out


# --------------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------------


def figure_exponents(fits, replication, dpi):
    fig = common.figure((11, 4.4), dpi)
    ax = fig.subplots()
    common.style(ax)
    layers = [f["layer"] for f in fits]
    x = list(range(len(layers)))
    ax.bar([i - 0.27 for i in x], [f["pooled_alpha"] for f in fits], width=0.27, color=PALETTE[0],
           yerr=[1.96 * f["pooled_alpha_se"] for f in fits], capsize=2, label="fitted (shipped Fig. 16 data), ±1.96 se")
    quoted = [(i, f["quoted_alpha"]) for i, f in zip(x, fits) if f["quoted_alpha"] is not None]
    ax.bar([i for i, _ in quoted], [a for _, a in quoted], width=0.27, color=PALETTE[1], label="quoted in the paper")
    if replication.get("fits"):
        mine = {f["layer"]: f for f in replication["fits"]}
        rows = [(i, mine[l]) for i, l in zip(x, layers) if l in mine]
        ax.bar([i + 0.27 for i, _ in rows], [f["pooled_alpha"] for _, f in rows], width=0.27, color=PALETTE[2],
               yerr=[1.96 * f["pooled_alpha_se"] for _, f in rows], capsize=2,
               label="small-scale replication (this study, CPU)")
    ax.set_xticks(x, layers, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("exponent α in σ_q ≈ C·M^−α (pooled over q)")
    ax.axhline(0, color="#333333", linewidth=0.6)
    ax.legend(fontsize="small")
    fig.suptitle("Momentum-quantile exponents: fitted vs quoted (arXiv 2606.04058)")
    return fig


def figure_errors(on_bands, dpi):
    fig = common.figure((11, 4.6), dpi)
    labels = list(on_bands)[:2] + list(on_bands)[2:3]
    axes = fig.subplots(1, len(labels), sharey=True)
    keep = ("keller5", "polar_express_modded5", "polar_express_pkg10", "deepseek_v4_10", "polar_express_l1e-4_12",
            "greedy5 for the band", "pe_recipe5 for the band", "pe_recipe8 for the band")
    for ax, label in zip(axes, labels):
        common.style(ax)
        rows = on_bands[label]["rows"]
        for i, name in enumerate(keep):
            ax.plot(range(len(SIZES)), [max(v, 1e-16) for v in rows[name]], "o-", color=PALETTE[i % len(PALETTE)],
                    markersize=4, linewidth=1.2, label=name)
        ax.set_xticks(range(len(SIZES)), SIZE_NAMES)
        ax.set_yscale("log")
        ax.set_title(label, fontsize="medium")
        ax.set_xlabel("model size (band edge from the law)")
    axes[0].set_ylabel("exact worst error max|1 − F| on [σ_q(M), 1]")
    axes[-1].legend(fontsize="x-small", loc="lower right")
    fig.suptitle("What each schedule does on the predicted band (exact)")
    return fig


def figure_replication(replication, dpi):
    fig = common.figure((11, 4.4), dpi)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, q in zip(axes, (0.5, 0.9)):
        common.style(ax)
        layers = sorted({p["layer"] for p in replication["points"]})
        for i, layer in enumerate([l for l in layers if l.startswith(("mid_late", "final"))]):
            pts = sorted((p["params"], p["sigma"]) for p in replication["points"] if p["layer"] == layer and p["q"] == q)
            ax.plot([a for a, _ in pts], [b for _, b in pts], "o-", color=PALETTE[i % len(PALETTE)], markersize=4,
                    linewidth=1.0, label=layer)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("model parameters")
        ax.set_title(f"captured σ_q, q = {q:g}")
    axes[0].set_ylabel("σ_q of M/‖M‖_F (median over captured steps)")
    axes[1].legend(fontsize="x-small", ncols=2)
    fig.suptitle("Small-scale replication: momentum quantiles of CPU-trained byte-level GPTs")
    return fig


# --------------------------------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------------------------------


def readme(quick, runtime, fits, bands, on_bands, replication, figures) -> str:
    fit_rows = [[f"`{f['layer']}`", f["pooled_alpha"], f["pooled_alpha_se"], f["quoted_alpha"], f["alpha_q0.5"],
                 f["alpha_q0.9"], f["r2_q0.5"], f["curvature_t_q0.5"]] for f in fits]
    table_fit = common.markdown_table(["layer", "α pooled", "± se", "α quoted", "α (q=0.5)", "α (q=0.9)", "R² (q=0.5)",
                                       "curvature t (q=0.5)"], fit_rows, digits=3)
    band_rows = []
    for layer in SHOWN_LAYERS:
        for q in (0.5, 0.9):
            cells = [f"`{layer}`", q]
            for name in SIZE_NAMES:
                b = next(b for b in bands if b["layer"] == layer and b["q"] == q and b["size"] == name)
                cells.append(f"{b['sigma']:.2e} [{b['low95']:.1e}, {b['high95']:.1e}]")
            band_rows.append(cells)
    table_band = common.markdown_table(["layer", "q"] + [f"σ_q at {n} [95%]" for n in SIZE_NAMES], band_rows)
    sections = []
    for label, data in on_bands.items():
        rows = [[f"`{name}`"] + values for name, values in data["rows"].items()]
        header = ["schedule"] + [f"{n} (l={e:.2g})" for n, e in zip(SIZE_NAMES, data["edges"])]
        sections.append(f"### {label}\n\n" + common.markdown_table(header, rows, digits=3))
    quoted_dev = max(abs(f["pooled_alpha"] - f["quoted_alpha"]) for f in fits if f["quoted_alpha"] is not None)
    hardest = on_bands["final.mlp_down q=0.5 (hardest)"]
    k_star = hardest["rows"][f"k*: greedy steps for δ={TOL:g}"]
    pe_err = hardest["rows"]["polar_express_modded5"]
    return f"""# Spectral scaling laws → predicted bands → schedules

{"**QUICK RUN (tiny models; not the committed results).**" if quick else ""}

**Command:** `{common.command("spectral_laws", quick)}` — **runtime** {runtime:.0f} s on {common.machine()}
(1-minute load average at the end: {common.load()}; other jobs shared the cores).
Outputs: `results.json` (everything), `fits.csv`, `bands.csv` (all 24 layers, q = 0.5 and 0.9, four sizes),
`captured_momentum_quantiles*.csv` + `capture.json` (the replication's raw data), figures.

## 1. Fits of the shipped Fig. 16 data against the quoted exponents

Least squares on (ln M, ln σ_q) per layer and quantile (`nsdesign.laws.momentum`, the same code as `nsdesign fit`;
the shipped law table is re-derived from the CSV and checked equal). "Pooled" = one slope per layer over all five
quantiles (separate intercepts), the reading that matches the paper's quoted numbers: the largest difference to a
quoted exponent is {quoted_dev:.3f} (the data are read off a vector figure, ±0.3%). The MLP attribution follows the
data file (the figure's up/down labels appear swapped). Negative curvature t = concave in log–log (the final block's
laws bend down: extrapolating a straight line overstates σ_q, i.e. the real band is likely wider).

{table_fit}

![exponents](exponents.png)

## 2. Predicted band edges (σ_q and 95% prediction interval)

From `nsdesign.laws.predict_band` (exp of ln σ̂ ± t₉₅·se, line uncertainty plus scatter). Every size here is
2.5×–360× beyond the largest fitted model (2.8B): these are extrapolations, and the intervals only cover the
statistical part of the uncertainty, not a change of law.

{table_band}

![laws](laws_q0.5.png)

## 3. What each schedule does on the predicted band

Exact worst error max|1 − F| on [σ_q(M), 1] (interval propagation, no sampling), for every Frobenius-scaled preset
and for schedules designed for that band: `greedy5` (worst-case optimum, no headroom), `pe_recipe5/8` (Polar Express
recipe: cushion 0.02, safety 1.02, norm_div 1.02, designed to cover [σ_q, 1]) and k*, the fewest greedy quintic
steps reaching δ = {TOL:g}.

{(chr(10) + chr(10)).join(sections)}

On the hardest band (final-block MLP down-projection, q = 0.5) the fewest quintic steps reaching δ = {TOL:g} are
{", ".join(f"{k} at {n}" for k, n in zip(k_star, SIZE_NAMES))}; `polar_express_modded5` (designed for 1e-3) has worst
error {", ".join(f"{e:.3g}" for e in pe_err)} there.

![errors](errors_on_predicted_bands.png)

{replication_section(replication, fits)}
"""


def replication_section(replication, fits) -> str:
    if not replication.get("done"):
        return ("## 4. Small-scale replication — TODO, NOT DONE\n\n"
                f"Not run: {replication.get('reason')}.\n")
    s = replication["settings"]
    size_rows = [[r["name"], r["width"], r["layers"], r["params"], r["eval_loss_before"], r["eval_loss_after"],
                  r["seconds"]] for r in replication["sizes"]]
    table_sizes = common.markdown_table(["size", "width", "layers", "params", "eval loss before", "eval loss after",
                                         "train s"], size_rows)
    paper = {f["layer"]: f for f in fits}
    rows = [[f"`{f['layer']}`", f["pooled_alpha"], f["pooled_alpha_se"], paper[f["layer"]]["pooled_alpha"]]
            for f in replication["fits"] if f["layer"] in paper]
    table_fits = common.markdown_table(["layer", "α pooled (replication)", "± se", "α pooled (paper data)"], rows,
                                       digits=3)
    agree = sum(1 for f in replication["fits"] if f["layer"] in paper and f["pooled_alpha"] > 0)
    ours = [r["params"] for r in replication["sizes"]]
    theirs = (7.7e7, 2.8e9)  # the model sizes of the shipped Fig. 16 data
    gap = f"{math.log10(theirs[0] / max(ours)):.1f}–{math.log10(theirs[1] / min(ours)):.1f}"
    ranked = sorted(replication["fits"], key=lambda f: -f["pooled_alpha"])
    steepest = ", ".join(f"`{f['layer']}` ({f['pooled_alpha']:.2f})" for f in ranked[:3])
    paper_steepest = ", ".join(f"`{f['layer']}` ({f['pooled_alpha']:.2f})"
                               for f in sorted(fits, key=lambda f: -f["pooled_alpha"])[:3])
    ratios = replication.get("mp_ratios", [])
    sizes = sorted({r["params"] for r in ratios})
    mp_rows = []
    for q in MP_QUANTILES:
        for layer in sorted({r["layer"] for r in ratios}):
            row = {r["params"]: r["ratio"] for r in ratios if r["layer"] == layer and math.isclose(r["q"], q)}
            if row:
                mp_rows.append([f"`{layer}`", q] + [row.get(size, float("nan")) for size in sizes])
    width_of = {r["params"]: r["width"] for r in ratios}
    table_mp = common.markdown_table(["layer", "q"] + [f"width {width_of[size]}" for size in sizes], mp_rows, digits=3)
    all_ratios = [r["ratio"] for r in ratios]
    mp_summary = (f"Ratios range from {min(all_ratios):.3g} to {max(all_ratios):.3g} (median "
                  f"{sorted(all_ratios)[len(all_ratios) // 2]:.3g}; {sum(x < 1 for x in all_ratios)} of {len(all_ratios)} "
                  "below 1)." if all_ratios else "No mid-depth points were captured.")
    return f"""## 4. Small-scale replication (CPU)

`nsdesign.torch.capture_momentum` trains byte-level GPTs of {len(replication["sizes"])} widths on {replication["text_source"]}
with nsdesign's Muon (`keller5`, fp32 NS on CPU) for {s["steps"]} steps (batch {s["batch"]}, sequence {s["seq_len"]}),
captures every block's Frobenius-normalized momentum buffer at the default steps (half-way, three quarters, end),
and takes the median quantile over those steps; `nsdesign fit` (the same code as §1) fits the laws.

{table_sizes}

{table_fits}

Training times are wall-clock seconds on the 2-core machine, which other jobs shared during the runs: they vary
with load, not only with size.

Positive exponent (σ_q shrinking with size) in {agree} of {len(replication["fits"])} layers. Steepest laws here:
{steepest}; in the paper's data: {paper_steepest}. Caveats: these models are {gap} orders of magnitude smaller
than the paper's (77M–2.8B), trained for {s["steps"]} steps on a few MB of text, and span only
{max(ours) / min(ours):.0f}× in parameters at a fixed depth of 4 blocks, so the exponents carry large standard
errors and need not match the paper's values. This checks the pipeline (capture → quantiles → fit) and the sign of
the effect; it does not replicate the exponents.

**Mid-layer ratio to Marchenko–Pastur.** σ_q of each `{MP_DEPTH}` momentum buffer divided by the MP σ_q of a
Gaussian matrix of the same shape (q/k/v/o: width×width; MLP: width×4·width). Below 1, the real buffer's small
singular values sit deeper than a random matrix's, so an MP-sized band is too narrow for it.

{table_mp}

{mp_summary}

![replication](replication.png)
"""


if __name__ == "__main__":
    main()
