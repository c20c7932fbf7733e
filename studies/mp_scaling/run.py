"""Study: Marchenko–Pastur scaling of Frobenius-normalized random matrices, and what it does to Newton–Schulz.

For i.i.d. Gaussian m×n matrices (square and 1:4) of growing size: singular-value histograms before and after
5 steps of `keller5`, the 1/√min(m, n) shrinkage of the spectrum and the heavier tail it leaves below 0.6 after NS
(arXiv 2505.04005); then the same with schedules designed for the Marchenko–Pastur band (nsdesign.greedy with
min_sigma = the MP quantile from nsdesign.laws.marchenko_pastur); measured quantiles against the MP prediction.

    python studies/mp_scaling/run.py            # full run (≈1 min on an idle 2-core CPU)
    python studies/mp_scaling/run.py --quick    # seconds; tiny matrices (used by the tests)
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import _common as common  # noqa: E402
import numpy as np  # noqa: E402

import nsdesign as ns  # noqa: E402
from nsdesign.laws import marchenko_pastur as mp  # noqa: E402
from nsdesign.plot import PALETTE, newton_schulz, singular_values  # noqa: E402
from nsdesign.plot.matrices import backend, gaussian_matrix  # noqa: E402

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
BAND_Q = 0.9  # design band edge: 90% of the directions above it (docs/background.md §4: conservative)
TAIL = 0.6  # "heavier tail below 0.6" (arXiv 2505.04005)
DTYPE = "float32"


def shapes(quick: bool) -> list[tuple[int, int]]:
    if quick:
        return [(32, 32), (64, 64), (32, 128)]
    return [(128, 128), (256, 256), (512, 512), (1024, 1024), (2048, 2048), (4096, 4096), (8192, 8192),
            (128, 512), (256, 1024), (512, 2048), (1024, 4096), (2048, 8192)]


def pe_recipe(lo: float, hi: float, steps: int = 5) -> ns.Schedule:
    """Polar Express recipe (cushion 0.02, safety 1.02, run with norm_div 1.02) covering σ ∈ [lo, hi]."""
    design = ns.greedy(lo / 1.02, hi / 1.02, steps=steps, cushion=0.02, safety=1.02)
    return ns.Schedule(design.schedule.steps, 1.02)


DEEP_Q = 0.99  # a deeper band edge: at most 1% of the directions below it


def schedules_for(shape: ns.Shape) -> dict[str, ns.Schedule]:
    lo = mp.quantile(BAND_Q, shape)
    top = 1.1 * mp.band_edge_support(shape)[1]  # 10% above the MP upper edge
    return {
        "keller5": ns.preset("keller5"),
        "polar_express_modded5": ns.preset("polar_express_modded5"),
        "mp5 [l_q, 1]": pe_recipe(lo, 1.0),
        "mp5 [l_q, 1.1·u_MP]": pe_recipe(lo, top),
        "mp5 [l_0.99, 1.1·u_MP]": pe_recipe(mp.quantile(DEEP_Q, shape), top),
    }


def descending_quantiles(sigma: np.ndarray, qs=QUANTILES) -> list[float]:
    r = len(sigma)
    return [float(sigma[int(math.ceil(q * r)) - 1]) for q in qs]


def main() -> None:
    args, timer, dpi = common.start(HERE, __doc__)
    out: Path = args.out

    results = []
    spectra: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    todo = shapes(args.quick)
    with common.progress(len(todo), "mp_scaling", "shape") as bar:
        for m, n in todo:
            shape = ns.Shape(m, n)
            t0 = common.Timer()
            x = gaussian_matrix((m, n), seed=0)
            before = singular_values(x / np.linalg.norm(x))
            row = {
                "shape": [m, n], "ratio": m / n,
                "measured_quantiles": descending_quantiles(before),
                "mp_quantiles": [mp.quantile(q, shape) for q in QUANTILES],
                "sigma_min": float(before[-1]), "sigma_max": float(before[0]),
                "mp_support": list(mp.band_edge_support(shape)),
                "band": [mp.quantile(BAND_Q, shape), 1.0],
                "after": {},
            }
            spectra[(m, n)] = {"before": before}
            lo_band, hi_mp = row["band"][0], row["mp_support"][1]
            for name, schedule in schedules_for(shape).items():
                after = singular_values(newton_schulz(x, schedule, DTYPE))
                spectra[(m, n)][name] = after
                exact = ns.evaluate(schedule, lo_band, hi_mp)
                row["after"][name] = {
                    "coefficients": schedule.coefficients(), "norm_div": schedule.norm_div,
                    "fraction_below_0.6": float(np.mean(after < TAIL)),
                    "fraction_within_0.1": float(np.mean(np.abs(after - 1) <= 0.1)),
                    "quantiles": descending_quantiles(after),
                    "min": float(after[-1]), "max": float(after[0]),
                    "max_error_above_band_edge": float(np.max(np.abs(1 - after[: int(math.ceil(BAND_Q * len(after)))]))),
                    "exact_worst_error_on_[l_q,u_MP]": exact.worst_error,
                }
            row["seconds"] = t0.seconds()
            results.append(row)
            print(f"{m}x{n}: {row['seconds']:.1f} s", flush=True)
            bar.update(1)

    figures = {
        "before": figure_before(results, spectra, out / "spectrum_before.png", dpi),
        "after_keller5": figure_after(results, spectra, "keller5", out / "after_keller5.png", dpi),
        "after_designed": figure_after(results, spectra, "mp5 [l_q, 1]", out / "after_mp5.png", dpi),
        "quantiles": figure_quantiles(results, out / "quantiles_vs_mp.png", dpi),
        "tail": figure_tail(results, out / "tail_below_0.6.png", dpi),
    }
    runtime = timer.seconds()
    common.write_json(out / "results.json", {
        "quick": args.quick, "runtime_s": runtime, "machine": common.machine(), "dtype": DTYPE,
        "ns_backend": backend(), "quantiles": QUANTILES, "band_quantile": BAND_Q, "results": results,
    })
    header = ["m", "n", "q", "measured", "marchenko_pastur", "ratio"]
    rows = [[r["shape"][0], r["shape"][1], q, a, b, a / b]
            for r in results for q, a, b in zip(QUANTILES, r["measured_quantiles"], r["mp_quantiles"])]
    common.write_csv(out / "quantiles.csv", header, rows)
    names = list(results[0]["after"])
    header = ["m", "n", "schedule", "fraction_below_0.6", "fraction_within_0.1", "min", "max",
              "max_error_above_band_edge", "exact_worst_error_on_band"]
    rows = [[r["shape"][0], r["shape"][1], s, a["fraction_below_0.6"], a["fraction_within_0.1"], a["min"], a["max"],
             a["max_error_above_band_edge"], a["exact_worst_error_on_[l_q,u_MP]"]]
            for r in results for s, a in r["after"].items()]
    common.write_csv(out / "after_ns.csv", header, rows)
    (out / "README.md").write_text(readme(args.quick, runtime, results, names, figures), encoding="utf-8")
    print(f"mp_scaling: {len(results)} shapes, {runtime:.1f} s → {out}")


# --------------------------------------------------------------------------------------------------
# Figures (matplotlib Figure objects, no pyplot; written with nsdesign.plot.save_figure)
# --------------------------------------------------------------------------------------------------


def figure_before(results, spectra, path, dpi):
    fig = common.figure((11, 4.2), dpi)
    raw, scaled = fig.subplots(1, 2)
    for ax in (raw, scaled):
        common.style(ax)
    square = [r for r in results if r["shape"][0] == r["shape"][1]]
    wide = [r for r in results if r["shape"][0] != r["shape"][1]]
    for i, r in enumerate(square + wide):
        m, n = r["shape"]
        s = spectra[(m, n)]["before"]
        style = "-" if m == n else "--"
        c = PALETTE[i % len(PALETTE)]
        edges = np.geomspace(max(s[-1], 1e-6) / 1.2, s[0] * 1.2, 50)
        raw.hist(s, bins=edges, histtype="step", weights=np.full(len(s), 1.0 / len(s)), color=c, linestyle=style,
                 linewidth=1.2, label=f"{m}×{n}")
        scaled.hist(np.sqrt(m) * s, bins=np.linspace(0, 2.1, 60), histtype="step", density=True, color=c,
                    linestyle=style, linewidth=1.0)
    for ratio, style in ((1.0, "-"), (0.25, "--")):
        a, b = mp.support(ratio)
        t = np.linspace(max(a, 1e-3), b, 400)
        scaled.plot(t, [mp.density(v, ratio) for v in t], color="black", linestyle=style, linewidth=2.0,
                    label=f"Marchenko–Pastur y = {ratio:g}")
    raw.set_xscale("log")
    raw.set_xlabel("σ of X/‖X‖_F (log)")
    raw.set_ylabel("fraction of singular values per bin")
    raw.set_title("raw: the spectrum moves left as 1/√min(m, n)")
    raw.legend(fontsize="x-small", ncols=2)
    scaled.set_xlabel("t = √min(m, n) · σ")
    scaled.set_title("rescaled: one Marchenko–Pastur law per aspect ratio")
    scaled.set_ylim(0, 1.6)
    scaled.legend(fontsize="x-small")
    fig.suptitle("Frobenius-normalized Gaussian matrices (solid: square, dashed: 1:4)")
    return common.save(fig, path)


def figure_after(results, spectra, name, path, dpi):
    fig = common.figure((11, 4.2), dpi)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, square in zip(axes, (True, False)):
        common.style(ax)
        rows = [r for r in results if (r["shape"][0] == r["shape"][1]) == square]
        for i, r in enumerate(rows):
            m, n = r["shape"]
            s = spectra[(m, n)][name]
            a = r["after"][name]
            ax.hist(np.clip(s, 0, 1.4), bins=np.linspace(0, 1.4, 71), histtype="step", density=True,
                    color=PALETTE[i % len(PALETTE)], linewidth=1.3,
                    label=f"{m}×{n}: {100 * a['fraction_below_0.6']:.1f}% below 0.6")
        ax.axvspan(0, TAIL, color="#f3f3f3", zorder=0)
        ax.axvline(1.0, color="#555555", linestyle="--", linewidth=0.8)
        ax.set_xlabel(f"σ after 5 steps of {name} ({DTYPE})")
        ax.set_title("square" if square else "1:4")
        ax.legend(fontsize="x-small", loc="upper left")
    axes[0].set_ylabel("density")
    fig.suptitle(f"After Newton–Schulz ({name}): shaded = below {TAIL}")
    return common.save(fig, path)


def figure_quantiles(results, path, dpi):
    fig = common.figure((11, 4.2), dpi)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, square in zip(axes, (True, False)):
        common.style(ax)
        rows = [r for r in results if (r["shape"][0] == r["shape"][1]) == square]
        sizes = [r["shape"][0] for r in rows]
        for j, q in enumerate(QUANTILES):
            c = PALETTE[j % len(PALETTE)]
            ax.plot(sizes, [r["mp_quantiles"][j] for r in rows], "-", color=c, linewidth=1.2)
            ax.plot(sizes, [r["measured_quantiles"][j] for r in rows], "o", color=c, markersize=5, label=f"q = {q:g}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("min(m, n)")
        ax.set_title(("square" if square else "1:4") + ": dots measured, lines Marchenko–Pastur")
        ax.legend(fontsize="x-small")
    axes[0].set_ylabel("descending-rank quantile σ_q of X/‖X‖_F")
    fig.suptitle("Measured quantiles vs the Marchenko–Pastur prediction (slope −1/2)")
    return common.save(fig, path)


def figure_tail(results, path, dpi):
    fig = common.figure((11, 4.0), dpi)
    axes = fig.subplots(1, 2, sharey=True)
    names = list(results[0]["after"])
    for ax, square in zip(axes, (True, False)):
        common.style(ax)
        rows = [r for r in results if (r["shape"][0] == r["shape"][1]) == square]
        sizes = [r["shape"][0] for r in rows]
        for i, name in enumerate(names):
            ax.plot(sizes, [100 * r["after"][name]["fraction_below_0.6"] for r in rows], "o-",
                    color=PALETTE[i % len(PALETTE)], label=name, markersize=4)
        ax.axhline(100 * (1 - BAND_Q), color="#777777", linestyle=":", linewidth=0.9,
                   label=f"{100 * (1 - BAND_Q):g}% (below the designed band edge q = {BAND_Q:g})")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("min(m, n)")
        ax.set_title("square" if square else "1:4")
        ax.legend(fontsize="x-small")
    axes[0].set_ylabel(f"% of singular values below {TAIL} after NS")
    fig.suptitle(f"Singular values left below {TAIL} after 5 NS steps ({DTYPE}), by schedule and size")
    return common.save(fig, path)


# --------------------------------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------------------------------


def readme(quick, runtime, results, names, figures) -> str:
    q_rows = []
    for r in results:
        m, n = r["shape"]
        q_rows.append([f"{m}×{n}"] + [f"{a:.4g} / {b:.4g}" for a, b in zip(r["measured_quantiles"], r["mp_quantiles"])]
                      + [max(abs(a / b - 1) for a, b in zip(r["measured_quantiles"], r["mp_quantiles"]))])
    table_q = common.markdown_table(["shape"] + [f"q={q:g} measured / MP" for q in QUANTILES] + ["max rel. dev."], q_rows)
    a_rows = []
    for r in results:
        m, n = r["shape"]
        row = [f"{m}×{n}", r["band"][0], r["mp_support"][1]]
        for name in names:
            a = r["after"][name]
            row.append(f"{100 * a['fraction_below_0.6']:.1f}% / {a['max_error_above_band_edge']:.3f}")
        a_rows.append(row)
    table_a = common.markdown_table(["shape", f"l = σ_{BAND_Q:g} (MP)", "u_MP"] + names, a_rows)
    e_rows = [[f"{r['shape'][0]}×{r['shape'][1]}"] + [r["after"][nm]["exact_worst_error_on_[l_q,u_MP]"] for nm in names]
              for r in results]
    table_e = common.markdown_table(["shape"] + names, e_rows)
    square = sorted((r for r in results if r["shape"][0] == r["shape"][1]), key=lambda r: r["shape"][0])
    wide = [r for r in results if r["shape"][0] != r["shape"][1]]

    def tail(name):
        values = [100 * r["after"][name]["fraction_below_0.6"] for r in square]
        return f"{values[0]:.1f}% → {values[-1]:.1f}%"

    def top_error(name, rows):
        return max(r["after"][name]["max_error_above_band_edge"] for r in rows)

    worst_dev = max(abs(a / b - 1) for r in results for a, b in zip(r["measured_quantiles"], r["mp_quantiles"]))
    deep = names[-1]
    deep_tail = max(100 * r["after"][deep]["fraction_below_0.6"] for r in square)
    wide_tail = max(100 * a["fraction_below_0.6"] for r in wide for a in r["after"].values()) if wide else 0.0
    first, last = square[0]["shape"][0], square[-1]["shape"][0]
    return f"""# Marchenko–Pastur scaling and Newton–Schulz

