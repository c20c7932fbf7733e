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

Statistics over seeds use numpy/scipy: paired differences against the baseline with Student-t intervals, a
paired t-test p-value, Holm's step-down correction across all comparisons against the baseline (`holm`), the
minimum detectable difference beside each verdict (`minimum_detectable`), and the steps to a fixed target
validation loss chosen before the runs (`target_loss`; interpolated crossing, as modded-nanogpt records).

Learning rate: linear warm-up over the first `warmup` steps, constant, then a linear decay to 0 over the last
`cooldown` fraction of training (the warm-up/constant/decay shape of modded-nanogpt's speedruns).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from nsdesign._files import read_json, write_json_atomic
from nsdesign._version import __version__
from nsdesign.core.cost import Shape, flops
from nsdesign.core.schedule import Schedule
from nsdesign.core.limits import MAX_SEED_COUNT, check_count, check_seed
from nsdesign.errors import InputError

FORMAT = "nsdesign-train-compare/1"
RUN_FORMAT = "nsdesign-train-run/2"  # /2: test split, code version and every hyper-parameter in the key
KIND = "nsdesign-train-compare"
DEFAULT_BASELINE = "keller5"
BAND_QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)  # descending rank, as nsdesign capture
CONFIDENCE = 0.95
POWER = 0.8  # of the minimum detectable difference
DEFAULT_LR_GRID: tuple[float, ...] = (0.005, 0.01, 0.02, 0.04)  # log grid (factor 2) around Muon's usual 0.02
TUNE_SEED_BASE = 1000  # tuning seeds are 1000, 1001, …: never a comparison seed unless asked for
HOLDOUT = "last 10% of the text: validation = its first half, test = its second half"
CODE_FILES: tuple[str, ...] = ("training.py", "model.py", "muon.py", "kernels.py")  # in nsdesign/torch/


# --------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareSettings:
    """Everything that fixes a run apart from the schedule and the seed (part of each run's key)."""

    model: str = "tiny"
    width: int = 64
    n_layer: int = 4
    train_steps: int = 200
    batch: int = 16
    seq_len: int = 128
    muon_lr: float = 0.02
    adam_lr: float = 3e-3
    momentum: float = 0.95
    weight_decay: float = 0.0
    warmup: int = 10
    cooldown: float = 0.4
    eval_every: int = 25
    eval_batches: int = 8
    band_at: tuple[int, ...] = ()
    ns_dtype: str = "fp32"
    device: str = "cpu"
    text_source: str = ""
    text_sha256: str = ""
    text_bytes: int = 0
    match_rms: bool = False
    holdout: str = HOLDOUT


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
class ScheduleSpec:
    """One compared entry: a uniform schedule, or a recipe (parameter name/pattern → schedule)."""

    label: str
    schedule: Schedule | None = None
    recipe: Mapping[str, Schedule] | None = None
    normalizer: Mapping[str, Any] | None = None  # what a schedule file records (`search --normalize`); None: Frobenius

    def documents(self) -> Any:
        if self.schedule is not None:
            document = self.schedule.to_dict()
            return document if self.normalizer is None else {**document, "normalizer": dict(self.normalizer)}
        return {k: v.to_dict() for k, v in (self.recipe or {}).items()}


@dataclass(frozen=True)
class RunResult:
    """One training run. Lists are aligned with `eval_steps`; times are cumulative seconds at those steps."""

    label: str
    seed: int
    eval_steps: tuple[int, ...]
    val_loss: tuple[float, ...]
    wall_seconds: tuple[float, ...]
    ns_seconds: tuple[float, ...]
    ns_flops_per_step: float
    train_loss: tuple[float, ...]
    band: tuple[Mapping[str, Any], ...]
    diverged_at: int | None = None
    model_params: int = 0
    cpu_seconds: tuple[float, ...] = ()  # process CPU time, aligned like wall_seconds (empty in older run files)
    ns_cpu_seconds: tuple[float, ...] = ()
    test_loss: float = math.nan  # on the test half of the held-out text, at the end (nan in older run files)

    @property
    def final_val_loss(self) -> float:
        return self.val_loss[-1] if self.diverged_at is None else math.inf

    @property
    def final_test_loss(self) -> float:
        """The reported loss: on bytes that no choice (lr, target crossing) looked at; inf when diverged."""
        return self.test_loss if self.diverged_at is None else math.inf

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["val_loss"] = [_finite(v) for v in self.val_loss]
        d["train_loss"] = [_finite(v) for v in self.train_loss]
        d["test_loss"] = _finite(self.test_loss)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunResult:
        return cls(
            label=str(d["label"]), seed=int(d["seed"]), eval_steps=tuple(int(s) for s in d["eval_steps"]),
            val_loss=tuple(_unfinite(v) for v in d["val_loss"]), wall_seconds=tuple(map(float, d["wall_seconds"])),
            ns_seconds=tuple(map(float, d["ns_seconds"])), ns_flops_per_step=float(d["ns_flops_per_step"]),
            train_loss=tuple(_unfinite(v) for v in d["train_loss"]), band=tuple(d["band"]),
            diverged_at=d.get("diverged_at"), model_params=int(d.get("model_params", 0)),
            cpu_seconds=tuple(map(float, d.get("cpu_seconds", ()))),
            ns_cpu_seconds=tuple(map(float, d.get("ns_cpu_seconds", ()))),
            test_loss=math.nan if "test_loss" not in d else _unfinite(d["test_loss"]),
        )


