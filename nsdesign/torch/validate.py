"""Run schedules on real matrices in real precision and measure what they do: `nsdesign validate`.

The exact map F says what a schedule does in exact arithmetic; bf16 round-off, σ_max near 1 and the Gram
recursion change that (docs/background.md §3), and only matrix runs show by how much. For every matrix × schedule:

  * the reference: a float64 SVD G = U Σ Vᵀ, the polar factor P = U Vᵀ, and σ̂ = σ / ‖G‖_F — the
    Frobenius-normalized singular values the schedule actually sees (the same units as `--min-sigma` in
    `nsdesign search`);
  * the run: Y = newton_schulz(G) in the chosen dtype, form and device;
  * output spectrum: min, max and the descending-rank quantiles q = 0.1 … 0.9 of σ(Y) (σ[⌈q·r⌉ − 1] of the
    descending-sorted values, the convention of arXiv 2606.04058 used across nsdesign);
  * band error: max over the directions i with σ̂_i ≥ L of |1 − u_iᵀ Y v_i|. u_iᵀ Y v_i is the gain the run
    applied to input direction i; in exact arithmetic it is F(σ̂_i), so `band_error_exact` (the same maximum
    over the float64 scalar map) is printed beside it and the gap between the two is the price of precision.
    Default L = 1e-3 (the band most published schedules are designed for). Matrices with fewer directions in
    the band than r simply have a smaller band; `band_count` says how many;
  * mixing: ‖Y − U·diag(u_iᵀYv_i)·Vᵀ‖_F / √r, the part of Y that is not a per-direction gain (round-off that
    rotates directions into each other; ≈ 0 in fp64);
  * polar error ‖Y − UVᵀ‖_F / √r over all r = min(m, n) directions (including those below the band);
  * time per call: the median of `repeats` timed calls after one warm-up (CUDA synchronized).

Memory: before a matrix is generated or read, the bytes the reference and the run need are estimated and a
matrix that will not fit in 80% of the free memory is refused with an InputError (see `_memory`).
"""

from __future__ import annotations

import csv
import io
import math
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

import torch

from nsdesign._files import json_number, write_json_atomic, write_text_atomic
from nsdesign._progress import progress as progress_lines
from nsdesign._version import __version__
from nsdesign.core.limits import MAX_REPEATS, check_count, check_seed
from nsdesign.core.limits import DIVERGED  # an output singular value above this: the run blew up
from nsdesign.documents import header
from nsdesign.core.schedule import Schedule
from nsdesign.errors import InputError
from nsdesign.laws.blocks import blocks_of
from nsdesign.torch import _memory
from nsdesign.torch._resolve import ScheduleRef, as_schedule
from nsdesign.torch.kernels import (
    EPS,
    check_values,
    dtype_name,
    gram_restarts,
    orthogonalize,
    resolve_dtype,
    runtime_kernel,
    scalar_map,
    schedule_rows,
)
from nsdesign.torch.normalize import as_normalizer, check_form, recorded_normalizer
from nsdesign.torch.sources import Matrix, Source, load_matrices, parse_source

QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
DEFAULT_MIN_SIGMA = 1e-3


@dataclass(frozen=True)
class Row:
    """One matrix × schedule measurement (σ in Frobenius-normalized units)."""

    matrix: str
    shape: tuple[int, int]
    schedule: str
    steps: int
    form: str
    dtype: str
    device: str
    min_sigma: float
    band_count: int
    rank: int
    sigma_in_max: float
    sigma_in_min: float
    sigma_out_min: float
    sigma_out_max: float
    sigma_out_quantiles: tuple[float, ...]  # at QUANTILES, descending-rank
    band_error: float | None  # None when no σ̂ lies in the band
    band_error_exact: float | None
    mixing: float
    polar_error: float
    time_ms: float
    diverged: bool = False
    note: str = ""
    normalizer: str = "frobenius"
    norm_sigma_max: float | None = None  # σ_max after the normalizer (what the schedule sees)
    norm_sigma_band_min: float | None = None  # smallest of the band_count largest normalized σ
    blocks: int = 1  # per head/shard (`heads`, `block`): blocks run batched, each normalized alone
    block: tuple[int, int] | None = None  # their shape (rows, cols); the figures pool every block


    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["shape"] = list(self.shape)
        data["block"] = None if self.block is None else list(self.block)
        del data["sigma_out_quantiles"]
        for q, value in zip(QUANTILES, self.sigma_out_quantiles):
            data[f"sigma_out_q{q:g}"] = value
        return {k: _json_value(v) for k, v in data.items()}


