"""nsdesign's runtime: Newton–Schulz on torch tensors, validation on real matrices, momentum capture, and a
Muon optimizer that runs any schedule. The only part of nsdesign that imports torch (`pip install 'nsdesign[torch]'`).

    newton_schulz(X, schedule, kernel="fused"|"unfused"|"gram", dtype=torch.bfloat16)   # kernels
    Muon(model.named_parameters(), lr=0.02, schedule="polar_express_modded5")   # optimizer
    validate(["keller5", "cans5_eo"], ["spectrum:logu:1e-3:256x1024"])          # measurements → Report
    capture_momentum(out_dir, sizes=("tiny",), steps=150)                       # real momentum buffers
    train_compare(["keller5", "cubic5_eo"], seeds=3)                             # test loss with error bars (training)
    train_compare([...], lr_tuning=LrTuning((0.005, 0.01, 0.02, 0.04)))          # lr tuned per schedule first
"""

from __future__ import annotations

from nsdesign.torch.kernels import newton_schulz, scalar_map
from nsdesign.torch.muon import Muon
from nsdesign.torch.validate import Report, Row, validate, write_report

__all__ = [
    "LrTuning", "Muon", "Report", "Row", "capture_momentum", "newton_schulz", "scalar_map", "train_compare", "validate",
    "write_report",
]


def __getattr__(name: str):
    if name in ("capture_momentum", "CaptureResult"):  # the training code is only loaded when asked for
        from nsdesign.torch import capture as module

        return getattr(module, name)
    if name in ("train_compare", "LrTuning"):  # train_compare is the function; its module is nsdesign.torch.training
        from nsdesign.torch import training as module

        return getattr(module, name)
    raise AttributeError(f"module 'nsdesign.torch' has no attribute {name!r}")
