"""Model shapes for a recipe: which Muon matrices a model has, their weight shapes, and the measured depth of each
block.

Why its own module: a recipe's band comes from laws keyed by depth and matrix, and everything downstream (checks,
FLOPs, names) reads the shape facts here; they are plain data a user can give as JSON (`config_from_dict`,
`load_config`) or take from `DEFAULT_CONFIGS`, the nearest public shape to a parameter count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

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


def depth_of_block(index: int, n_layers: int) -> str:
    """Nearest measured depth for block `index` (0-based) of `n_layers`; relative depth (index+1)/n_layers.

    Ties go to the deeper law (its band is lower in the measured data, so the choice is conservative).
    """
    if not 0 <= index < n_layers:
        raise InputError(f"block {index} does not exist in a model with {n_layers} blocks")
    position = (index + 1) / n_layers
    order = {d: i for i, d in enumerate(DEPTHS)}
    return min(DEPTHS, key=lambda d: (round(abs(DEPTH_POSITIONS[d] - position), 12), -order[d]))