@dataclass(frozen=True)
class Report:
    rows: tuple[Row, ...]
    sources: tuple[str, ...]
    dtype: str
    device: str
    form: str
    min_sigma: float
    settings: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            **header("validation"),
            "nsdesign_version": __version__,
            "torch_version": torch.__version__,
            "sources": list(self.sources),
            "dtype": self.dtype,
            "device": self.device,
            "form": self.form,
            "min_sigma": self.min_sigma,
            "quantile_convention": "descending-rank: sigma[ceil(q*r)-1] of the descending-sorted values",
            "settings": dict(self.settings),
            "notes": list(self.notes),
            "rows": [row.to_dict() for row in self.rows],
        }

    def to_csv(self) -> str:
        buffer = io.StringIO()
        rows = [row.to_dict() for row in self.rows]
        columns = list(rows[0]) if rows else list(Row.__dataclass_fields__)
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("x".join(map(str, v)) if isinstance(v, list) else v) for k, v in row.items()})
        return buffer.getvalue()


_json_value = json_number


def check_report_path(path: str | os.PathLike[str]) -> str:
    """The report format for an output path: "json" or "csv" by suffix; `-` (standard output) is JSON."""
    text = os.fspath(path)
    if text == "-":
        return "json"
    suffix = text.lower().rsplit(".", 1)[-1] if "." in text else ""
    if suffix not in ("json", "csv"):
        raise InputError(f"report file must end in .json or .csv (or be - for JSON on stdout), got {text!r}")
    return suffix


def write_report(report: Report, path: str | os.PathLike[str]) -> None:
    """Write JSON or CSV (by suffix), atomically."""
    if check_report_path(path) == "json":
        write_json_atomic(path, report.to_dict())
    else:
        write_text_atomic(path, report.to_csv())


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------


