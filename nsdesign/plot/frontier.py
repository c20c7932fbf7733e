"""Error versus FLOPs: published presets beside designed schedules, and the Pareto front of them all.

Points come either from a Pareto JSON (written by `nsdesign search` studies or by hand) or are computed
here: every Frobenius-scaled preset, pure greedy quintic schedules of 1…k steps, Polar-Express-style
greedy (cushion 0.02, safety 1.02) and the FLOP-cheapest greedy degree mix at a few tolerances. Errors
are exact worst errors on the band (`nsdesign.core.metrics.worst_error`), FLOPs come from
`nsdesign.core.cost.flops` on the given shape, in the cost model of the given kernel (fused, unfused, gram;
`form=` is the deprecated spelling, standard or gram). `frontier` is what `nsdesign plot frontier` draws: a
Pareto file's own shape, band and FLOP model fill what is not given and refuse what disagrees.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Sequence

from nsdesign._files import json_number, read_json, shown
from nsdesign.core.cost import Shape, cost_model, flops, resolve_kernel
from nsdesign.core.metrics import check_band, worst_error
from nsdesign.core.schedule import Schedule
from nsdesign.design.greedy import greedy
from nsdesign.design.solvers import cheapest_schedule
from nsdesign.documents import PARETO_KIND, check_kind
from nsdesign.errors import InputError
from nsdesign.presets import preset, preset_names

KINDS: tuple[str, ...] = ("preset", "designed", "greedy", "greedy λ=0.02 s=1.02", "cheapest degree mix", "pareto")
CHEAPEST_TOLERANCES: tuple[float, ...] = (0.3, 0.1, 0.03, 0.01, 1e-3, 1e-5)
ERROR_FLOOR = 1e-16  # errors are clipped here for log axes (double precision resolves no less)


@dataclass(frozen=True)
class FrontierPoint:
    name: str
    kind: str
    flops: float
    error: float
    steps: int
    degrees: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["degrees"] = list(self.degrees)
        data["error"] = json_number(self.error)
        return data


def point(
    name: str, kind: str, schedule: Schedule, min_sigma: float, max_sigma: float, shape: Shape, kernel: str = "fused"
) -> FrontierPoint:
    return FrontierPoint(
        name, kind, flops(schedule, shape, kernel), worst_error(schedule, min_sigma, max_sigma), schedule.num_steps,
        schedule.degrees,
    )


def frontier_points(
    min_sigma: float,
    shape: Shape,
    max_sigma: float = 1.0,
    kernel: str = "fused",
    presets: Sequence[str] | None = None,
    max_steps: int = 8,
    extra: Iterable[tuple[str, Schedule]] = (),
    designs: bool = True,
    *,
    form: str | None = None,
) -> list[FrontierPoint]:
    """Presets (default: all with Frobenius scaling) and designed schedules as (FLOPs, exact worst error)."""
    check_band(min_sigma, max_sigma)
    kernel = resolve_kernel(kernel if form is None else None, form)
    cost_model(kernel)  # an unknown kernel fails here, before any design runs
    if not 1 <= max_steps <= 30:
        raise InputError(f"max steps must be from 1 to 30, got {max_steps}")
    names = presets if presets is not None else [n for n in preset_names() if preset(n).norm_div is not None]
    out = [point(n, "preset", preset(n), min_sigma, max_sigma, shape, kernel) for n in names]
    out += [point(n, "designed", s, min_sigma, max_sigma, shape, kernel) for n, s in extra]
    if designs:
        for k in range(1, max_steps + 1):
            out.append(point(f"greedy{k}", "greedy", greedy(min_sigma, max_sigma, steps=k).schedule,
                             min_sigma, max_sigma, shape, kernel))
        for k in range(2, max_steps + 1):
            # polar_express_modded5's recipe: these steps, run after dividing by 1.02·‖X‖_F
            s = Schedule(greedy(min_sigma, max_sigma, steps=k, cushion=0.02, safety=1.02).schedule.steps, 1.02)
            out.append(point(f"pe{k}", "greedy λ=0.02 s=1.02", s, min_sigma, max_sigma, shape, kernel))
        for tol in CHEAPEST_TOLERANCES:
            try:
                d = cheapest_schedule(min_sigma, tol, shape, kernel, max_sigma=max_sigma, max_steps=max(max_steps, 10))
            except InputError:
                continue
            out.append(point(f"cheapest@{tol:g}", "cheapest degree mix", d.schedule, min_sigma, max_sigma, shape, kernel))
    return out


@dataclass(frozen=True)
class Frontier:
    """What a frontier figure shows: the band, the matrix the FLOPs are counted on, the kernel whose cost model
    counts them, the points, and the precision a Pareto file's errors were measured in."""

    min_sigma: float
    max_sigma: float
    shape: Shape
    kernel: str
    points: tuple[FrontierPoint, ...]
    pareto_dtype: str | None = None

    def figure(self, label_presets: bool = True, title: str | None = None, size: Sequence[float] | None = None,
               dpi: int = 120):
        return frontier_figure(list(self.points), self.min_sigma, self.shape, self.max_sigma, self.kernel,
                               label_presets, title, size, dpi, pareto_dtype=self.pareto_dtype)


