"""`export`: write a schedule file or preset in the form a consumer (torch, optax, dion, …) accepts."""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

from nsdesign._files import write_text_atomic
from nsdesign.cli._output import check_output, warn
from nsdesign.cli._text import terminal_safe
from nsdesign.core.normalizers import get, recorded_normalizer
from nsdesign.documents import load_schedule, read_schedule_file
from nsdesign.errors import InputError
from nsdesign.export import TARGETS, export, get_target, half_precision_risk
from nsdesign.export.recipes import RECIPE_TARGETS, RECIPE_USAGE, export_recipe, read_recipe
from nsdesign.presets import preset_info, preset_names


def register(subparsers: argparse._SubParsersAction) -> None:
    lines = "; ".join(f"{t.name}: {t.consumer}" for t in TARGETS)
    export = subparsers.add_parser(
        "export",
        help="write a schedule for torch.optim.Muon, optax, dion, Emerging-Optimizers, gram-NS, Python or Polar Express",
        description=f"Targets — {lines}. Warnings go to stderr.",
    )
    export.add_argument("schedule", help="preset name or schedule JSON file")
    # No `choices`: an unknown target is reported by the library with the list of targets, in one line.
    export.add_argument("--to", required=True, metavar="TARGET", help="one of: " + ", ".join(t.name for t in TARGETS))
    export.add_argument("--patch", action="store_true", help="torch-muon: a module that patches torch's NS function")
    export.add_argument("--steps", type=int, help="export this many steps (applies the schedule's extension rule)")
    export.add_argument("-o", "--output", help="write to this file (atomically) instead of stdout")
    export.add_argument(
        "--normalize", help="the normalizer the schedule was designed for (default: what the file records, else frobenius)"
    )
    export.add_argument("--force", action="store_true",
                        help="export a schedule without headroom to a bf16/fp16 consumer anyway (with a warning)")
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    check_output(args.output)
    get_target(args.to)  # an unknown target fails before the schedule is read
    recipe = read_recipe(args.schedule) if args.schedule not in preset_names() else None
    if recipe is not None:  # a recipe file: per-layer schedules
        return _export_recipe(args, recipe)
    schedule = load_schedule(args.schedule)
    if args.steps is not None:
        if not 1 <= args.steps <= 100:
            raise InputError(f"--steps must be from 1 to 100, got {args.steps}")
        schedule = schedule.extended(args.steps)

    normalizer = get(args.normalize) if args.normalize else recorded_normalizer(args.schedule)
    risk = half_precision_risk(schedule, args.to)
    if risk is not None and not args.force:  # refused before anything is written, in one line of 80 columns
        name = f"'{schedule.name}'" if schedule.name else "this schedule"  # quoted: a long name is shortened
        raise InputError(f"{name} has no headroom for {risk.dtype}; --force exports it")
    result = export(schedule, args.to, patch=args.patch, provenance=_provenance(args.schedule), normalizer=normalizer)
    forced = () if risk is None else (f"{risk}; {REDESIGN}; exported anyway (--force)",)
    for warning in [*result.warnings, *forced]:
        warn(warning)
    if args.output is not None:
        write_text_atomic(args.output, result.text)
        _say_written(args.output, get_target(args.to), args.patch)
    else:
        sys.stdout.write(result.text)  # source code, byte for byte what -o writes (its comments may pass 80 columns)
    return 0


def _say_written(path: str, target: Any, patch: bool) -> None:
    """`export -o`: what was written, for which consumer, and the line that uses it (80 columns)."""
    import re
    import textwrap
    from pathlib import Path

    module = re.sub(r"\W", "_", Path(path).stem) or "schedule"
    usage = (target.patch_usage if patch else target.usage).format(module=module)
    for text in (f"wrote {path} for {target.consumer}", f"use: {usage}"):
        for line in textwrap.wrap(text, 79, subsequent_indent="  ", break_on_hyphens=False,
                                  break_long_words=False):
            print(terminal_safe(line))


def _provenance(reference: str) -> str:
    """Where the schedule came from, for the export's comments: the preset's source, or the file."""
    if reference in preset_names():
        return f"nsdesign preset {reference} — {preset_info(reference).source}"

    params = read_schedule_file(reference)[1].get("params")
    if isinstance(params, dict) and params:
        return f"schedule file {reference}, params {json.dumps(params, sort_keys=True)}"
    return f"schedule file {reference}"


REDESIGN = "design with headroom (`nsdesign search` without --exact, or --safety 1.02 --cushion 0.02)"


def export_hint(schedule: Any, path: str) -> list[str]:
    """The `nsdesign export` command that works for this schedule (search's "next:" lines): torch-muon's kwargs
    for one repeated triple, --patch for a per-step list, and an exact-arithmetic target when the schedule has
    no headroom (bf16/fp16 targets refuse it without --force)."""
    if half_precision_risk(schedule, "torch-muon") is not None:
        return [f"nsdesign export {path} --to optax  (it runs fp32);",
                "it overshoots just above the band: bf16/fp16 targets refuse it without --force"]
    try:
        export(schedule, "torch-muon")
    except InputError:  # a per-step list: torch.optim.Muon's public API cannot take it; name both routes
        return [f"nsdesign export {path} --to optax  (or dion, …);",
                f"nsdesign export {path} --to torch-muon --patch  (patches torch's",
                "private NS function), or nsdesign.torch.Muon(schedule=…) (needs nsdesign",
                "at train time), or one triple for torch.optim.Muon: --for torch-muon"]
    return [f"nsdesign export {path} --to torch-muon  (or optax, dion, …)"]


def next_lines(schedule: Any, written_to: str | None, path: str = "schedule.json") -> list[str]:
    """The "next:" lines that end a command which produced or showed a schedule: the export command for the file
    it wrote (or the preset / file it read), else `-o PATH` first; wrapped to 80 columns under "next:" (a long
    preset name or path makes export_hint's own lines longer)."""
    if written_to and written_to != "-":
        return textwrap.wrap(" ".join(export_hint(schedule, written_to)), 80, initial_indent="next: ",
                             subsequent_indent="      ", break_long_words=False, break_on_hyphens=False)
    return [f"next: add -o {path} to save it, then", *textwrap.wrap(
        " ".join(export_hint(schedule, path)), 80, initial_indent="      ", subsequent_indent="      ",
        break_long_words=False, break_on_hyphens=False)]


def _export_recipe(args: argparse.Namespace, recipe: Any) -> int:
    """`export RECIPE --to python`: the recipe's per-layer schedules as Python data. Every other target runs one
    schedule for all matrices, so it is refused with the routes that take a recipe (nsdesign.export.recipes)."""
    if args.to not in RECIPE_TARGETS:
        raise InputError("this is a recipe: nsdesign.torch.Muon(recipe=…) or --to python")
    for flag, given in (("--steps", args.steps is not None), ("--normalize", args.normalize), ("--patch", args.patch)):
        if given:
            raise InputError(f"{flag} is for one schedule; a recipe keeps each layer's own")
    result = export_recipe(recipe, args.to, provenance=f"recipe file {args.schedule}")
    if args.output is None:
        sys.stdout.write(result.text)
        return 0
    write_text_atomic(args.output, result.text)
    module = re.sub(r"\W", "_", Path(args.output).stem) or "recipe"
    for text in (f"wrote {args.output}: the recipe's per-layer schedules as Python data",
                 f"use: {RECIPE_USAGE.format(module=module)}"):
        for line in textwrap.wrap(text, 79, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False):
            print(terminal_safe(line))
    return 0
