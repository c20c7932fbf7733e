"""`train-compare`: train a model with Muon under several schedules × seeds and compare validation losses.

Parses, calls `nsdesign.torch.train_compare`, renders the report of `nsdesign.cli.training_view` (final test
losses with Holm-corrected paired intervals against the baseline, the lr tuning grid, the steps to a fixed target
loss). torch is imported inside the handler only.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from nsdesign._files import check_output_path, is_stdout
from nsdesign.cli import training_view
from nsdesign.core.limits import DEFAULT_LR_GRID, TORCH_CPU_DTYPES
from nsdesign.errors import InputError

# --quick: seconds, for trying the command (and for the tests), not for conclusions. Without it the plan is
# train_compare's own defaults (tiny, 200 steps, 3 seeds), which the help repeats (tests/cli/test_defaults.py).
QUICK = {"model": "nano", "train_steps": 10, "seeds": 2, "eval_every": 5, "eval_batches": 2, "max_text_bytes": 1 << 18}
LR_GRID = ",".join(f"{lr:g}" for lr in DEFAULT_LR_GRID)  # as --lr-grid spells it: 0.005,0.01,0.02,0.04


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train-compare", help="train a small GPT with Muon under each schedule × seed; compare val loss")
    p.add_argument("schedules", nargs="+", help="preset names, schedule JSON files or recipe JSON files")
    p.add_argument("--seeds", type=int, help="seeds per schedule, 0…N−1 (3; --quick 2)")
    p.add_argument("--train-steps", type=int, help="training steps per run (200; --quick 10)")
    p.add_argument("--model", help="model size: nano,tiny,mini,small,medium,base,large or WIDTHxLAYERS (tiny; --quick nano)")
    p.add_argument("--text", help="train on this text file (default: the installed Python standard library sources)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N] (cpu)")
    p.add_argument("--baseline", help="schedule the others are compared with (keller5 when listed, else the first)")
    p.add_argument("--eval-every", type=int, help="validation every N steps (default: a tenth of the steps)")
    p.add_argument("--batch", type=int, default=16, help="sequences per batch (16)")
    p.add_argument("--seq-len", type=int, default=128, help="bytes per sequence (128)")
    p.add_argument("--lr", type=float, default=0.02, help="Muon learning rate of every schedule (0.02)")
    p.add_argument("--lr-grid", nargs="?", const=LR_GRID, metavar="LR,LR,…",
                   help=f"tune Muon's lr per schedule on this grid (≥ 4 values; alone: {LR_GRID})")
    p.add_argument("--tune-seeds", type=int, default=1, help="seeds per grid lr, 1000…; not comparison seeds (1)")
    p.add_argument("--tune-steps", type=int, help="training steps of a tuning run (default: --train-steps)")
    p.add_argument("--match-rms", action="store_true", help="scale each Muon update to the RMS of an exact polar factor")
    p.add_argument("--ns-dtype", choices=TORCH_CPU_DTYPES,
                   help="dtype the NS iteration runs in (fp32 on cpu, bf16 on cuda)")
    p.add_argument("--target-loss", type=float, help="report steps to this validation loss (fix it before the runs)")
    p.add_argument("--runs-dir", help="store finished runs here and skip them on a re-run (default: OUT.runs/ with -o)")
    p.add_argument("-o", "--output", help="write the comparison (every run and the statistics) to OUT.json")
    p.add_argument("--plot", help="write validation loss vs step, NS FLOPs and wall time to OUT.png/.svg")
    p.add_argument("--quick", action="store_true", help="a seconds-long run (nano model, 10 steps, 2 seeds)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(handler=_train_compare)


def _train_compare(args: argparse.Namespace) -> int:
    from importlib.util import find_spec

    if find_spec("torch") is None:  # torch is imported in torch/ only; here it is only looked for
        raise InputError("this command needs torch: pip install 'nsdesign[torch]'")
    from nsdesign.torch.training import train_compare, write_comparison

    plan: dict[str, Any] = dict(QUICK) if args.quick else {}
    for key in ("model", "train_steps", "seeds", "eval_every"):
        value = getattr(args, key)
        if value is not None:
            plan[key] = value
    to_stdout = is_stdout(args.output)
    if args.output is not None and not to_stdout and not str(args.output).endswith(".json"):
        raise InputError(f"-o takes a .json path (or - for stdout), got {args.output!r}")
    if args.plot is not None and Path(args.plot).suffix.lower() not in (".png", ".svg"):
        raise InputError(f"--plot writes .png or .svg, got {args.plot!r}")
    for path in (args.output, args.plot):
        if path is not None:
            check_output_path(path)  # before hours of training, not after
    runs_dir = args.runs_dir or (str(Path(args.output).with_suffix(".runs")) if args.output and not to_stdout else None)
    step_size = _step_size(args)
    progress = None if args.quiet else _Progress()
    try:
        comparison = train_compare(
            args.schedules, text=args.text, device=args.device, runs_dir=runs_dir, baseline=args.baseline,
            batch=args.batch, seq_len=args.seq_len, progress=progress, ns_dtype=args.ns_dtype,
            match_rms=args.match_rms, target_loss=args.target_loss, **step_size, **plan,
        )
    finally:
        if progress is not None:
            progress.close()
    if args.output:
        write_comparison(comparison, args.output)
    if args.plot:
        from nsdesign.plot import save_figure
        from nsdesign.plot.training import comparison_figure

        save_figure(comparison_figure(comparison), args.plot)
    written = [p for p in (args.output, args.plot) if p and not is_stdout(p)]
    training_view.train_comparison(comparison, written=written, runs_dir=runs_dir,
                                   stream=sys.stderr if to_stdout else None)
    return 0


def _step_size(args: argparse.Namespace) -> dict[str, Any]:
    """--lr, or --lr-grid (with --tune-seeds/--tune-steps) as an LrTuning: checked here so a typo fails before
    any training, with the flag's name."""
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise InputError(f"--lr must be a positive number, got {args.lr}")
    if args.target_loss is not None and not (math.isfinite(args.target_loss) and args.target_loss > 0):
        raise InputError(f"--target-loss must be a positive number (nats/byte), got {args.target_loss}")
    if args.lr_grid is None:
        if args.tune_steps is not None or args.tune_seeds != 1:
            raise InputError("--tune-seeds and --tune-steps need --lr-grid")
        return {"muon_lr": args.lr}
    try:
        grid = tuple(float(v) for v in str(args.lr_grid).split(","))
    except ValueError:
        raise InputError(f"--lr-grid takes numbers like {LR_GRID}, got {args.lr_grid!r}") from None
    if len(grid) < 4 or len(set(grid)) != len(grid) or not all(math.isfinite(v) and v > 0 for v in grid):
        raise InputError(f"--lr-grid needs at least 4 distinct positive values, got {args.lr_grid!r}")
    if not 1 <= args.tune_seeds <= 100:
        raise InputError(f"--tune-seeds must be from 1 to 100, got {args.tune_seeds}")
    if args.tune_steps is not None and args.tune_steps < 1:
        raise InputError(f"--tune-steps must be a positive integer, got {args.tune_steps}")
    from nsdesign.torch.training import TUNE_SEED_BASE, LrTuning

    seeds = tuple(range(TUNE_SEED_BASE, TUNE_SEED_BASE + args.tune_seeds))
    return {"muon_lr": args.lr, "lr_tuning": LrTuning(grid, seeds, args.tune_steps)}


class _Progress:
    """A tqdm bar on a terminal; one plain line per finished run otherwise."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.done = 0
        self.total = 0

    def __call__(self, event: Any) -> None:
        from nsdesign.torch.training import print_line

        if event["event"] == "start":
            self.total = event["total"]
            if sys.stderr.isatty():
                from tqdm import tqdm

                self.bar = tqdm(total=self.total, desc="train-compare", unit="run", file=sys.stderr, leave=False)
            return
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(f"{event['label']} seed {event['seed']}")
            self.bar.update(1)
        else:
            print_line(event, self.done, self.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


