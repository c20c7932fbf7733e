"""The views of `nsdesign recipe`: the per-layer table (one row per designed schedule), the totals against the
baselines, and what to run next; `recipe --heads` compares per-head attention with the fused recipe.

Why its own module: a recipe has its own compact cells (block ranges, degree runs such as 5×4,7, GFLOP without
decimals from 1000 on) so a 70B model's 24 schedule groups fit 80 columns.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from rich import box
from rich.table import Table

from nsdesign.cli.views.common import console, is_wide, lines
from nsdesign.plans.recipe import BASELINES


def recipe(recipe: Any, written_to: str | None = None) -> None:
    """The recipe as a table: one row per designed schedule (law × shape), then totals and keller5 failures."""
    out = console()
    say = lines(out)
    _settings(say, recipe)
    out.print(_groups_table(recipe))
    if not is_wide():
        say("degrees 5×4,7: four quintic steps, then one of degree 7 (--wide: all columns)")
    _totals(say, recipe)
    if written_to:
        say(f"wrote {written_to}")
    for line in next_steps(recipe, written_to):
        say(line)


def next_steps(recipe: Any, written_to: str | None) -> list[str]:
    """Where the recipe goes: nsdesign's Muon reads it, `export --to python` writes it as data for one's own loop;
    an optimizer that takes one schedule gets one layer's design (`search --for`)."""
    path = written_to or "recipe.json"
    group = min(recipe.groups, key=lambda g: g.edge)
    law = re.match(r"momentum law (\S+)", group.band.source)  # a fused qkv: the part whose law set its band
    hardest = law.group(1) if law else group.law
    return [
        "next:" if written_to else f"next: add -o {path}, then",
        f"  nsdesign.torch.Muon(model.named_parameters(), recipe=\"{path}\")",
        f"  or nsdesign export {path} --to python (data for your own NS loop)",
        f"  names: {recipe.names.name}, e.g. {recipe.layers[0].name} (--layer-names)",
        "  one schedule for all layers (torch.optim.Muon, optax, …), the hardest's:",
        f"  nsdesign search --model-size {recipe.model_size:.3g} --layer {hardest} --quantile {recipe.quantile:g} "
        "--for torch-muon",
    ]


def _settings(say: Callable[..., None], recipe: Any) -> None:
    """The model's shape and where it came from, the design settings, the check, the laws."""
    m = recipe.model
    say(f"{m.name or 'model'}: {recipe.config_source}",
        f"d_model {m.d_model}, {m.n_layers} blocks, {m.n_heads} heads ({m.n_kv_heads} kv, head_dim "
        f"{m.head_dim}), d_ff {m.d_ff}{' gated' if m.gated_mlp else ''}")
    knobs = (
        f"cushion {recipe.cushion:g}, safety {recipe.safety:g}" if recipe.cushion is not None
        else "cushion/safety " + " or ".join(f"{c:g}/{s:g}" for c, s in recipe.knobs_tried) + " per layer"
    )
    check = (
        "exact arithmetic, no rounding check" if recipe.dtype == "exact"
        else f"every schedule checked in the {recipe.dtype} {recipe.kernel} rounding model (proxies ≤ "
        f"{recipe.check_rows} and ≤ {2 * recipe.check_rows} rows, the layer's aspect ratio; accepted at ≤ "
        f"δ·(1 − {recipe.check_margin:g}))"
    )
    say(f"size {recipe.model_size:.3g}, δ = {recipe.tol:g} on bands [edge, 1] with q = {recipe.quantile:g} "
        f"({recipe.edge} edge, band top {recipe.max_sigma:g})",
        f"degrees {','.join(map(str, recipe.degrees))}, {knobs}, {recipe.kernel} kernel"
        f"{'' if recipe.normalizer is None else ', under ' + recipe.normalizer.label() + ' (baselines: frobenius)'}",
        check, f"laws: {recipe.laws_source}")


def _groups_table(recipe: Any) -> Table:
    """One row per schedule group. Compact (80 columns): no matrices or interval column, short cells; --wide:
    every column, full digits."""
    compact = not is_wide()
    table = Table(
        title="Per-layer schedules (GFLOP per matrix; keller5: its error, ✗ = fails δ)" if compact
        else "Per-layer schedules (GFLOP per matrix; keller5: its worst error on the band, ✗ = fails δ)",
        title_justify="left", box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
        padding=(0, 0) if compact else (0, 1), pad_edge=not compact,
    )
    columns = (("law", "blocks", "shape", "edge", "degrees", "max|1−F|", "GFLOP", "keller5") if compact else
               ("law", "blocks", "matrices", "shape", "edge", "~95% interval", "degrees", "max|1−F|", "GFLOP", "keller5"))
    for column in columns:
        table.add_column(column, justify="left" if column in ("law", "blocks", "matrices", "degrees") else "right",
                         no_wrap=True)
    for g in recipe.groups:
        layers = [layer for layer in recipe.layers if layer.schedule == g.name]
        blocks = sorted({layer.block for layer in layers})
        suffixes = list(dict.fromkeys(layer.name.split(".")[-2].removesuffix("_proj") for layer in layers))
        keller = g.baseline_errors["keller5"]
        gflop = layers[0].flops / 1e9
        cells = {
            "law": g.name, "blocks": _ranges(blocks), "matrices": ",".join(suffixes), "shape": str(g.shape),
            "edge": f"{g.edge:.{2 if compact else 3}g}",
            "~95% interval": f"[{g.band.interval[0]:.2g}, {g.band.interval[1]:.2g}]",
            "degrees": _runs(g.design.schedule.degrees) if compact else ",".join(map(str, g.design.schedule.degrees)),
            "max|1−F|": f"{g.metrics.worst_error:.3g}" if compact else f"{g.metrics.worst_error:.4f}",
            "GFLOP": f"{gflop:.0f}" if compact and gflop >= 1000 else f"{gflop:.4g}",
            "keller5": f"{keller:.3f}{('✗' if keller > recipe.tol else '✓') if compact else (' ✗' if keller > recipe.tol else ' ✓')}",
        }
        table.add_row(*[cells[c] for c in columns])
    return table