def validate(
    schedules: Sequence[ScheduleRef],
    sources: Sequence[str | Source],
    *,
    dtype: torch.dtype | str = "bf16",
    device: str | torch.device = "cpu",
    kernel: str = "fused",
    steps: int | None = None,
    match: str | None = None,
    min_sigma: float | None = None,
    seed: int = 0,
    repeats: int = 5,
    restarts: Sequence[int] | None = None,
    compile: bool | str = False,
    memory_budget: int | None = None,
    normalizer: Any = None,
    progress: bool = False,
    heads: int | None = None,
    block: Any = None,
    form: str | None = None,
) -> Report:
    """Measure every schedule on every matrix of every source; see the module docstring for the columns.
    `kernel`: fused, unfused or gram (`form=` is the deprecated spelling; reports keep the key "form").
    `heads` / `block` (nsdesign.laws.blocks): every matrix is cut into per-head or per-shard blocks, run as one
    batch (each block Frobenius-normalized alone, as per-head Muon does); a row pools all blocks' directions.
    `memory_budget` (bytes) replaces the free-memory probe (tests, or to leave room for other work).
    `progress`: report the (matrix, schedule) runs done on stderr (nsdesign._progress: a line every 10 s off a
    terminal), since a large matrix takes minutes; the count of matrices in a file is not known in advance.
    """
    if not schedules:
        raise InputError("give at least one schedule (a preset name or a schedule JSON file)")
    if not sources:
        raise InputError("give at least one source (`sources`)")
    form = runtime_kernel(kernel, form)  # the iteration ("fused" runs the standard one), stored as "form"
    band = _checked_run(repeats, seed, min_sigma)
    compute = resolve_dtype(dtype)
    target = resolve_device(device)
    resolved = [_prepared(as_schedule(s), steps, i) for i, s in enumerate(schedules)]
    per_schedule = _normalizers(schedules, resolved, normalizer, form)
    parsed = [s if isinstance(s, Source) else parse_source(s) for s in sources]
    split = heads is not None or block is not None
    if split and any(n is not None for n in per_schedule):
        raise InputError("per-head or per-shard validation runs under Frobenius only; drop the normalizer")

    rows: list[Row] = []
    notes: list[str] = []
    unmeasured: list[str] = []
    fits = _fits(target, compute, memory_budget)
    with progress_lines(None, progress, f"validate {dtype_name(compute)}", unit="run") as bar:
        for source in parsed:
            for matrix in load_matrices(source, seed=seed, match=match, fits=fits):
                if matrix.note:
                    notes.append(f"{matrix.name}: {matrix.note}")
                skipped = _unmeasurable(matrix.tensor)
                if skipped:  # what Muon does with such an update, reported instead of a crash or a NaN row
                    notes.append(f"{matrix.name}: {skipped}")
                    unmeasured.append(f"{matrix.name}: {skipped.removeprefix('skipped: ').split(' (')[0]}")
                    continue
                blocks = _blocks(matrix, heads, block) if split else None
                for row in _measure_matrix(matrix, resolved, compute, target, form, band, repeats, restarts, compile,
                                           per_schedule, blocks):
                    rows.append(row)
                    bar.update(1)
        if not rows and unmeasured:  # inside the progress block: the error is then the only line on stderr
            raise InputError(f"nothing to validate: {unmeasured[0]}")
    return Report(
        rows=tuple(rows),
        sources=tuple(s.text for s in parsed),
        dtype=dtype_name(compute),
        device=str(target),
        form=form,
        min_sigma=band,
        settings={"seed": seed, "repeats": repeats, "steps": steps, "match": match, "restarts": _restarts_text(restarts),
                  "compile": compile, "eps": EPS, "device_name": device_description(target),
                  **({"heads": heads, "block": block if block is None or isinstance(block, str) else list(block)}
                     if split else {}),
                  "normalizer": ", ".join(sorted({"frobenius" if n is None else n.label() for n in per_schedule}))},
        notes=tuple(notes),
    )


def _checked_run(repeats: int, seed: int, min_sigma: float | None) -> float:
    """Check the run's counts; the band edge (DEFAULT_MIN_SIGMA when none is given)."""
    if isinstance(repeats, int) and not isinstance(repeats, bool) and repeats < 1:
        raise InputError(f"repeats must be at least 1, got {repeats}")
    check_count(repeats, "repeats", MAX_REPEATS)
    check_seed(seed)
    band = DEFAULT_MIN_SIGMA if min_sigma is None else float(min_sigma)
    if not (math.isfinite(band) and 0 < band <= 1):
        raise InputError(f"min_sigma must lie in (0, 1] (σ/‖G‖_F), got {min_sigma}")
    return band


def _normalizers(schedules: Sequence[ScheduleRef], resolved: Sequence[Schedule], normalizer: Any, form: str) -> list[Any]:
    """The normalizer each schedule runs under (None: Frobenius): `normalizer` (--normalize) applies to every
    schedule; without it each schedule runs under the normalizer its file records. Checked against form and degree."""
    norm = as_normalizer(normalizer)
    per_schedule = [norm if norm is not None else recorded_normalizer(s) for s in schedules]
    per_schedule = [None if n is None or n.name == "frobenius" else n for n in per_schedule]
    for n, s in zip(per_schedule, resolved):
        if n is not None:
            check_form(n, form)
            n.check_first_degree(s.steps[0].degree)
    return per_schedule


def _blocks(matrix: Matrix, heads: int | None, block: Any) -> Any:
    try:
        return blocks_of(tuple(matrix.tensor.shape), heads, block)
    except InputError as exc:
        raise InputError(f"{matrix.name}: {exc}") from None


def _unmeasurable(G: torch.Tensor) -> str:
    """Why G has no polar factor to compare with ('' if it has one): NaN/Inf entries, or all zeros."""
    bad = int((~torch.isfinite(G)).sum())
    if bad:
        return f"skipped: {bad} NaN or Inf entries (Muon skips such an update)"
    if not bool((G != 0).any()):
        return "skipped: all zeros (the update stays zero; no polar factor to compare with)"
    return ""