def frontier(
    min_sigma: float | None = None,
    max_sigma: float = 1.0,
    shape: Shape | None = None,
    kernel: str = "fused",
    presets: Sequence[str] | None = None,
    max_steps: int = 8,
    extra: Iterable[tuple[str, Schedule]] = (),
    pareto: str | os.PathLike[str] | None = None,
) -> Frontier:
    """The frontier `nsdesign plot frontier` draws: `extra` schedules and `presets` (default: all with Frobenius
    scaling) beside designed schedules, or beside a `pareto` file's points (then nothing is designed).

    Why here: a Pareto file states the shape, band and FLOP model it was made for. Those fill what is not
    given, and a value given that disagrees is refused, because its points would sit on other axes."""
    points: list[FrontierPoint] = []
    meta: dict[str, Any] = {}
    if pareto is not None:
        points, meta = read_pareto(pareto, shape, kernel, min_sigma, max_sigma)
        shape = _agreed_shape(pareto, shape, meta)
        min_sigma, max_sigma = _agreed_band(pareto, min_sigma, max_sigma, meta)
        _check_form(pareto, kernel, meta)
    if min_sigma is None:
        raise InputError("give min_sigma (or a `pareto` file that records its band)")
    check_band(min_sigma, max_sigma)
    shape = shape or Shape(1024, 4096)
    computed = frontier_points(min_sigma, shape, max_sigma, kernel, presets, max_steps, extra, designs=pareto is None)
    return Frontier(min_sigma, max_sigma, shape, kernel, tuple(computed + points), meta.get("dtype"))


def _agreed_shape(pareto: str | os.PathLike[str], shape: Shape | None, meta: dict[str, Any]) -> Shape | None:
    if "shape" not in meta:
        return shape
    recorded = meta["shape"]
    if shape is not None and shape != recorded:
        raise InputError(f"{shown(pareto)} counts FLOPs on {recorded}; drop `shape` or give `shape` {recorded}")
    return recorded


def _agreed_band(pareto: str | os.PathLike[str], min_sigma: float | None, max_sigma: float,
                 meta: dict[str, Any]) -> tuple[float | None, float]:
    if "min_sigma" not in meta:
        return min_sigma, max_sigma
    if min_sigma is not None and (min_sigma, max_sigma) != (meta["min_sigma"], meta["max_sigma"]):
        raise InputError(
            f"{shown(pareto)} was made for the band [{meta['min_sigma']:g}, {meta['max_sigma']:g}]; "
            "drop min_sigma/max_sigma or give that band"
        )
    return meta["min_sigma"], meta["max_sigma"]