def _totals(say: Callable[..., None], recipe: Any) -> None:
    """FLOPs per optimizer step, the checks, the savings against the three references and the uniform presets."""
    total = recipe.total_flops()
    baselines = recipe.baseline_flops()
    say(f"recipe: {total / 1e12:.4g} TFLOP per optimizer step over {len(recipe.layers)} matrices")
    say(f"every layer meets δ: {'yes' if recipe.all_meet_tol() else 'NO'}")
    if recipe.dtype != "exact":
        failed = recipe.lowp_failures()
        say(
            f"{recipe.dtype} {recipe.kernel} check within δ: {len(recipe.groups) - len(failed)} of {len(recipe.groups)} "
            "schedule groups" + (f" (leave δ: {', '.join(g.name for g in failed)})" if failed else "")
        )
    references = recipe.reference_flops()
    uniform = recipe.uniform_quintic
    labels = {
        "deepseek_v4_10": "uniform deepseek_v4_10",
        "uniform_quintic_greedy": f"uniform quintic greedy ({uniform.schedule.num_steps if uniform else '—'} steps)",
        "per_layer_quintic_greedy": "quintic greedy per layer (k*)",
    }
    say("recipe saves, against the three baselines (same matrices and checks):")
    for name, value in references.items():
        say(f"  {labels[name]:<34} {value / 1e12:>10.4g} TFLOP  saves {100 * (1 - total / value):5.1f}%")
    if uniform is not None:
        say(f"  (uniform quintic greedy: designed for the lowest edge, {uniform.params['min_sigma']:.3g})")
    say("uniform presets:")
    for name in BASELINES:
        fails = len(recipe.failures(name))
        say(f"  uniform {name}: {baselines[name] / 1e12:.4g} TFLOP, recipe saves "
            f"{100 * (1 - total / baselines[name]):.1f}%")
        say(f"    it fails δ on {fails} of {len(recipe.layers)} layers")
    failing = recipe.failures("keller5")
    if failing:
        order = list(dict.fromkeys(g.law for g in recipe.groups))
        laws = sorted({layer.law for layer in failing}, key=order.index)
        say(f"uniform keller5 fails δ = {recipe.tol:g} on {len(failing)} layers, laws: {', '.join(laws)}")
    else:
        say(f"uniform keller5 meets δ = {recipe.tol:g} on every layer")


def recipe_heads(per_head: Any, fused: Any) -> None:
    """`recipe --heads`: steps and GFLOP per attention matrix, per head against the fused-matrix recipe."""
    out = console()
    say = lines(out)
    m = per_head.model
    say(f"per-head attention: q/k/v as head_dim×d_model blocks ({m.n_heads} q, {m.n_kv_heads} k/v heads), "
        f"o as d_model×head_dim blocks (its columns hold the heads); band edge × the Marchenko–Pastur ratio "
        "block/fused; the rest of the model as fused")
    say(f"{'law':<14}{'fused':>10}{'steps':>6}{'GFLOP':>8}  {'per head':<15}{'steps':>5}{'GFLOP':>8}")
    fused_groups = {g.law: g for g in reversed(fused.groups)}
    attention = {"fused": 0.0, "head": 0.0}
    for g in per_head.groups:
        layers = [layer for layer in per_head.layers if layer.schedule == g.name]
        if layers[0].block_shape is None or g.law not in fused_groups:
            continue
        f = fused_groups[g.law]
        f_layers = [layer for layer in fused.layers if layer.schedule == f.name]
        attention["fused"] += sum(layer.flops for layer in f_layers)
        attention["head"] += sum(layer.flops for layer in layers)
        blocks = f"{g.shape.m}x{g.shape.n} ×{layers[0].blocks}"
        say(f"{g.name[:14]:<14}{str(f.shape):>10}{f.design.schedule.num_steps:>6}{_gflop(f_layers[0].flops):>8}  "
            f"{blocks:<15}{g.design.schedule.num_steps:>5}{_gflop(layers[0].flops):>8}")
    for what, a, b in (("attention", attention["fused"], attention["head"]),
                       ("model", fused.total_flops(), per_head.total_flops())):
        change = 100 * (b / a - 1) if a else 0.0
        say(f"{what}: fused {a / 1e12:.4g} TFLOP, per head {b / 1e12:.4g} TFLOP ({change:+.1f}%)")


def _gflop(flops: float) -> str:
    """GFLOP in at most 6 characters: 4 significant digits, whole numbers from 1000 on."""
    value = flops / 1e9
    return f"{value:.4g}" if value < 1000 else f"{value:.0f}"


def _runs(degrees: Sequence[int]) -> str:
    """Step degrees with runs of three or more written d×n (5,5,5,5,7 → 5×4,7): a column that fits."""
    parts: list[str] = []
    k = 0
    while k < len(degrees):
        n = 1
        while k + n < len(degrees) and degrees[k + n] == degrees[k]:
            n += 1
        parts.append(f"{degrees[k]}×{n}" if n >= 3 else ",".join([str(degrees[k])] * n))
        k += n
    return ",".join(parts)


def _ranges(values: list[int]) -> str:
    parts: list[str] = []
    start = prev = values[0]
    for v in values[1:] + [None]:  # type: ignore[list-item]
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(str(start) if start == prev else f"{start}–{prev}")
        if v is not None:
            start = prev = v
    return ",".join(parts)
