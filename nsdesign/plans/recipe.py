"""A per-layer Newton–Schulz recipe for a whole model: band per matrix, cheapest schedule per band.

Why: one uniform schedule must be sized for the hardest matrix of the model, so every easier matrix pays
for steps it does not need, while the hardest ones (final-block matrices of large models, arXiv 2606.04058)
may still be under-served by the popular short schedules. Given a model (size and shape), this module

1. lists its Muon matrices (attention q, k, v, o and the MLP matrices of every block; embeddings and the
   LM head are left to AdamW as in Muon practice),
2. maps each block to the nearest measured depth (mid_early = N/4, mid = N/2, mid_late = 3N/4, final = N;
   block i of N, counted from 1, sits at relative depth i/N; ties go to the deeper law),
3. predicts the band edge σ_q of each matrix from the momentum laws (`nsdesign.laws.predict`),
4. designs the FLOP-cheapest greedy schedule reaching the tolerance δ for that matrix's shape
   (`nsdesign.design.solvers.cheapest_schedule`) **with the kernel's rounding model inside**: a candidate
   degree mix is accepted only if the kernel (fused, unfused or Gram) run in the user's dtype (bf16 by default)
   on a proxy matrix with the layer's true aspect ratio and σ log-spaced over the design band stays within δ
   (`check_schedule`); it is then checked with the exact `nsdesign.core.metrics.worst_error`,
5. totals the FLOPs against three baselines — uniform deepseek_v4_10, one uniform quintic greedy schedule for
   the hardest band of the model, and quintic greedy per layer (k* per layer, held to the same check) — and says
   which layers the uniform presets fail.

Band edge: by default the lower end of each law's ~95% prediction interval (`edge="lower"`): the laws are
extrapolated 25× at 70B and a schedule designed for the point prediction leaves δ if the true edge sits at the
interval's lower end (docs/laws.md). `edge="point"` designs for the point prediction.

Knobs: pure greedy steps have no margin and diverge in bf16 (docs/laws.md), so unless `cushion`/`safety` are
given, a checked recipe (dtype other than "exact") uses Polar Express's cushion 0.02 / safety 1.02
(`KNOBS_TRIED`) on every degree mix; dtype "exact" keeps the pure greedy.

Headroom: a pure greedy schedule designed on [σ_q, 1] has no margin above 1, and some degree mixes blow
σ = 1.05 up to 1e30 or more; in bf16 (round-off, σ_max slightly above 1) that diverges (docs/background.md §3,
Keller Jordan's rule: everything in [0, ~1.1] must stay bounded). So each schedule is designed on
[σ_q, 1 + headroom] (default headroom 0.1): it then meets δ on the whole of [σ_q, 1.1], at a FLOP cost
that on the 70B benchmark is under 1% of the total. `headroom=0` gives the pure band design.

The gate projection of a gated (SwiGLU) MLP has no law of its own: it shares the input side and the shape
of the up-projection, so it uses the `mlp_up` law.

Default model shapes (when only a size is given) come from `DEFAULT_CONFIGS`, a table of public
Llama-family (and two GPT-style) shapes; the nearest in log(parameter count) is used, with a warning when
it is far from the requested size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

from nsdesign.core.cost import Shape
from nsdesign.core.limits import DEFAULT_DEGREES, FORMS, Form
from nsdesign.documents import RECIPE_KIND
from nsdesign.documents import RECIPE_VERSION as RECIPE_SCHEMA_VERSION
from nsdesign.errors import InputError

BASELINES: tuple[str, ...] = ("keller5", "polar_express_modded5", "deepseek_v4_10")
Edge = Literal["point", "lower"]
EDGES: tuple[str, ...] = ("point", "lower")
DEFAULT_RECIPE_HEADROOM = 0.1
# DEFAULT_DEGREES (3, 5, 7, 9) comes from core.limits; quintic-only consumers (torch, optax, gram-newton-schulz): (5,)
# Settings whose schedules stayed bounded in a bf16 matrix check (docs/laws.md): quintic steps with the
# A recipe lists every matrix of every block; published dense models have at most ~130 blocks (Llama 3.1 405B:
# 126), so 4096 is generous and keeps a recipe to about a second (a 10⁶-block config took minutes, silently).
MAX_LAYERS = 4096

# Polar Express cushion and safety factor of modded-nanogpt's list.
BF16: Mapping[str, Any] = {"degrees": (5,), "cushion": 0.02, "safety": 1.02}
# (cushion, safety) the checked recipe uses when none is given: Polar Express's margins (modded-nanogpt's list).
# Pure greedy steps (0, 1) have none: on the 70B recipe a pure-greedy mix (final.q, 5,5,5,7,7) passed a 64-row
# bf16 check and reached σ_max 34 on a 128-row proxy; with 0.02/1.02 no emitted mix exceeded 1.34 on 256 rows.
KNOBS_TRIED: tuple[tuple[float, float], ...] = ((0.02, 1.02),)


def recipe_knobs(
    *,
    bf16: bool = False,
    degrees: Sequence[int] | None = None,
    cushion: float | None = None,
    safety: float | None = None,
) -> dict[str, Any]:
    """The step settings `build_recipe` designs with: `bf16=True` is the fixed `BF16` table (it admits no
    other knob), else the given degrees (default `DEFAULT_DEGREES`) with cushion/safety, which are defined
    for one step degree only (a mix has no single polynomial to inflate)."""
    if bf16:
        given = [f"`{name}`" for name, value in (("degrees", degrees), ("cushion", cushion), ("safety", safety)) if value is not None]
        if given:
            raise InputError(f"`bf16=True` sets degrees 5, cushion 0.02 and safety 1.02; drop {', '.join(given)}")
        return dict(BF16)
    chosen = DEFAULT_DEGREES if degrees is None else tuple(degrees)
    knobs_given = [f"`{name}`" for name, value in (("cushion", cushion), ("safety", safety)) if value is not None]
    if knobs_given and len(set(chosen)) != 1:
        raise InputError(
            f"{' and '.join(knobs_given)} {'needs' if len(knobs_given) == 1 else 'need'} a single step degree (the default "
            f"mixes {','.join(map(str, DEFAULT_DEGREES))}); give `degrees` 5, or `bf16=True`"
        )
    return {"degrees": chosen, "cushion": cushion, "safety": safety}
CHECK_DTYPES: tuple[str, ...] = ("exact", "fp32", "bf16", "fp16")  # "exact": no rounding-model check
# Margin of the rounding-model check: a candidate is accepted only if its error is ≤ δ·(1 − CHECK_MARGIN).
# Measured (benchmarks/recipe_70b.py --bf16-check, docs/laws.md): with no margin, real torch bf16 on the
# check's own proxies exceeded δ = 0.3 by up to 0.018 in 5 of 24 groups, and a 256-row proxy by up to 0.04;
# 0.15 (0.045 at δ = 0.3) covers both observed gaps. Not a bound: a different proxy or matrix can still differ.
CHECK_MARGIN = 0.15

# Proxy for the rounding-model check: at most CHECK_ROWS rows, the layer's aspect ratio (columns ≤ 4096).
# Each candidate is checked on CHECK_ROWS and 2·CHECK_ROWS rows (`proxy_rows`): 128 rows alone sample the band
# too coarsely (a 256-row proxy found errors up to 0.04 higher on the 70B recipe); 256 rows keep the check
# affordable on 2 cores (benchmarks/recipe_70b.py cross-checks both in real torch bf16; docs/laws.md).
CHECK_ROWS = 128
MAX_FALLBACK_STEPS = 30  # single-degree step counts tried when the degree-mix solver finds nothing accepted
REFERENCES: tuple[str, ...] = ("deepseek_v4_10", "uniform_quintic_greedy", "per_layer_quintic_greedy")


# --------------------------------------------------------------------------------------------------
# Model configuration
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelConfig:
    """The shape facts a recipe needs. Weight shapes follow PyTorch (out_features, in_features)."""

    d_model: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_ff: int
    gated_mlp: bool = True
    name: str = ""

    def __post_init__(self) -> None:
        for key in ("d_model", "n_layers", "n_heads", "n_kv_heads", "head_dim", "d_ff"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"model config: {key!r} must be a positive integer, got {value!r}")
        if self.n_heads % self.n_kv_heads:
            raise InputError(
                f"model config: n_heads ({self.n_heads}) must be a multiple of n_kv_heads ({self.n_kv_heads})"
            )
        if self.n_layers > MAX_LAYERS:
            raise InputError(f"model config: n_layers must be at most {MAX_LAYERS}, got {self.n_layers}")

    def matrices(self) -> tuple[tuple[str, str, tuple[int, int]], ...]:
        """(parameter suffix, law matrix, weight shape) of every Muon matrix of one block."""
        attn, kv = self.n_heads * self.head_dim, self.n_kv_heads * self.head_dim
        rows: list[tuple[str, str, tuple[int, int]]] = [
            ("self_attn.q_proj.weight", "q", (attn, self.d_model)),
            ("self_attn.k_proj.weight", "k", (kv, self.d_model)),
            ("self_attn.v_proj.weight", "v", (kv, self.d_model)),
            ("self_attn.o_proj.weight", "o", (self.d_model, attn)),
        ]
        if self.gated_mlp:
            rows.append(("mlp.gate_proj.weight", "mlp_up", (self.d_ff, self.d_model)))
        rows.append(("mlp.up_proj.weight", "mlp_up", (self.d_ff, self.d_model)))
        rows.append(("mlp.down_proj.weight", "mlp_down", (self.d_model, self.d_ff)))
        return tuple(rows)

    def head_blocks(self, matrix: str) -> tuple[int, tuple[int, int]] | None:
        """(count, block shape) of an attention matrix orthogonalized one head at a time (None: not attention).

        q, k, v (rows = heads × head_dim) split their rows: head_dim × d_model blocks (k, v: n_kv_heads of them).
        o (d_model × heads·head_dim) reads the heads along its columns, so per head it splits the columns:
        d_model × head_dim blocks, n_heads of them."""
        if matrix == "q":
            return self.n_heads, (self.head_dim, self.d_model)
        if matrix in ("k", "v"):
            return self.n_kv_heads, (self.head_dim, self.d_model)
        if matrix == "o":
            return self.n_heads, (self.d_model, self.head_dim)
        return None

    def block_params(self) -> int:
        return sum(r * c for _, _, (r, c) in self.matrices())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "d_model": self.d_model,
            "n_layers": self.n_layers,
            "n_heads": self.n_heads,
            "n_kv_heads": self.n_kv_heads,
            "head_dim": self.head_dim,
            "d_ff": self.d_ff,
            "gated_mlp": self.gated_mlp,
        }


# (nominal total parameters, config). Public shapes; the nominal size includes embeddings.
DEFAULT_CONFIGS: tuple[tuple[float, ModelConfig], ...] = (
    (1.24e8, ModelConfig(768, 12, 12, 12, 64, 3072, False, "gpt2-124m")),
    (3.55e8, ModelConfig(1024, 24, 16, 16, 64, 4096, False, "gpt2-medium-355m")),
    (1.24e9, ModelConfig(2048, 16, 32, 8, 64, 8192, True, "llama-3.2-1b")),
    (3.21e9, ModelConfig(3072, 28, 24, 8, 128, 8192, True, "llama-3.2-3b")),
    (8.03e9, ModelConfig(4096, 32, 32, 8, 128, 14336, True, "llama-3.1-8b")),
    (1.30e10, ModelConfig(5120, 40, 40, 40, 128, 13824, True, "llama-2-13b")),
    (3.40e10, ModelConfig(8192, 48, 64, 8, 128, 22016, True, "codellama-34b")),
    (7.06e10, ModelConfig(8192, 80, 64, 8, 128, 28672, True, "llama-3.1-70b")),
    (4.05e11, ModelConfig(16384, 126, 128, 8, 128, 53248, True, "llama-3.1-405b")),
)


def default_config(model_size: float) -> tuple[ModelConfig, list[str]]:
    """The table shape nearest to `model_size` in log size, and a warning if it is more than 1.5x off."""
    nominal, config = min(DEFAULT_CONFIGS, key=lambda row: abs(math.log(row[0] / model_size)))
    warnings = []
    if max(nominal / model_size, model_size / nominal) > 1.5:
        warnings.append(
            f"no default shape near {model_size:.3g} parameters; using {config.name} ({nominal:.3g}); "
            "give `config` for the real shape"
        )
    return config, warnings


_ALIASES: dict[str, tuple[str, ...]] = {
    "d_model": ("d_model", "hidden_size", "n_embd"),
    "n_layers": ("n_layers", "num_hidden_layers", "n_layer"),
    "n_heads": ("n_heads", "num_attention_heads", "n_head"),
    "n_kv_heads": ("n_kv_heads", "num_key_value_heads"),
    "head_dim": ("head_dim",),
    "d_ff": ("d_ff", "intermediate_size", "n_inner"),
    "mlp_ratio": ("mlp_ratio",),
    "gated_mlp": ("gated_mlp",),
    "name": ("name", "model_type"),
}


def config_from_dict(data: Any, where: str = "model config") -> ModelConfig:
    """A config from JSON: nsdesign keys (d_model, n_layers, n_heads, n_kv_heads, head_dim, d_ff or
    mlp_ratio, gated_mlp, name) or their Hugging Face / GPT-2 names (hidden_size, num_hidden_layers, …).
    Unknown keys are ignored (real config files carry many)."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a JSON object with d_model, n_layers, n_heads …")
    values: dict[str, Any] = {}
    for key, names in _ALIASES.items():
        found = [n for n in names if n in data and data[n] is not None]
        if len(found) > 1 and len({repr(data[n]) for n in found}) > 1:
            raise InputError(f"{where}: {' and '.join(repr(n) for n in found)} disagree")
        if found:
            values[key] = data[found[0]]
    for key in ("d_model", "n_layers", "n_heads"):
        if key not in values:
            raise InputError(f"{where}: missing {key!r} (or {', '.join(repr(n) for n in _ALIASES[key][1:])})")
    for key in ("d_model", "n_layers", "n_heads", "n_kv_heads", "head_dim", "d_ff"):
        if key in values:
            _positive_int(where, key, values[key])
    d_model, n_heads = values["d_model"], values["n_heads"]
    if "head_dim" not in values:
        if d_model % n_heads:
            raise InputError(f"{where}: d_model {d_model} is not divisible by n_heads {n_heads}; give head_dim")
        values["head_dim"] = d_model // n_heads
    n_kv = values.get("n_kv_heads", n_heads)
    if n_heads % n_kv:
        raise InputError(f"{where}: n_heads ({n_heads}) must be a multiple of n_kv_heads ({n_kv})")
    gated = values.get("gated_mlp", True)
    if not isinstance(gated, bool):
        raise InputError(f"{where}: 'gated_mlp' must be true or false, got {gated!r}")
    if "d_ff" in values and "mlp_ratio" in values:
        raise InputError(f"{where}: give d_ff or mlp_ratio, not both")
    if "d_ff" not in values:
        ratio = values.get("mlp_ratio", 4.0)
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not (math.isfinite(ratio) and ratio > 0):
            raise InputError(f"{where}: 'mlp_ratio' must be a positive number, got {ratio!r}")
        values["d_ff"] = max(1, round(ratio * d_model))
    return ModelConfig(
        d_model=d_model,
        n_layers=values["n_layers"],
        n_heads=n_heads,
        n_kv_heads=n_kv,
        head_dim=values["head_dim"],
        d_ff=values["d_ff"],
        gated_mlp=gated,
        name=str(values.get("name", "")),
    )


