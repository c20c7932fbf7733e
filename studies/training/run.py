"""Study: does a schedule designed for the band the model's momentum actually has train better, or cheaper?

The loop closed (studies/training/closed_loop.py): per size, capture the momentum band of the model being
trained, design three schedules from it (per-step, normalizer co-designed, repeated triple for torch.optim.Muon),
train them against keller5, polar_express_modded5, deepseek_v4_10 and cubic5_eo with the Muon lr tuned per
schedule, and compare final test loss (paired by seed, Holm-corrected, with the minimum detectable difference)
and steps to a target loss fixed before the runs.

    python studies/training/run.py            # the study (see README.md for its measured CPU time)
    python studies/training/run.py --quick    # seconds; a nano model, a few steps (used by the tests)
    python studies/training/run.py --report   # trains nothing: rewrites the reports from what is stored

One process, torch on 1 thread (CPU seconds then measure one thread's work). Every run is stored under
runs/<size>/; an interrupted study re-run with the same command resumes where it stopped. After each size the
results so far are written (results.json, README.md, figures), so a partial study is readable.
"""

from __future__ import annotations

import datetime
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import _common as common  # noqa: E402
import closed_loop as loop  # noqa: E402

KEPT = "## Protocol and what the older evidence supports"


def main() -> None:
    args, timer, dpi = common.start(HERE, __doc__, _arguments)
    import torch

    torch.set_num_threads(1)
    # Everything the reports need is imported before hours of training, not after them (a module that fails to
    # import then fails at once).
    import statistics_view  # noqa: F401
    from nsdesign.plot.training import band_layers_figure, comparison_figure  # noqa: F401

    plan = loop.QUICK if args.quick else loop.FULL
    out: Path = args.out
    if args.report:
        return report(plan, out, dpi, args.quick, timer)
    results: dict = {"command": common.command("training", args.quick), "sizes": [], "planned": [s["name"] for s in plan["sizes"]]}
    for size in plan["sizes"]:
        comparison, result = loop.run_size(size, plan, out, common.note, _progress)
        result["figure"] = f"loss_{size['name']}.png"
        results["sizes"].append(result)
        try:  # the runs are stored already: a failing report must not stop the next size's training
            common.save(comparison_figure(comparison, dpi=dpi), out / result["figure"])
            write(results, out, dpi, args.quick, timer)
        except Exception as exc:  # noqa: BLE001
            common.note(f"{size['name']}: report not written ({type(exc).__name__}: {exc}); re-run to write it")
            if args.quick:
                raise
        common.note(f"[{timer.seconds():.0f} s] {size['name']}: done")
    print(f"done in {timer.seconds():.0f} s", flush=True)


def _arguments(parser) -> None:
    parser.add_argument("--report", action="store_true",
                        help="train nothing: rewrite the reports from results.json and what unfinished sizes stored")


def report(plan: dict, out: Path, dpi: int, quick: bool, timer) -> None:
    """The finished sizes as results.json records them, plus what each unfinished size's run store holds."""
    import json

    path = out / "results.json"
    results = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"sizes": []}
    results.update(command=common.command("training", quick), planned=[s["name"] for s in plan["sizes"]])
    done = {s["name"] for s in results["sizes"]}
    results["partial"] = [p for p in (loop.partial_size(s, plan, out) for s in plan["sizes"] if s["name"] not in done)
                          if p is not None]
    if not results["sizes"] and not results["partial"]:
        print("nothing stored yet: no report written", flush=True)
        return
    write(results, out, dpi, quick, timer)
    print(f"reports rewritten: {len(done)} finished size(s), {len(results['partial'])} unfinished", flush=True)


def write(results: dict, out: Path, dpi: int, quick: bool, timer) -> None:
    """results.json, the band figure and README.md for the sizes finished so far."""
    import statistics_view as view
    from nsdesign.plot.training import band_layers_figure

    results["statistics"] = view.statistics(results["sizes"])
    results["seconds_this_invocation"] = timer.seconds()
    results["finished_utc"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    results["machine"] = common.machine()
    results["load"] = common.load()
    results["complete"] = len(results["sizes"]) == len(results["planned"])
    panels = view.band_panels([*results["sizes"], *results.get("partial", [])])
    common.save(band_layers_figure(panels, dpi=dpi), out / "band_layers.png")
    common.write_json(out / "results.json", results)
    (out / "README.md").write_text(view.readme(results, quick) + kept_section(out / "README.md"), encoding="utf-8")


def kept_section(path: Path) -> str:
    """The hand-written section at the end of an existing README (from `KEPT` on), kept on regeneration."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    at = text.find(KEPT)
    return "" if at < 0 else "\n" + text[at:]


def _progress(name: str):
    from nsdesign.torch.training import print_line

    state = {"done": 0, "total": 0}

    def say(event):
        if event["event"] == "start":
            state["total"] = event["total"]
            return
        state["done"] += 1
        if common.progress_enabled():
            print(f"{name} ", end="", file=sys.stderr, flush=True)
            print_line(event, state["done"], state["total"], sys.stderr)

    return say


if __name__ == "__main__":
    main()
