"""Reproduce the 4096² Schatten-8 5-step bf16 blow-up on a small matrix (issue 9; docs/normalizers.md).

U·diag(σ)·Vᵀ with σ at quarter-circle (Marchenko–Pastur, ratio 1) quantiles scaled to the 4096² band top 0.508;
the 5-step Schatten-8 design for [0.004, 0.508] with guard [0.508, 1] run in the benchmark's emulated bf16
(Horner and the A² first-step path) and in the nsdesign.precision rounding model (fused, unfused).
Usage: python benchmarks/normalizers_bf16_repro.py 512
"""
import sys, math, numpy as np, torch
sys.path.insert(0, "benchmarks")
torch.set_num_threads(1)
from normalizers import bf, _bracket, measure, rows_of
from nsdesign.plans.normalizer import design_for_normalizer
s = design_for_normalizer("schatten8", steps=5, min_sigma=0.0040, max_sigma=0.508).guarded.schedule
rows = rows_of(s)
n = int(sys.argv[1])
rng = np.random.default_rng(0)
# quarter-circle quantiles (MP at ratio 1), scaled so the top is 0.508
p = (np.arange(n) + 0.5) / n
grid = np.linspace(0, 2, 200001); cdf = np.cumsum(np.sqrt(4 - grid**2)); cdf /= cdf[-1]
sig = np.sort(np.interp(p, cdf, grid))[::-1]; sig = sig / sig[0] * 0.508
U, _ = np.linalg.qr(rng.standard_normal((n, n))); V, _ = np.linalg.qr(rng.standard_normal((n, n)))
X = torch.from_numpy(U * sig @ V.T)
Ut, Vt = torch.from_numpy(U), torch.from_numpy(V.T)
keep = math.ceil(0.99 * n)
print("sigma at keep", sig[keep-1])
for path in ["horner", "a2"]:
    Xc = bf(X.float())
    for i, row in enumerate(rows):
        a, tail = row[0], row[1:]
        A = bf(Xc @ Xc.T)
        if i == 0 and path == "a2":
            B = bf(tail[0] * A + tail[1] * bf(A @ A))
        else:
            B = _bracket(A, tail)
        Xc = bf(a * Xc + bf(B @ Xc))
        g = torch.einsum("mi,mn,in->i", Ut[:, :keep], Xc.double(), Vt[:keep])
        print(path, "step", i+1, "gain min %.3f max %.3f" % (float(g.min()), float(g.max())))
    print(path, n, "measure", measure(Xc, Ut, Vt, keep))
err = (1 - torch.einsum("mi,mn,in->i", Ut[:, :keep], Xc.double(), Vt[:keep])).abs().numpy()
idx = np.argsort(err)[::-1][:8]
print("worst sigma", [(round(float(sig[i]),4), round(float(err[i]),3)) for i in idx])
def f(x):
    for r in rows: x = x*(r[0]+r[1]*x*x+r[2]*x**4)
    return x
print("exact at those", [round(float(f(sig[i])),4) for i in idx])
from nsdesign.precision import matrix_error
for k in ["fused", "unfused"]:
    try:
        from nsdesign.precision import test_matrix
        r = matrix_error(s, test_matrix((n, n), tuple(float(v) for v in np.maximum(sig, 0.004))), "bf16", kernel=k)  # in band: it reads every σ
        print("model", k, r.error, r.sigma_max)
    except Exception as e: print(k, e)