def load_config(path: str) -> ModelConfig:
    from nsdesign._files import read_json

    return config_from_dict(read_json(path), str(path))


def _positive_int(where: str, key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{where}: {key!r} must be a positive integer, got {value!r}")


# --------------------------------------------------------------------------------------------------
# Depths
# --------------------------------------------------------------------------------------------------


def depth_of_block(index: int, n_layers: int) -> str:
    """Nearest measured depth for block `index` (0-based) of `n_layers`; relative depth (index+1)/n_layers.

    Ties go to the deeper law (its band is lower in the measured data, so the choice is conservative).
    """
    from nsdesign.laws.momentum import DEPTH_POSITIONS, DEPTHS

    if not 0 <= index < n_layers:
        raise InputError(f"block {index} does not exist in a model with {n_layers} blocks")
    position = (index + 1) / n_layers
    order = {d: i for i, d in enumerate(DEPTHS)}
    return min(DEPTHS, key=lambda d: (round(abs(DEPTH_POSITIONS[d] - position), 12), -order[d]))


# --------------------------------------------------------------------------------------------------
# The recipe
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerPlan:
    name: str  # parameter name, Hugging Face Llama style: model.layers.{i}.self_attn.q_proj.weight
    shape: tuple[int, int]  # weight shape (out, in)
    block: int
    depth: str
    matrix: str  # law matrix: q, k, v, o, mlp_up, mlp_down
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
    form: str
    edge: str
    headroom: float
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

    def reference_flops(self) -> dict[str, float]:
        """Total FLOPs of the three baselines (REFERENCES) on the same matrices in the same kernel's cost form."""
        from nsdesign.core.cost import flops
        from nsdesign.presets import preset

        form = self.form
        deepseek = preset("deepseek_v4_10")
        out = {"deepseek_v4_10": sum(flops(deepseek, layer.ns_shape(), form) * layer.blocks for layer in self.layers)}  # type: ignore[arg-type]
        if self.uniform_quintic is not None:
            u = self.uniform_quintic.schedule
            out["uniform_quintic_greedy"] = sum(flops(u, layer.ns_shape(), form) * layer.blocks for layer in self.layers)  # type: ignore[arg-type]
        if all(g.quintic is not None for g in self.groups):
            q = {g.name: g.quintic.schedule for g in self.groups}
            out["per_layer_quintic_greedy"] = sum(
                flops(q[layer.schedule], layer.ns_shape(), form) * layer.blocks for layer in self.layers  # type: ignore[arg-type]
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
        from nsdesign.core.cost import flops
        from nsdesign.presets import preset

        out = {}
        for name in BASELINES:
            schedule = preset(name)
            out[name] = sum(flops(schedule, layer.ns_shape(), self.form) * layer.blocks for layer in self.layers)  # type: ignore[arg-type]
        return out

    def failures(self, baseline: str = "keller5") -> tuple[LayerPlan, ...]:
        return tuple(layer for layer in self.layers if layer.fails(baseline, self.tol))

    def all_meet_tol(self) -> bool:
        return all(layer.error <= self.tol for layer in self.layers)

    def document(self) -> dict[str, Any]:
        """The versioned recipe JSON: schedules by name, and for each parameter the schedule to use."""
        from nsdesign._version import __version__
        from nsdesign.documents import schedule_document

        total = self.total_flops()
        baselines = self.baseline_flops()
        schedules = {}
        for g in self.groups:
            params = dict(g.design.params)
            params.update(
                {
                    "law": g.law,
                    "quantile": self.quantile,
                    "model_size": self.model_size,
                    "shape": [g.shape.m, g.shape.n],
                    "form": self.form,
                    "band_source": g.band.source,
                    "band_interval": list(g.band.interval),
                    "band_edge": self.edge,
                    "band_warnings": list(g.band.warnings),
                    "kernel": self.kernel,
                    "dtype": self.dtype,
                    **({} if g.frobenius_edge is None else {"frobenius_edge": g.frobenius_edge}),
                }
            )
            if g.check is not None:
                params["check"] = {
                    "kernel": self.kernel, "dtype": self.dtype, "shape": list(g.check.shape),
                    "sigma": [g.edge, 1.0 + self.headroom], "max_error": _finite(g.check.error), "limit": self.tol,
                    "accept_limit": self.tol * (1.0 - self.check_margin),
                    "passed": bool(g.check.error <= self.tol),
                }
            schedules[g.name] = schedule_document(
                g.design.schedule.with_name(g.name), (g.edge, 1.0), params, g.metrics,
                normalizer=None if self.normalizer is None else self.normalizer.to_dict(),
            )
        return {
            "schema_version": RECIPE_SCHEMA_VERSION,
            "kind": RECIPE_KIND,
            "about": "Per-parameter Newton-Schulz schedules: for each Muon matrix ('layers'), run schedules[layer.schedule] "
            "(coefficients apply in list order, input divided by norm_div * ||X||_F).",
            "model": {**self.model.to_dict(), "model_size": self.model_size, "config_source": self.config_source},
            "params": {
                "tol": self.tol,
                "quantile": self.quantile,
                "form": self.form,
                "band_edge": self.edge,
                "headroom": self.headroom,
                "degrees": list(self.degrees),
                "cushion": self.cushion,
                "safety": self.safety,
                "knobs_tried": [list(k) for k in self.knobs_tried],
                "kernel": self.kernel,
                "dtype": self.dtype,
                "check_rows": self.check_rows,
                "check_margin": self.check_margin,
                "laws": self.laws_source,
                "per_head": self.per_head,
                **({} if self.normalizer is None else {"normalizer": self.normalizer.to_dict()}),
            },
            "schedules": schedules,
            "layers": [
                {
                    "name": layer.name,
                    "shape": list(layer.shape),
                    **({} if layer.block_shape is None else {"blocks": layer.blocks, "block_shape": list(layer.block_shape)}),
                    "block": layer.block,
                    "depth": layer.depth,
                    "matrix": layer.matrix,
                    "law": layer.law,
                    "band": {
                        "min_sigma": self._group(layer.schedule).edge,
                        "max_sigma": 1.0,
                        "predicted": self._group(layer.schedule).band.min_sigma,
                        "interval": list(self._group(layer.schedule).band.interval),
                    },
                    "schedule": layer.schedule,
                    "flops": layer.flops,
                    "error": layer.error,
                    "lowp_error": None if layer.lowp_error is None else _finite(layer.lowp_error),
                    "baseline_errors": dict(layer.baseline_errors),
                }
                for layer in self.layers
            ],
            "totals": {
                "recipe_flops": total,
                "baseline_flops": baselines,
                "saving_vs": {name: 1.0 - total / value for name, value in baselines.items()},
                "reference_flops": self.reference_flops(),
                "saving_vs_references": self.savings(),
                "uniform_quintic_greedy": None if self.uniform_quintic is None else {
                    "degrees": list(self.uniform_quintic.schedule.degrees),
                    "band": [self.uniform_quintic.params.get("min_sigma"), self.uniform_quintic.params.get("max_sigma")],
                    "cushion": self.uniform_quintic.params.get("cushion"),
                    "safety": self.uniform_quintic.params.get("safety"),
                },
                "all_layers_meet_tol": self.all_meet_tol(),
                "lowp_check_failures": [g.name for g in self.lowp_failures()],
                "baseline_failures": {name: len(self.failures(name)) for name in BASELINES},
            },
            "keller5_failures": [layer.name for layer in self.failures("keller5")],
            "warnings": list(self.warnings),
            "nsdesign_version": __version__,
        }

    def _group(self, name: str) -> ScheduleGroup:
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)


def proxy_rows(rows: int) -> tuple[int, int]:
    """The two proxy sizes a candidate is checked on: `rows` and 2·`rows` (each capped at the layer's rows by
    `check_schedule`). One proxy samples the band at only `rows` singular values; measured on the 70B recipe,
    a 256-row proxy found errors up to 0.04 above a 128-row check's (docs/laws.md), so both must pass."""
    return (int(rows), 2 * int(rows))


def check_schedule(
    schedule: Any, min_sigma: float, max_sigma: float, shape: Shape | tuple[int, int], kernel: str = "fused",
    dtype: str = "bf16", rows: int = CHECK_ROWS, seed: int = 0,
) -> Any:
    """The rounding-model run a recipe vets each candidate with (a `nsdesign.precision.MatrixRun`).

    The proxy keeps the layer's aspect ratio (at most `rows` rows, at most 4096 columns; a 70B-sized matrix
    is out of reach on a small CPU) and has its singular values log-spaced over [min_sigma, max_sigma] — the
    whole design band, headroom included, so one run checks both accuracy on the band and no blow-up above 1.
    The kernel is the one the user trains with (Gram: nsdesign's default restart plan for the dtype)."""
    from nsdesign.precision import log_spaced, matrix_error, test_matrix
    from nsdesign.precision.kernels import default_restarts

    dims = (shape.m, shape.n) if isinstance(shape, Shape) else tuple(shape)
    m, n = sorted((int(dims[0]), int(dims[1])))
    r = max(2, min(m, int(rows)))
    cols = min(4096, max(r, round(n * r / m)))
    plan = default_restarts(schedule.num_steps, dtype) if kernel == "gram" else ()
    test = test_matrix((r, cols), log_spaced(min_sigma, max_sigma, r), seed)
    return matrix_error(schedule, test, dtype, kernel=kernel, restarts=plan)


def _kernel_and_form(kernel: str | None, form: str) -> tuple[str, str]:
    from nsdesign.precision.kernels import check_kernel

    if form not in FORMS:
        raise InputError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
    if kernel is None:
        return ("gram" if form == "gram" else "fused"), form
    check_kernel(kernel)
    if form == "gram" and kernel != "gram":
        raise InputError(f"form {form!r} and kernel {kernel!r} disagree")
    return kernel, "gram" if kernel == "gram" else "standard"


def _checked_cheapest(
    band: Any, tol: float, shape: Shape, form: str, degrees: Sequence[int], knobs: Sequence[tuple[float, float]],
    kernel: str, dtype: str, rows: int, top: float, shapes: Sequence[Shape] | None = None,
    accept_tol: float | None = None,
) -> tuple[Any, Any]:
    """The cheapest (design, check run) over the knob pairs whose rounding-model check stays within accept_tol
    (default tol; the recipe passes tol·(1 − check_margin)) while the exact design meets tol.

    dtype "exact" skips the check (the exact-arithmetic design, run None). The check runs on `shapes` (default:
    `shape`; the run kept is the worst). The solver prunes states by interval ratio, which saturates at 1 after
    a few steps, so when no mix it reaches is accepted, single-degree greedy schedules of 1 … MAX_FALLBACK_STEPS
    steps are tried in turn (in bf16 the input's rounding floor can sit above a low band edge, and only more
    steps lift it). If still none passes, the candidate with the smallest check error is returned: the caller
    reports it as failing (`Recipe.lowp_failures`), never as passing."""
    from nsdesign.core.cost import flops
    from nsdesign.design.greedy import greedy
    from nsdesign.design.solvers import cheapest_schedule

    targets = tuple(shapes) if shapes else (shape,)
    limit = tol if accept_tol is None else accept_tol
    runs: dict[int, Any] = {}
    tried: list[tuple[float, Any, Any]] = []

    def vet(design: Any) -> bool:
        run = max((check_schedule(design.schedule, band.min_sigma, top, s, kernel, dtype, k) for s in targets
                   for k in proxy_rows(rows)),
                  key=lambda r: r.error if r.error == r.error else math.inf)
        runs[id(design)] = run
        tried.append((run.error, design, run))
        return run.error <= limit

    found: list[tuple[float, float, Any, Any]] = []
    for cushion, safety in knobs:
        try:
            design = cheapest_schedule(
                band, tol, shape, form, degrees, cushion=cushion, safety=safety,  # type: ignore[arg-type]
                accept=None if dtype == "exact" else vet,
            )
        except InputError:
            continue
        run = runs.get(id(design))
        found.append((flops(design.schedule, shape, form), 0.0 if run is None else run.error, design, run))  # type: ignore[arg-type]
    if not found:
        degree = 5 if 5 in degrees else min(degrees)
        for cushion, safety in knobs:
            for steps in range(1, MAX_FALLBACK_STEPS + 1):
                design = greedy(band, steps=steps, degree=degree, cushion=cushion, safety=safety)
                if design.error <= tol and vet(design):
                    found.append((flops(design.schedule, shape, form), runs[id(design)].error, design, runs[id(design)]))  # type: ignore[arg-type]
                    break
    if not found:
        if not tried:
            raise InputError(f"tolerance {tol:g} is not reachable with degrees {list(degrees)} on [{band.min_sigma:.3g}, {top:g}]")
        _, design, run = min(tried, key=lambda row: row[0] if row[0] == row[0] else math.inf)
        return design, run
    _, _, design, run = min(found, key=lambda row: (row[0], row[1]))
    return design, run


def build_recipe(
    model_size: float,
    tol: float,
    quantile: float = 0.5,
    config: ModelConfig | None = None,
    form: Form | str = "standard",
    laws_path: str | None = None,
    edge: Edge | str = "lower",
    headroom: float = DEFAULT_RECIPE_HEADROOM,
    degrees: Sequence[int] = DEFAULT_DEGREES,
    cushion: float | None = None,
    safety: float | None = None,
    normalizer: Any = None,
    *,
    kernel: str | None = None,
    dtype: str = "bf16",
    check_rows: int = CHECK_ROWS,
    check_margin: float = CHECK_MARGIN,
    per_head: bool | int = False,
) -> Recipe:
    """Band per layer from the momentum laws, the cheapest checked schedule per band, and the three baselines.

    `edge="lower"` (default) designs for the lower end of the law's ~95% prediction interval; `edge="point"`
    for the predicted σ_q. Each schedule is designed on [edge, 1 + headroom] (see the module docstring).
    `kernel` (fused, unfused, gram; default from `form`: fused, or gram) and `dtype` (bf16 default; fp16,
    fp32, or "exact" for no check) are what the layer runs: every candidate degree mix is run in that
    kernel's rounding model on a proxy of the layer's aspect ratio (`check_schedule`, at most `check_rows`
    rows) and accepted only if its max |1 − σ_out| over the design band is ≤ tol·(1 − check_margin)
    (`CHECK_MARGIN` 0.15 by default: the model is one proxy's sample, real kernels and bigger proxies differ
    by a few hundredths; a group is still reported as failing only above tol itself).
    `degrees` are the step degrees the search may mix; `(5,)` gives quintic-only schedules (torch.optim.Muon,
    optax, gram-newton-schulz). `cushion`/`safety` fix the Polar Express knobs; None (default) uses
    `KNOBS_TRIED` (0.02/1.02) when checked, the pure greedy (0/1) for dtype "exact".

    `normalizer` (a name or `core.normalizers.Normalizer`): the update is divided by it instead of ‖X‖_F, so
    each band edge is lifted by the normalizer's factor on the law's model spectrum
    (`laws.normalized.normalized_band`: a divisor ratio, the same for the point and the interval's lower
    end). The schedule still meets δ on [edge, 1 + headroom] — the top is not lowered to the predicted
    normalized σ_max, because the laws do not model the spiked top of momentum spectra and only σ ≤ 1 is
    guaranteed. Baselines keep Frobenius (their edge is the unlifted one); each layer's FLOPs add the
    normalizer's work beyond Frobenius (`Normalizer.extra_flops`). AOL is refused (a law gives singular
    values only), and schatten8 needs every degree ≥ 5 (the cheapest mix may start with any of them).

    `per_head` (True, or the model's head count as a check): attention is orthogonalized one head at a time
    (`ModelConfig.head_blocks`: q, k, v per-head rows, o per-head columns). Each law's band is for the fused
    matrix; a block's edge is that edge times `laws.blocks.block_lift`, the Marchenko–Pastur ratio σ_q(block) /
    σ_q(fused) (exact for i.i.d. matrices, a model for momentum). Schedules, checks and FLOPs (all blocks, the
    baselines too) are per block. Not combined with a normalizer.
    """
    from nsdesign.core.band import Band
    from nsdesign.core.cost import flops
    from nsdesign.core.metrics import evaluate, worst_error
    from nsdesign.laws.marchenko_pastur import check_quantile
    from nsdesign.laws.momentum import load_laws
    from nsdesign.laws.predict import check_model_size, predict_momentum
    from nsdesign.presets import preset

    size = check_model_size(model_size)
    q = check_quantile(quantile)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (math.isfinite(tol) and 0 < tol < 1):
        raise InputError(f"tolerance must be a number in (0, 1), got {tol!r}")
    kernel, form = _kernel_and_form(kernel, form)
    if edge not in EDGES:
        raise InputError(f"band edge must be one of {', '.join(EDGES)}, got {edge!r}")
    if isinstance(headroom, bool) or not isinstance(headroom, (int, float)) or not (math.isfinite(headroom) and 0 <= headroom <= 1):
        raise InputError(f"headroom must be in [0, 1], got {headroom!r}")
    if dtype not in CHECK_DTYPES:
        raise InputError(f"dtype must be one of {', '.join(CHECK_DTYPES)}, got {dtype!r}")
    if isinstance(check_rows, bool) or not isinstance(check_rows, int) or not 2 <= check_rows <= 1024:
        raise InputError(f"`check_rows` must be an integer in [2, 1024], got {check_rows!r}")
    if isinstance(check_margin, bool) or not isinstance(check_margin, (int, float)) or not (
        math.isfinite(check_margin) and 0 <= check_margin < 1
    ):
        raise InputError(f"`check_margin` must be a number in [0, 1), got {check_margin!r}")
    accept_tol = float(tol) * (1.0 - float(check_margin))
    if cushion is None and safety is None:
        knobs: tuple[tuple[float, float], ...] = KNOBS_TRIED if dtype != "exact" else ((0.0, 1.0),)
    else:
        knobs = ((0.0 if cushion is None else float(cushion), 1.0 if safety is None else float(safety)),)
    warnings: list[str] = []
    if config is None:
        config, notes = default_config(size)
        config_source = f"default shape {config.name} (nearest to {size:.3g} parameters)"
        warnings.extend(notes)
    else:
        config_source = f"given config{' ' + config.name if config.name else ''}"
    per_head = _check_per_head(per_head, config, normalizer)
    table = load_laws(laws_path)
    baselines = {name: preset(name) for name in BASELINES}
    top = 1.0 + headroom
    norm = None
    if normalizer is not None:
        from nsdesign.core.normalizers import get

        norm = get(normalizer)
        if norm.name == "frobenius":
            norm = None
        elif min(degrees) < norm.min_first_degree:
            raise InputError(
                f"{norm.name} reads the first step's products and needs its degree ≥ {norm.min_first_degree}; "
                f"give `degrees` ≥ {norm.min_first_degree}"
            )

    groups: dict[tuple[str, Shape], ScheduleGroup] = {}
    layers: list[LayerPlan] = []
    for block in range(config.n_layers):
        depth = depth_of_block(block, config.n_layers)
        for suffix, matrix, weight_shape in config.matrices():
            law = f"{depth}.{matrix}"
            split = config.head_blocks(matrix) if per_head else None
            count, ns_shape = split if split is not None else (1, weight_shape)
            shape = Shape(*ns_shape)
            key = (law, shape)
            if key not in groups:
                try:
                    band = predict_momentum(table, law, q, size)
                except InputError as exc:
                    raise InputError(f"the law table cannot serve {law} (needed for {suffix}): {exc}") from None
                if split is not None:
                    band = _per_head_band(band, q, Shape(*weight_shape), shape)
                design_edge = band.min_sigma if edge == "point" else band.interval[0]
                frobenius_edge = design_edge
                if norm is not None:
                    from nsdesign.laws.normalized import normalized_band

                    design_edge = frobenius_edge * normalized_band(norm, q, model_size=size, layer=law, laws_path=laws_path).lift
                design_band = Band(design_edge, top)
                design, run = _checked_cheapest(design_band, tol, shape, form, degrees, knobs, kernel, dtype, check_rows, top, accept_tol=accept_tol)
                quintic, quintic_run = _checked_cheapest(design_band, tol, shape, form, (5,), knobs, kernel, dtype, check_rows, top, accept_tol=accept_tol)
                if _passes(quintic_run, accept_tol) and (not _passes(run, accept_tol) or _cost(quintic, shape, form) < _cost(design, shape, form)):
                    design, run = quintic, quintic_run  # the mix solver's ratio pruning can miss a cheaper quintic
                name = law if all(g.law != law for g in groups.values()) else f"{law}@{shape}"
                groups[key] = ScheduleGroup(
                    name=name,
                    law=law,
                    shape=shape,
                    band=band,
                    edge=design_edge,
                    design=design,
                    metrics=evaluate(design.schedule, design_edge, 1.0, headroom=headroom, tol=tol, shape=shape),
                    baseline_errors={b: worst_error(s, frobenius_edge, 1.0) for b, s in baselines.items()},
                    frobenius_edge=None if norm is None else frobenius_edge,
                    check=run,
                    quintic=quintic,
                )
            group = groups[key]
            layers.append(
                LayerPlan(
                    name=f"model.layers.{block}.{suffix}",
                    shape=weight_shape,
                    block=block,
                    depth=depth,
                    matrix=matrix,
                    law=law,
                    schedule=group.name,
                    flops=(flops(group.design.schedule, shape, form) + _normalizer_flops(norm, shape)) * count,  # type: ignore[arg-type]
                    error=group.metrics.worst_error,
                    baseline_errors=group.baseline_errors,
                    lowp_error=None if group.check is None else group.check.error,
                    blocks=count,
                    block_shape=None if split is None else ns_shape,
                )
            )
    uniform = _uniform_quintic(tuple(groups.values()), tol, form, knobs, kernel, dtype, check_rows, top, accept_tol)
    warnings.extend(_summary_warnings(tuple(groups.values()), size, config, dtype, tol))
    return Recipe(
        model=config,
        model_size=size,
        config_source=config_source,
        tol=float(tol),
        quantile=q,
        form=form,
        edge=edge,
        headroom=float(headroom),
        degrees=tuple(degrees),
        cushion=knobs[0][0] if len(knobs) == 1 else None,
        safety=knobs[0][1] if len(knobs) == 1 else None,
        laws_source=table.source if laws_path is None else f"{laws_path} ({table.source})",
        groups=tuple(groups.values()),
        layers=tuple(layers),
        warnings=tuple(warnings),
        kernel=kernel,
        dtype=dtype,
        check_rows=check_rows,
        check_margin=float(check_margin),
        uniform_quintic=uniform,
        knobs_tried=knobs,
        normalizer=norm,
        per_head=per_head,
    )


def _check_per_head(per_head: bool | int, config: ModelConfig, normalizer: Any) -> bool:
    """`per_head` as a bool: True, False, or the model's head count (any other count is refused)."""
    if per_head is False or per_head is None:
        return False
    if per_head is not True and (not isinstance(per_head, int) or per_head != config.n_heads):
        raise InputError(
            f"heads {per_head!r} disagrees with the model's {config.n_heads} heads ({config.name or 'config'}); "
            "per-head recipes use the config's head counts"
        )
    if normalizer is not None and normalizer != "frobenius" and getattr(normalizer, "name", None) != "frobenius":
        raise InputError("a per-head recipe runs under Frobenius normalization; drop the normalizer")
    return True


def _per_head_band(band: Any, quantile: float, fused: Shape, block: Shape) -> Any:
    """The fused law's band lifted to one head's block by the Marchenko–Pastur ratio (`block_lift`)."""
    import dataclasses

    from nsdesign.laws.blocks import block_lift

    lift = block_lift(quantile, fused, block)
    lo, hi = band.interval
    source = f"{band.source}, per head ×{lift:.3g} (Marchenko–Pastur {block} / {fused})"
    return dataclasses.replace(band, min_sigma=band.min_sigma * lift, interval=(lo * lift, hi * lift), source=source)


def _uniform_quintic(
    groups: Sequence[ScheduleGroup], tol: float, form: str, knobs: Sequence[tuple[float, float]], kernel: str,
    dtype: str, rows: int, top: float, accept_tol: float | None = None,
) -> Any:
    """One quintic greedy schedule for the hardest band (the lowest design edge of the model), held to the same
    rounding-model check on every distinct aspect ratio of the model: what a uniform schedule must be."""
    from nsdesign.core.band import Band

    lowest = min(g.edge for g in groups)
    shapes = list(dict.fromkeys(g.shape for g in groups))
    biggest = max(shapes, key=lambda s: s.m * s.n)
    design, _ = _checked_cheapest(Band(lowest, top), tol, biggest, form, (5,), knobs, kernel, dtype, rows, top, shapes,
                                  accept_tol=accept_tol)
    return design


def _passes(run: Any, tol: float) -> bool:
    return run is None or run.error <= tol


def _cost(design: Any, shape: Shape, form: str) -> float:
    from nsdesign.core.cost import flops

    return flops(design.schedule, shape, form)  # type: ignore[arg-type]


def _finite(value: float) -> Any:
    return value if math.isfinite(value) else "inf"


def _normalizer_flops(norm: Any, shape: Shape) -> float:
    """The normalizer's work beyond the baselines' Frobenius norm (0 without one; may be negative: ‖A‖_F on
    the m×m Gram matrix can cost less than ‖X‖_F on m×n)."""
    if norm is None:
        return 0.0
    from nsdesign.core.normalizers import Normalizer

    return norm.extra_flops(shape) - Normalizer("frobenius").extra_flops(shape)


def _summary_warnings(
    groups: Sequence[ScheduleGroup], size: float, config: ModelConfig, dtype: str = "bf16", tol: float = 1.0
) -> list[str]:
    """One line per kind of caveat (the per-law warnings stay in each schedule's params)."""
    from nsdesign.laws.momentum import DEPTH_POSITIONS

    out = []
    extrapolated = sorted({g.law for g in groups if any("outside the fitted range" in w for w in g.band.warnings)})
    if extrapolated:
        out.append(
            f"model size {size:.3g} is outside the fitted range of {len(extrapolated)} of {len({g.law for g in groups})} "
            "laws used: their bands are extrapolated"
        )
    curved = sorted({g.law for g in groups if any("final-block law" in w for w in g.band.warnings) 
                     and (g.edge if g.frobenius_edge is None else g.frobenius_edge) == g.band.min_sigma})
    if curved:
        out.append(
            f"final-block laws are curved in log–log ({', '.join(curved)}): their predicted bands are likely too "
            "narrow at this size; consider `edge` lower"
        )
    failing = [g.name for g in groups if g.check is not None and not g.check.error <= tol]
    if failing:
        out.append(
            f"no schedule found stays within tolerance in the {dtype} rounding model for {', '.join(failing)}: "
            "the closest is emitted and marked failing; raise the tolerance or the band edge"
        )
    if any("labels appear swapped" in w for g in groups for w in g.band.warnings):
        out.append("MLP laws follow the data file's attribution; the source figure's MLP up/down labels appear swapped")
    if dtype == "exact" and (any(g.design.schedule.degree > 5 for g in groups) or (
        all(g.design.params.get("safety", 1.0) == 1.0 for g in groups) and any(g.design.schedule.num_steps > 1 for g in groups)
    )):
        out.append(
            "these are exact-arithmetic designs: pure greedy steps (above all degree 7/9) diverged in a bf16 matrix check "
            "(docs/laws.md); for bf16 training keep the default `dtype` 'bf16' (every schedule checked in the rounding model)"
        )
    shallow = [i for i in range(config.n_layers) if (i + 1) / config.n_layers < DEPTH_POSITIONS["mid_early"]]
    if shallow:
        out.append(
            f"blocks 0–{shallow[-1]} are shallower than any measured depth and use the mid_early laws (no early-block data)"
        )
    return out
