"""What a recipe is: one plan per Muon matrix, the schedules they share, and the totals against the baselines.

Why its own module: the values are what every reader of a recipe needs (the CLI's table, the JSON document,
`nsdesign.torch.Muon`) and none of them needs to know how a recipe was built (`build.py`) or checked
(`check.py`); the totals are sums over the layers in the cost model of the recipe's kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from nsdesign.core.cost import Shape, cost_model, flops
from nsdesign.errors import deprecated
from nsdesign.plans.recipe.check import CHECK_MARGIN, CHECK_ROWS
from nsdesign.plans.recipe.document import recipe_document
from nsdesign.plans.recipe.shapes import NAME_STYLES, ModelConfig, NameStyle
from nsdesign.presets import preset

BASELINES: tuple[str, ...] = ("keller5", "polar_express_modded5", "deepseek_v4_10")
REFERENCES: tuple[str, ...] = ("deepseek_v4_10", "uniform_quintic_greedy", "per_layer_quintic_greedy")


@dataclass(frozen=True)
class LayerPlan:
    name: str  # parameter name in the recipe's NameStyle (default Llama: model.layers.{i}.self_attn.q_proj.weight)
    shape: tuple[int, int]  # weight shape (out, in)
    block: int
    depth: str
    matrix: str  # law matrix: q, k, v, o, mlp_up, mlp_down; qkv for a fused q/k/v
    law: str  # depth.matrix
    schedule: str  # key into Recipe.schedules
    flops: float
    error: float  # exact worst-case error of the schedule on the band
    baseline_errors: Mapping[str, float]
    lowp_error: float | None = None  # the rounding-model check's max |1 − σ_out| on the proxy (None: dtype exact)
    blocks: int = 1  # per-head attention: the matrix runs as `blocks` blocks of `block_shape` (flops: all of them)
    block_shape: tuple[int, int] | None = None

    def ns_shape(self) -> Shape:
        """The shape each Newton–Schulz run sees (the block's under per-head attention)."""
        return Shape(*(self.block_shape or self.shape))

    def fails(self, baseline: str, tol: float) -> bool:
        return self.baseline_errors[baseline] > tol


@dataclass(frozen=True)
class ScheduleGroup:
    """One designed schedule and the band it was designed for (shared by every layer using it)."""

    name: str
    law: str
    shape: Shape  # wide orientation
    band: Any  # BandPrediction
    edge: float  # the σ the schedule was designed for (the point prediction or the interval's lower end)
    design: Any  # nsdesign.design.greedy.Design
    metrics: Any  # nsdesign.core.metrics.Metrics on [edge, 1]
    baseline_errors: Mapping[str, float]
    check: Any = None  # nsdesign.precision.MatrixRun of the rounding-model check (None: dtype exact)
    quintic: Any = None  # the per-layer quintic greedy baseline (a Design, same band, same check)
    frobenius_edge: float | None = None  # under a normalizer: the edge under Frobenius (the baselines' band)


@dataclass(frozen=True)
class Recipe:
    model: ModelConfig
    model_size: float
    config_source: str
    tol: float
    quantile: float
    edge: str
    max_sigma: float  # each layer designed on [edge, max_sigma]
    degrees: tuple[int, ...]
    cushion: float | None  # None: each layer tried KNOBS_TRIED
    safety: float | None
    laws_source: str
    groups: tuple[ScheduleGroup, ...]
    layers: tuple[LayerPlan, ...]
    warnings: tuple[str, ...] = field(default=())
    normalizer: Any = None  # core.normalizers.Normalizer the bands are under (None: Frobenius)
    kernel: str = "fused"
    dtype: str = "bf16"
    check_rows: int = CHECK_ROWS
    check_margin: float = CHECK_MARGIN  # candidates accepted only if the check's error is ≤ tol·(1 − margin)
    uniform_quintic: Any = None  # Design: one quintic greedy schedule for the hardest band, used on every layer
    knobs_tried: tuple[tuple[float, float], ...] = ((0.0, 1.0),)
    per_head: bool = False  # attention orthogonalized one head at a time (ModelConfig.head_blocks)
    names: NameStyle = NAME_STYLES["llama"]  # how the layers are named (shapes.name_style)

    @property
    def cost_model(self) -> str:
        """The FLOP model the totals count in (standard, gram): the kernel's (`core.cost.cost_model`)."""
        return cost_model(self.kernel)

    @property
    def form(self) -> str:
        """Deprecated spelling of `cost_model` (one release)."""
        deprecated("Recipe.form is deprecated: use .kernel or .cost_model")
        return self.cost_model

    def reference_flops(self) -> dict[str, float]:
        """Total FLOPs of the three baselines (REFERENCES) on the same matrices in the same kernel's cost model."""
        kernel = self.kernel
        deepseek = preset("deepseek_v4_10")
        out = {"deepseek_v4_10": sum(flops(deepseek, layer.ns_shape(), kernel) * layer.blocks for layer in self.layers)}
        if self.uniform_quintic is not None:
            u = self.uniform_quintic.schedule
            out["uniform_quintic_greedy"] = sum(flops(u, layer.ns_shape(), kernel) * layer.blocks for layer in self.layers)
        if all(g.quintic is not None for g in self.groups):
            q = {g.name: g.quintic.schedule for g in self.groups}
            out["per_layer_quintic_greedy"] = sum(
                flops(q[layer.schedule], layer.ns_shape(), kernel) * layer.blocks for layer in self.layers
            )
        return out

    def savings(self) -> dict[str, float]:
        """1 − recipe FLOPs / baseline FLOPs for each of the three baselines."""
        total = self.total_flops()
        return {name: 1.0 - total / value for name, value in self.reference_flops().items()}

    def lowp_failures(self) -> tuple[ScheduleGroup, ...]:
        """Groups whose rounding-model check left δ (empty when every emitted schedule passed, or dtype exact)."""
        return tuple(g for g in self.groups if g.check is not None and not g.check.error <= self.tol)

    def total_flops(self) -> float:
        return sum(layer.flops for layer in self.layers)

    def baseline_flops(self) -> dict[str, float]:
        out = {}
        for name in BASELINES:
            schedule = preset(name)
            out[name] = sum(flops(schedule, layer.ns_shape(), self.kernel) * layer.blocks for layer in self.layers)
        return out

    def failures(self, baseline: str = "keller5") -> tuple[LayerPlan, ...]:
        return tuple(layer for layer in self.layers if layer.fails(baseline, self.tol))

    def all_meet_tol(self) -> bool:
        return all(layer.error <= self.tol for layer in self.layers)

    def document(self) -> dict[str, Any]:
        """The versioned recipe JSON: schedules by name, and for each parameter the schedule to use."""
        return recipe_document(self)

    def group(self, name: str) -> ScheduleGroup:
        """The schedule group a layer's `schedule` names."""
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)