def _check_form(pareto: str | os.PathLike[str], kernel: str, meta: dict[str, Any]) -> None:
    """A Pareto document stores its FLOP model under "form" (standard or gram): the kernel must count alike."""
    if meta.get("form") in ("standard", "gram") and meta["form"] != cost_model(kernel):
        wanted = "gram" if meta["form"] == "gram" else "fused"
        raise InputError(f"{shown(pareto)} counts FLOPs in the {meta['form']} form; give `kernel` {wanted}")


def pareto_front(points: Iterable[FrontierPoint]) -> list[FrontierPoint]:
    """The non-dominated points (fewer FLOPs and lower error), sorted by FLOPs."""
    front: list[FrontierPoint] = []
    for p in sorted(points, key=lambda p: (p.flops, p.error)):
        if not math.isfinite(p.error):
            continue
        if not front or p.error < front[-1].error:
            front.append(p)
    return front


def load_pareto(path: str | os.PathLike[str], shape: Shape | None = None, kernel: str = "fused",
                min_sigma: float | None = None, max_sigma: float = 1.0, *, form: str | None = None) -> list[FrontierPoint]:
    """Points of a Pareto JSON (see `read_pareto`)."""
    return read_pareto(path, shape, resolve_kernel(kernel if form is None else None, form), min_sigma, max_sigma)[0]


def read_pareto(path: str | os.PathLike[str], shape: Shape | None = None, kernel: str = "fused",
                min_sigma: float | None = None, max_sigma: float = 1.0) -> tuple[list[FrontierPoint], dict[str, Any]]:
    """Points of a Pareto JSON and what the file says about them (shape, band, dtype, and its FLOP model under the
    stored key "form"; absent keys left out). Points without FLOPs are counted in `kernel`'s cost model.

    Accepted: `nsdesign pareto -o` documents ({"kind": "nsdesign-pareto", "front": [...], "shape", "band", …}),
    a bare list of points, or an object with one list under "front", "pareto", "points" or "trials". A point is
    an object with an error ("error", "worst_error" or "value") and FLOPs ("flops", "gflops" or "cost"), or with
    "coefficients" (then both are computed here: that needs `shape` and `min_sigma`).
    """
    document = read_json(path)
    rows = document
    meta: dict[str, Any] = {}
    if isinstance(document, dict):
        for key in ("front", "pareto", "points", "trials"):
            if isinstance(document.get(key), list):
                rows = document[key]
                break
        else:
            raise InputError(f"{shown(path)}: not a Pareto front (no 'front' or 'points' list)")
        meta = _pareto_meta(document, str(path))
    if not isinstance(rows, list) or not rows:
        raise InputError(f"{path}: the Pareto file holds no points")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InputError(f"{path}: point {i} must be an object, got {type(row).__name__}")
        out.append(_row_point(row, i, str(path), shape, kernel, min_sigma, max_sigma))
    return out, meta


def _pareto_meta(document: dict[str, Any], where: str) -> dict[str, Any]:
    if document.get("kind") == PARETO_KIND:  # our own document: checked against its schema; others read leniently
        check_kind("pareto", document, where)
    meta: dict[str, Any] = {}
    shape = document.get("shape")
    if shape is not None:
        if not (isinstance(shape, list) and len(shape) == 2 and all(isinstance(v, int) and v > 0 for v in shape)):
            raise InputError(f"{where}: 'shape' must be [m, n] with positive integers, got {shape!r}")
        meta["shape"] = Shape(shape[0], shape[1])
    band = document.get("band")
    if isinstance(band, dict) and isinstance(band.get("min_sigma"), (int, float)):
        meta["min_sigma"] = float(band["min_sigma"])
        meta["max_sigma"] = float(band.get("max_sigma", 1.0))
    for key in ("dtype", "form"):
        if isinstance(document.get(key), str):
            meta[key] = document[key]
    return meta


