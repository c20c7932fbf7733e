"""Exports of schedules designed for a normalizer other than Frobenius (issue 9).

What each target can express:
- optax.contrib.muon (checked against optax 0.2.8, contrib/_muon.py): `preconditioning='frobenius'` divides by
  ‖X‖_F + eps; 'spectral' by the exact ‖X‖₂ + eps (an SVD, not a power-iteration estimate); 'schatten' rescales
  the first step by ‖A‖_F^{−1/2} (Schatten-4, A = XXᵀ of the raw X); 'aol' rescales rows by (Σ_j|A_ij|)^{−1/2}.
  So schatten4 → 'schatten' and aol → 'aol' are exact; spectral → 'spectral' runs the exact σ_max instead of
  nsdesign's k-step estimate (said in the snippet); schatten8 has no optax counterpart and is refused.
  norm_div is folded into the first row (exact: every normalizer here is applied before that row).
- torch-muon --patch and dion: the generated module runs the normalizer's first step itself (the same
  arithmetic as nsdesign.torch.normalize: Frobenius pre-scale, then the normalizer's scalars on X and A).
- torch-muon without --patch (one triple, Frobenius only), emerging-optimizers, gram-newton-schulz, python and
  polar-express (lists that assume Frobenius) cannot carry a normalizer and refuse with what to use instead.
"""

from __future__ import annotations

from nsdesign.core.normalizers import Normalizer
from nsdesign.errors import InputError

OPTAX_NAMES = {"frobenius": "frobenius", "schatten4": "schatten", "aol": "aol", "spectral": "spectral"}
CODE_TARGETS = ("dion", "torch-muon --patch")


def refuse(normalizer: Normalizer, target: str) -> None:
    if normalizer.name == "frobenius":
        return
    if target == "optax" and normalizer.name in OPTAX_NAMES:
        return
    if target in CODE_TARGETS:
        return
    if target == "optax":
        raise InputError(
            f"optax.contrib.muon has no {normalizer.name} preconditioning (its 'schatten' is Schatten-4); "
            "design with `normalizer` schatten4, or export to dion / torch-muon with `patch=True`"
        )
    raise InputError(
        f"{target} divides by ‖X‖_F and cannot run the {normalizer.name} normalizer this schedule was designed for; "
        "export to dion or torch-muon with `patch=True` (generated code with the normalizer), or optax where it has it"
    )


def optax_lines(normalizer: Normalizer) -> list[str]:
    """Comment lines for the optax snippet, plus the PRECONDITIONING constant's meaning."""
    name = OPTAX_NAMES[normalizer.name]
    lines = [f"Normalizer: {normalizer.label()} → optax preconditioning='{name}'."]
    if normalizer.name == "spectral":
        lines.append(
            "optax's 'spectral' divides by the exact ‖X‖₂ (σ_max → 1); the design assumed σ/(f·ŝ) with the "
            f"{normalizer.power_iterations}-step estimate ŝ and f = {normalizer.safety:g}, so under optax every σ is "
            "multiplied by f·ŝ/σ_max (≈ 0.97–1 on random matrices): the band edge moves down by that factor"
        )
    if normalizer.name in ("schatten4", "aol"):
        lines.append("optax fuses it into the first step exactly as nsdesign does (X and A = XXᵀ rescaled).")
    return lines


def first_step_function(normalizer: Normalizer) -> str:
    """Source of `_first_step(X, coefficients)`: step 1 with the normalizer (X already divided by ‖X‖_F)."""
    head = f'''NORMALIZER = "{normalizer.name}"


def _first_step(X, coefficients):
    """Step 1 with the {normalizer.name} normalizer fused in (as nsdesign.torch.normalize; X arrives ‖X‖_F-normalized)."""
    A = X @ X.mT
'''
    if normalizer.name == "schatten8":
        body = '''    A2 = A @ A
    # ‖σ‖₈ = ‖A²‖_F^¼
    t = torch.linalg.matrix_norm(A2.float(), keepdim=True)
    t = t.clamp(min=1e-30).pow(-0.25) / NORM_DIV
    X = (X.float() * t).to(X.dtype)
    powers = [(A.float() * t * t).to(A.dtype), (A2.float() * t**4).to(A.dtype)]
    while len(powers) < len(coefficients) - 1:
        powers.append(powers[-1] @ powers[0])
    B = sum(c * P for c, P in zip(coefficients[1:], powers))
    return coefficients[0] * X + B @ X
'''
        return head + body
    if normalizer.name == "schatten4":
        scale = '''    # ‖σ‖₄ = ‖A‖_F^½
    t = torch.linalg.matrix_norm(A.float(), keepdim=True)
    t = t.clamp(min=1e-30).rsqrt() / NORM_DIV
    X = (X.float() * t).to(X.dtype)
    A = (A.float() * t * t).to(A.dtype)
'''
    elif normalizer.name == "spectral":
        scale = f'''    v = torch.ones(*A.shape[:-1], 1, dtype=torch.float32, device=A.device)
    v = v / v.norm(dim=-2, keepdim=True)
    for _ in range({normalizer.power_iterations}):  # power iterations on A
        w = A.float() @ v
        lam = w.norm(dim=-2, keepdim=True)
        v = w / lam.clamp(min=1e-30)
    t = (lam.clamp(min=1e-30).sqrt() * {normalizer.safety!r}).reciprocal() / NORM_DIV
    X = (X.float() * t).to(X.dtype)
    A = (A.float() * t * t).to(A.dtype)
'''
    elif normalizer.name == "aol":
        scale = '''    # AOL row scaling
    d = A.float().abs().sum(dim=-1, keepdim=True)
    d = d.clamp(min=1e-30).rsqrt() / NORM_DIV
    X = (X.float() * d).to(X.dtype)
    A = (A.float() * d * d.mT).to(A.dtype)
'''
    else:
        raise InputError(f"no generated first step for {normalizer.name}")
    horner = '''    if len(coefficients) == 1:
        return coefficients[0] * X
    B = coefficients[-1] * A
    for c in reversed(coefficients[1:-1]):
        B = A @ B + c * A
    return coefficients[0] * X + B @ X
'''
    return head + scale + horner


def patch_module(text: str, normalizer: Normalizer, variable: str, eps: str, norm_expr: str) -> str:
    """Rewrite a generated torch module (patch or dion) so that step 1 runs the normalizer."""
    old_div = f"    {variable} = {variable} / {norm_expr}\n"
    old_loop = f"    for coefficients in STEPS:\n        {variable} = _step({variable}, coefficients)\n"
    if old_div not in text or old_loop not in text:
        raise InputError("internal: the generated module changed shape; cannot add the normalizer")
    pre = norm_expr.replace("NORM_DIV * ", "")
    new = (
        f"    {variable} = {variable} / {pre}  # Frobenius pre-scale; {normalizer.name} divides again in step 1\n"
        f"    {variable} = _first_step({variable}, STEPS[0])\n"
        f"    for coefficients in STEPS[1:]:\n        {variable} = _step({variable}, coefficients)\n"
    )
    text = text.replace(old_div + old_loop, new) if old_div + old_loop in text else None  # type: ignore[assignment]
    if text is None:
        raise InputError("internal: the generated module changed shape; cannot add the normalizer")
    marker = "\ndef _step(X, coefficients):"
    at = text.index(marker)
    end = text.index("\n\n", text.index("return coefficients[0] * X + B @ X", at)) + 1
    return text[:end] + "\n\n" + first_step_function(normalizer) + text[end:]
