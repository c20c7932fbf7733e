"""nsdesign's Gram restarts against Dao-AILab gram-newton-schulz's reset iterations, plan by plan (run by hand).

Both run deepseek_v4_10 in fp16 on a 128×512 matrix with singular values log-uniform in [1e-3, 1] (seed 0);
the table gives each output's relative Frobenius distance to the float64 standard-form result (inf/NaN when
the run diverged). tests/torch/test_kernels.py asserts the same agreement.

    pip install --no-deps gram-newton-schulz==0.1.6   # its torch backend needs no CUDA kernels
    python benchmarks/gram_vs_dao.py
"""

from __future__ import annotations

import platform

import torch

import gram_newton_schulz
from nsdesign.presets import preset
from nsdesign.torch.kernels import newton_schulz, schedule_rows
from nsdesign.torch.sources import log_uniform

PLANS = ((), (2,), (5,), (2, 4, 6, 8), (1, 3, 5, 7), (3, 6, 9))


def relative(a: torch.Tensor, b: torch.Tensor) -> str:
    if not torch.isfinite(a).all():
        return "inf/NaN"
    return f"{float(torch.linalg.matrix_norm(a.double() - b) / torch.linalg.matrix_norm(b)):.3e}"


def main() -> None:
    schedule = preset("deepseek_v4_10")
    rows = [list(r) for r in schedule_rows(schedule)]
    G = log_uniform((128, 512), 1e-3, 0).float()
    exact = newton_schulz(G.double(), schedule, dtype=torch.float64)
    print(f"{platform.machine()}, Python {platform.python_version()}, torch {torch.__version__}, "
          f"gram-newton-schulz {gram_newton_schulz.__version__}")
    print("| plan | nsdesign | gram-newton-schulz |\n|---|---|---|")
    for plan in PLANS:
        theirs = gram_newton_schulz.GramNewtonSchulz(
            ns_coefficients=rows, ns_use_kernels=False, compile_kwargs=None,
            gram_newton_schulz_reset_iterations=list(plan),
        )(G)
        ours = newton_schulz(G, schedule, kernel="gram", dtype=torch.float16, restarts=plan)
        print(f"| {list(plan) or 'none'} | {relative(ours, exact)} | {relative(theirs, exact)} |")


if __name__ == "__main__":
    main()