def _row_point(row: dict[str, Any], i: int, where: str, shape: Shape | None, kernel: str,
               min_sigma: float | None, max_sigma: float) -> FrontierPoint:
    name = str(row.get("name") or row.get("label") or (f"trial {row['trial']}" if "trial" in row else f"point {i}"))
    error = _first_number(row, ("error", "worst_error", "value"), where, i)
    cost = _first_number(row, ("flops", "gflops", "cost"), where, i)
    if cost is not None and "gflops" in row and "flops" not in row:
        cost *= 1e9
    schedule = None
    if "coefficients" in row:
        schedule = Schedule.from_dict({"norm_div": 1.0, **row}, f"{where}: point {i}")
    if error is None or cost is None:
        if schedule is None or shape is None or min_sigma is None:
            raise InputError(
                f"{where}: point {i} needs 'error' and 'flops' (or 'coefficients' with `shape` and min_sigma)"
            )
        error = worst_error(schedule, min_sigma, max_sigma) if error is None else error
        cost = flops(schedule, shape, kernel) if cost is None else cost
    steps = schedule.num_steps if schedule is not None else int(row.get("steps") or 0)
    degrees = schedule.degrees if schedule is not None else row.get("degrees") or ()
    if not (isinstance(degrees, (list, tuple)) and all(isinstance(d, int) for d in degrees)):
        degrees = ()
    return FrontierPoint(name, "pareto", cost, error, steps, tuple(degrees))


def _first_number(row: dict[str, Any], keys: Sequence[str], where: str, i: int) -> float | None:
    for key in keys:
        if key in row:
            value = row[key]
            if value in ("inf", "Infinity"):
                return math.inf
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value >= 0):
                raise InputError(f"{where}: point {i} has a bad {key!r}: {value!r} (need a non-negative number)")
            return float(value)
    return None


def frontier_figure(
    points: Sequence[FrontierPoint],
    min_sigma: float,
    shape: Shape,
    max_sigma: float = 1.0,
    kernel: str = "fused",
    label_presets: bool = True,
    title: str | None = None,
    size: Sequence[float] | None = None,
    dpi: int = 120,
    pareto_dtype: str | None = None,
    *,
    form: str | None = None,
):
    from nsdesign.plot import _render

    kernel = resolve_kernel(kernel if form is None else None, form)
    if not points:
        raise InputError("no points to plot on the frontier")
    fig = _render.new_figure(size or (9.5, 5.6), dpi)
    ax = fig.subplots()
    _render.style_axes(ax)
    markers = {"preset": "s", "greedy": "o", "greedy λ=0.02 s=1.02": "^", "cheapest degree mix": "D",
               "pareto": "P", "designed": "*"}
    kinds = [k for k in dict.fromkeys(p.kind for p in points)]
    labels: list[tuple[float, float, str]] = []
    for i, kind in enumerate(kinds):
        group = [p for p in points if p.kind == kind and math.isfinite(p.error)]
        if not group:
            continue
        x = [p.flops / 1e9 for p in group]
        y = [max(p.error, ERROR_FLOOR) for p in group]
        joined = kind in ("greedy", "greedy λ=0.02 s=1.02")
        label = kind if kind != "pareto" or not pareto_dtype else f"pareto front file (error in {pareto_dtype})"
        ax.plot(x, y, marker=markers.get(kind, "o"), linestyle="-" if joined else "none", color=_render.color(i),
                markersize=6 if kind == "preset" else 5, linewidth=1.0, label=label, zorder=3)
        if kind in ("preset", "designed") and label_presets:
            labels += [(xv, yv, p.name) for p, xv, yv in zip(group, x, y)]
    front = pareto_front(points)
    if front:
        ax.step([p.flops / 1e9 for p in front], [max(p.error, ERROR_FLOOR) for p in front], where="post",
                color="#222222", linewidth=0.9, linestyle="--", label="Pareto front", zorder=2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"GFLOPs per NS call on {shape} ({cost_model(kernel)} form)")
    ax.set_ylabel(f"exact worst error max|1 − F| on [{min_sigma:g}, {max_sigma:g}]")
    _render.plain_log_ticks(ax.xaxis)
    ax.legend(fontsize="small", loc="lower left", framealpha=0.92)
    fig.suptitle(title or f"Error vs FLOPs on the band [{min_sigma:g}, {max_sigma:g}]")
    if labels:
        _render.place_labels(ax, labels)
    return fig
