"""Generate the notebooks from this file, so that what is committed stays reviewable as plain Python.

    python notebooks/build.py          # rewrite quickstart.ipynb, design_walkthrough.ipynb, scaling_laws.ipynb
    python notebooks/build.py --check  # exit 1 if a committed notebook differs from what this file generates

The notebooks are written without outputs (tests/notebooks checks that, and runs each one with nbclient).
Each uses the public API only: `nsdesign` top-level names, `nsdesign.plot`, `nsdesign.laws`, `nsdesign.export`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


QUICKSTART = [
    md("""
# nsdesign quickstart

Muon orthogonalizes each update with a few Newton–Schulz (NS) steps. On every singular value σ of the
Frobenius-normalized update, a step is an odd polynomial p(σ) = aσ + bσ³ + cσ⁵, and the whole schedule is the
composition F = p_k ∘ … ∘ p_1. A schedule is good when F maps a whole band [l, 1] close to 1, cheaply, without
blowing up just above 1.

This notebook: measure a published schedule exactly, design the optimal one for a band, compare, plot, save.
"""),
    code("""
%matplotlib inline
import nsdesign as ns

print("nsdesign", ns.__version__)
print(len(ns.preset_names()), "published schedules:", ", ".join(ns.preset_names()))
"""),
    md("""
## 1. How good is a published list?

`ns.evaluate` propagates the band through every step exactly (the image of an interval under a polynomial is
spanned by its endpoints and interior critical points), so every number below is exact, not sampled.
"""),
    code("""
keller = ns.preset("keller5")
m = ns.evaluate(keller, 1e-3, 1.0, tol=0.35, shape=ns.Shape(1024, 4096))
print(f"keller5 maps [1e-3, 1] into [{m.f_min:.6f}, {m.f_max:.6f}]: worst error {m.worst_error:.4f}")
print(f"overshoot (max F on [0, 1.02]) {m.overshoot:.4f}, slope at 0 {m.slope_at_zero:.1f}")
print(f"{m.matmuls} matmuls = {m.flops_standard / 1e9:.1f} GFLOP on 1024x4096 (Gram form {m.flops_gram / 1e9:.1f})")
print(f"smallest σ whose band [σ, 1] lands in 1 ± 0.35: {m.captured_min_sigma:.3g}")
assert abs(m.f_min - 0.470544) < 1e-6 and abs(m.f_max - 1.202369) < 1e-6
"""),
    md("""
## 2. Design the optimal schedule for a band

`ns.greedy` takes, at each step, the best odd polynomial on the current interval (a certified Remez exchange).
That greedy composition is the worst-case optimum among all compositions of the same degrees (Amsel et al. 2025).
"""),
    code("""
design = ns.greedy(1e-3, steps=5)
for i, (a, b, c) in enumerate(design.schedule.coefficients(), 1):
    print(f"step {i}: a={a:+.6f}  b={b:+.6f}  c={c:+.6f}")
print(f"worst-case error on [1e-3, 1]: {design.error:.5f} (certified: {design.certified})")
assert abs(design.error - 0.11345) < 1e-4
"""),
    md("How many quintic steps does a band need for a tolerance? (the k* table of docs/background.md §2)"),
    code("""
print("l       δ=0.3  δ=0.1  δ=0.01")
for l in (1e-2, 1e-3, 1e-4):
    print(f"{l:<7g}", "  ".join(f"{ns.min_steps(l, d):>5}" for d in (0.3, 0.1, 0.01)))
assert [ns.min_steps(1e-3, d) for d in (0.3, 0.1, 0.01)] == [5, 6, 6]
"""),
    md("## 3. Compare side by side"),
    code("""
names = ["keller5", "cans5_eo", "polar_express_modded5"]
schedules = [ns.preset(n) for n in names] + [design.schedule.with_name("greedy5")]
rows = ns.compare(schedules, 1e-3, tol=0.1)
print(f"{'schedule':24} {'max|1-F|':>9} {'min F':>7} {'max F':>7} {'max F on [0,1.02]':>18}")
for s, r in zip(schedules, rows):
    print(f"{s.name:24} {r.worst_error:9.4f} {r.f_min:7.4f} {r.f_max:7.4f} {r.overshoot:18.4g}")
