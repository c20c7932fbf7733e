"""Newton–Schulz on tensors: apply a `Schedule` to one matrix or a batch, in the standard or the Gram form.

Standard form (what Muon runs; Keller Jordan's muon.py, torch.optim.Muon's `_zeropower_via_newtonschulz`):

    X ← X / max(norm_div · ‖X‖_F, eps)                      # per matrix, over the last two dims
    for each step with coefficients (c0, c1, …, cd):        # p(x) = c0·x + c1·x³ + … + cd·x^(2d+1)
        A = X Xᵀ                                            # on the wide orientation (m ≤ n)
        B = c1·A + c2·A² + … + cd·A^d                       # Horner in A, fused into addmm/baddbmm
        X = c0·X + B X

For quintics this is exactly torch's sequence of calls (`B = addmm(A, A, A, beta=b, alpha=c)`,
`X = addmm(X, B, X, beta=a)`); higher degrees add one fused product per extra power of A, a cubic uses
`addmm(X, A, X, beta=a, alpha=b)`, and a degree-1 step is a scalar multiple.

Gram form (Dao-AILab gram-newton-schulz): with R = X Xᵀ (m×m) and X_k = Q_k X_0, every step only needs R:

    Z = c0·I + c1·R + … + cd·R^d,    Q ← Z·Q,    R ← Z·R·Z    (Z is a polynomial in R, so X_{k+1}X_{k+1}ᵀ = Z R Z)

and X is touched only twice (R₀ = X₀X₀ᵀ at the start, X = Q·X₀ at the end), which halves the FLOPs on 1:4 MLP
matrices (see `nsdesign.core.cost`). The price is accuracy: R is never re-formed, so the round-off committed in
Q and R compounds from step to step (the early, large-coefficient steps amplify it, and once the spectrum has
converged the recursion R ← Z R Z no longer damps it). The remedy, as in Dao-AILab's implementation, is a
*restart*: before chosen steps, form X = Q·X₀ explicitly, recompute R = X Xᵀ from it and start Q afresh.
Each restart costs 4·m²·n FLOPs.

Default restarts (`restarts=None`), chosen from measurements on log-uniform spectra (256×1024, σ ∈ [1e-4, 1],
docs/runtime.md): bf16/fp16 restart every 2 steps (before steps 2, 4, 6, …); fp32 every 3 steps (3, 6, 9, …);
fp64 never. Without restarts bf16 diverges (inf/NaN) on 8–10 step Polar Express lists and fp32 loses three
orders of magnitude on 10–12 step lists; a single restart at step 2 is not enough past ~5 steps. With the
default the Gram form's error is at or below the standard form's in bf16 and within 2× of it in fp32. Pass
`restarts=()` for the plain recursion or any explicit tuple of step indices.

Normalization divides in at least fp32 (the input's precision when higher) and rounds once to the compute
dtype; torch.optim.Muon rounds to bf16 first and divides by a bf16 norm. The difference is one bf16 ulp.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Literal, Sequence

import torch

from nsdesign.core.limits import KERNELS
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError, deprecated
from nsdesign.torch.iterations import (  # noqa: F401  (re-exported: callers import the iterations from here)
    EPS,
    Rows,
    _addmm,
    _mm,
    gram_iteration,
    normalize,
    poly_in,
    standard_iteration,
    unfused_iteration,
)
from nsdesign.torch.normalize import as_normalizer, check_form, normalized_gram, normalized_standard

Iteration = Literal["standard", "unfused", "gram"]  # the iteration each kernel (core.limits.KERNELS) runs
ITERATIONS: tuple[str, ...] = ("standard", "unfused", "gram")
Form, FORMS = Iteration, ITERATIONS  # deprecated names (one release): the iteration used to be called the form
KERNEL_FORM: dict[str, str] = {"fused": "standard", "standard": "standard", "unfused": "unfused", "gram": "gram"}
RESTART_PERIOD: dict[torch.dtype, int] = {torch.bfloat16: 2, torch.float16: 2, torch.float32: 3}  # fp64: none

DTYPES: dict[str, torch.dtype] = {
    "fp64": torch.float64,
    "float64": torch.float64,
    "fp32": torch.float32,
    "float32": torch.float32,
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
    "fp16": torch.float16,
    "float16": torch.float16,
}



# --------------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------------


def newton_schulz(
    X: torch.Tensor,
    schedule: Schedule,
    *,
    kernel: str = "fused",
    dtype: torch.dtype | str | None = torch.bfloat16,
    steps: int | None = None,
    eps: float = EPS,
    restarts: Sequence[int] | None = None,
    compile: bool | str = False,
    check: bool = True,
    normalizer: object = None,
    form: str | None = None,
) -> torch.Tensor:
    """Apply `schedule` to X (shape (…, m, n)) and return U·F(Σ)·Vᵀ in `dtype` (None keeps X's dtype).

    `kernel`: "fused" (torch.optim.Muon's addmm sequence), "unfused" (Keller Jordan's muon.py) or "gram"
    (Dao-AILab's Gram iteration); `form=` is its deprecated spelling ("standard" = fused).

    `steps` runs that many steps under the schedule's extension rule. `restarts` (Gram form only) lists the
    0-based step indices before which R is re-formed from the current X; None picks the default above.
    `compile=True` wraps the iteration in torch.compile (a string names the backend); it recompiles per
    schedule and shape. `check=False` skips the finiteness/zero test, which costs a device sync on GPUs.
    """
    compute = resolve_dtype(dtype) if dtype is not None else X.dtype
    check_matrix(X, compute)
    if check:
        check_values(X)
    form = runtime_kernel(kernel, form)
    norm = as_normalizer(normalizer)
    if norm is not None:
        check_form(norm, form)
        norm.check_first_degree(schedule.steps[0].degree)
    if steps is not None:
        if steps < 1:
            raise InputError(f"steps must be a positive integer, got {steps}")
        schedule = schedule.extended(steps)
    rows = schedule_rows(schedule, compute)
    plan = gram_restarts(rows, compute, restarts) if form == "gram" else ()
    return orthogonalize(X, rows, schedule.input_scale, compute, form, plan, eps, compile, norm)


def orthogonalize(
    X: torch.Tensor,
    rows: Rows,
    norm_div: float,
    dtype: torch.dtype,
    form: Iteration = "standard",
    restarts: tuple[int, ...] = (),
    eps: float = EPS,
    compile: bool | str = False,
    normalizer: object = None,
) -> torch.Tensor:
    """The unchecked core (the optimizer calls this): orient, normalize, iterate, orient back.

    `normalizer` (a nsdesign.core.normalizers.Normalizer; None = Frobenius) other than Frobenius runs the
    standard form with the normalizer fused into the first step, or the Gram form with it applied to the
    first Gram matrix (schatten4, spectral, aol; nsdesign.torch.normalize).
    """
    tall = X.shape[-2] > X.shape[-1]
    Y = X.mT if tall else X
    lead = Y.shape[:-2]
    if len(lead) > 1:
        Y = Y.reshape(-1, *Y.shape[-2:])
    if normalizer is not None and getattr(normalizer, "name", "frobenius") != "frobenius":
        if form == "gram":
            Y = normalized_gram(Y, rows, normalizer, norm_div, dtype, eps, restarts)  # type: ignore[arg-type]
        else:
            Y = normalized_standard(Y, rows, normalizer, norm_div, dtype, eps)  # type: ignore[arg-type]
    else:
        Y = normalize(Y, norm_div, dtype, eps)
        kernel = _kernel(form, compile)
        Y = kernel(Y, rows) if form == "standard" else kernel(Y, rows, restarts)
    if len(lead) > 1:
        Y = Y.reshape(*lead, *Y.shape[-2:])
    return Y.mT if tall else Y


# --------------------------------------------------------------------------------------------------
# Pieces
# --------------------------------------------------------------------------------------------------


def runtime_kernel(kernel: str, form: str | None = None) -> Iteration:
    """The iteration a `kernel=` names, or the deprecated `form=` keyword (standard, fused, unfused, gram) with a
    DeprecationWarning: the one place the torch runtime accepts the old keyword."""
    if form is not None:
        deprecated("form= is deprecated: give kernel= (fused, unfused or gram)")
        kernel = form
    return kernel_form(kernel)


def kernel_form(kernel: str) -> Iteration:
    """'fused' (= 'standard', torch.optim.Muon), 'unfused' (Keller Jordan's muon.py) or 'gram' → the form name."""
    if kernel not in KERNEL_FORM:
        raise InputError(f"kernel must be one of {', '.join(KERNELS)} (old form name: standard), got {kernel!r}")
    return KERNEL_FORM[kernel]  # type: ignore[return-value]


def resolve_dtype(dtype: torch.dtype | str) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        if dtype not in DTYPES.values():
            raise InputError(f"dtype must be one of fp64, fp32, bf16, fp16, got {dtype}")
        return dtype
    key = str(dtype).lower().removeprefix("torch.")
    if key not in DTYPES:
        raise InputError(f"dtype must be one of fp64, fp32, bf16, fp16, got {dtype!r}")
    return DTYPES[key]


def dtype_name(dtype: torch.dtype) -> str:
    return {torch.float64: "fp64", torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def schedule_rows(schedule: Schedule, dtype: torch.dtype | None = None) -> Rows:
    """The steps as plain float tuples (c0, c1, …) in application order, trailing zeros dropped.

    With `dtype`, every coefficient must be representable in it: torch's fused calls take the coefficients
    as scalars of the tensor's dtype and fail with an overflow error for, say, 1e308 in fp32 or 1e5 in fp16."""
    rows = tuple(tuple(float(c) for c in p.coefficients) for p in schedule.steps)
    if dtype is not None:
        check_rows(rows, dtype)
    return rows


def check_rows(rows: Rows, dtype: torch.dtype) -> None:
    limit = torch.finfo(dtype).max
    for i, row in enumerate(rows):
        for c in row:
            if not abs(c) <= limit:
                raise InputError(
                    f"step {i + 1}: coefficient {c:.3g} is beyond {dtype_name(dtype)}'s range ({limit:.3g})"
                )


def gram_restarts(rows: Rows, dtype: torch.dtype, restarts: Sequence[int] | None) -> tuple[int, ...]:
    """Validated restart indices; None → the documented default for `dtype` (every 2 steps in bf16/fp16, …)."""
    if restarts is None:
        return default_restarts(len(rows), dtype)
    out = tuple(sorted(set(int(r) for r in restarts)))
    for r in out:
        if not 0 < r < len(rows):
            raise InputError(f"Gram restart indices must lie in 1…{len(rows) - 1} (before a step), got {r}")
    return out


def default_restarts(num_steps: int, dtype: torch.dtype) -> tuple[int, ...]:
    """Restart before every RESTART_PERIOD[dtype]-th step (none in fp64)."""
    period = RESTART_PERIOD.get(dtype)
    return () if period is None else tuple(range(period, num_steps, period))


def check_matrix(X: torch.Tensor, dtype: torch.dtype) -> None:
    """Shape and dtype checks (free: no data is read)."""
    if not isinstance(X, torch.Tensor):
        raise InputError(f"expected a torch.Tensor, got {type(X).__name__}")
    if X.is_complex() or dtype.is_complex:
        raise InputError(f"complex tensors are not supported (got {X.dtype}); Newton–Schulz here is real")
    if not X.is_floating_point():
        raise InputError(f"expected a floating-point tensor, got {X.dtype}")
    if X.ndim < 2:
        raise InputError(f"expected a matrix or a batch of matrices (…, m, n), got a {X.ndim}-D tensor of shape {tuple(X.shape)}")
    if X.shape[-1] == 0 or X.shape[-2] == 0 or X.numel() == 0:
        raise InputError(f"expected non-empty matrices, got shape {tuple(X.shape)}")


def check_values(X: torch.Tensor) -> None:
    """NaN/Inf and all-zero matrices have no polar factor: refuse them with a one-line message."""
    if not bool(torch.isfinite(X).all()):
        raise InputError(f"the matrix of shape {tuple(X.shape)} contains NaN or Inf")
    flat = X.reshape(-1, X.shape[-2] * X.shape[-1])
    zero = (flat == 0).all(dim=-1)
    if bool(zero.any()):
        which = "the matrix" if flat.shape[0] == 1 else f"matrix {int(zero.nonzero()[0, 0])} of the batch"
        raise InputError(f"{which} is all zeros (no polar factor to compute)")


@lru_cache(maxsize=None)
def _kernel(form: Iteration, compile: bool | str) -> Callable[..., torch.Tensor]:
    fn = {"standard": standard_iteration, "unfused": unfused_iteration, "gram": gram_iteration}[form]
    if compile is False:
        return fn
    backend = "inductor" if compile is True else str(compile)
    return torch.compile(fn, backend=backend, dynamic=False)


# --------------------------------------------------------------------------------------------------
# Reference (float64, exact map) — used by validate and the tests
# --------------------------------------------------------------------------------------------------


def scalar_map(schedule: Schedule, sigma: torch.Tensor) -> torch.Tensor:
    """F(σ) on Frobenius-normalized σ, evaluated in float64 (the schedule's exact scalar action)."""
    x = sigma.to(torch.float64) / schedule.input_scale
    for p in schedule.steps:
        y = x * x
        acc = torch.zeros_like(x)
        for c in reversed(p.coefficients):
            acc = acc * y + c
        x = acc * x
    return x


def matmul_flops(rows: Rows, m: int, n: int, form: Iteration, restarts: tuple[int, ...] = ()) -> float:
    """FLOPs the kernels above actually issue (equal to nsdesign.core.cost for quintics without restarts)."""
    m, n = min(m, n), max(m, n)
    total = 0.0
    if form in ("standard", "fused", "unfused"):
        for row in rows:
            d = len(row) - 1
            total += 0.0 if d == 0 else 4.0 * m * m * n + 2.0 * (d - 1) * m**3
        return total
    total = 4.0 * m * m * n + 4.0 * m * m * n * len(restarts)
    last = len(rows) - 1
    for i, row in enumerate(rows):
        d = len(row) - 1
        total += 2.0 * m**3 * max(d - 1, 0)
        total += 0.0 if (i == 0 or i in restarts) else 2.0 * m**3
        total += 0.0 if (i == last or (i + 1) in restarts) else 4.0 * m**3
    return total