def _restarts_text(restarts: Sequence[int] | None) -> Any:
    return "default" if restarts is None else list(restarts)


def _prepared(schedule: Schedule, steps: int | None, index: int) -> Schedule:
    if steps is not None:
        if steps < 1:
            raise InputError(f"`steps` must be a positive integer, got {steps}")
        schedule = schedule.extended(steps)
    return schedule if schedule.name else schedule.with_name(f"schedule{index + 1}")


def resolve_device(device: str | torch.device) -> torch.device:
    try:
        target = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError(f"unknown device {device!r}; use cpu or cuda[:N]") from None
    if target.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"device {device} requested but CUDA is not available (torch {torch.__version__})")
        if target.index is not None and target.index >= torch.cuda.device_count():
            raise InputError(f"device {device} does not exist ({torch.cuda.device_count()} CUDA devices)")
    elif target.type != "cpu":
        raise InputError(f"unsupported device {device!r}; use cpu or cuda[:N]")
    return target


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"CPU ({os.cpu_count()} logical cores, {threads} torch thread{'' if threads == 1 else 's'})"


def _fits(device: torch.device, dtype: torch.dtype, budget: int | None):
    itemsize = torch.empty((), dtype=dtype).element_size()

    def check(name: str, shape: tuple[int, ...], source_itemsize: int) -> None:
        m = int(shape[0])
        n = int(math.prod(shape[1:]))
        needed = _memory.validation_bytes(m, n, itemsize)
        if device.type != "cpu":  # the host holds the loaded tensor and its float64 copy too
            _memory.require_fits(m * n * (source_itemsize + 8), torch.device("cpu"), f"{name} ({m}x{n}) on the host", budget)
        _memory.require_fits(needed, device, f"validating {name}" if f"{m}x{n}" in name else f"validating {name} ({m}x{n})", budget)

    return check


def _measure_matrix(
    matrix: Matrix,
    schedules: Sequence[Schedule],
    dtype: torch.dtype,
    device: torch.device,
    form: str,
    band: float,
    repeats: int,
    restarts: Sequence[int] | None,
    compile: bool | str,
    normalizers: Sequence[Any] | None = None,
    blocks: Any = None,
) -> Iterable[Row]:
    G = matrix.tensor
    try:
        check_values(G)
    except InputError as exc:
        raise InputError(f"{matrix.name}: {exc}") from None
    work = G if blocks is None else blocks.split(G)  # [count, block_rows, block_cols]: one batched run
    reference = _reference(work.to(device=device, dtype=torch.float64))
    # Muon's momentum buffers are fp32: that is what the kernel receives (fp64 when validating in fp64).
    given = work.to(device=device, dtype=torch.float64 if dtype == torch.float64 else torch.float32)
    for index, schedule in enumerate(schedules):
        normalizer = None if normalizers is None else normalizers[index]
        rows = schedule_rows(schedule, dtype)
        plan = gram_restarts(rows, dtype, restarts) if form == "gram" else ()

        def call() -> torch.Tensor:
            return orthogonalize(given, rows, schedule.input_scale, dtype, form, plan, EPS, compile, normalizer)  # noqa: B023

        Y, seconds = _timed(call, repeats, device)
        row = _row(matrix, schedule, reference, Y, seconds, dtype, device, form, band)
        if blocks is not None:
            import dataclasses

            row = dataclasses.replace(row, blocks=blocks.count, block=(blocks.block_rows, blocks.block_cols))
        if normalizer is not None:
            row = _normalized_row(row, normalizer, G, schedule)
        yield row


@dataclass(frozen=True)
class _Reference:
    U: torch.Tensor
    S: torch.Tensor
    Vh: torch.Tensor
    frobenius: torch.Tensor  # ‖G‖_F, one per block of a batch

    @property
    def normalized(self) -> torch.Tensor:
        return self.S / self.frobenius.unsqueeze(-1)


def _reference(G64: torch.Tensor) -> _Reference:
    """SVD and Frobenius norm of G, or of each block of a [count, rows, cols] batch."""
    U, S, Vh = torch.linalg.svd(G64, full_matrices=False)
    return _Reference(U, S, Vh, torch.linalg.vector_norm(G64, dim=(-2, -1)))