"""),
    md("""
`greedy5` (like `cans5_eo`, its rounded copy) is optimal on the band and has no headroom at all: max F just above
σ = 1 is astronomically large. `polar_express_modded5` trades a little worst-case error for headroom.

## 4. See it

`nsdesign.plot` builds matplotlib figures without pyplot; `save_figure(fig, "map.png")` writes PNG or SVG.
"""),
    code("""
from nsdesign.plot import map_figure

fig = map_figure(schedules, 1e-3, tol=0.1)
fig
"""),
    md("## 5. Save, reload, export"),
    code("""
import tempfile
from pathlib import Path

from nsdesign.export import export

folder = Path(tempfile.mkdtemp())
document = ns.schedule_document(design.schedule, (1e-3, 1.0), design.params, ns.evaluate(design.schedule, 1e-3))
ns.save_document(folder / "greedy5.json", document)
again = ns.load_schedule(str(folder / "greedy5.json"))
assert again.coefficients() == design.schedule.coefficients()
print(export(again, "optax").text)
"""),
]


WALKTHROUGH = [
    md("""
# Design walkthrough: from one Remez step to a schedule that survives bf16

1. one step: the best odd quintic on [l, 1] (Remez, equioscillation);
2. the greedy composition and how the interval shrinks;
3. headroom: cushion, safety factor and divisor, and what they cost;
4. the FLOP-cheapest mix of degrees for a matrix shape;
5. a check on a real matrix.
"""),
    code("""
%matplotlib inline
import numpy as np

import nsdesign as ns
from nsdesign.plot import intervals_figure, map_figure
"""),
    md("""
## 1. One step

On [1e-3, 1] the best quintic approximation of 1 equioscillates at 4 points; its error is the first entry of the
E*(k) sequence (0.99153) and its coefficients the CANS list's first row.
"""),
    code("""
step = ns.minimax_odd(1e-3, 1.0, 5)
print("coefficients", [round(c, 4) for c in step.polynomial.coefficients])
print("error", step.error, " certified lower bound", step.error_lower_bound)
print("equioscillation points", [f"{x:.4g}" for x in step.reference])
errors = [1 - step.polynomial(x) for x in step.reference]
print("1 - p at those points", [f"{e:+.5f}" for e in errors])
assert np.allclose(np.abs(errors), step.error, rtol=1e-9)
assert np.allclose(step.polynomial.coefficients, (8.4703, -25.1081, 18.6293), atol=1e-4)
"""),
    md("""
## 2. The greedy composition

The next step's interval is the image of the current one, [1 − E, 1 + E]. The errors after each step are the
public E*(k) values for l = 1e-3.
"""),
    code("""
design = ns.greedy(1e-3, steps=7)
for i, s in enumerate(design.steps, 1):
    lo, hi = s.input_interval
    print(f"step {i}: input [{lo:.6g}, {hi:.6g}] -> error {s.error:.4g}")
published = [0.99153, 0.96457, 0.85977, 0.54589, 0.11345, 9.165e-4, 4.81e-10]
assert all(abs(s.error - e) <= 2e-3 * e for s, e in zip(design.steps, published))
"""),
    code("""
five = ns.greedy(1e-3, steps=5).schedule.with_name("greedy5")
fig = intervals_figure([ns.preset("keller5"), five, ns.preset("polar_express_modded5")], 1e-3, tol=0.1)
fig
"""),
    md("""
## 3. Headroom

The greedy schedule is exact on its interval and nothing else: just above σ = 1 a quintic with large
coefficients grows fast, and bf16 round-off lands there. Three ways to buy headroom:

- the Polar Express *cushion* λ and *safety factor* s (modded-nanogpt's list is exactly greedy with λ = 0.02,
  s = 1.02, run with norm_div 1.02);
- a larger divisor: design on [l/1.05, 1] and divide the input by 1.05·‖X‖_F;
- more steps.
"""),
    code("""