@dataclass(frozen=True)
class Summary:
    """Final validation loss of one schedule over seeds (std with ddof=1; nan for one seed)."""

    label: str
    n: int
    mean: float
    std: float
    diverged: int


@dataclass(frozen=True)
class PairedDifference:
    """Mean of (schedule − baseline) final test loss over seeds, with a Student-t interval at `confidence`, the
    paired t-test p-value, and (after `holm`) the Holm-adjusted p-value, an interval at the comparison's Holm
    level, the Holm verdict and the minimum detectable difference at that level."""

    label: str
    n: int
    mean: float
    std: float
    low: float
    high: float
    confidence: float = CONFIDENCE
    p_value: float = math.nan
    p_holm: float = math.nan
    holm_confidence: float = math.nan
    holm_low: float = math.nan
    holm_high: float = math.nan
    holm_rejects: bool = False
    mdd: float = math.nan

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    @property
    def verdict(self) -> str:
        """'better'/'worse' when Holm rejects a zero difference (lower loss is better), else 'unresolved'."""
        if not self.holm_rejects:
            return "unresolved"
        return "better" if self.mean < 0 else "worse"


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


def summarize(label: str, finals: Sequence[float]) -> Summary:
    """Mean and sample standard deviation (ddof=1) of final losses; a diverged run (inf) makes the mean inf."""
    values = np.asarray(finals, dtype=float)
    if values.size == 0:
        raise InputError(f"{label}: no runs to summarize")
    finite = np.isfinite(values)
    mean = float(values.mean()) if finite.all() else math.inf
    std = float(values.std(ddof=1)) if values.size > 1 and finite.all() else math.nan
    return Summary(label, int(values.size), mean, std, int((~finite).sum()))