{"**QUICK RUN (tiny matrices; not the committed results).**" if quick else ""}

**Command:** `{common.command("mp_scaling", quick)}` — **runtime** {runtime:.0f} s on {common.machine()}
(1-minute load average at the end: {common.load()}; other jobs shared the cores).
NS runs in {DTYPE} through `nsdesign.plot.newton_schulz` (backend here: `{backend()}`); singular values in float64.
Outputs: `results.json` (everything, with the designed coefficients), `quantiles.csv`, `after_ns.csv`, figures.

## Setup

One Gaussian matrix per shape (seed 0), Frobenius-normalized as Muon does. Shapes: square
{", ".join(f"{r['shape'][0]}" for r in results if r['shape'][0] == r['shape'][1])} and 1:4
{", ".join(f"{r['shape'][0]}×{r['shape'][1]}" for r in results if r['shape'][0] != r['shape'][1])}.
Quantiles are descending-rank (σ[⌈q·r⌉ − 1] of the descending-sorted values; q = 0.9 is near the bottom).
Marchenko–Pastur (MP) predictions from `nsdesign.laws.marchenko_pastur` (exact CDF inverted by Brent's method).

Schedules, all 5 quintic steps (15 matmuls): `keller5`, `polar_express_modded5`, and three designed per shape
with the Polar Express recipe (cushion 0.02, safety 1.02, norm_div 1.02) from `nsdesign.greedy`:
`mp5 [l_q, 1]` covers [σ_{BAND_Q:g}, 1] with σ_{BAND_Q:g} the MP quantile of the shape (the usual top edge 1);
`mp5 [l_q, 1.1·u_MP]` covers [σ_{BAND_Q:g}, 1.1 × the MP upper edge] (all a Gaussian matrix needs);
`mp5 [l_0.99, 1.1·u_MP]` the same from the deeper edge σ_{DEEP_Q:g}.

## Measured quantiles against Marchenko–Pastur

{table_q}

Largest relative deviation over all shapes and quantiles: {worst_dev:.3g}; MP is the large-matrix limit, and the deviations are largest at q = 0.9 of square matrices, where the density piles up near 0.
`quantiles_vs_mp.png` shows the 1/√min(m, n) slope; `spectrum_before.png` the histograms, raw and rescaled by
√min(m, n), on the MP density.

## After 5 NS steps: % of σ below {TAIL} / max |1 − σ| over the top {100 * BAND_Q:g}% of directions

{table_a}

Exact worst error of each schedule's scalar map on [σ_{BAND_Q:g}, u_MP] (what the matrix would show in exact
arithmetic over the band):

