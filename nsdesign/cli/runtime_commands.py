"""`validate` and `capture`: the runtime commands (torch). Parse, call nsdesign.torch, print.

torch is imported inside the handlers only, so `nsdesign search` never pays for it; without torch these
commands fail with one line that says how to install it.
"""

from __future__ import annotations

import argparse
from typing import Any

from nsdesign.cli import progress
from nsdesign.cli._output import check_output, print_json, report_stream
from nsdesign.cli._text import terminal_safe
from nsdesign.cli._vocabulary import (
    add_block_arguments,
    add_normalizer_arguments,
    deprecated_alias,
    int_list,
    normalizer_from_args,
)
from nsdesign.cli.search_options import add_kernel_arguments, kernel_of
from nsdesign.cli.views.validate import validation_report
from nsdesign.errors import InputError

INSTALL_HINT = "this command needs torch: pip install 'nsdesign[torch]'"


def register(subparsers: argparse._SubParsersAction) -> None:
    validate = subparsers.add_parser("validate", help="run schedules on real matrices in real precision and measure them")
    validate.add_argument("schedules", nargs="+", help="preset names or schedule JSON files")
    validate.add_argument(
        "--source", action="append", required=True,
        help="gaussian:MxN | spectrum:logu:L:MxN | file:PATH (.safetensors/.pt/.npy) | capture:DIR (repeatable)",
    )
    validate.add_argument("--dtype", default="bf16", choices=("bf16", "fp16", "fp32", "fp64"), help="compute dtype (bf16)")

    add_kernel_arguments(validate, "the Newton–Schulz kernel run on the matrices")
    validate.add_argument("--device", default="cpu", help="cpu or cuda[:N] (cpu)")
    validate.add_argument("--steps", type=int, help="run this many steps (applies each schedule's extension rule)")
    validate.add_argument("--match", help="only tensors whose name matches this regular expression")
    validate.add_argument(
        "--min-sigma", type=float,
        help="band edge L in Frobenius-normalized units: band error is over σ/‖G‖_F ≥ L (default 1e-3)",
    )
    validate.add_argument("--seed", type=int, default=0, help="seed of the synthetic sources (0)")

    add_block_arguments(validate)  # every matrix is run per block (batched)
    validate.add_argument("--repeats", type=int, default=5, help="timed calls per measurement; the median is reported (5)")
    validate.add_argument("--restarts", help="Gram form: comma-separated step indices to restart at ('none' for none)")
    validate.add_argument("--compile", action="store_true", help="torch.compile the iteration")
    validate.add_argument("-o", "--output", help="write the report to FILE.json or FILE.csv")
    validate.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")

    add_normalizer_arguments(validate)
    validate.set_defaults(handler=_validate)

    capture = subparsers.add_parser("capture", help="train small byte-level GPTs with Muon and save their momentum buffers")
    capture.add_argument("--out-dir", dest="out", metavar="DIR", help="output directory (required)")
    deprecated_alias(capture, "--out", "--out-dir", dest="out")
    capture.add_argument("--sizes", help="comma-separated: nano,tiny,mini,small,medium,base,large or WIDTHxLAYERS "
                         "(default tiny,mini,small on cpu; small,medium,base,large on cuda)")
    capture.add_argument("--train-steps", dest="steps", type=int, default=150,
                         help="training steps per size (150; not Newton–Schulz steps)")
    deprecated_alias(capture, "--steps", "--train-steps", dest="steps", type=int)
    capture.add_argument("--device", default="cpu", help="cpu or cuda[:N] (cpu)")
    capture.add_argument("--text", help="train on this text file (default: the installed Python standard library sources)")
    capture.add_argument("--seed", type=int, default=0, help="seed for initialization and batches (0)")
    capture.add_argument("--capture-at", help="comma-separated steps to save buffers at (default: N/2, 3N/4, N)")
    capture.add_argument("--batch", type=int, default=16, help="sequences per batch (16)")
    capture.add_argument("--seq-len", type=int, default=128, help="bytes per sequence (128)")
    capture.add_argument("--schedule", default="keller5", help="Muon's NS schedule during training (keller5)")
    capture.add_argument("--quiet", action="store_true", help="no progress lines")
    capture.set_defaults(handler=_capture)


def _require_torch() -> None:
    """torch and safetensors are optional: say how to install them before anything imports them (torch/ does)."""
    from importlib.util import find_spec

    if find_spec("torch") is None:
        raise InputError(INSTALL_HINT)
    if find_spec("safetensors") is None:
        raise InputError(INSTALL_HINT.replace("torch", "safetensors", 1))


def _restarts(args: argparse.Namespace, kernel: str) -> tuple[int, ...] | None:
    """--restarts: Gram step indices ('none' for none); refused with another kernel, which has nothing to restart."""
    if args.restarts is None:
        return None
    if kernel != "gram":
        raise InputError(f"--restarts is for --kernel gram only, not {kernel}")
    return () if args.restarts.strip().lower() == "none" else int_list("--restarts", args.restarts, "step indices")


# --------------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    _require_torch()
    from nsdesign.torch.validate import check_report_path, validate, write_report

    check_output(args.output)
    if args.output is not None:
        check_report_path(args.output)
    report = validate(
        args.schedules,
        args.source,
        dtype=args.dtype,
        device=args.device,
        kernel=kernel_of(args),
        steps=args.steps,
        match=args.match,
        min_sigma=args.min_sigma,
        seed=args.seed,
        repeats=args.repeats,
        restarts=_restarts(args, kernel_of(args)),
        compile=args.compile,
        normalizer=_normalizer(args),
        progress=progress.enabled(),
        heads=args.heads,
        block=args.block,
    )
    if args.output is not None:
        write_report(report, args.output)
    with report_stream(args.output):
        if args.json:
            print_json(report.to_dict())
        else:
            validation_report(report, args.output)
    return 0


def _normalizer(args: argparse.Namespace) -> Any:
    if getattr(args, "normalize", None) is None and args.power_iterations is None and args.spectral_safety is None:
        return None
    return normalizer_from_args(args)


# --------------------------------------------------------------------------------------------------
# capture
# --------------------------------------------------------------------------------------------------


def _capture(args: argparse.Namespace) -> int:
    if args.out is None:
        raise InputError("capture needs --out-dir DIR (the folder it writes buffers, CSVs and capture.json to)")
    _require_torch()
    import sys

    from nsdesign.torch.capture import capture_momentum

    result = capture_momentum(
        args.out,
        sizes=args.sizes,
        steps=args.steps,
        device=args.device,
        text=args.text,
        seed=args.seed,
        capture_at=int_list("--capture-at", args.capture_at, "training steps like 75,112,150"),
        batch=args.batch,
        seq_len=args.seq_len,
        schedule=args.schedule,
        progress=None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True)),
    )
    # Short lines (80 columns): one size per two lines, one written file per line.
    for size in result.sizes:
        print(f"{size.size.name}: {size.model_params} params, {size.seconds:.1f} s, {len(size.files)} captures")
        print(f"  loss {size.losses[0]:.3f} → {size.losses[-1]:.3f}, "
              f"held-out {size.eval_loss_before:.3f} → {size.eval_loss_after:.3f}")
    for line in (f"wrote {result.quantiles_csv} (for `nsdesign fit`)", f"wrote {result.by_step_csv}",
                 f"wrote {result.manifest}"):
        print(terminal_safe(line))
    print(f"text: {result.text_source}")
    print("next: fit momentum laws to your runs:")
    print(terminal_safe(f"  nsdesign fit {result.quantiles_csv} -o laws.json"))
    return 0
