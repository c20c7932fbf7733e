"""Building a recipe: for every Muon matrix of a model, its band from the momentum laws and the cheapest schedule
that passes the kernel's rounding-model check (`check.py`), then the uniform quintic reference.

Why its own module: this is the one pipeline of the recipe (laws → design → check); the model's shapes
(`shapes.py`), the values it returns (`plan.py`) and the file it writes (`document.py`) do not depend on it.
See the package docstring (`nsdesign.plans.recipe`) for the band edge, the knobs and the band top (max_sigma).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

from nsdesign.core.band import Band
from nsdesign.core.cost import Shape, flops, resolve_kernel
from nsdesign.core.limits import DEFAULT_DEGREES, check_model_size
from nsdesign.core.metrics import evaluate, worst_error
from nsdesign.core.normalizers import Normalizer, get
from nsdesign.errors import InputError, deprecated
from nsdesign.laws.blocks import block_lift
from nsdesign.laws.marchenko_pastur import check_quantile
from nsdesign.laws.momentum import DEPTH_POSITIONS, load_laws
from nsdesign.laws.normalized import normalized_band
from nsdesign.laws.predict import predict_momentum
from nsdesign.plans.recipe.check import CHECK_DTYPES, CHECK_MARGIN, CHECK_ROWS, checked_cheapest
from nsdesign.plans.recipe.plan import BASELINES, LayerPlan, Recipe, ScheduleGroup
from nsdesign.plans.recipe.shapes import ModelConfig, NameStyle, default_config, depth_of_block, name_style
from nsdesign.precision.kernels import check_kernel
from nsdesign.presets import preset

Edge = Literal["point", "lower"]
EDGES: tuple[str, ...] = ("point", "lower")
DEFAULT_RECIPE_MAX_SIGMA = 1.1  # each layer designed on [σ_q, 1.1]: Keller Jordan's "bounded on [0, ~1.1]"
# DEFAULT_DEGREES (3, 5, 7, 9) comes from core.limits; quintic-only consumers (torch, optax, gram-newton-schulz): (5,)

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


@dataclass(frozen=True)
class _Settings:
    """What every schedule group of one recipe is designed and checked with (checked values, one bundle)."""

    size: float
    quantile: float
    tol: float
    accept_tol: float  # a candidate's rounding-model error must be ≤ this: tol·(1 − check_margin)
    kernel: str
    dtype: str
    degrees: Sequence[int]
    knobs: tuple[tuple[float, float], ...]
    check_rows: int
    max_sigma: float
    edge: str
    norm: Any  # core.normalizers.Normalizer (None: Frobenius)
    laws_path: str | None
    table: Any  # laws.momentum LawTable
    per_head: bool
    names: NameStyle

    @property
    def top(self) -> float:
        return self.max_sigma


def build_recipe(
    model_size: float,
    tol: float,
    quantile: float = 0.5,
    config: ModelConfig | None = None,
    kernel: str | None = None,
    laws_path: str | None = None,
    edge: Edge | str = "lower",
    max_sigma: float = DEFAULT_RECIPE_MAX_SIGMA,
    degrees: Sequence[int] = DEFAULT_DEGREES,
    cushion: float | None = None,
    safety: float | None = None,
    normalizer: Any = None,
    *,
    dtype: str = "bf16",
    check_rows: int = CHECK_ROWS,
    check_margin: float = CHECK_MARGIN,
    per_head: bool | int = False,
    names: str | NameStyle | None = None,
    form: str | None = None,
    headroom: float | None = None,
) -> Recipe:
    """Band per layer from the momentum laws, the cheapest checked schedule per band, and the three baselines.

    `edge="lower"` (default) designs for the lower end of the law's ~95% prediction interval; `edge="point"`
    for the predicted σ_q. Each schedule is designed on [edge, max_sigma] (see the module docstring; `headroom=h`
    is the deprecated spelling of max_sigma = 1 + h).
    `kernel` (fused by default, unfused, gram; `form=` standard/gram is its deprecated spelling) and `dtype`
    (bf16 default; fp16, fp32, or "exact" for no check) are what the layer runs: every candidate degree mix is
    run in that kernel's rounding model on a proxy of the layer's aspect ratio (`check_schedule`, at most `check_rows`
    rows) and accepted only if its max |1 − σ_out| over the design band is ≤ tol·(1 − check_margin)
    (`CHECK_MARGIN` 0.15 by default: the model is one proxy's sample, real kernels and bigger proxies differ
    by a few hundredths; a group is still reported as failing only above tol itself).
    `degrees` are the step degrees the search may mix; `(5,)` gives quintic-only schedules (torch.optim.Muon,
    optax, gram-newton-schulz). `cushion`/`safety` fix the Polar Express knobs; None (default) uses
    `KNOBS_TRIED` (0.02/1.02) when checked, the pure greedy (0/1) for dtype "exact".

    `normalizer` (a name or `core.normalizers.Normalizer`): the update is divided by it instead of ‖X‖_F, so
    each band edge is lifted by the normalizer's factor on the law's model spectrum
    (`laws.normalized.normalized_band`: a divisor ratio, the same for the point and the interval's lower
    end). The schedule still meets δ on [edge, max_sigma] — the top is not lowered to the predicted
    normalized σ_max, because the laws do not model the spiked top of momentum spectra and only σ ≤ 1 is
    guaranteed. Baselines keep Frobenius (their edge is the unlifted one); each layer's FLOPs add the
    normalizer's work beyond Frobenius (`Normalizer.extra_flops`). AOL is refused (a law gives singular
    values only), and schatten8 needs every degree ≥ 5 (the cheapest mix may start with any of them).

    `per_head` (True, or the model's head count as a check): attention is orthogonalized one head at a time
    (`ModelConfig.head_blocks`: q, k, v per-head rows, o per-head columns). Each law's band is for the fused
    matrix; a block's edge is that edge times `laws.blocks.block_lift`, the Marchenko–Pastur ratio σ_q(block) /
    σ_q(fused) (exact for i.i.d. matrices, a model for momentum). Schedules, checks and FLOPs (all blocks, the
    baselines too) are per block. Not combined with a normalizer.

    `names`: llama, gpt2, neox or a JSON file of name templates (`shapes.name_style`; None: the config's own); a
    fused qkv (gpt2, neox) is one matrix, designed for the lowest of its q, k, v band edges (`_predicted_band`).
    """
    size = check_model_size(model_size)
    q = check_quantile(quantile)
    max_sigma = _max_sigma(max_sigma, headroom)
    kernel = _checked_arguments(tol, resolve_kernel(kernel, form), edge, max_sigma, dtype, check_rows, check_margin)
    knobs = _knobs(cushion, safety, dtype)
    config, config_source, notes = _config_of(size, config)
    warnings = list(notes)
    style = name_style(names, config)
    per_head = _check_per_head(per_head, config, normalizer, style)
    table = load_laws(laws_path)
    settings = _Settings(size, q, tol, float(tol) * (1.0 - float(check_margin)), kernel, dtype, degrees, knobs,
                         check_rows, max_sigma, edge, _normalizer(normalizer, degrees), laws_path, table, per_head, style)
    groups, layers = _plan(config, settings)
    warnings.extend(_summary_warnings(groups, size, config, dtype, tol))
    return Recipe(
        model=config, model_size=size, config_source=config_source, tol=float(tol), quantile=q, edge=edge,
        max_sigma=float(max_sigma), degrees=tuple(degrees), cushion=knobs[0][0] if len(knobs) == 1 else None,
        safety=knobs[0][1] if len(knobs) == 1 else None,
        laws_source=table.source if laws_path is None else f"{laws_path} ({table.source})", groups=groups,
        layers=layers, warnings=tuple(warnings), kernel=kernel, dtype=dtype, check_rows=check_rows,
        check_margin=float(check_margin), uniform_quintic=_uniform_quintic(groups, settings), knobs_tried=knobs,
        normalizer=settings.norm, per_head=per_head, names=style,
    )


def _config_of(size: float, config: ModelConfig | None) -> tuple[ModelConfig, str, tuple[str, ...]]:
    """(the model's shapes, where they came from, notes): the given config, else the default nearest to size."""
    if config is not None:
        return config, f"given config{' ' + config.name if config.name else ''}", ()
    config, notes = default_config(size)
    return config, f"default shape {config.name} (nearest to {size:.3g} parameters)", tuple(notes)


def _max_sigma(max_sigma: float, headroom: float | None) -> float:
    """The design band's top; `headroom=h`, its old spelling, means 1 + h (for one release, with a warning)."""
    if headroom is None:
        return max_sigma
    deprecated("headroom=h is deprecated: give max_sigma=1 + h")
    if isinstance(headroom, bool) or not isinstance(headroom, (int, float)):
        raise InputError(f"`headroom` must be a number, got {headroom!r}")
    return 1.0 + float(headroom)


def _checked_arguments(
    tol: float, kernel: str, edge: str, max_sigma: float, dtype: str, check_rows: int, check_margin: float,
) -> str:
    """Refuse out-of-range settings (one line each, in the order of the signature); the checked kernel."""
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (math.isfinite(tol) and 0 < tol < 1):
        raise InputError(f"tolerance must be a number in (0, 1), got {tol!r}")
    check_kernel(kernel)
    if edge not in EDGES:
        raise InputError(f"band edge must be one of {', '.join(EDGES)}, got {edge!r}")
    if isinstance(max_sigma, bool) or not isinstance(max_sigma, (int, float)) or not (
        math.isfinite(max_sigma) and 1 <= max_sigma <= 2
    ):
        raise InputError(f"`max_sigma` must be in [1, 2], got {max_sigma!r}")
    if dtype not in CHECK_DTYPES:
        raise InputError(f"dtype must be one of {', '.join(CHECK_DTYPES)}, got {dtype!r}")
    if isinstance(check_rows, bool) or not isinstance(check_rows, int) or not 2 <= check_rows <= 1024:
        raise InputError(f"`check_rows` must be an integer in [2, 1024], got {check_rows!r}")
    if isinstance(check_margin, bool) or not isinstance(check_margin, (int, float)) or not (
        math.isfinite(check_margin) and 0 <= check_margin < 1
    ):
        raise InputError(f"`check_margin` must be a number in [0, 1), got {check_margin!r}")
    return kernel


def _knobs(cushion: float | None, safety: float | None, dtype: str) -> tuple[tuple[float, float], ...]:
    """The (cushion, safety) pairs tried per group: the given pair, else KNOBS_TRIED when checked, else pure greedy."""
    if cushion is None and safety is None:
        return KNOBS_TRIED if dtype != "exact" else ((0.0, 1.0),)
    return ((0.0 if cushion is None else float(cushion), 1.0 if safety is None else float(safety)),)


def _normalizer(normalizer: Any, degrees: Sequence[int]) -> Any:
    """The normalizer the bands are lifted by (None for Frobenius); refused when the first degree is too low for it."""
    if normalizer is None:
        return None
    norm = get(normalizer)
    if norm.name == "frobenius":
        return None
    if min(degrees) < norm.min_first_degree:
        raise InputError(
            f"{norm.name} reads the first step's products and needs its degree ≥ {norm.min_first_degree}; "
            f"give `degrees` ≥ {norm.min_first_degree}"
        )
    return norm


def _plan(config: ModelConfig, s: _Settings) -> tuple[tuple[ScheduleGroup, ...], tuple[LayerPlan, ...]]:
    """Every Muon matrix of every block, in order; one schedule group per (law, shape), designed on first use."""
    baselines = {name: preset(name) for name in BASELINES}
    groups: dict[tuple[str, Shape], ScheduleGroup] = {}
    layers: list[LayerPlan] = []
    for block in range(config.n_layers):
        depth = depth_of_block(block, config.n_layers)
        for template, matrix, weight_shape in config.named_matrices(s.names):
            suffix = template.split("{i}.", 1)[-1]
            law = f"{depth}.{matrix}"
            split = config.head_blocks(matrix) if s.per_head else None
            count, ns_shape = split if split is not None else (1, weight_shape)
            shape = Shape(*ns_shape)
            if (law, shape) not in groups:
                name = law if all(g.law != law for g in groups.values()) else f"{law}@{shape}"
                fused = None if split is None else Shape(*weight_shape)
                groups[(law, shape)] = _design_group(name, law, suffix, shape, fused, s, baselines)
            group = groups[(law, shape)]
            layers.append(
                LayerPlan(
                    name=template.replace("{i}", str(block)),
                    shape=weight_shape,
                    block=block,
                    depth=depth,
                    matrix=matrix,
                    law=law,
                    schedule=group.name,
                    flops=(flops(group.design.schedule, shape, s.kernel) + _normalizer_flops(s.norm, shape)) * count,
                    error=group.metrics.worst_error,
                    baseline_errors=group.baseline_errors,
                    lowp_error=None if group.check is None else group.check.error,
                    blocks=count,
                    block_shape=None if split is None else ns_shape,
                )
            )
    return tuple(groups.values()), tuple(layers)


def _design_group(
    name: str, law: str, suffix: str, shape: Shape, fused: Shape | None, s: _Settings, baselines: Mapping[str, Any]
) -> ScheduleGroup:
    """One law's band on one shape (`fused`: the whole matrix a per-head block comes from) and its cheapest checked
    schedule; the baselines' errors on the Frobenius band."""
    band = _predicted_band(law, suffix, s)
    if fused is not None:
        band = _per_head_band(band, s.quantile, fused, shape)
    frobenius_edge = band.min_sigma if s.edge == "point" else band.interval[0]
    design_edge = frobenius_edge
    if s.norm is not None:
        lift = normalized_band(s.norm, s.quantile, model_size=s.size, layer=law, laws_path=s.laws_path).lift
        design_edge = frobenius_edge * lift
    design_band = Band(design_edge, s.top)
    checked = (s.tol, shape)
    rest = (s.knobs, s.kernel, s.dtype, s.check_rows, s.top)
    design, run = checked_cheapest(design_band, *checked, s.degrees, *rest, accept_tol=s.accept_tol)
    quintic, quintic_run = checked_cheapest(design_band, *checked, (5,), *rest, accept_tol=s.accept_tol)
    if _passes(quintic_run, s.accept_tol) and (
        not _passes(run, s.accept_tol) or _cost(quintic, shape, s.kernel) < _cost(design, shape, s.kernel)
    ):
        design, run = quintic, quintic_run  # the mix solver's ratio pruning can miss a cheaper quintic
    return ScheduleGroup(
        name=name,
        law=law,
        shape=shape,
        band=band,
        edge=design_edge,
        design=design,
        metrics=evaluate(design.schedule, design_edge, 1.0, guard_sigma=s.max_sigma, tol=s.tol, shape=shape),
        baseline_errors={b: worst_error(sched, frobenius_edge, 1.0) for b, sched in baselines.items()},
        frobenius_edge=None if s.norm is None else frobenius_edge,
        check=run,
        quintic=quintic,
    )


def _predicted_band(law: str, suffix: str, s: _Settings) -> Any:
    """The law's band; a fused qkv takes the lowest of the q, k, v bands at the design edge (the stacked matrix
    holds all three; no law measures it, so the most demanding part sets its band)."""
    depth, matrix = law.split(".", 1)
    parts = ("q", "k", "v") if matrix == "qkv" else (matrix,)
    bands = []
    for part in parts:
        try:
            bands.append(predict_momentum(s.table, f"{depth}.{part}", s.quantile, s.size))
        except InputError as exc:
            raise InputError(f"the law table cannot serve {depth}.{part} (needed for {suffix}): {exc}") from None
    if len(bands) == 1:
        return bands[0]
    lowest = min(zip(parts, bands), key=lambda pair: pair[1].min_sigma if s.edge == "point" else pair[1].interval[0])
    return dataclasses.replace(lowest[1], source=f"{lowest[1].source}; fused qkv: its {lowest[0]} band, the lowest")


def _check_per_head(per_head: bool | int, config: ModelConfig, normalizer: Any, names: NameStyle) -> bool:
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
    if names.fused:
        raise InputError(f"per-head recipes need q, k, v apart; {names.name} names fuse them")
    return True


def _per_head_band(band: Any, quantile: float, fused: Shape, block: Shape) -> Any:
    """The fused law's band lifted to one head's block by the Marchenko–Pastur ratio (`block_lift`)."""
    lift = block_lift(quantile, fused, block)
    lo, hi = band.interval
    source = f"{band.source}, per head ×{lift:.3g} (Marchenko–Pastur {block} / {fused})"
    return dataclasses.replace(band, min_sigma=band.min_sigma * lift, interval=(lo * lift, hi * lift), source=source)


def _uniform_quintic(groups: Sequence[ScheduleGroup], s: _Settings) -> Any:
    """One quintic greedy schedule for the hardest band (the lowest design edge of the model), held to the same
    rounding-model check on every distinct aspect ratio of the model: what a uniform schedule must be."""
    lowest = min(g.edge for g in groups)
    shapes = list(dict.fromkeys(g.shape for g in groups))
    biggest = max(shapes, key=lambda shape: shape.m * shape.n)
    design, _ = checked_cheapest(Band(lowest, s.top), s.tol, biggest, (5,), s.knobs, s.kernel, s.dtype,
                                 s.check_rows, s.top, shapes, accept_tol=s.accept_tol)
    return design


def _passes(run: Any, tol: float) -> bool:
    return run is None or run.error <= tol


def _cost(design: Any, shape: Shape, kernel: str) -> float:
    return flops(design.schedule, shape, kernel)


def _normalizer_flops(norm: Any, shape: Shape) -> float:
    """The normalizer's work beyond the baselines' Frobenius norm (0 without one; may be negative: ‖A‖_F on
    the m×m Gram matrix can cost less than ‖X‖_F on m×n)."""
    if norm is None:
        return 0.0
    return norm.extra_flops(shape) - Normalizer("frobenius").extra_flops(shape)


def _summary_warnings(
    groups: Sequence[ScheduleGroup], size: float, config: ModelConfig, dtype: str = "bf16", tol: float = 1.0
) -> list[str]:
    """One line per kind of caveat (the per-law warnings stay in each schedule's params)."""
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