def _timed(call, repeats: int, device: torch.device) -> tuple[torch.Tensor, list[float]]:
    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    Y = call()  # warm-up (and compilation when asked)
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        Y = call()
        sync()
        times.append(time.perf_counter() - start)
    return Y, times


def _normalized_row(row: Row, normalizer: Any, G: torch.Tensor, schedule: Schedule) -> Row:
    """The normalized band of this matrix and the exact scalar error on it (polar err stays vs polar(G))."""
    import dataclasses

    normalized = torch.linalg.svdvals(torch.from_numpy(normalizer.apply(G.detach().to(torch.float64).cpu().numpy())))
    count = max(row.band_count, 1)
    top = normalized[:count]
    exact = float((1 - scalar_map(schedule, top)).abs().max()) if row.band_count else None
    return dataclasses.replace(
        row,
        normalizer=normalizer.name,
        norm_sigma_max=float(normalized[0]),
        norm_sigma_band_min=float(top[-1]),
        band_error_exact=exact,
    )


def descending_quantiles(sigma_desc: torch.Tensor, quantiles: Sequence[float] = QUANTILES) -> tuple[float, ...]:
    """σ[⌈q·r⌉ − 1] of descending-sorted values (arXiv 2606.04058's convention: q = 0.9 is near the bottom)."""
    r = sigma_desc.numel()
    # round() first: 0.7·10 is 7.000000000000001 in floating point and must give rank 7, not 8.
    return tuple(float(sigma_desc[min(max(math.ceil(round(q * r, 9)), 1), r) - 1]) for q in quantiles)


def _row(
    matrix: Matrix,
    schedule: Schedule,
    ref: _Reference,
    Y: torch.Tensor,
    seconds: list[float],
    dtype: torch.dtype,
    device: torch.device,
    form: str,
    band: float,
) -> Row:
    Y64 = Y.to(torch.float64)
    m, n = matrix.tensor.shape
    r = ref.S.numel()
    sigma_hat = ref.normalized
    in_band = sigma_hat >= band
    finite = bool(torch.isfinite(Y64).all())
    if finite:  # a batch of blocks pools its directions: norms over all blocks, σ sorted together
        out = torch.linalg.svdvals(Y64).flatten().sort(descending=True).values
        gains = (ref.U * (Y64 @ ref.Vh.mT)).sum(dim=-2)  # u_iᵀ Y v_i
        mixing = float(torch.linalg.vector_norm(Y64 - (ref.U * gains.unsqueeze(-2)) @ ref.Vh)) / math.sqrt(r)
        polar = float(torch.linalg.vector_norm(Y64 - ref.U @ ref.Vh)) / math.sqrt(r)
        measured = float((1 - gains[in_band]).abs().max()) if bool(in_band.any()) else None
        diverged = float(out[0]) > DIVERGED
    else:
        out = torch.full((r,), math.inf, dtype=torch.float64)
        mixing = polar = math.inf
        measured = math.inf if bool(in_band.any()) else None
        diverged = True
    exact = float((1 - scalar_map(schedule, sigma_hat[in_band])).abs().max()) if bool(in_band.any()) else None
    note = matrix.note
    if diverged:
        note = "; ".join(x for x in (note, "diverged (non-finite or σ_out > 1e3)") if x)
    return Row(
        matrix=matrix.name,
        shape=(m, n),
        schedule=schedule.name,
        steps=schedule.num_steps,
        form=form,
        dtype=dtype_name(dtype),
        device=str(device),
        min_sigma=band,
        band_count=int(in_band.sum()),
        rank=r,
        sigma_in_max=float(sigma_hat.max()),
        sigma_in_min=float(sigma_hat.min()),
        sigma_out_min=float(out[-1]),
        sigma_out_max=float(out[0]),
        sigma_out_quantiles=descending_quantiles(out),
        band_error=measured,
        band_error_exact=exact,
        mixing=mixing,
        polar_error=polar,
        time_ms=statistics.median(seconds) * 1e3,
        diverged=diverged,
        note=note,
    )