pe = ns.greedy(1e-3, steps=5, cushion=0.02, safety=1.02)
published = ns.preset("polar_express_modded5")
gap = max(abs(a - b) / abs(b) for p, q in zip(pe.schedule.steps, published.steps)
          for a, b in zip(p.coefficients, q.coefficients))
print(f"greedy(λ=0.02, s=1.02) vs polar_express_modded5: max relative difference {gap:.1e}")
assert gap < 1e-10

candidates = {
    "greedy5 (no headroom)": ns.greedy(1e-3, steps=5).schedule,
    "polar_express_modded5": published,
    "greedy5, norm_div 1.05": ns.Schedule(ns.greedy(1e-3 / 1.05, steps=5).schedule.steps, 1.05),
    "greedy6 + λ, s, norm_div 1.02": ns.Schedule(ns.greedy(1e-3, steps=6, cushion=0.02, safety=1.02).schedule.steps, 1.02),
}
print(f"{'':32} {'max|1-F| on band':>17} {'max F on [0, 1.02]':>19}")
for name, s in candidates.items():
    m = ns.evaluate(s, 1e-3)
    print(f"{name:32} {m.worst_error:17.4g} {m.overshoot:19.4g}")
"""),
    code("""
named = [s.with_name(n) for n, s in candidates.items()]
fig = map_figure(named, 1e-3, tol=0.15)
fig
"""),
    md("""
## 4. The cheapest mix of degrees for a shape

Each step may have its own odd degree. On a 1:4 MLP matrix a degree-9 step costs little more than a quintic
(the 2·m²·n products dominate), so mixing degrees reaches a tolerance with fewer FLOPs.
"""),
    code("""
shape = ns.Shape(4096, 16384)
quintic = ns.greedy(1e-3, tol=0.01).schedule
mixed = ns.cheapest_schedule(1e-3, 0.01, shape).schedule
for name, s in (("quintic greedy", quintic), ("cheapest mix", mixed)):
    m = ns.evaluate(s, 1e-3)
    print(f"{name:15} degrees {list(s.degrees)}: error {m.worst_error:.3g}, {ns.flops(s, shape) / 1e12:.2f} TFLOP")
assert ns.flops(mixed, shape) <= ns.flops(quintic, shape)
"""),
    md("""
The composite is an exact rational polynomial; `ns.symbolic` (sympy) gives its degree and slope at 0 exactly.
"""),
    code("""
exact = ns.symbolic(ns.preset("keller5"))
print("composite degree", exact.degree, " slope at 0 ≈", float(exact.slope_at_zero))
assert exact.degree == 5**5
"""),
    md("""
## 5. On a real matrix

A matrix with prescribed singular values, run through NS (nsdesign.torch when installed, otherwise a numpy
reference) in float64: its output singular values are F applied to the Frobenius-normalized inputs.
"""),
    code("""
from nsdesign.plot import histogram_figure, load_matrix, singular_values, spectrum_run

matrix, label = load_matrix("logspace:128x256:1e-3", seed=0)
schedule = ns.preset("polar_express_modded5")
run = spectrum_run(matrix, [schedule], ["polar_express_modded5"], dtype="float64", label=label)
predicted = np.sort([schedule(s) for s in run.before])[::-1]
measured = np.sort(run.after["polar_express_modded5"])[::-1]
print("max |measured − F(σ)| =", np.abs(measured - predicted).max())
assert np.abs(measured - predicted).max() < 1e-8
fig = histogram_figure(run)
fig
"""),
]


SCALING = [
    md("""
# Where the band comes from: random matrices and momentum scaling laws

A schedule must cover [l, 1] where l is the smallest singular value that still has to be orthogonalized. Two
sources for l, both in `nsdesign.laws`:

- **random matrices** (arXiv 2505.04005): Frobenius-normalized i.i.d. matrices follow Marchenko–Pastur scaled by
  1/√min(m, n);
- **real momentum buffers** (arXiv 2606.04058): the quantiles follow power laws σ_q ≈ C·M^−α in model size M.

Quantiles are descending-rank: q = 0.9 is near the bottom of the spectrum.
"""),
    code("""
