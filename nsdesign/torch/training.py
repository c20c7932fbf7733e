"""Does a schedule train better? End-to-end Muon training comparisons with error bars: `nsdesign train-compare`.

Why: users pick a Newton–Schulz schedule for validation loss per unit of compute, not for max|1 − F(σ)|, and
the public evidence is mixed (Polar Express at 5 steps slightly worse than the fixed quintic in community speedrun
reports; the relaxed cubic of arXiv 2606.00371 matching quintics with fewer matmuls; Turbo-Muon, arXiv 2512.04632,
reporting end-to-end speed-ups from one step fewer). Polar accuracy does not have to track training quality, so
this module measures the latter directly, on the byte-level GPTs of `nsdesign.torch.capture`.

For every schedule × seed it trains the same model from the same initialization on the same batch order (both
fixed by the seed alone, so runs of one seed differ only in the schedule) with `nsdesign.torch.Muon` on the hidden
matrices and AdamW on embeddings, head and norms (the capture setup), and records:

- validation loss versus step on a fixed held-out split, every `eval_every` steps and at the end, and the TEST loss
  at the end: the held-out last 10% of the text is cut into two disjoint halves, validation (the first) and test
  (the second), each read as evenly spaced windows, the same for every run. The validation curve serves choices
  (the learning rate of `LrTuning`, the steps to `target_loss`); the reported final loss is the test loss, on
  bytes no choice looked at;
- NS FLOPs per step: `nsdesign.core.cost.flops` of each matrix's schedule on its shape, plus, under a normalizer
  other than Frobenius, its own work (`Normalizer.extra_flops`: the norm of A or A², power iterations, AOL's
  row sums and rescaling), summed over matrices; the Frobenius pre-scale every run does is not counted;
- wall time of the training steps (evaluation excluded) and, separately, the time spent inside Newton–Schulz
  (every `orthogonalize` call Muon makes is timed; on CUDA with a synchronize before and after), and the
  process CPU time of both (`time.process_time`, the host's: on the CPU the work itself), which other jobs on a
  shared machine inflate far less than wall time (a loaded machine makes wall seconds measure the load);
- the momentum band during training: descending-rank quantiles of the singular values of every Frobenius-
  normalized momentum buffer M/‖M‖_F (the convention of `nsdesign capture` and arXiv 2606.04058) plus σ_max,
  at `band_at` steps.

Where the pieces live: one run and the step loop it shares with `nsdesign capture` in `nsdesign.torch.trainrun`,
the run store in `nsdesign.torch.runstore`, the paired statistics in `nsdesign.core.paired` (no torch); this
module tunes, trains every schedule × seed through them and analyses (its names re-export theirs).

Runs are stored one JSON file per run in `runs_dir`, each written atomically; a file whose key matches is loaded
instead of trained, so a killed comparison re-run skips what it finished. The key (`run_key`) holds every setting
(lr, batch, seq_len, steps, model size, NS dtype, match_rms, data source and checksum…), the schedule documents with
their coefficients, the seed and the code version (`code_version`: nsdesign's version and a hash of the sources
that train), so a changed setup or code never reuses an old result silently.

Step size: one fixed Muon lr for every schedule confounds the schedule with its effective step size (each
schedule's output singular values overshoot or undershoot 1 by its own amount). Two remedies: `LrTuning` trains
every schedule × lr of a grid on tuning seeds (disjoint from the comparison seeds) and picks, per schedule, the lr
with the lowest mean final validation loss; `match_rms` makes Muon rescale each update to the RMS of an exact
polar factor (`nsdesign.torch.muon.match_polar_rms`).

Statistics over seeds (`nsdesign.core.paired`, numpy/scipy): paired differences against the baseline with Student-t intervals, a
paired t-test p-value, Holm's step-down correction across all comparisons against the baseline (`holm`), the
minimum detectable difference beside each verdict (`minimum_detectable`), and the steps to a fixed target
validation loss chosen before the runs (`target_loss`; interpolated crossing, as modded-nanogpt records).

Learning rate: linear warm-up over the first `warmup` steps, constant, then a linear decay to 0 over the last
`cooldown` fraction of training (the warm-up/constant/decay shape of modded-nanogpt's speedruns).
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from nsdesign._files import read_json, write_json_atomic
from nsdesign._version import __version__
from nsdesign.core.limits import DEFAULT_LR_GRID, MAX_SEED_COUNT, check_count, check_seed
from nsdesign.core.normalizers import recorded_normalizer
from nsdesign.core.paired import (  # noqa: F401  (re-exported: the statistics train-compare reports)
    CONFIDENCE, POWER, PairedDifference, Summary, first_reach, holm, minimum_detectable, paired_differences, summarize,
)
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.torch.runstore import RUN_FORMAT, code_version, obtain, run_key, stale_runs  # noqa: F401
from nsdesign.torch.trainrun import (  # noqa: F401  (re-exported: the values and the run)
    BAND_QUANTILES, HOLDOUT, CompareSettings, RunResult, ScheduleSpec, default_band_steps, eval_schedule,
    momentum_band, normalizer_flops, ns_timer, split_text, train_one, warmup_steps,
)

FORMAT = "nsdesign-train-compare/1"
KIND = "nsdesign-train-compare"
DEFAULT_BASELINE = "keller5"
TUNE_SEED_BASE = 1000  # tuning seeds are 1000, 1001, …: never a comparison seed unless asked for


# --------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LrTuning:
    """Per-schedule Muon lr: every grid value × tuning seed is trained for `steps` (None: the comparison's steps);
    the lr with the lowest mean final validation loss wins. Seeds default to 1000, 1001, … (`TUNE_SEED_BASE`)."""

    grid: tuple[float, ...] = DEFAULT_LR_GRID
    seeds: tuple[int, ...] = (TUNE_SEED_BASE,)
    steps: int | None = None

    def checked(self, comparison_seeds: Sequence[int]) -> LrTuning:
        """Why refuse: fewer than 4 values cannot show a minimum inside the grid; a tuning seed that is also a
        comparison seed would choose the lr on the very runs it is then judged by."""
        grid = tuple(float(v) for v in self.grid)
        if len(grid) < 4 or len(set(grid)) != len(grid) or not all(math.isfinite(v) and v > 0 for v in grid):
            raise InputError(f"`lr_grid` needs at least 4 distinct positive values, got {list(self.grid)}")
        seeds = tuple(self.seeds)
        if any(isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**32 for v in seeds):
            raise InputError(f"`tune_seeds` must be integers from 0 to 2^32−1, got {list(seeds)[:8]}")
        if not seeds or len(set(seeds)) != len(seeds):
            raise InputError("give at least one tuning seed, each once")
        if set(seeds) & set(comparison_seeds):
            raise InputError(f"tuning seeds {sorted(set(seeds) & set(comparison_seeds))} are comparison seeds too")
        if self.steps is not None and (isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1):
            raise InputError(f"`tune_steps` must be a positive integer, got {self.steps}")
        return LrTuning(tuple(sorted(grid)), seeds, self.steps)


@dataclass(frozen=True)
class TuneRow:
    """One schedule × lr of the tuning grid: mean final validation loss over the tuning seeds (inf: diverged)."""

    label: str
    lr: float
    val_loss: float
    diverged: int
    chosen: bool = False


@dataclass(frozen=True)
class Reach:
    """Per seed: step, NS FLOPs, wall, NS and CPU seconds at which a run first reaches the target loss (None: never,
    or, for CPU seconds, not recorded)."""

    label: str
    target: tuple[float, ...]
    steps: tuple[float | None, ...]
    ns_flops: tuple[float | None, ...]
    wall_seconds: tuple[float | None, ...]
    ns_seconds: tuple[float | None, ...]
    cpu_seconds: tuple[float | None, ...] = ()

    @property
    def reached(self) -> int:
        return sum(s is not None for s in self.steps)

    def mean(self, what: str) -> float | None:
        values = getattr(self, what)
        if not values or any(v is None for v in values):
            return None
        return float(np.mean(values))


@dataclass(frozen=True)
class Comparison:
    settings: CompareSettings
    labels: tuple[str, ...]
    seeds: tuple[int, ...]
    baseline: str
    runs: tuple[RunResult, ...]
    documents: Mapping[str, Any]
    summaries: tuple[Summary, ...]
    differences: tuple[PairedDifference, ...]
    reach: tuple[Reach, ...]
    seconds: float
    skipped: int = 0
    notes: tuple[str, ...] = field(default=())
    lrs: Mapping[str, float] = field(default_factory=dict)  # the Muon lr each schedule's comparison runs used
    tuning: tuple[TuneRow, ...] = ()
    target_loss: float | None = None
    target_reach: tuple[Reach, ...] = ()

    def runs_of(self, label: str) -> list[RunResult]:
        return sorted((r for r in self.runs if r.label == label), key=lambda r: r.seed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "format": FORMAT,
            "nsdesign_version": __version__,
            "settings": asdict(self.settings),
            "labels": list(self.labels),
            "seeds": list(self.seeds),
            "baseline": self.baseline,
            "schedules": dict(self.documents),
            "summary": [_clean(asdict(s)) for s in self.summaries],
            "paired_differences": [_clean({**asdict(d), "excludes_zero": d.excludes_zero, "verdict": d.verdict})
                                   for d in self.differences],
            "lrs": dict(self.lrs),
            "lr_tuning": [_clean(asdict(t)) for t in self.tuning],
            "target_loss": self.target_loss,
            "reach_target": [_clean({**asdict(r), "reached": r.reached}) for r in self.target_reach],
            "reach_baseline_final_secondary": [_clean({**asdict(r), "reached": r.reached}) for r in self.reach],
            "runs": [r.to_dict() for r in self.runs],
            "seconds": self.seconds,
            "skipped_runs": self.skipped,
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------------------------------
# Statistics (numpy/scipy; pure functions of the recorded numbers)
# --------------------------------------------------------------------------------------------------


def _at_step(steps: Sequence[float], values: Sequence[float], step: float) -> float:
    return float(np.interp(step, [0.0, *steps], [0.0, *values]))


def ns_share(runs: Sequence[RunResult]) -> float | None:
    """The fraction of the training steps' time spent inside Newton–Schulz, summed over `runs`: from process CPU
    time when every run recorded it (load-independent), else from wall time; None when no time was measured."""
    if runs and all(r.cpu_seconds and r.ns_cpu_seconds for r in runs):
        total, ns = sum(r.cpu_seconds[-1] for r in runs), sum(r.ns_cpu_seconds[-1] for r in runs)
    else:
        total, ns = sum(r.wall_seconds[-1] for r in runs), sum(r.ns_seconds[-1] for r in runs)
    return ns / total if total > 0 else None


def time_to_target(run: RunResult, target: float) -> tuple[float | None, ...]:
    """(step, NS FLOPs, wall seconds, NS seconds, CPU seconds) when `run` first reaches `target`; times
    interpolated in step; CPU seconds None when the run did not record them."""
    step = first_reach(run.eval_steps, run.val_loss, target)
    if step is None:
        return None, None, None, None, None
    cpu = _at_step(run.eval_steps, run.cpu_seconds, step) if run.cpu_seconds else None
    return (step, step * run.ns_flops_per_step, _at_step(run.eval_steps, run.wall_seconds, step),
            _at_step(run.eval_steps, run.ns_seconds, step), cpu)


def final_losses(run: RunResult) -> float:
    """The loss a comparison reports: the test loss, or the final validation loss for a run that has none."""
    return run.final_test_loss if not math.isnan(run.test_loss) or run.diverged_at is not None else run.final_val_loss


def analyse(runs: Sequence[RunResult], labels: Sequence[str], seeds: Sequence[int], baseline: str) -> tuple[tuple[Summary, ...], tuple[PairedDifference, ...], tuple[Reach, ...]]:
    """Summaries of the final test loss, paired differences against `baseline` (Holm-corrected across all of
    them), and, secondary and labelled as such, the cost of reaching the baseline's own final validation loss (per
    seed: the baseline run of the same seed sets the target; a target chosen after the runs, so never a
    headline: `reach_target` with a target fixed beforehand is)."""
    by = {(r.label, r.seed): r for r in runs}
    finals = {label: [final_losses(by[label, s]) for s in seeds] for label in labels}
    summaries = tuple(summarize(label, finals[label]) for label in labels)
    differences = holm([paired_differences(label, finals[label], finals[baseline]) for label in labels if label != baseline])
    reach = []
    targets = tuple(by[baseline, s].final_val_loss for s in seeds)
    for label in labels:
        rows = [time_to_target(by[label, s], t) if math.isfinite(t) else (None,) * 5 for s, t in zip(seeds, targets)]
        reach.append(Reach(label, targets, *(tuple(col) for col in zip(*rows))))  # type: ignore[arg-type]
    return summaries, differences, tuple(reach)


def reach_target(runs: Sequence[RunResult], labels: Sequence[str], seeds: Sequence[int], target: float) -> tuple[Reach, ...]:
    """Per schedule and seed: the step (interpolated crossing of the validation curve), NS FLOPs and seconds at
    which the run first reaches `target`, a loss fixed before the runs (as modded-nanogpt's record rules do)."""
    by = {(r.label, r.seed): r for r in runs}
    out = []
    for label in labels:
        rows = [time_to_target(by[label, s], target) for s in seeds]
        out.append(Reach(label, (target,) * len(seeds), *(tuple(col) for col in zip(*rows))))  # type: ignore[arg-type]
    return tuple(out)


# --------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------


def resolve_spec(reference: Any, label: str | None = None) -> ScheduleSpec:
    """A preset name, schedule file or document, or a recipe (file whose kind is nsdesign-recipe, or a mapping
    {parameter name/pattern → schedule} passed as {"recipe": …})."""
    from nsdesign.torch._resolve import RECIPE_KIND, as_schedule, load_recipe

    if isinstance(reference, ScheduleSpec):
        return reference
    if isinstance(reference, Schedule):
        return ScheduleSpec(label or reference.name or "schedule", schedule=reference)
    if isinstance(reference, Mapping) and "recipe" in reference and len(reference) == 1:
        return ScheduleSpec(label or "recipe", recipe=load_recipe(reference["recipe"]))
    if isinstance(reference, Mapping) and reference.get("kind") == RECIPE_KIND:
        return ScheduleSpec(label or "recipe", recipe=load_recipe(reference))
    if isinstance(reference, (str, os.PathLike)):
        text = os.fspath(reference)
        name = label or (Path(text).stem if text.endswith(".json") else text)
        if text.endswith(".json") and Path(text).is_file():
            document = read_json(text)
            if isinstance(document, Mapping) and document.get("kind") == RECIPE_KIND:
                return ScheduleSpec(name, recipe=load_recipe(text))
        recorded = recorded_normalizer(text)
        return ScheduleSpec(name, schedule=as_schedule(text), normalizer=None if recorded is None else recorded.to_dict())
    return ScheduleSpec(label or "schedule", schedule=as_schedule(reference))


def _unique_labels(specs: Sequence[ScheduleSpec]) -> list[ScheduleSpec]:
    seen: dict[str, int] = {}
    out = []
    for spec in specs:
        n = seen.get(spec.label, 0)
        seen[spec.label] = n + 1
        out.append(spec if n == 0 else ScheduleSpec(f"{spec.label}#{n + 1}", spec.schedule, spec.recipe, spec.normalizer))
    return out


# --------------------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------------------


def train_compare(
    schedules: Sequence[Any],
    *,
    seeds: int | Sequence[int] = 3,
    train_steps: int = 200,
    model: str = "tiny",
    text: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    runs_dir: str | os.PathLike[str] | None = None,
    baseline: str | None = None,
    batch: int = 16,
    seq_len: int = 128,
    eval_every: int | None = None,
    eval_batches: int = 8,
    band_at: Sequence[int] | None = None,
    ns_dtype: str | None = None,
    muon_lr: float = 0.02,
    adam_lr: float = 3e-3,
    max_text_bytes: int | None = None,
    labels: Sequence[str] | None = None,
    progress: Callable[[Mapping[str, Any]], None] | None = None,
    lr_tuning: LrTuning | Sequence[float] | None = None,
    match_rms: bool = False,
    target_loss: float | None = None,
    band_spectra: bool = False,
) -> Comparison:
    """Train every schedule × seed (see the module docstring) and compare their final test losses.

    `schedules`: preset names, schedule files/documents, recipe files, or `ScheduleSpec`s. `seeds`: a count
    (seeds 0…N−1) or explicit seeds. `baseline`: the label paired differences are taken against (default keller5
    when listed, else the first schedule). `runs_dir`: where finished runs are stored and found again (no
    resuming without it). `progress` receives {"event": "start"|"run"|"skip", …} dictionaries.
    `muon_lr`: the Muon lr of every schedule, unless `lr_tuning` (an `LrTuning`, or just its grid) picks one per
    schedule first. `match_rms`: Muon rescales each update to an exact polar factor's RMS. `target_loss`: a
    validation loss fixed before the runs; the steps, NS FLOPs and seconds to first reach it are reported.
    `band_spectra`: band records keep every singular value (for designing from a capture run)."""
    if not schedules:
        raise InputError("give at least one schedule to compare")
    seed_list = _seeds(seeds)
    _check_numbers(train_steps, batch, seq_len, eval_batches, eval_every, muon_lr, adam_lr, match_rms, target_loss)
    tuning = _tuning(lr_tuning, seed_list)
    if labels is not None and len(labels) != len(schedules):
        raise InputError(f"{len(labels)} labels for {len(schedules)} schedules")
    specs = _unique_labels([resolve_spec(s, None if labels is None else labels[i]) for i, s in enumerate(schedules)])
    names = [s.label for s in specs]
    base = baseline if baseline is not None else (DEFAULT_BASELINE if DEFAULT_BASELINE in names else names[0])
    if base not in names:
        raise InputError(f"baseline {base!r} is not among the compared schedules ({', '.join(names)})")
    settings, tokens, target = _settings(
        model, text, device, max_text_bytes, ns_dtype, band_at,
        dict(train_steps=train_steps, batch=batch, seq_len=seq_len, muon_lr=muon_lr, adam_lr=adam_lr,
             eval_every=eval_every if eval_every is not None else max(1, train_steps // 10),
             eval_batches=eval_batches, match_rms=match_rms, band_spectra=bool(band_spectra)))
    store = _store(runs_dir)
    _check_recipes(specs, settings)  # every recipe against the model's parameter names, before any training
    say = progress or (lambda event: None)
    tune_runs = 0 if tuning is None else len(specs) * len(tuning.grid) * len(tuning.seeds)
    say({"event": "start", "total": tune_runs + len(specs) * len(seed_list)})
    start = time.perf_counter()
    lrs, rows, skipped = {spec.label: muon_lr for spec in specs}, (), 0
    if tuning is not None:
        lrs, rows, skipped = _tune(specs, tuning, settings, tokens, target, store, say)
    runs: list[RunResult] = []
    for seed in seed_list:
        for spec in specs:
            run, loaded = obtain(spec, seed, replace(settings, muon_lr=lrs[spec.label]), tokens, target, store, say)
            runs.append(run)
            skipped += loaded
    summaries, differences, reach = analyse(runs, names, seed_list, base)
    goal = None if target_loss is None else float(target_loss)
    return Comparison(settings, tuple(names), tuple(seed_list), base, tuple(runs), {s.label: s.documents() for s in specs},
                      summaries, differences, reach, time.perf_counter() - start, skipped,
                      tuple(_notes(runs, rows, tuning, store)), lrs, rows, goal,
                      () if goal is None else reach_target(runs, names, seed_list, goal))


def _check_numbers(train_steps: Any, batch: int, seq_len: int, eval_batches: int, eval_every: int | None,
                   muon_lr: float, adam_lr: float, match_rms: Any, target_loss: Any) -> None:
    """One-line errors for out-of-range numbers, before any text is read or model built."""
    if isinstance(train_steps, bool) or not isinstance(train_steps, int) or train_steps < 1:
        raise InputError(f"`train_steps` must be a positive integer, got {train_steps}")
    if batch < 1 or seq_len < 2 or eval_batches < 1:
        raise InputError(f"batch and eval batches must be ≥ 1 and seq_len ≥ 2, got {batch}, {eval_batches}, {seq_len}")
    if eval_every is not None and eval_every < 1:
        raise InputError(f"`eval_every` must be a positive integer, got {eval_every}")
    if not (muon_lr > 0 and adam_lr > 0 and math.isfinite(muon_lr) and math.isfinite(adam_lr)):
        raise InputError(f"learning rates must be positive, got muon {muon_lr}, adam {adam_lr}")
    if not isinstance(match_rms, bool):
        raise InputError(f"`match_rms` must be True or False, got {match_rms!r}")
    if target_loss is not None and not (isinstance(target_loss, (int, float)) and math.isfinite(target_loss) and target_loss > 0):
        raise InputError(f"`target_loss` must be a positive number (nats/byte), got {target_loss}")


def _settings(model: str, text: Any, device: str, max_text_bytes: int | None, ns_dtype: str | None,
              band_at: Sequence[int] | None, numbers: Mapping[str, Any]) -> tuple[CompareSettings, Any, Any]:
    """(settings, the text as byte tokens, the torch device): the model size, NS dtype, band steps and text that
    every run of the comparison shares."""
    import torch

    from nsdesign.torch.capture import DEFAULT_TEXT_BYTES, file_text, parse_sizes, stdlib_text
    from nsdesign.torch.kernels import dtype_name, resolve_dtype
    from nsdesign.torch.validate import resolve_device

    steps, batch, seq_len = numbers["train_steps"], numbers["batch"], numbers["seq_len"]
    at = tuple(sorted(set(band_at))) if band_at else default_band_steps(steps)
    if any(not 1 <= s <= steps for s in at):
        raise InputError(f"band steps must lie in 1…{steps}, got {list(at)}")
    target = resolve_device(device)
    (size,) = parse_sizes([model], target)
    dtype = dtype_name(resolve_dtype(ns_dtype or ("bf16" if target.type == "cuda" else "fp32")))
    limit = max_text_bytes if max_text_bytes is not None else DEFAULT_TEXT_BYTES
    data, source = file_text(text, limit) if text is not None else stdlib_text(limit)
    tokens = torch.frombuffer(bytearray(data), dtype=torch.uint8).long()
    need = 20 * (seq_len + 1) * max(batch, numbers["eval_batches"])  # each held-out half (5%) holds a batch of windows
    if tokens.numel() < need:
        raise InputError(f"the text has {tokens.numel()} bytes; need at least {need} for batch {batch} and seq_len {seq_len}")
    settings = CompareSettings(
        model=size.name, width=size.width, n_layer=size.n_layer, warmup=warmup_steps(steps), band_at=at,
        ns_dtype=dtype, device=target.type, text_source=source, text_sha256=hashlib.sha256(data).hexdigest(),
        text_bytes=len(data), **numbers)
    return settings, tokens, target


def _store(runs_dir: str | os.PathLike[str] | None) -> Path | None:
    store = Path(runs_dir) if runs_dir is not None else None
    if store is not None:
        try:
            store.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create {store}: {exc.strerror or exc}") from None
    return store


def _tuning(lr_tuning: LrTuning | Sequence[float] | None, seeds: Sequence[int]) -> LrTuning | None:
    if lr_tuning is None:
        return None
    if isinstance(lr_tuning, LrTuning):
        return lr_tuning.checked(seeds)
    if isinstance(lr_tuning, (str, bytes)) or not isinstance(lr_tuning, Sequence):
        raise InputError(f"`lr_grid` must be a list of learning rates, got {lr_tuning!r}")
    return LrTuning(tuple(lr_tuning)).checked(seeds)


def _tune(specs: Sequence[ScheduleSpec], tuning: LrTuning, settings: CompareSettings, tokens: Any, device: Any,
          store: Path | None, say: Callable[[Mapping[str, Any]], None]) -> tuple[dict[str, float], tuple[TuneRow, ...], int]:
    """Per schedule, the grid lr with the lowest mean final VALIDATION loss over the tuning seeds (ties: the
    smaller lr). Tuning runs evaluate only at the start and the end and record no band: only that loss is used."""
    steps = tuning.steps or settings.train_steps
    base = replace(settings, train_steps=steps, warmup=warmup_steps(steps), eval_every=steps, band_at=(),
                   band_spectra=False)
    chosen: dict[str, float] = {}
    rows: list[TuneRow] = []
    loaded = 0
    for spec in specs:
        means = []
        for lr in tuning.grid:
            finals = []
            for seed in tuning.seeds:
                run, was = obtain(spec, seed, replace(base, muon_lr=lr), tokens, device, store, say, f" lr {lr:g}")
                finals.append(run.final_val_loss)
                loaded += was
            means.append((float(np.mean(finals)), sum(not math.isfinite(v) for v in finals)))
        best = min(range(len(means)), key=lambda i: (means[i][0], i))
        chosen[spec.label] = tuning.grid[best]
        rows += [TuneRow(spec.label, lr, m, k, i == best) for i, (lr, (m, k)) in enumerate(zip(tuning.grid, means))]
    return chosen, tuple(rows), loaded


def _notes(runs: Sequence[RunResult], rows: Sequence[TuneRow], tuning: LrTuning | None, store: Path | None) -> list[str]:
    """What a reader must know before trusting the tables: divergence, an lr on the grid's edge, stale runs."""
    notes = []
    if any(r.diverged_at is not None for r in runs):
        notes.append("some runs diverged (non-finite loss); their final loss counts as inf")
    if tuning is not None:
        edge = sorted({r.label for r in rows if r.chosen and r.lr in (tuning.grid[0], tuning.grid[-1])})
        if edge:
            notes.append(f"lr chosen at the grid's edge for {', '.join(edge)}: widen the grid")
    stale = stale_runs(store) if store is not None else 0
    if stale:
        notes.append(f"{stale} stored run(s) in {store} were made by another code version or run format "
                     "and are not reused")
    return notes


def _seeds(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, bool):
        raise InputError(f"`seeds` must be a positive integer, got {seeds}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise InputError(f"`seeds` must be a positive integer, got {seeds}")
        return list(range(check_count(seeds, "seeds", MAX_SEED_COUNT)))
    out = [check_seed(s, "seeds") for s in seeds]
    check_count(len(out), "seeds", MAX_SEED_COUNT)
    if not out or len(set(out)) != len(out):
        raise InputError("give at least one seed, each once")
    return out


def _check_recipes(specs: Sequence[ScheduleSpec], settings: CompareSettings) -> None:
    from nsdesign.torch._resolve import match_recipe

    names = [f"blocks.{i}.{m}.weight" for i in range(settings.n_layer) for m in ("q", "k", "v", "o", "mlp_up", "mlp_down")]
    for spec in specs:
        if spec.recipe is not None:
            try:
                match_recipe(spec.recipe, names)
            except InputError as exc:
                raise InputError(f"{spec.label}: {exc}") from None


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------


def write_comparison(comparison: Comparison, path: str | os.PathLike[str]) -> Path:
    return write_json_atomic(path, comparison.to_dict())


def _clean(data: Any) -> Any:
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _clean(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_clean(v) for v in data]
    return data


def print_line(event: Mapping[str, Any], done: int, total: int, stream: Any = None) -> None:
    """One plain progress line per finished run (used when stderr is not a terminal)."""
    out = stream or sys.stderr
    if event["event"] == "skip":
        print(f"[{done}/{total}] {event['label']} seed {event['seed']}: already done", file=out, flush=True)
    elif event["event"] == "run":
        print(f"[{done}/{total}] {event['label']} seed {event['seed']}: val loss {event['final']:.4f} "
              f"({event['seconds']:.1f} s, NS {event['ns_seconds']:.1f} s)", file=out, flush=True)
