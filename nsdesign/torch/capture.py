"""Real momentum buffers from real training: `nsdesign capture`.

Trains small GPT-style byte-level language models (`nsdesign.torch.model`) with nsdesign's Muon on the hidden
matrices and AdamW on embeddings, head and norms, on real text — by default the Python standard library's own
source files (`sysconfig.get_paths()["stdlib"]`, every *.py file in sorted path order, site-packages excluded;
nothing is downloaded), or any text file. At chosen steps it saves every block's Frobenius-normalized momentum
buffer M/‖M‖_F (the pre-Newton–Schulz object of arXiv 2606.04058) and their singular-value quantiles.

Output directory:
  {size}/step{N:06d}.safetensors   tensors block{i}.{q,k,v,o,mlp_up,mlp_down} (fp32); metadata: format,
                                   size, width, n_layer, model_params, step, depths (block → depth labels)
  momentum_quantiles.csv           depth,matrix,matrix_printed,quantile,model_params,sigma — exactly the
                                   columns of nsdesign/laws/data/momentum_quantiles_2606.04058.csv, so
                                   `nsdesign fit` reads it; sigma is the median over the captured steps
                                   (the "stabilized" value; captures default to the second half of training)
  momentum_quantiles_by_step.csv   the same plus a step column, one row per captured step
  capture.json                     manifest: settings, text source and checksum, per-size losses and timings

Conventions shared with the paper's data: quantiles are descending-rank (σ[⌈q·r⌉ − 1] of the descending-sorted
values, q ∈ {0.1, 0.25, 0.5, 0.75, 0.9}); depths are relative block positions mid_early = N/4, mid = N/2,
mid_late = 3N/4, final = N (1-based, rounded half up), so 4-layer models give blocks 0, 1, 2, 3. With fewer
than 4 layers one block carries several labels. model_params counts every parameter (embeddings included).
matrix_printed equals matrix here: these are our own labels, not read off a figure.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import statistics
import sysconfig
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from nsdesign._files import check_output_path, read_bytes, shown, write_json_atomic, write_text_atomic
from nsdesign import _progress
from nsdesign.documents import CAPTURE_FORMAT, header
from nsdesign._version import __version__
from nsdesign.core.limits import check_seed
from nsdesign.errors import InputError
from nsdesign.torch._resolve import as_schedule
from nsdesign.torch._memory import require_fits, training_bytes
from nsdesign.torch.kernels import dtype_name, resolve_dtype, schedule_rows
from nsdesign.torch.model import GPT, MATRICES, GPTConfig, muon_parameter_names, parameter_count
from nsdesign.torch.muon import Muon
from nsdesign.torch.trainrun import random_batch, training_steps
from nsdesign.torch.validate import QUANTILES, descending_quantiles, resolve_device

CSV_COLUMNS: tuple[str, ...] = ("depth", "matrix", "matrix_printed", "quantile", "model_params", "sigma")
DEPTHS: tuple[tuple[str, float], ...] = (("mid_early", 0.25), ("mid", 0.5), ("mid_late", 0.75), ("final", 1.0))
SIZES: dict[str, tuple[int, int]] = {  # name → (width, layers)
    "nano": (32, 2),
    "tiny": (64, 4),
    "mini": (96, 4),
    "small": (128, 4),
    "medium": (256, 6),
    "base": (512, 8),
    "large": (768, 12),
}
DEFAULT_SIZES = {"cpu": ("tiny", "mini", "small"), "cuda": ("small", "medium", "base", "large")}
DEFAULT_TEXT_BYTES = 4 << 20
FORMAT = CAPTURE_FORMAT


@dataclass(frozen=True)
class ModelSize:
    name: str
    width: int
    n_layer: int


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 150
    batch: int = 16
    seq_len: int = 128
    muon_lr: float = 0.02
    adam_lr: float = 3e-3
    momentum: float = 0.95
    weight_decay: float = 0.0
    warmup: int = 10
    schedule: str = "keller5"
    ns_dtype: str = "fp32"
    capture_at: tuple[int, ...] = ()
    eval_batches: int = 4
    seed: int = 0


@dataclass(frozen=True)
class SizeResult:
    size: ModelSize
    model_params: int
    losses: tuple[float, ...]
    eval_loss_before: float
    eval_loss_after: float
    seconds: float
    files: tuple[str, ...]


@dataclass(frozen=True)
class CaptureResult:
    out_dir: Path
    sizes: tuple[SizeResult, ...]
    quantiles_csv: Path
    by_step_csv: Path
    manifest: Path
    text_source: str
    notes: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------


def parse_sizes(spec: str | Sequence[str] | None, device: torch.device) -> tuple[ModelSize, ...]:
    """Size names (nano, tiny, mini, small, medium, base, large) or WIDTHxLAYERS, e.g. 192x6."""
    if spec is None:
        items: Sequence[str] = DEFAULT_SIZES["cuda" if device.type == "cuda" else "cpu"]
    elif isinstance(spec, str):
        items = [s.strip() for s in spec.split(",") if s.strip()]
    else:
        items = list(spec)
    if not items:
        raise InputError("`sizes` is empty; give names like tiny,small or WIDTHxLAYERS")
    out = []
    for item in items:
        if item in SIZES:
            out.append(ModelSize(item, *SIZES[item]))
            continue
        parts = item.lower().split("x")
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            width, layers = int(parts[0]), int(parts[1])
            if width < 32 or width % 32 or not 1 <= layers <= 64:
                raise InputError(f"size {item!r}: width must be a positive multiple of 32 and layers 1…64")
            out.append(ModelSize(f"w{width}l{layers}", width, layers))
            continue
        raise InputError(f"unknown model size {item!r}; use {', '.join(SIZES)} or WIDTHxLAYERS like 192x6")
    if len({s.name for s in out}) != len(out):
        raise InputError("`sizes` lists the same size twice")
    return tuple(out)


def default_capture_steps(steps: int) -> tuple[int, ...]:
    """Half-way, three quarters and the end: after burn-in, where the paper's quantiles have stabilized."""
    return tuple(sorted({max(1, steps // 2), max(1, (3 * steps) // 4), steps}))


def stdlib_text(max_bytes: int = DEFAULT_TEXT_BYTES, root: str | os.PathLike[str] | None = None) -> tuple[bytes, str]:
    """The installed standard library's *.py sources, concatenated in sorted path order (deterministic)."""
    base = Path(root or sysconfig.get_paths()["stdlib"])
    if not base.is_dir():
        raise InputError(f"the standard library directory {base} does not exist; pass a text file (`text`)")
    chunks: list[bytes] = []
    total = 0
    for path in _python_files(base):
        try:
            data = read_bytes(path, "Python file")  # guarded: skips a FIFO or device in the tree
        except InputError:
            continue
        chunks.append(data)
        total += len(data) + 1
        if total >= max_bytes:
            break
    text = b"\n".join(chunks)[:max_bytes]
    return text, f"stdlib:{base}"


def _python_files(base: Path) -> list[Path]:
    skip = {"site-packages", "dist-packages", "__pycache__"}
    found = []
    for directory, subdirs, files in os.walk(base):
        subdirs[:] = sorted(d for d in subdirs if d not in skip)
        found.extend(Path(directory) / f for f in sorted(files) if f.endswith(".py"))
    return sorted(found, key=lambda p: p.relative_to(base).as_posix())


def file_text(path: str | os.PathLike[str], max_bytes: int = DEFAULT_TEXT_BYTES) -> tuple[bytes, str]:
    return read_bytes(path, "text file", max_bytes), f"file:{path}"


def depth_blocks(n_layer: int) -> dict[str, int]:
    """Depth label → 0-based block index (1-based position round-half-up(f·N))."""
    return {label: max(math.floor(f * n_layer + 0.5), 1) - 1 for label, f in DEPTHS}


# --------------------------------------------------------------------------------------------------
# Training and capture
# --------------------------------------------------------------------------------------------------


def capture_momentum(
    out_dir: str | os.PathLike[str],
    *,
    sizes: str | Sequence[str] | None = None,
    steps: int = 150,
    device: str | torch.device = "cpu",
    text: str | os.PathLike[str] | None = None,
    seed: int = 0,
    capture_at: Sequence[int] | None = None,
    batch: int = 16,
    seq_len: int = 128,
    schedule: str = "keller5",
    ns_dtype: str | None = None,
    max_text_bytes: int = DEFAULT_TEXT_BYTES,
    progress: Callable[[str], None] | None = None,
) -> CaptureResult:
    """Train each size, save momentum buffers at `capture_at` steps, write the quantile CSVs and a manifest."""
    target = resolve_device(device)
    model_sizes = parse_sizes(sizes, target)
    at_steps = tuple(sorted(set(capture_at))) if capture_at else default_capture_steps(steps) if steps >= 1 else ()
    check_out_dir(out_dir, [size.name for size in model_sizes], at_steps)  # before any training
    if steps < 1:
        raise InputError(f"`steps` must be a positive integer, got {steps}")
    check_seed(seed)
    if batch < 1 or seq_len < 2:
        raise InputError(f"batch must be ≥ 1 and seq_len ≥ 2, got {batch} and {seq_len}")
    at = tuple(sorted(set(capture_at))) if capture_at else default_capture_steps(steps)
    if any(not 1 <= s <= steps for s in at):
        raise InputError(f"capture steps must lie in 1…{steps}, got {list(at)}")
    dtype = ns_dtype or ("bf16" if target.type == "cuda" else "fp32")  # CPU bf16 matmuls are ~15× slower than fp32
    # an unknown schedule, or one whose coefficients the NS dtype cannot hold, fails before any training
    schedule_rows(as_schedule(schedule), resolve_dtype(dtype))
    for size in model_sizes:  # refuse what cannot fit before allocating anything or creating a folder
        require_fits(training_bytes(size.width, size.n_layer, batch, seq_len), target, "training",
                     hint="lower `batch`/`seq_len`")
    settings = TrainSettings(
        steps=steps, batch=batch, seq_len=seq_len, schedule=schedule, ns_dtype=dtype_name(resolve_dtype(dtype)),
        capture_at=at, seed=seed, warmup=min(10, max(steps // 10, 1)),
    )
    data, text_source = file_text(text, max_text_bytes) if text is not None else stdlib_text(max_text_bytes)
    if len(data) < 4 * (seq_len + 1):
        raise InputError(f"the text has {len(data)} bytes; need at least {4 * (seq_len + 1)} for seq_len {seq_len}")
    tokens = torch.frombuffer(bytearray(data), dtype=torch.uint8).long()
    root = Path(out_dir)
    created = _first_missing(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {root}: {exc.strerror or exc}") from None
    try:
        return _capture_into(root, model_sizes, settings, tokens, target, data, text_source, progress)
    except BaseException:
        _remove_if_empty(created)  # a failed run leaves no empty folders; finished sizes' files are kept
        raise


OUTPUT_FILES: tuple[str, ...] = ("momentum_quantiles.csv", "momentum_quantiles_by_step.csv", "capture.json")


def check_out_dir(out_dir: str | os.PathLike[str], size_names: Sequence[str], steps: Sequence[int]) -> Path:
    """The capture folder, checked before any training: not empty (Path('') is the current folder), not an
    existing non-folder, and every file it will write (CSVs, manifest, step buffers) a new or regular file.

    Training takes minutes; finding at the end that `capture.json` is a directory or a FIFO would lose it."""
    text = os.fspath(out_dir)
    if not isinstance(text, str) or not text.strip():
        raise InputError("`out_dir` must not be empty: give the folder capture writes to")
    root = Path(text)
    if os.path.lexists(text) and not root.is_dir():
        raise InputError(f"cannot write into {shown(text)}: it exists and is not a folder")
    if not root.is_dir():
        return root
    for size in size_names:
        if os.path.lexists(root / size) and not (root / size).is_dir():
            raise InputError(f"cannot write into {shown(root / size)}: it exists and is not a folder")
    steps = [step for step in steps if isinstance(step, int) and not isinstance(step, bool)]
    names = [*OUTPUT_FILES, *(f"{size}/step{step:06d}.safetensors" for size in size_names for step in steps)]
    for name in names:
        if (root / name).parent.is_dir():
            check_output_path(root / name)
    return root


def _first_missing(path: Path) -> Path | None:
    """The top-most folder that mkdir(parents=True) would create for `path` (None when it exists)."""
    missing = None
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def _remove_if_empty(folder: Path | None) -> None:
    """Remove `folder` and the folders under it, but only if none of them holds a file."""
    if folder is None or not folder.is_dir():
        return
    if any(p.is_file() or p.is_symlink() for p in folder.rglob("*")):
        return
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        sub.rmdir()
    folder.rmdir()


def _capture_into(
    root: Path,
    model_sizes: Sequence[ModelSize],
    settings: TrainSettings,
    tokens: torch.Tensor,
    target: torch.device,
    data: bytes,
    text_source: str,
    progress: Callable[[str], None] | None,
) -> CaptureResult:
    steps = settings.steps
    say = progress or (lambda message: None)

    results: list[SizeResult] = []
    quantile_rows: list[dict[str, object]] = []
    for size in model_sizes:
        say(f"training {size.name} (width {size.width}, {size.n_layer} layers) for {steps} steps on {target}")
        result, rows = _train_one(size, settings, tokens, target, root, say)
        results.append(result)
        quantile_rows.extend(rows)
        say(f"  loss {result.losses[0]:.3f} → {result.losses[-1]:.3f} (eval {result.eval_loss_before:.3f} → "
            f"{result.eval_loss_after:.3f}), {result.seconds:.1f} s")

    quantiles_csv = root / "momentum_quantiles.csv"
    by_step_csv = root / "momentum_quantiles_by_step.csv"
    write_text_atomic(quantiles_csv, _csv(stabilized(quantile_rows), CSV_COLUMNS))
    write_text_atomic(by_step_csv, _csv(quantile_rows, CSV_COLUMNS + ("step", "size")))
    manifest = root / "capture.json"
    write_json_atomic(manifest, {
        **header("capture"),
        "format": FORMAT,
        "nsdesign_version": __version__,
        "torch_version": torch.__version__,
        "device": str(target),
        "text_source": text_source,
        "text_bytes": len(data),
        "text_sha256": hashlib.sha256(data).hexdigest(),
        "settings": asdict(settings),
        "sizes": [
            {**asdict(r.size), "model_params": r.model_params, "eval_loss_before": r.eval_loss_before,
             "eval_loss_after": r.eval_loss_after, "seconds": r.seconds, "files": list(r.files), "losses": list(r.losses)}
            for r in results
        ],
    })
    return CaptureResult(root, tuple(results), quantiles_csv, by_step_csv, manifest, text_source)


def _train_one(
    size: ModelSize, settings: TrainSettings, tokens: torch.Tensor, device: torch.device, root: Path,
    say: Callable[[str], None] = lambda message: None,
) -> tuple[SizeResult, list[dict[str, object]]]:
    """Train one size, saving buffers at the capture steps; `say` gets a status line every EVERY_SECONDS (a
    size trains for minutes, and a redirected run should show it is alive)."""
    generator = torch.Generator().manual_seed(settings.seed)
    torch.manual_seed(settings.seed)
    model = GPT(GPTConfig(size.width, size.n_layer, settings.seq_len)).to(device)
    n_params = parameter_count(model)
    named = dict(model.named_parameters())
    hidden = muon_parameter_names(model)
    muon = Muon(
        [(n, named[n]) for n in hidden], lr=settings.muon_lr, momentum=settings.momentum,
        weight_decay=settings.weight_decay, schedule=settings.schedule, ns_dtype=settings.ns_dtype,
    )
    others = [p for n, p in named.items() if n not in set(hidden)]
    adam = torch.optim.AdamW(others, lr=settings.adam_lr, betas=(0.9, 0.95), weight_decay=0.0)

    split = int(tokens.numel() * 0.9)
    train, held_out = tokens[:split], tokens[split:]
    eval_batches = [random_batch(held_out, settings.batch, settings.seq_len, generator, device) for _ in range(settings.eval_batches)]
    eval_before = _evaluate(model, eval_batches)
    depths = depth_blocks(size.n_layer)
    labels: dict[int, list[str]] = {}
    for label, block in depths.items():
        labels.setdefault(block, []).append(label)

    losses: list[float] = []
    files: list[str] = []
    rows: list[dict[str, object]] = []
    start = last = time.perf_counter()
    batches = lambda: random_batch(train, settings.batch, settings.seq_len, generator, device)  # noqa: E731
    # the loop train-compare runs (nsdesign.torch.trainrun), with no cool-down: capture keeps the lr constant
    for step, value, _, _ in training_steps(model, (muon, adam), batches, settings.steps, settings.warmup, 0.0, device):
        losses.append(value)
        if not math.isfinite(losses[-1]):
            raise InputError(f"training {size.name} diverged at step {step} (loss {losses[-1]}); try a smaller `steps` or another size")
        now = time.perf_counter()
        if now - last >= _progress.EVERY_SECONDS and step < settings.steps:  # read per call (tests tune it)
            last = now
            say(f"  {size.name}: step {step}/{settings.steps}, loss {losses[-1]:.3f}, {now - start:.0f} s")
        if step in settings.capture_at:
            buffers = _normalized_buffers(muon, named, size.n_layer)
            path = root / size.name / f"step{step:06d}.safetensors"
            _save(path, buffers, {
                "format": FORMAT, "size": size.name, "width": str(size.width), "n_layer": str(size.n_layer),
                "model_params": str(n_params), "step": str(step), "schedule": settings.schedule,
                "depths": json.dumps({f"block{b}": ls for b, ls in sorted(labels.items())}),
            })
            files.append(path.relative_to(root).as_posix())
            rows.extend(_quantile_rows(buffers, depths, n_params, step, size.name))
    seconds = time.perf_counter() - start
    eval_after = _evaluate(model, eval_batches)
    return SizeResult(size, n_params, tuple(losses), eval_before, eval_after, seconds, tuple(files)), rows


@torch.no_grad()
def _evaluate(model: GPT, batches: Sequence[torch.Tensor]) -> float:
    model.eval()
    value = statistics.fmean(float(model.loss(b)) for b in batches)
    model.train()
    return value


def _normalized_buffers(muon: Muon, named: dict[str, torch.Tensor], n_layer: int) -> dict[str, torch.Tensor]:
    out = {}
    for i in range(n_layer):
        for kind in MATRICES:
            buf = muon.state[named[f"blocks.{i}.{kind}.weight"]]["momentum_buffer"].detach().float().cpu()
            norm = torch.linalg.vector_norm(buf)
            out[f"block{i}.{kind}"] = (buf / norm.clamp_min(1e-30)).contiguous()
    return out


def _save(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """safetensors bytes written through the atomic writer's temp-file-and-rename."""
    try:
        from safetensors.torch import save
    except ImportError:
        raise InputError("capture writes .safetensors files: pip install 'nsdesign[torch]'") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = save(tensors, metadata=metadata)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(payload)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def _quantile_rows(
    buffers: dict[str, torch.Tensor], depths: dict[str, int], n_params: int, step: int, size: str
) -> list[dict[str, object]]:
    rows = []
    for label, block in depths.items():
        for kind in MATRICES:
            sigma = torch.linalg.svdvals(buffers[f"block{block}.{kind}"].double())  # descending
            for q, value in zip(QUANTILES, descending_quantiles(sigma)):
                rows.append({"depth": label, "matrix": kind, "matrix_printed": kind, "quantile": q,
                             "model_params": n_params, "sigma": value, "step": step, "size": size})
    return rows


def stabilized(rows: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """One row per (size, depth, matrix, quantile): the median over captured steps."""
    groups: dict[tuple, list[float]] = {}
    for row in rows:
        key = (row["size"], row["depth"], row["matrix"], row["matrix_printed"], row["quantile"], row["model_params"])
        groups.setdefault(key, []).append(float(row["sigma"]))  # type: ignore[arg-type]
    return [
        {"depth": d, "matrix": m, "matrix_printed": mp, "quantile": q, "model_params": p, "sigma": statistics.median(v)}
        for (_size, d, m, mp, q, p), v in groups.items()
    ]


def _csv(rows: Sequence[dict[str, object]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(c, row[c]) for c in columns])
    return buffer.getvalue()


def _cell(column: str, value: object) -> str:
    if column == "quantile":
        return f"{float(value):.2f}"  # type: ignore[arg-type]
    if column == "sigma":
        return f"{float(value):.4e}"  # type: ignore[arg-type]
    return str(value)
