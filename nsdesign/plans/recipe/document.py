"""The recipe's JSON document (kind "nsdesign-recipe"): schedules by name, and for each parameter the schedule to use.

Why its own module: the file is the contract with its readers (`nsdesign.torch.Muon(recipe=…)`, `export`, the
shipped schema); its shape is written here once, section by section, from a built `plan.Recipe`, which it reads
only (no design, no check runs again). It takes the recipe's values as they are (typed Any: `plan` imports this
module for `Recipe.document`, so naming its classes here would close a circle).
"""

from __future__ import annotations

import math
from typing import Any

from nsdesign._version import __version__
from nsdesign.documents import RECIPE_KIND, schedule_document
from nsdesign.documents import RECIPE_VERSION as RECIPE_SCHEMA_VERSION

ABOUT = (
    "Per-parameter Newton-Schulz schedules: for each Muon matrix ('layers'), run schedules[layer.schedule] "
    "(coefficients apply in list order, input divided by norm_div * ||X||_F)."
)


def recipe_document(recipe: Any) -> dict[str, Any]:
    """The versioned recipe JSON (`Recipe.document`)."""
    return {
        "schema_version": RECIPE_SCHEMA_VERSION,
        "kind": RECIPE_KIND,
        "about": ABOUT,
        "model": {**recipe.model.to_dict(), "model_size": recipe.model_size, "config_source": recipe.config_source},
        "params": _params(recipe),
        "schedules": {g.name: _schedule(recipe, g) for g in recipe.groups},
        "layers": [_layer(recipe, layer) for layer in recipe.layers],
        "totals": _totals(recipe),
        "keller5_failures": [layer.name for layer in recipe.failures("keller5")],
        "warnings": list(recipe.warnings),
        "nsdesign_version": __version__,
    }


def _params(recipe: Any) -> dict[str, Any]:
    """The settings the whole recipe was built with."""
    return {
        "tol": recipe.tol,
        "quantile": recipe.quantile,
        "form": recipe.cost_model,  # the stored key: the kernel's FLOP model (standard, gram)
        "band_edge": recipe.edge,
        "headroom": round(recipe.max_sigma - 1.0, 12),  # the stored key keeps its name: max_sigma = 1 + headroom
        "degrees": list(recipe.degrees),
        "cushion": recipe.cushion,
        "safety": recipe.safety,
        "knobs_tried": [list(k) for k in recipe.knobs_tried],
        "kernel": recipe.kernel,
        "dtype": recipe.dtype,
        "check_rows": recipe.check_rows,
        "check_margin": recipe.check_margin,
        "laws": recipe.laws_source,
        "per_head": recipe.per_head,
        "layer_names": recipe.names.to_dict(),
        **({} if recipe.normalizer is None else {"normalizer": recipe.normalizer.to_dict()}),
    }


def _schedule(recipe: Any, g: Any) -> dict[str, Any]:
    """One group's schedule document: the design's params, its band's source and its rounding-model check."""
    params = dict(g.design.params)
    params.update(
        {
            "law": g.law,
            "quantile": recipe.quantile,
            "model_size": recipe.model_size,
            "shape": [g.shape.m, g.shape.n],
            "form": recipe.cost_model,
            "band_source": g.band.source,
            "band_interval": list(g.band.interval),
            "band_edge": recipe.edge,
            "band_warnings": list(g.band.warnings),
            "kernel": recipe.kernel,
            "dtype": recipe.dtype,
            **({} if g.frobenius_edge is None else {"frobenius_edge": g.frobenius_edge}),
        }
    )
    if g.check is not None:
        params["check"] = {
            "kernel": recipe.kernel, "dtype": recipe.dtype, "shape": list(g.check.shape),
            "sigma": [g.edge, recipe.max_sigma], "max_error": _finite(g.check.error), "limit": recipe.tol,
            "accept_limit": recipe.tol * (1.0 - recipe.check_margin),
            "passed": bool(g.check.error <= recipe.tol),
        }
    return schedule_document(
        g.design.schedule.with_name(g.name), (g.edge, 1.0), params, g.metrics,
        normalizer=None if recipe.normalizer is None else recipe.normalizer.to_dict(),
    )


def _layer(recipe: Any, layer: Any) -> dict[str, Any]:
    """One parameter: its shape, where it sits, its band and the schedule it runs."""
    group = recipe.group(layer.schedule)
    return {
        "name": layer.name,
        "shape": list(layer.shape),
        **({} if layer.block_shape is None else {"blocks": layer.blocks, "block_shape": list(layer.block_shape)}),
        "block": layer.block,
        "depth": layer.depth,
        "matrix": layer.matrix,
        "law": layer.law,
        "band": {
            "min_sigma": group.edge,
            "max_sigma": 1.0,
            "predicted": group.band.min_sigma,
            "interval": list(group.band.interval),
        },
        "schedule": layer.schedule,
        "flops": layer.flops,
        "error": layer.error,
        "lowp_error": None if layer.lowp_error is None else _finite(layer.lowp_error),
        "baseline_errors": dict(layer.baseline_errors),
    }


def _totals(recipe: Any) -> dict[str, Any]:
    """FLOP totals and savings against the uniform presets and the three references, and who fails δ."""
    total = recipe.total_flops()
    baselines = recipe.baseline_flops()
    uniform = recipe.uniform_quintic
    return {
        "recipe_flops": total,
        "baseline_flops": baselines,
        "saving_vs": {name: 1.0 - total / value for name, value in baselines.items()},
        "reference_flops": recipe.reference_flops(),
        "saving_vs_references": recipe.savings(),
        "uniform_quintic_greedy": None if uniform is None else {
            "degrees": list(uniform.schedule.degrees),
            "band": [uniform.params.get("min_sigma"), uniform.params.get("max_sigma")],
            "cushion": uniform.params.get("cushion"),
            "safety": uniform.params.get("safety"),
        },
        "all_layers_meet_tol": recipe.all_meet_tol(),
        "lowp_check_failures": [g.name for g in recipe.lowp_failures()],
        "baseline_failures": {name: len(recipe.failures(name)) for name in baselines},
    }


def _finite(value: float) -> Any:
    return value if math.isfinite(value) else "inf"
