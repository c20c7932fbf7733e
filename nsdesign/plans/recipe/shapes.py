"""Model shapes for a recipe: which Muon matrices a model has, their weight shapes, their parameter names, and
the measured depth of each block.

Why its own module: a recipe's band comes from laws keyed by depth and matrix, and everything downstream (checks,
FLOPs, names) reads the shape facts here; they are plain data a user can give as JSON (`config_from_dict`,
`load_config`) or take from `DEFAULT_CONFIGS`, the nearest public shape to a parameter count.

Names: a recipe is only useful if `nsdesign.torch.Muon(model.named_parameters(), recipe=…)` finds its matrices,
so each layer is named the way the model's own code names it (`NameStyle`): Hugging Face Llama (q_proj … down_proj,
the default), GPT-2 (fused qkv `attn.c_attn`, `attn.c_proj`, `mlp.c_fc`, `mlp.c_proj`) or GPT-NeoX (fused
`attention.query_key_value`, `attention.dense`, `mlp.dense_h_to_4h`, `mlp.dense_4h_to_h`), or a user's JSON file
of templates (`name_style`). A fused q/k/v projection is one matrix to Muon, so the recipe designs one schedule
for it (see `build.py`).
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass
from typing import Any, Mapping

from nsdesign._files import read_json
from nsdesign.errors import InputError
from nsdesign.laws.momentum import DEPTH_POSITIONS, DEPTHS

# A recipe lists every matrix of every block; published dense models have at most ~130 blocks (Llama 3.1 405B:
# 126), so 4096 is generous and keeps a recipe to about a second (a 10⁶-block config took minutes, silently).
MAX_LAYERS = 4096


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

    def named_matrices(self, names: NameStyle) -> tuple[tuple[str, str, tuple[int, int]], ...]:
        """(name template, law matrix, weight shape) of every Muon matrix of one block, named in `names`' style
        (a fused qkv is one (q + k + v rows) × d_model matrix; the gate only in a gated MLP)."""
        attn, kv = self.n_heads * self.head_dim, self.n_kv_heads * self.head_dim
        shapes = {"q": (attn, self.d_model), "k": (kv, self.d_model), "v": (kv, self.d_model),
                  "qkv": (attn + 2 * kv, self.d_model), "o": (self.d_model, attn), "gate": (self.d_ff, self.d_model),
                  "up": (self.d_ff, self.d_model), "down": (self.d_model, self.d_ff)}
        return tuple((template, ROLE_LAWS[role], shapes[role]) for role, template in names.templates
                     if role != "gate" or self.gated_mlp)

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
    return config_from_dict(read_json(path), str(path))


def _positive_int(where: str, key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{where}: {key!r} must be a positive integer, got {value!r}")

# The law each role of a block's matrices takes ("qkv": a fused q/k/v projection; see build.py for its band).
ROLE_LAWS: Mapping[str, str] = {
    "q": "q", "k": "k", "v": "v", "qkv": "qkv", "o": "o", "gate": "mlp_up", "up": "mlp_up", "down": "mlp_down",
}


@dataclass(frozen=True)
class NameStyle:
    """How a model names its Muon matrices: one template per role, `{i}` standing for the block index (0-based),
    in the order the model lists its parameters."""

    name: str
    templates: tuple[tuple[str, str], ...]  # (role, template)

    @property
    def fused(self) -> bool:
        """q, k and v are one fused matrix (`qkv`)."""
        return any(role == "qkv" for role, _ in self.templates)

    def to_dict(self) -> dict[str, Any]:
        return {"style": self.name, "templates": dict(self.templates)}


def _style(name: str, prefix: str, roles: Mapping[str, str]) -> NameStyle:
    return NameStyle(name, tuple((role, f"{prefix}.{{i}}.{suffix}.weight") for role, suffix in roles.items()))


NAME_STYLES: Mapping[str, NameStyle] = {
    "llama": _style("llama", "model.layers", {
        "q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj", "o": "self_attn.o_proj",
        "gate": "mlp.gate_proj", "up": "mlp.up_proj", "down": "mlp.down_proj"}),
    "gpt2": _style("gpt2", "transformer.h", {
        "qkv": "attn.c_attn", "o": "attn.c_proj", "up": "mlp.c_fc", "down": "mlp.c_proj"}),
    "neox": _style("neox", "gpt_neox.layers", {
        "qkv": "attention.query_key_value", "o": "attention.dense", "up": "mlp.dense_h_to_4h",
        "down": "mlp.dense_4h_to_h"}),
}
# A config's own names when none are given: by its name or Hugging Face model_type (gpt2-124m, gpt_neox, pythia).
NAME_PREFIXES: tuple[tuple[str, str], ...] = (("gpt2", "gpt2"), ("gpt_neox", "neox"), ("gpt-neox", "neox"),
                                              ("neox", "neox"), ("pythia", "neox"))


def default_names(config: ModelConfig) -> NameStyle:
    """The names a model of this config uses: GPT-2 or NeoX by its name, else Hugging Face Llama."""
    name = config.name.lower()
    return next((NAME_STYLES[style] for prefix, style in NAME_PREFIXES if name.startswith(prefix)), NAME_STYLES["llama"])


def name_style(spec: str | NameStyle | None, config: ModelConfig) -> NameStyle:
    """`spec`: a style name (llama, gpt2, neox), a JSON file {role: template} (roles: q, k, v or qkv, o, gate,
    up, down; each template holds {i} once), a NameStyle, or None for the config's own names (`default_names`).
    Refused when the style cannot name the config's matrices (a gated MLP needs a 'gate' template)."""
    if spec is None:
        style = default_names(config)
    elif isinstance(spec, NameStyle):
        style = spec
    elif spec in NAME_STYLES:
        style = NAME_STYLES[spec]
    elif os.path.exists(spec):
        style = _style_from_file(spec)
    else:
        close = difflib.get_close_matches(str(spec), list(NAME_STYLES), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise InputError(f"unknown names {str(spec)[:20]!r}: {hint}{', '.join(NAME_STYLES)} or a JSON file")
    if config.gated_mlp and all(role != "gate" for role, _ in style.templates):
        raise InputError(f"{style.name} names have no gate; this MLP is gated: name its gate")
    return style


def _style_from_file(path: str) -> NameStyle:
    data = read_json(path)
    if not isinstance(data, dict) or not data:
        raise InputError(f"{path}: expected {{role: name with {{i}}, …}}")
    unknown = [key for key in data if key not in ROLE_LAWS]
    if unknown:
        raise InputError(f"{path}: unknown role {unknown[0]!r}; roles: {', '.join(ROLE_LAWS)}")
    for role, template in data.items():
        if not isinstance(template, str) or template.count("{i}") != 1 or "{" in template.replace("{i}", "") \
                or "}" in template.replace("{i}", ""):
            raise InputError(f"{path}: {role!r} needs {{i}} (the block) once, got {template!r}")
    separate = [r for r in ("q", "k", "v") if r in data]
    if ("qkv" in data) == bool(separate) or (separate and len(separate) != 3):
        raise InputError(f"{path}: give 'qkv' (fused) or all of 'q', 'k', 'v'")
    missing = [r for r in ("o", "up", "down") if r not in data]
    if missing:
        raise InputError(f"{path}: missing {', '.join(repr(r) for r in missing)}")
    order = ("q", "k", "v", "qkv", "o", "gate", "up", "down")
    return NameStyle(str(path), tuple((role, data[role]) for role in order if role in data))



def depth_of_block(index: int, n_layers: int) -> str:
    """Nearest measured depth for block `index` (0-based) of `n_layers`; relative depth (index+1)/n_layers.

    Ties go to the deeper law (its band is lower in the measured data, so the choice is conservative).
    """
    if not 0 <= index < n_layers:
        raise InputError(f"block {index} does not exist in a model with {n_layers} blocks")
    position = (index + 1) / n_layers
    order = {d: i for i, d in enumerate(DEPTHS)}
    return min(DEPTHS, key=lambda d: (round(abs(DEPTH_POSITIONS[d] - position), 12), -order[d]))
