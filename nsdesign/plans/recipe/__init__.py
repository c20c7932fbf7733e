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
[σ_q, max_sigma] (default 1.1): it then meets δ on the whole of [σ_q, 1.1], at a FLOP cost that on the
70B benchmark is under 1% of the total. `max_sigma=1` gives the pure band design.

The gate projection of a gated (SwiGLU) MLP has no law of its own: it shares the input side and the shape
of the up-projection, so it uses the `mlp_up` law.

Default model shapes (when only a size is given) come from `DEFAULT_CONFIGS`, a table of public
Llama-family (and two GPT-style) shapes; the nearest in log(parameter count) is used, with a warning when
it is far from the requested size.

Modules: `shapes` (model shapes, default configs, depths), `check` (the rounding-model check and the cheapest
checked design), `plan` (the Recipe, its layers and schedule groups, totals), `document` (the JSON file),
`build` (`build_recipe`). Every public name is importable from `nsdesign.plans.recipe`.
"""

from nsdesign.core.limits import DEFAULT_DEGREES
from nsdesign.plans.recipe.build import (
    BF16,
    DEFAULT_RECIPE_MAX_SIGMA,
    EDGES,
    KNOBS_TRIED,
    Edge,
    build_recipe,
    recipe_knobs,
)
from nsdesign.plans.recipe.check import (
    CHECK_DTYPES,
    CHECK_MARGIN,
    CHECK_ROWS,
    MAX_FALLBACK_STEPS,
    check_schedule,
    checked_cheapest,
    proxy_rows,
)
from nsdesign.plans.recipe.document import recipe_document
from nsdesign.plans.recipe.plan import BASELINES, REFERENCES, LayerPlan, Recipe, ScheduleGroup
from nsdesign.plans.recipe.shapes import (
    DEFAULT_CONFIGS,
    MAX_LAYERS,
    ModelConfig,
    config_from_dict,
    default_config,
    depth_of_block,
    load_config,
)

__all__ = [
    "BASELINES", "BF16", "CHECK_DTYPES", "CHECK_MARGIN", "CHECK_ROWS", "DEFAULT_CONFIGS", "DEFAULT_DEGREES",
    "DEFAULT_RECIPE_MAX_SIGMA", "EDGES", "KNOBS_TRIED", "MAX_FALLBACK_STEPS", "MAX_LAYERS", "REFERENCES", "Edge",
    "LayerPlan", "ModelConfig", "Recipe", "ScheduleGroup", "build_recipe", "check_schedule", "checked_cheapest",
    "config_from_dict", "default_config", "depth_of_block", "load_config", "proxy_rows", "recipe_document",
    "recipe_knobs",
]
