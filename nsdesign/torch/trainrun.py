"""One training run of `nsdesign train-compare`, and the training loop it shares with `nsdesign capture`.

Why a module of its own: the run store keys every stored run by a hash of the code that trains (`CODE_FILES`),
so this file holds exactly that code — the values that fix a run (`CompareSettings`, `ScheduleSpec`,
`RunResult`), the step loop (`training_steps`, also driving `nsdesign.torch.capture`), the held-out split and
its evaluation, the timing of Newton–Schulz and the momentum band — while the comparison's bookkeeping and
statistics (`nsdesign.torch.training`, `nsdesign.core.paired`) can change without retraining anything.

A run: the model's initialization and batch order come from the seed alone (runs of one seed differ only in the
schedule); `nsdesign.torch.Muon` on the hidden matrices, AdamW on embeddings, head and norms; linear warm-up
over `warmup` steps, constant, then a linear decay to 0 over the last `cooldown` fraction (modded-nanogpt's
shape; capture runs with cooldown 0). Wall and process CPU time are measured for the training steps only
(evaluation and band recording excluded), and separately inside every Newton–Schulz call (`ns_timer`).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from nsdesign.core.cost import Shape, flops
from nsdesign.core.normalizers import Normalizer
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError

BAND_QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)  # descending rank, as nsdesign capture
HOLDOUT = "last 10% of the text: validation = its first half, test = its second half"
CODE_FILES: tuple[str, ...] = ("trainrun.py", "model.py", "muon.py", "kernels.py")  # in nsdesign/torch/


@dataclass(frozen=True)
class CompareSettings:
    """Everything that fixes a run apart from the schedule and the seed (part of each run's key).
    `band_spectra`: the band record keeps every normalized singular value, not only the quantiles (a capture
    run whose band a design is made from)."""

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
    band_spectra: bool = False


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


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _unfinite(value: Any) -> float:
    return math.inf if value is None else float(value)


# --------------------------------------------------------------------------------------------------
# The loop (shared with nsdesign.torch.capture)
# --------------------------------------------------------------------------------------------------


def lr_scale(step: int, steps: int, warmup: int, cooldown: float) -> float:
    """The factor on every base lr at `step` (1-based): linear warm-up, constant, linear decay to 0 over the last
    `cooldown` fraction of `steps` (none when cooldown is 0)."""
    scale = min(1.0, step / warmup)
    decay_from = steps * (1 - cooldown)
    if step > decay_from:
        scale *= max(0.0, (steps - step + 1) / (steps - decay_from + 1))
    return scale


def training_steps(model: Any, optimizers: Sequence[Any], next_batch: Callable[[], Any], steps: int, warmup: int,
                   cooldown: float, device: Any) -> Iterator[tuple[int, float, float, float]]:
    """Train `steps` steps, yielding (step, training loss, wall seconds, process CPU seconds) after each; the
    seconds cover that step only (lr update, batch, forward, backward, every optimizer's step; synchronized on
    CUDA), so whatever the caller does between steps (evaluation, band records, checkpoints) is not counted.
    The caller stops early by closing the iterator (a `break`)."""
    import torch

    base_lrs = [(opt, [g["lr"] for g in opt.param_groups]) for opt in optimizers]
    cuda = getattr(device, "type", str(device)) == "cuda"
    model.train()
    for step in range(1, steps + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        scale = lr_scale(step, steps, warmup, cooldown)
        for opt, lrs in base_lrs:
            for group, lr in zip(opt.param_groups, lrs):
                group["lr"] = lr * scale
        loss = model.loss(next_batch())
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for opt in optimizers:
            opt.step()
        value = float(loss.detach())
        if cuda:
            torch.cuda.synchronize(device)
        yield step, value, time.perf_counter() - t0, time.process_time() - c0


def random_batch(tokens: Any, batch: int, seq_len: int, generator: Any, device: Any) -> Any:
    """`batch` windows of seq_len + 1 bytes at uniformly random starts drawn from `generator`."""
    import torch

    starts = torch.randint(0, tokens.numel() - seq_len - 1, (batch,), generator=generator)
    return tokens[starts[:, None] + torch.arange(seq_len + 1)].to(device)


def warmup_steps(steps: int) -> int:
    """Linear warm-up length: a tenth of the steps, at most 10."""
    return min(10, max(steps // 10, 1))


# --------------------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------------------


def _optimizers(spec: ScheduleSpec, settings: CompareSettings, model: Any) -> tuple[Any, Any, dict[str, Any], list[str]]:
    """Muon on the hidden matrices (the spec's schedule, recipe and normalizer), AdamW on everything else."""
    import torch

    from nsdesign.torch.model import muon_parameter_names
    from nsdesign.torch.muon import Muon

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
    return muon, adam, named, hidden


def train_one(spec: ScheduleSpec, seed: int, settings: CompareSettings, tokens: Any, device: Any) -> RunResult:
    """One run: init and batch order from `seed` only; evaluation on fixed held-out windows."""
    import torch

    from nsdesign.torch.model import GPT, GPTConfig, parameter_count

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = GPT(GPTConfig(settings.width, settings.n_layer, settings.seq_len)).to(device)
    muon, adam, named, hidden = _optimizers(spec, settings, model)
    ns_flops = float(sum(flops(muon.schedule_for(named[n]), Shape(*named[n].shape))
                         + normalizer_flops(muon, named[n]) for n in hidden))
    train, validation, test = split_text(tokens)
    val = held_out_batches(validation, settings, device)
    evals = set(eval_schedule(settings.train_steps, settings.eval_every))
    curve: dict[str, list[float]] = {k: [] for k in ("step", "val", "wall", "ns", "cpu", "ns_cpu")}
    train_loss: list[float] = []
    band: list[dict[str, Any]] = []
    diverged = None
    wall = cpu = 0.0

    def record(step: int, ns_total: list[float], loss: float | None = None) -> None:
        for key, value in zip(curve, (step, evaluate(model, val) if loss is None else loss, wall, ns_total[0], cpu,
                                      ns_total[1])):
            curve[key].append(value)

    with ns_timer(device) as ns_total:
        record(0, ns_total)
        batches = lambda: random_batch(train, settings.batch, settings.seq_len, generator, device)  # noqa: E731
        for step, value, dt, dc in training_steps(model, (muon, adam), batches, settings.train_steps,
                                                  settings.warmup, settings.cooldown, device):
            wall, cpu = wall + dt, cpu + dc
            train_loss.append(value)
            if not math.isfinite(value):
                diverged = step
                record(step, ns_total, math.inf)
                break
            if step in settings.band_at:
                band.append(momentum_band(muon, named, hidden, step, settings.band_spectra))
            if step in evals:
                record(step, ns_total)
    test_loss = math.inf if diverged is not None else evaluate(model, held_out_batches(test, settings, device))
    return RunResult(spec.label, seed, tuple(int(s) for s in curve["step"]), tuple(curve["val"]), tuple(curve["wall"]),
                     tuple(curve["ns"]), ns_flops, tuple(train_loss), tuple(band), diverged, parameter_count(model),
                     tuple(curve["cpu"]), tuple(curve["ns_cpu"]), test_loss)


def split_text(tokens: Any) -> tuple[Any, Any, Any]:
    """(train, validation, test): the first 90% trains; the last 10% is held out and cut into two disjoint
    halves, validation first, test second (`HOLDOUT`). Why two: the lr and the target crossing are chosen on the
    validation half, so a loss reported on it would be biased towards whatever was chosen."""
    split = int(tokens.numel() * 0.9)
    middle = split + (tokens.numel() - split) // 2
    return tokens[:split], tokens[split:middle], tokens[middle:]


def held_out_batches(held_out: Any, settings: CompareSettings, device: Any) -> list[Any]:
    """Evenly spaced, fixed windows of held-out bytes: the same validation (or test) set for every run and seed."""
    import torch

    n = settings.eval_batches * settings.batch
    span = held_out.numel() - settings.seq_len - 1
    starts = torch.linspace(0, span, n).long()
    windows = held_out[starts[:, None] + torch.arange(settings.seq_len + 1)]
    return [windows[i * settings.batch:(i + 1) * settings.batch].to(device) for i in range(settings.eval_batches)]


def evaluate(model: Any, batches: Sequence[Any]) -> float:
    """Mean loss over `batches` in eval mode, without gradients (train mode restored)."""
    import torch

    model.eval()
    with torch.no_grad():
        value = float(np.mean([float(model.loss(b)) for b in batches]))
    model.train()
    return value


def eval_schedule(steps: int, every: int) -> tuple[int, ...]:
    """Evaluation steps: 0, every `every` steps, and the last step."""
    return tuple(sorted({0, *range(every, steps + 1, every), steps}))


def default_band_steps(steps: int) -> tuple[int, ...]:
    """A quarter, half-way and the end (the band moves early in training and settles later)."""
    return tuple(sorted({max(1, steps // 4), max(1, steps // 2), steps}))


def momentum_band(muon: Any, named: Mapping[str, Any], hidden: Sequence[str], step: int,
                  spectra: bool = False) -> dict[str, Any]:
    """Descending-rank singular-value quantiles and σ_max of every M/‖M‖_F (as `nsdesign capture`); with
    `spectra`, every singular value too (descending), so any normalizer's band can be computed from it."""
    import torch

    from nsdesign.torch.validate import descending_quantiles

    matrices = {}
    for name in hidden:
        buf = muon.state[named[name]]["momentum_buffer"].detach().double().cpu()
        sigma = torch.linalg.svdvals(buf / torch.linalg.vector_norm(buf).clamp_min(1e-300))
        matrices[name] = {"sigma_max": float(sigma[0]), "quantiles": [float(v) for v in descending_quantiles(sigma)],
                          "shape": list(buf.shape)}
        if spectra:
            matrices[name]["sigma"] = [float(v) for v in sigma]
    return {"step": step, "quantiles": list(BAND_QUANTILES), "matrices": matrices}


def normalizer_flops(muon: Any, param: Any) -> float:
    """FLOPs per step of `param`'s normalizer beyond the Frobenius pre-scale (0 for Frobenius)."""
    for group in muon.param_groups:
        if any(p is param for p in group["params"]):
            document = group.get("normalizer")
            if document is None:
                return 0.0
            norm = Normalizer.from_dict(document)
            return 0.0 if norm.name == "frobenius" else float(norm.extra_flops(Shape(*param.shape)))
    raise InputError("this parameter is not optimized by this Muon instance")


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