%matplotlib inline
import numpy as np

import nsdesign as ns
from nsdesign.laws import predict_band
from nsdesign.laws import marchenko_pastur as mp
from nsdesign.plot import singular_values
"""),
    md("## 1. Marchenko–Pastur against a sampled matrix"),
    code("""
shape = ns.Shape(256, 1024)
rng = np.random.default_rng(0)
x = rng.standard_normal((shape.m, shape.n))
sigma = singular_values(x / np.linalg.norm(x))  # descending
r = len(sigma)
print(" q    sampled    Marchenko-Pastur")
for q in (0.1, 0.25, 0.5, 0.75, 0.9):
    sampled = sigma[int(np.ceil(q * r)) - 1]
    predicted = mp.quantile(q, shape)
    print(f"{q:4}  {sampled:.5f}    {predicted:.5f}")
    assert abs(sampled / predicted - 1) < 0.03
"""),
    md("The shape enters only through y = m/n and the 1/√m scale: quantiles shrink as 1/√min(m, n)."),
    code("""
for m in (256, 1024, 4096, 16384):
    s = ns.Shape(m, 4 * m)
    edge = predict_band(0.9, shape=s).min_sigma
    print(f"{m:>6}x{4 * m:<6} q=0.9 edge {edge:.3e}   edge·√m = {edge * np.sqrt(m):.4f}")
"""),
    md("""
## 2. Momentum laws (arXiv 2606.04058, Fig. 16)

The shipped law table is a least-squares fit to the shipped data. The pooled exponent (one slope over all
quantiles of a layer) is the reading that matches the paper's quoted exponents.
"""),
    code("""
from nsdesign.laws.momentum import load_laws

table = load_laws()
quoted = {"final.q": 0.46, "final.k": 0.38, "final.v": 0.58, "final.o": 0.66, "final.mlp_up": 0.52,
          "final.mlp_down": 0.96, "mid_late.q": 0.27}
print(f"{'layer':16} {'fitted α':>9} {'± se':>6} {'quoted':>7}")
for layer, alpha in quoted.items():
    depth, matrix = layer.split(".")
    pooled = table.pooled_exponent(depth, matrix)
    print(f"{layer:16} {pooled.alpha:9.3f} {pooled.alpha_se:6.3f} {alpha:7.2f}")
    assert abs(pooled.alpha - alpha) < 0.03
"""),
    code("""
from nsdesign.plot import laws_figure

fig = laws_figure(["mid_late.q", "final.q", "final.o", "final.mlp_down"], quantile=0.5)
fig
"""),
    md("## 3. From a model size to a schedule"),
    code("""
for size in (7e9, 7e10, 1e12):
    band = predict_band(0.5, model_size=size, layer="final.o")
    lo, hi = band.interval
    design = ns.greedy(band.min_sigma, tol=0.1)
    pe = ns.evaluate(ns.preset("polar_express_modded5"), band.min_sigma)
    print(f"{size:.0e}: edge {band.min_sigma:.2e} (95%: {lo:.1e}…{hi:.1e}); greedy needs "
          f"{design.schedule.num_steps} steps for 0.1; polar_express_modded5 error there {pe.worst_error:.3f}")
for warning in band.warnings:
    print("warning:", warning)
"""),
]


NOTEBOOKS = {
    "quickstart.ipynb": QUICKSTART,
    "design_walkthrough.ipynb": WALKTHROUGH,
    "scaling_laws.ipynb": SCALING,
}


def build(name: str) -> nbformat.NotebookNode:
    notebook = new_notebook(cells=NOTEBOOKS[name])
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, cell in enumerate(notebook.cells):
        cell["id"] = f"{Path(name).stem}-{i:02d}"  # stable ids: regenerating changes nothing
    nbformat.validate(notebook)
    return notebook


def text(name: str) -> str:
    return nbformat.writes(build(name)) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name in NOTEBOOKS:
        path = HERE / name
        wanted = text(name)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != wanted:
                stale.append(name)
        else:
            path.write_text(wanted, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print("out of date (run python notebooks/build.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
