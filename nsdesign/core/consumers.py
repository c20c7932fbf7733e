"""What each optimizer that runs Newton–Schulz can take: the consumer's form, as data.

A design is only useful when the user's optimizer can run it through its public interface. Consumers differ
in four ways, and a design for one of them must respect all four:

- `takes`: "triple" — one (a, b, c) repeated `ns_steps` times (torch.optim.Muon's public API);
  "list" — one row per step (optax, Emerging-Optimizers, gram-newton-schulz, TransformerEngine);
  "callable" — a function we generate, so any schedule runs exactly (dion, torch-muon --patch, plain code);
  "fixed" — no coefficient setting at all (DeepSpeed's Muon): nothing can be designed for it, only certified.
- `kernel` and `dtype`: the operation sequence and precision it runs (the rounding model checks those).
- `restarts`: whether it takes a Gram restart plan (Gram Newton–Schulz consumers).
- `normalizers`: the input normalizations it offers.

Facts are from the consumers' source (each row says which version). One row per export target; the export
writers (nsdesign.export) and the consumer-constrained design (nsdesign.plans.consumer) both read this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nsdesign.errors import unknown

Takes = Literal["triple", "list", "callable", "fixed"]


@dataclass(frozen=True)
class ConsumerForm:
    """One consumer's constraints on a schedule (see the module doc)."""

    target: str  # the export target's name
    takes: Takes
    kernel: str  # "fused" | "unfused" | "gram": the operation sequence the consumer runs
    dtype: str  # the precision it runs Newton–Schulz in by default
    quintic_only: bool  # hard-wired (a, b, c) steps
    restarts: bool = False  # takes a Gram restart plan
    normalizers: tuple[str, ...] = ("frobenius",)
    default: str = "keller5"  # the preset the consumer runs out of the box (what a design must beat)
    default_restarts: tuple[int, ...] = ()  # its default Gram restart plan
    source: str = ""


CONSUMER_FORMS: tuple[ConsumerForm, ...] = (
    ConsumerForm("torch-muon", "triple", "fused", "bf16", True,
                 source="torch/optim/_muon.py, torch 2.13: one ns_coefficients triple, ns_steps repeats"),
    ConsumerForm("optax", "list", "unfused", "fp32", True,
                 normalizers=("frobenius", "schatten4", "spectral", "aol"),  # optax's "schatten" is Schatten-4
                 source="optax/contrib/_muon.py, optax 0.2.8: ns_coeffs (n, 3), preconditioning="),
    ConsumerForm("dion", "callable", "unfused", "bf16", False,
                 normalizers=("frobenius", "schatten4", "schatten8", "spectral", "aol"),
                 source="microsoft/dion: newton_schulz_func(X, epsilon)"),
    ConsumerForm("emerging-optimizers", "list", "fused", "bf16", True,
                 source="emerging_optimizers muon_utils.newton_schulz 0.3.0: custom lists cycle; torch.addmm steps, "
                        "in bf16 under its optimizers' default fp32_matmul_prec='medium'"),
    ConsumerForm("gram-newton-schulz", "list", "gram", "fp16", True, restarts=True,
                 default="polar_express_gns5", default_restarts=(2,),
                 source="Dao-AILab gram-newton-schulz 0.1.6: ns_coefficients rows + reset iterations"),
    ConsumerForm("python", "callable", "unfused", "bf16", False,
                 source="modded-nanogpt / Keller Jordan muon.py style loop"),
    ConsumerForm("polar-express", "callable", "unfused", "bf16", False, default="polar_express_modded5",
                 source="NoahAmsel/PolarExpress JSON"),
    ConsumerForm("deepspeed", "fixed", "gram", "fp16", True, default_restarts=(2,),
                 source="DeepSpeed 0.19.8 original_muon.py: FIXED (3.4445, -4.775, 2.0315) x 5, restart_at 2; "
                        "config takes ns_method only"),
    ConsumerForm("transformer-engine", "list", "unfused", "bf16", True, default="quintic5_leloykun_you",
                 source="TransformerEngine 2.20.0.dev0 newton_schulz.py: coefficients rows, len == num_iterations "
                        "(default: its 'quintic' set); fp32 or bf16, no normalization"),
)


def consumer_form(target: str) -> ConsumerForm:
    for form in CONSUMER_FORMS:
        if form.target == target:
            return form
    raise unknown("consumer", target, consumer_names(), "see docs/consumers.md")


def consumer_names() -> tuple[str, ...]:
    return tuple(f.target for f in CONSUMER_FORMS)