{table_e}

## What it shows

- The spectrum of a Frobenius-normalized Gaussian matrix sits at σ ≈ 1/√min(m, n) (all of it below
  {max(r['mp_support'][1] for r in results):.3g} here), and its quantiles follow Marchenko–Pastur closely: the band a
  schedule must cover moves down as the matrix grows.
- Fixed lists leave a tail below {TAIL} that grows with the size of square matrices ({first}² → {last}²):
  `keller5` {tail("keller5")}, `polar_express_modded5` {tail("polar_express_modded5")} of the singular values
  (`after_keller5.png`, `tail_below_0.6.png`). 1:4 matrices have no tail (MP keeps their spectrum away from 0):
  at most {wide_tail:.1f}% below {TAIL} for any schedule.
- Designing for the MP band fixes the *accuracy* of what is inside it: over the top {100 * BAND_Q:g}% of directions,
  `mp5 [l_q, 1]` ends within {top_error("mp5 [l_q, 1]", results):.3g} of 1 at every size, against
  {top_error("keller5", results):.3g} for `keller5` and {top_error("polar_express_modded5", results):.3g} for
  `polar_express_modded5` (same 5 steps, same FLOPs).
- The *tail* is set by where the band edge sits, not by the design: the edge at q = {BAND_Q:g} leaves up to
  {100 * (1 - BAND_Q):g}% of the directions below it by construction (`mp5 [l_q, 1]`: {tail("mp5 [l_q, 1]")}).
  Designed for [σ_{DEEP_Q:g}, 1.1·u_MP] instead (all a Gaussian matrix needs), the tail stays at or below
  {deep_tail:.1f}% at every size (`{deep}`): it no longer grows with n.

## Figures

![before](spectrum_before.png)
![keller5](after_keller5.png)
![designed](after_mp5.png)
![tail](tail_below_0.6.png)
![quantiles](quantiles_vs_mp.png)
"""


if __name__ == "__main__":
    main()