def paired_differences(label: str, values: Sequence[float], baseline: Sequence[float], confidence: float = CONFIDENCE) -> PairedDifference:
    """d_i = values_i − baseline_i over seeds i; mean ± t_{(1+c)/2, n−1}·s_d/√n (nan interval for n < 2)."""
    from scipy import stats

    a, b = np.asarray(values, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape or a.size == 0:
        raise InputError(f"{label}: paired differences need the same non-zero number of seeds ({a.size} vs {b.size})")
    d = a - b
    n = int(d.size)
    if not np.isfinite(d).all():
        return PairedDifference(label, n, math.nan, math.nan, math.nan, math.nan, confidence)
    mean = float(d.mean())
    if n < 2:
        return PairedDifference(label, n, mean, math.nan, math.nan, math.nan, confidence)
    std = float(d.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    if std > 0:
        p = float(2 * stats.t.sf(abs(mean) / (std / math.sqrt(n)), n - 1))
    else:
        p = 1.0 if mean == 0 else 0.0
    return PairedDifference(label, n, mean, std, mean - half, mean + half, confidence, p_value=p)


def minimum_detectable(std: float, n: int, alpha: float, power: float = POWER) -> float:
    """MDD = (t_{1−α/2, n−1} + t_{power, n−1})·s_d/√n: the true paired difference a two-sided paired t-test at
    level α detects with probability ≈ `power` (the usual normal-theory formula with t quantiles); nan for n < 2.

    Why beside each verdict: "unresolved" with an MDD of 0.05 says nothing about a 0.01 effect."""
    from scipy import stats

    if n < 2 or not math.isfinite(std):
        return math.nan
    return float(stats.t.ppf(1 - alpha / 2, n - 1) + stats.t.ppf(power, n - 1)) * std / math.sqrt(n)


def holm(differences: Sequence[PairedDifference], alpha: float = 1 - CONFIDENCE) -> tuple[PairedDifference, ...]:
    """Holm's step-down correction across all comparisons with the baseline (family size m = those with a
    p-value). Sorted by raw p ascending, the i-th (i = 1…m) is tested at α/(m − i + 1) and rejected only when every
    earlier one was; adjusted p_(i) = max_{j≤i} min(1, (m − j + 1)·p_(j)). Each comparison's interval and MDD are
    at its own Holm level α/(m − i + 1) (confidence 1 − α/(m − i + 1)); comparisons without a p-value (one seed,
    a diverged run) stay unresolved. Why: with 4–7 schedules against one baseline, 95% intervals one by one
    exclude 0 by chance far more often than 5% of the time."""
    from scipy import stats

    tested = sorted((i for i, d in enumerate(differences) if math.isfinite(d.p_value)), key=lambda i: differences[i].p_value)
    m = len(tested)
    out = list(differences)
    running, rejecting = 0.0, True
    for rank, i in enumerate(tested):
        d = differences[i]
        level = alpha / (m - rank)
        running = max(running, min(1.0, (m - rank) * d.p_value))
        rejecting = rejecting and d.p_value <= level
        half = float(stats.t.ppf(1 - level / 2, d.n - 1)) * d.std / math.sqrt(d.n)
        out[i] = replace(d, p_holm=running, holm_confidence=1 - level, holm_low=d.mean - half, holm_high=d.mean + half,
                         holm_rejects=rejecting, mdd=minimum_detectable(d.std, d.n, level))
    return tuple(out)


def first_reach(steps: Sequence[float], losses: Sequence[float], target: float) -> float | None:
    """The (linearly interpolated) step at which the loss curve first drops to `target`, or None.

    Interpolates between the two evaluations that bracket the first crossing, so the answer is not quantized to
    the evaluation interval; an evaluation exactly at the target counts as reached."""
    for i, (s, v) in enumerate(zip(steps, losses)):
        if not math.isfinite(v):
            return None
        if v <= target:
            if i == 0:
                return float(s)
            s0, v0 = steps[i - 1], losses[i - 1]
            return float(s0 + (s - s0) * (v0 - target) / (v0 - v)) if v0 != v else float(s)
    return None


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
        from nsdesign.core.normalizers import recorded_normalizer

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


def default_band_steps(steps: int) -> tuple[int, ...]:
    """A quarter, half-way and the end (the band moves early in training and settles later)."""
    return tuple(sorted({max(1, steps // 4), max(1, steps // 2), steps}))


def eval_schedule(steps: int, every: int) -> tuple[int, ...]:
    """Evaluation steps: 0, every `every` steps, and the last step."""
    return tuple(sorted({0, *range(every, steps + 1, every), steps}))


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
) -> Comparison:
    """Train every schedule × seed (see the module docstring) and compare their final test losses.

    `schedules`: preset names, schedule files/documents, recipe files, or `ScheduleSpec`s. `seeds`: a count
    (seeds 0…N−1) or explicit seeds. `baseline`: the label paired differences are taken against (default keller5
    when listed, else the first schedule). `runs_dir`: where finished runs are stored and found again (no
    resuming without it). `progress` receives {"event": "start"|"run"|"skip", …} dictionaries.
    `muon_lr`: the Muon lr of every schedule, unless `lr_tuning` (an `LrTuning`, or just its grid) picks one per
    schedule first. `match_rms`: Muon rescales each update to an exact polar factor's RMS. `target_loss`: a
    validation loss fixed before the runs; the steps, NS FLOPs and seconds to first reach it are reported."""
    import torch

    from nsdesign.torch.capture import DEFAULT_TEXT_BYTES, file_text, parse_sizes, stdlib_text
    from nsdesign.torch.kernels import dtype_name, resolve_dtype
    from nsdesign.torch.validate import resolve_device

    if not schedules:
        raise InputError("give at least one schedule to compare")
    seed_list = _seeds(seeds)
    if isinstance(train_steps, bool) or not isinstance(train_steps, int) or train_steps < 1:
        raise InputError(f"`train_steps` must be a positive integer, got {train_steps}")
    if batch < 1 or seq_len < 2 or eval_batches < 1:
        raise InputError(f"batch and eval batches must be ≥ 1 and seq_len ≥ 2, got {batch}, {eval_batches}, {seq_len}")
    every = eval_every if eval_every is not None else max(1, train_steps // 10)
    if every < 1:
        raise InputError(f"`eval_every` must be a positive integer, got {every}")
    if not (muon_lr > 0 and adam_lr > 0 and math.isfinite(muon_lr) and math.isfinite(adam_lr)):
        raise InputError(f"learning rates must be positive, got muon {muon_lr}, adam {adam_lr}")
    tuning = _tuning(lr_tuning, seed_list)
    if not isinstance(match_rms, bool):
        raise InputError(f"`match_rms` must be True or False, got {match_rms!r}")
    if target_loss is not None and not (isinstance(target_loss, (int, float)) and math.isfinite(target_loss) and target_loss > 0):
        raise InputError(f"`target_loss` must be a positive number (nats/byte), got {target_loss}")
    at = tuple(sorted(set(band_at))) if band_at else default_band_steps(train_steps)
    if any(not 1 <= s <= train_steps for s in at):
        raise InputError(f"band steps must lie in 1…{train_steps}, got {list(at)}")
    if labels is not None and len(labels) != len(schedules):
        raise InputError(f"{len(labels)} labels for {len(schedules)} schedules")
    specs = _unique_labels([resolve_spec(s, None if labels is None else labels[i]) for i, s in enumerate(schedules)])
    names = [s.label for s in specs]
    base = baseline if baseline is not None else (DEFAULT_BASELINE if DEFAULT_BASELINE in names else names[0])
    if base not in names:
        raise InputError(f"baseline {base!r} is not among the compared schedules ({', '.join(names)})")
    target = resolve_device(device)
    (size,) = parse_sizes([model], target)
    dtype = dtype_name(resolve_dtype(ns_dtype or ("bf16" if target.type == "cuda" else "fp32")))
    limit = max_text_bytes if max_text_bytes is not None else DEFAULT_TEXT_BYTES
    data, source = file_text(text, limit) if text is not None else stdlib_text(limit)
    tokens = torch.frombuffer(bytearray(data), dtype=torch.uint8).long()
    need = 20 * (seq_len + 1) * max(batch, eval_batches)  # each held-out half (5%) holds a batch of windows
    if tokens.numel() < need:
        raise InputError(f"the text has {tokens.numel()} bytes; need at least {need} for batch {batch} and seq_len {seq_len}")
    settings = CompareSettings(
        model=size.name, width=size.width, n_layer=size.n_layer, train_steps=train_steps, batch=batch, seq_len=seq_len,
        muon_lr=muon_lr, adam_lr=adam_lr, warmup=_warmup(train_steps), eval_every=every,
        eval_batches=eval_batches, band_at=at, ns_dtype=dtype, device=target.type,
        text_source=source, text_sha256=hashlib.sha256(data).hexdigest(), text_bytes=len(data), match_rms=match_rms,
    )
    store = Path(runs_dir) if runs_dir is not None else None
    if store is not None:
        try:
            store.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create {store}: {exc.strerror or exc}") from None
    # Check every recipe against the model's parameter names before any training.
    _check_recipes(specs, settings)

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
            run, loaded = _obtain(spec, seed, replace(settings, muon_lr=lrs[spec.label]), tokens, target, store, say)
            runs.append(run)
            skipped += loaded
    summaries, differences, reach = analyse(runs, names, seed_list, base)
    notes = _notes(runs, rows, tuning, store)
    return Comparison(settings, tuple(names), tuple(seed_list), base, tuple(runs), {s.label: s.documents() for s in specs},
                      summaries, differences, reach, time.perf_counter() - start, skipped, tuple(notes), lrs, rows,
                      None if target_loss is None else float(target_loss),
                      () if target_loss is None else reach_target(runs, names, seed_list, float(target_loss)))


def _warmup(steps: int) -> int:
    """Linear warm-up length: a tenth of the steps, at most 10."""
    return min(10, max(steps // 10, 1))


def _tuning(lr_tuning: LrTuning | Sequence[float] | None, seeds: Sequence[int]) -> LrTuning | None:
    if lr_tuning is None:
        return None
    if isinstance(lr_tuning, LrTuning):
        return lr_tuning.checked(seeds)
    if isinstance(lr_tuning, (str, bytes)) or not isinstance(lr_tuning, Sequence):
        raise InputError(f"`lr_grid` must be a list of learning rates, got {lr_tuning!r}")
    return LrTuning(tuple(lr_tuning)).checked(seeds)


def _obtain(spec: ScheduleSpec, seed: int, settings: CompareSettings, tokens: Any, device: Any, store: Path | None,
            say: Callable[[Mapping[str, Any]], None], what: str = "") -> tuple[RunResult, bool]:
    """The run of `spec` × `seed` under `settings`: loaded from the store when its key matches, else trained (and
    stored). Returns (run, loaded)."""
    key = run_key(settings, spec, seed)
    path = None if store is None else store / f"{_slug(spec.label)}-seed{seed}-{key[:12]}.json"
    label = spec.label + what
    if path is not None and path.is_file():
        found = _load_run(path, key)
        if found is not None:
            say({"event": "skip", "label": label, "seed": seed, "path": str(path)})
            return found, True
    run = train_one(spec, seed, settings, tokens, device)
    if path is not None:
        write_json_atomic(path, {"kind": "nsdesign-train-run", "format": RUN_FORMAT, "key": key, "code": code_version(),
                                 "settings": asdict(settings), "schedule": spec.documents(), "run": run.to_dict()})
    say({"event": "run", "label": label, "seed": seed, "final": run.final_val_loss,
         "seconds": run.wall_seconds[-1], "ns_seconds": run.ns_seconds[-1], "cpu_seconds": run.cpu_seconds[-1]})
    return run, False


def _tune(specs: Sequence[ScheduleSpec], tuning: LrTuning, settings: CompareSettings, tokens: Any, device: Any,
          store: Path | None, say: Callable[[Mapping[str, Any]], None]) -> tuple[dict[str, float], tuple[TuneRow, ...], int]:
    """Per schedule, the grid lr with the lowest mean final VALIDATION loss over the tuning seeds (ties: the
    smaller lr). Tuning runs evaluate only at the start and the end and record no band: only that loss is used."""
    steps = tuning.steps or settings.train_steps
    base = replace(settings, train_steps=steps, warmup=_warmup(steps), eval_every=steps, band_at=())
    chosen: dict[str, float] = {}
    rows: list[TuneRow] = []
    loaded = 0
    for spec in specs:
        means = []
        for lr in tuning.grid:
            finals = []
            for seed in tuning.seeds:
                run, was = _obtain(spec, seed, replace(base, muon_lr=lr), tokens, device, store, say, f" lr {lr:g}")
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


def code_version() -> str:
    """nsdesign's version + the first 16 hex digits of sha256 over the sources that train (`CODE_FILES`): a run
    stored by other training code has another key."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in CODE_FILES:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes())
    return f"{__version__}+{digest.hexdigest()[:16]}"


def stale_runs(store: Path) -> int:
    """Run files in `store` from another run format or code version (never reused: their keys differ)."""
    version, count = code_version(), 0
    for path in store.glob("*.json"):
        try:
            document = read_json(path, "run file")
        except InputError:
            continue
        if isinstance(document, dict) and document.get("kind") == "nsdesign-train-run" and (
                document.get("format") != RUN_FORMAT or document.get("code") != version):
            count += 1
    return count


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


def normalizer_flops(muon: Any, param: Any) -> float:
    """FLOPs per step of `param`'s normalizer beyond the Frobenius pre-scale (0 for Frobenius)."""
    from nsdesign.core.normalizers import Normalizer

    for group in muon.param_groups:
        if any(p is param for p in group["params"]):
            document = group.get("normalizer")
            if document is None:
                return 0.0
            norm = Normalizer.from_dict(document)
            return 0.0 if norm.name == "frobenius" else float(norm.extra_flops(Shape(*param.shape)))
    raise InputError("this parameter is not optimized by this Muon instance")


def run_key(settings: CompareSettings, spec: ScheduleSpec, seed: int) -> str:
    """sha256 of what determines a run: every setting (lr, batch, seq_len, steps, model, NS dtype, match_rms, text
    source and checksum…), the schedule documents (coefficients included), the seed, the run format and the code
    version (`code_version`)."""
    body = {"format": RUN_FORMAT, "settings": asdict(settings), "schedule": spec.documents(), "seed": seed,
            "code": code_version()}
    if spec.normalizer is not None and spec.normalizer.get("name", "frobenius") != "frobenius":
        body["ns_flops"] = "normalizer counted"  # runs stored before their NS FLOPs counted it are trained again
    payload = json.dumps(body, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _load_run(path: Path, key: str) -> RunResult | None:
    try:
        document = read_json(path, "run file")  # guarded: a FIFO or device in the cache must not hang the run
    except InputError:
        return None  # unreadable: train again and overwrite it atomically
    if not isinstance(document, dict) or document.get("key") != key:
        return None
    try:
        return RunResult.from_dict(document["run"])
    except (KeyError, TypeError, ValueError):
        return None


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[:60] or "schedule"


def _check_recipes(specs: Sequence[ScheduleSpec], settings: CompareSettings) -> None:
    from nsdesign.torch._resolve import match_recipe

    names = [f"blocks.{i}.{m}.weight" for i in range(settings.n_layer) for m in ("q", "k", "v", "o", "mlp_up", "mlp_down")]
    for spec in specs:
        if spec.recipe is not None:
            try:
                match_recipe(spec.recipe, names)
            except InputError as exc:
                raise InputError(f"{spec.label}: {exc}") from None


@contextlib.contextmanager
def ns_timer(device: Any) -> Iterator[list[float]]:
    """Time every Newton–Schulz call Muon makes: Muon.step looks `orthogonalize` up in its module at call time,
    so a timed wrapper is installed there for the duration (on CUDA, synchronized so the time is the kernels').
    Yields [wall seconds, process CPU seconds], accumulated."""
    import torch

    from nsdesign.torch import muon as muon_module

    original = muon_module.orthogonalize
    total = [0.0, 0.0]
    cuda = getattr(device, "type", str(device)) == "cuda"

    def timed(*args: Any, **kwargs: Any) -> Any:
        if cuda:
            torch.cuda.synchronize(device)
        t0, c0 = time.perf_counter(), time.process_time()
        out = original(*args, **kwargs)
        if cuda:
            torch.cuda.synchronize(device)
        total[0] += time.perf_counter() - t0
        total[1] += time.process_time() - c0
        return out

    muon_module.orthogonalize = timed
    try:
        yield total
    finally:
        muon_module.orthogonalize = original


def train_one(spec: ScheduleSpec, seed: int, settings: CompareSettings, tokens: Any, device: Any) -> RunResult:
    """One run: init and batch order from `seed` only; evaluation on fixed held-out windows."""
    import torch

    from nsdesign.torch.capture import _batch
    from nsdesign.torch.model import GPT, GPTConfig, muon_parameter_names, parameter_count
    from nsdesign.torch.muon import Muon

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = GPT(GPTConfig(settings.width, settings.n_layer, settings.seq_len)).to(device)
    named = dict(model.named_parameters())
    hidden = muon_parameter_names(model)
    muon = Muon(
        [(n, named[n]) for n in hidden], lr=settings.muon_lr, momentum=settings.momentum,
        weight_decay=settings.weight_decay, schedule=spec.schedule or "keller5", ns_dtype=settings.ns_dtype,
        recipe=spec.recipe, normalizer=None if spec.normalizer is None else dict(spec.normalizer),
        match_rms=settings.match_rms,
    )
    others = [p for n, p in named.items() if n not in set(hidden)]
    adam = torch.optim.AdamW(others, lr=settings.adam_lr, betas=(0.9, 0.95), weight_decay=0.0)
    base_lrs = [(opt, [g["lr"] for g in opt.param_groups]) for opt in (muon, adam)]
    ns_flops = float(sum(flops(muon.schedule_for(named[n]), Shape(*named[n].shape))
                         + normalizer_flops(muon, named[n]) for n in hidden))

    train, validation, test = split_text(tokens)
    val = _validation_batches(validation, settings, device)
    evals = set(eval_schedule(settings.train_steps, settings.eval_every))
    steps_at, val_loss, wall_at, ns_at, train_loss, band = [], [], [], [], [], []
    cpu_at, ns_cpu_at = [], []
    diverged = None
    wall = cpu = 0.0
    decay_from = settings.train_steps * (1 - settings.cooldown)

    def record(step: int, ns_total: list[float], loss: float | None = None) -> None:
        steps_at.append(step)
        val_loss.append(_evaluate(model, val) if loss is None else loss)
        wall_at.append(wall)
        ns_at.append(ns_total[0])
        cpu_at.append(cpu)
        ns_cpu_at.append(ns_total[1])

    with ns_timer(device) as ns_total:
        record(0, ns_total)
        model.train()
        for step in range(1, settings.train_steps + 1):
            t0, c0 = time.perf_counter(), time.process_time()
            scale = min(1.0, step / settings.warmup)
            if step > decay_from:
                scale *= max(0.0, (settings.train_steps - step + 1) / (settings.train_steps - decay_from + 1))
            for opt, lrs in base_lrs:
                for group, lr in zip(opt.param_groups, lrs):
                    group["lr"] = lr * scale
            loss = model.loss(_batch(train, settings.batch, settings.seq_len, generator, device))
            muon.zero_grad(set_to_none=True)
            adam.zero_grad(set_to_none=True)
            loss.backward()
            muon.step()
            adam.step()
            value = float(loss.detach())
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            wall += time.perf_counter() - t0
            cpu += time.process_time() - c0
            train_loss.append(value)
            if not math.isfinite(value):
                diverged = step
                record(step, ns_total, math.inf)
                break
            if step in settings.band_at:
                band.append(momentum_band(muon, named, hidden, step))
            if step in evals:
                record(step, ns_total)
    test_loss = math.inf if diverged is not None else _evaluate(model, _validation_batches(test, settings, device))
    return RunResult(spec.label, seed, tuple(steps_at), tuple(val_loss), tuple(wall_at), tuple(ns_at), ns_flops,
                     tuple(train_loss), tuple(band), diverged, parameter_count(model), tuple(cpu_at), tuple(ns_cpu_at),
                     test_loss)


def split_text(tokens: Any) -> tuple[Any, Any, Any]:
    """(train, validation, test): the first 90% trains; the last 10% is held out and cut into two disjoint
    halves, validation first, test second (`HOLDOUT`). Why two: the lr and the target crossing are chosen on the
    validation half, so a loss reported on it would be biased towards whatever was chosen."""
    split = int(tokens.numel() * 0.9)
    middle = split + (tokens.numel() - split) // 2
    return tokens[:split], tokens[split:middle], tokens[middle:]


def _validation_batches(held_out: Any, settings: CompareSettings, device: Any) -> list[Any]:
    """Evenly spaced, fixed windows of held-out bytes: the same validation (or test) set for every run and seed."""
    import torch

    n = settings.eval_batches * settings.batch
    span = held_out.numel() - settings.seq_len - 1
    starts = torch.linspace(0, span, n).long()
    windows = held_out[starts[:, None] + torch.arange(settings.seq_len + 1)]
    return [windows[i * settings.batch:(i + 1) * settings.batch].to(device) for i in range(settings.eval_batches)]


def _evaluate(model: Any, batches: Sequence[Any]) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        value = float(np.mean([float(model.loss(b)) for b in batches]))
    model.train()
    return value


def momentum_band(muon: Any, named: Mapping[str, Any], hidden: Sequence[str], step: int) -> dict[str, Any]:
    """Descending-rank singular-value quantiles and σ_max of every M/‖M‖_F (as `nsdesign capture`)."""
    import torch

    from nsdesign.torch.validate import descending_quantiles

    matrices = {}
    for name in hidden:
        buf = muon.state[named[name]]["momentum_buffer"].detach().double().cpu()
        sigma = torch.linalg.svdvals(buf / torch.linalg.vector_norm(buf).clamp_min(1e-300))
        matrices[name] = {"sigma_max": float(sigma[0]), "quantiles": [float(v) for v in descending_quantiles(sigma)]}
    return {"step": step, "quantiles": list(BAND_QUANTILES), "matrices": matrices}


def band_edges(run: RunResult, quantile: float) -> dict[int, tuple[float, float, float]]:
    """Per band step: (min, median, max) over matrices of the σ at `quantile` (descending rank)."""
    out = {}
    for entry in run.band:
        i = list(entry["quantiles"]).index(quantile)
        values = [m["quantiles"][i] for m in entry["matrices"].values()]
        out[int(entry["step"])] = (float(np.min(values)), float(np.median(values)), float(np.max(values)))
    return out


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------


def write_comparison(comparison: Comparison, path: str | os.PathLike[str]) -> Path:
    return write_json_atomic(path, comparison.to_dict())


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _unfinite(value: Any) -> float:
    return math.inf if value is None else float(value)


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
