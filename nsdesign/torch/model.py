"""A minimal GPT-style byte-level language model whose matrices are the ones Muon orthogonalizes.

Per block: RMSNorm → causal self-attention with separate q, k, v, o projections (bias-free, d×d) → residual,
RMSNorm → MLP up (4d×d) → GELU → down (d×4d) → residual. Token and learned position embeddings, a final
RMSNorm and an untied head. Vocabulary: the 256 byte values, so any text trains without a tokenizer.

The names follow the capture convention: `blocks.{i}.{q,k,v,o,mlp_up,mlp_down}.weight` are the Muon
matrices; everything else (embeddings, head, norms) goes to AdamW, as in Keller Jordan's modded-nanogpt setups.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

MATRICES: tuple[str, ...] = ("q", "k", "v", "o", "mlp_up", "mlp_down")
VOCAB = 256
HEAD_DIM = 32


@dataclass(frozen=True)
class GPTConfig:
    width: int
    n_layer: int
    seq_len: int = 128
    vocab: int = VOCAB

    @property
    def n_head(self) -> int:
        return max(self.width // HEAD_DIM, 1)


class Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        d = config.width
        self.n_head = config.n_head
        self.norm1 = nn.RMSNorm(d)
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.norm2 = nn.RMSNorm(d)
        self.mlp_up = nn.Linear(d, 4 * d, bias=False)
        self.mlp_down = nn.Linear(4 * d, d, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        h = self.norm1(x)
        q, k, v = (proj(h).view(B, T, self.n_head, d // self.n_head).transpose(1, 2) for proj in (self.q, self.k, self.v))
        attention = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o(attention.transpose(1, 2).reshape(B, T, d))
        return x + self.mlp_down(F.gelu(self.mlp_up(self.norm2(x))))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if config.width % config.n_head:
            raise ValueError(f"width {config.width} must be a multiple of {HEAD_DIM}")
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab, config.width)
        self.pos_emb = nn.Embedding(config.seq_len, config.width)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.norm_f = nn.RMSNorm(config.width)
        self.head = nn.Linear(config.width, config.vocab, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.tok_emb(tokens) + self.pos_emb(positions)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm_f(x))

    def loss(self, batch: torch.Tensor) -> torch.Tensor:
        """Next-byte cross-entropy on a (B, T+1) batch of byte ids."""
        logits = self(batch[:, :-1])
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))


def muon_parameter_names(model: GPT) -> list[str]:
    """The hidden matrices (Muon's), in block order: blocks.{i}.{q,k,v,o,mlp_up,mlp_down}.weight."""
    return [f"blocks.{i}.{m}.weight" for i in range(len(model.blocks)) for m in MATRICES]


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
