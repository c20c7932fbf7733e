"""nsdesign.plot: figures render for real (PNG read back), and the numbers behind them are right."""

import json
import re

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.image import imread

import nsdesign as ns
from nsdesign.core.cost import Shape
from nsdesign.core.metrics import intervals
from nsdesign.errors import InputError
from nsdesign.plot import (
    BAND_COLOR,
    PALETTE,
    figure_bytes,
    frontier_figure,
    frontier_points,
    histogram_figure,
    intervals_figure,
    laws_figure,
    load_matrix,
    load_pareto,
    map_figure,
    map_values,
    newton_schulz_numpy,
    pareto_front,
    save_figure,
    singular_values,
    spectrum_run,
)
from nsdesign.plot.frontier import FrontierPoint
from nsdesign.plot.matrices import backend, logspace_matrix, newton_schulz, prescribed_matrix


def color_mask(image, color, tol=0.02):
    rgb = np.asarray(to_rgb(color))
    return np.all(np.abs(image[..., :3] - rgb) <= tol, axis=-1)


def read_png(path):
    image = imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    return image


def assert_not_blank(image):
    gray = image[..., :3].mean(axis=-1)
    assert gray.std() > 0.05  # plenty of contrast: axes, text, curves
    assert (gray < 0.5).mean() > 0.005  # some dark ink


@pytest.fixture(scope="module")
def schedules():
    return [ns.preset("keller5"), ns.greedy(1e-3, steps=5).schedule.with_name("greedy5"), ns.preset("polar_express_modded5")]


# --------------------------------------------------------------------------------------------------
# map
# --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_map_png_size_band_and_curves(tmp_path, schedules):
    fig = map_figure(schedules, 1e-3, size=(9.0, 4.5), dpi=80)
    path = save_figure(fig, tmp_path / "map.png")
    image = read_png(path)
    assert image.shape[:2] == (360, 720)
    assert_not_blank(image)
    assert color_mask(image, BAND_COLOR).mean() > 0.15  # the band fills most of both panels
    for c in PALETTE[:3]:
        assert color_mask(image, c, tol=0.03).sum() > 200, c  # each schedule's curve is drawn


@pytest.mark.slow
def test_map_band_shading_sits_on_the_band(tmp_path):
    fig = map_figure([ns.preset("keller5")], 0.5, dpi=100)
    path = save_figure(fig, tmp_path / "half.png")
    image = read_png(path)
    linear = fig.axes[0]
    height = image.shape[0]
    # a row through the middle of the linear panel: band-colored pixels span σ ∈ [0.5, 1] there
    (x0, y_mid), (x1, _) = linear.transData.transform([(0.0, 0.3), (1.05, 0.3)])
    row = color_mask(image[int(round(height - y_mid))], BAND_COLOR)
    columns = np.nonzero(row[int(x0) : int(x1)])[0] + int(x0)
    to_sigma = linear.transData.inverted()
    lo = to_sigma.transform((columns.min(), y_mid))[0]
    hi = to_sigma.transform((columns.max(), y_mid))[0]
    assert lo == pytest.approx(0.5, abs=0.01) and hi == pytest.approx(1.0, abs=0.01)


def test_map_values_are_the_composition_and_clip_divergence():
    schedule = ns.preset("polar_express_modded5")
    sigma = np.array([0.0, 1e-3, 0.01, 0.3, 1.0])
    assert map_values(schedule, sigma) == pytest.approx([schedule(s) for s in sigma], rel=1e-12, abs=1e-15)
    blown = map_values(ns.preset("cans5_eo"), np.array([1.05, 3.0, 1e3]))
    assert np.all(np.isfinite(blown)) and np.all(blown >= 1e5)


def test_map_legend_carries_exact_metrics(schedules):
    fig = map_figure(schedules[:1], 1e-3)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("keller5" in t and "0.529" in t and "1.2" in t for t in texts), texts


def test_map_bad_input(schedules):
    with pytest.raises(InputError):
        map_figure(schedules, 0.0)
    with pytest.raises(InputError):
        map_figure(schedules, 1e-3, max_sigma=1e-4)
    with pytest.raises(InputError):
        map_figure([], 1e-3)
    with pytest.raises(InputError):
        map_figure(schedules, 1e-3, names=["a"])
    with pytest.raises(InputError):
        map_figure(schedules, 1e-3, tol=2.0)
    with pytest.raises(InputError):
        map_figure(schedules, 1e-3, size=(100, 4))


# --------------------------------------------------------------------------------------------------
# intervals
# --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_intervals_figure_draws_the_exact_intervals(tmp_path, schedules):
    fig = intervals_figure(schedules, 1e-3, tol=0.1)
    ranges = fig.axes[0]
    segments = ranges.collections[0].get_segments()  # keller5's vertical bars, step 0 … 5
    expected = [(1e-3, 1.0)] + intervals(schedules[0], 1e-3, 1.0)
    assert len(segments) == len(expected)
    for seg, (lo, hi) in zip(segments, expected):
        assert seg[0][1] == pytest.approx(lo) and seg[1][1] == pytest.approx(hi)
    image = read_png(save_figure(fig, tmp_path / "intervals.png"))
    assert_not_blank(image)
    assert color_mask(image, PALETTE[1], tol=0.03).sum() > 100


# --------------------------------------------------------------------------------------------------
# matrices and histograms
# --------------------------------------------------------------------------------------------------


def test_prescribed_matrix_has_the_prescribed_spectrum():
    s = np.geomspace(1e-3, 1.0, 64)[::-1]
    m = prescribed_matrix(s, (64, 160), seed=3)
    assert singular_values(m) == pytest.approx(s, rel=1e-9)
    assert singular_values(m.T) == pytest.approx(s, rel=1e-9)


@pytest.mark.parametrize("name", ["keller5", "polar_express_modded5", "cubic5_eo", "polar_express_paper8"])
def test_numpy_kernel_applies_the_scalar_map(name):
    schedule = ns.preset(name)
    s = np.geomspace(1e-3, 1.0, 48)[::-1]
    m = prescribed_matrix(s, (96, 48), seed=1)  # tall: runs on the transpose
    out = newton_schulz_numpy(m, schedule, "float64")
    assert out.shape == m.shape
    expected = np.sort([schedule(v) for v in s / np.linalg.norm(s)])[::-1]
    assert np.sort(np.abs(singular_values(out)))[::-1] == pytest.approx(np.abs(expected), abs=1e-9)


def test_numpy_kernel_without_normalization_uses_sigma_as_given():
    schedule = ns.preset("polar_express_modded5")
    s = np.geomspace(1e-3, 1.0, 32)[::-1]
    out = newton_schulz_numpy(prescribed_matrix(s, (32, 64)), schedule, "float64", normalize=False)
    assert singular_values(out) == pytest.approx(np.sort([schedule(v) for v in s])[::-1], abs=1e-9)


def test_float32_kernel_is_close_and_bf16_follows_the_backend():
    schedule = ns.preset("polar_express_modded5")
    m = logspace_matrix((64, 128), 1e-3, seed=2)
    exact = singular_values(newton_schulz(m, schedule, "float64"))
    assert singular_values(newton_schulz(m, schedule, "float32")) == pytest.approx(exact, abs=1e-4)
    if backend() == "numpy":
        with pytest.raises(InputError):
            newton_schulz(m, schedule, "bfloat16")
    else:
        low = singular_values(newton_schulz(m, schedule, "bfloat16"))
        assert np.abs(low - exact).max() < 0.1


@pytest.mark.slow
def test_histogram_png(tmp_path, schedules):
    matrix, label = load_matrix("gaussian:96x384", seed=0)
    run = spectrum_run(matrix, schedules, label=label)
    assert run.before.shape == (96,) and set(run.after) == {"keller5", "greedy5", "polar_express_modded5"}
    assert np.sum(run.before**2) == pytest.approx(1.0)  # Frobenius-normalized
    # Marchenko–Pastur, y = 1/4: √96·σ lies in [1 − 1/2, 1 + 1/2] up to finite-size fluctuations
    t = np.sqrt(96) * run.before
    assert 0.35 < t.min() < 0.65 and 1.35 < t.max() < 1.7
    fig = histogram_figure(run, min_sigma=1e-3, size=(8, 4), dpi=100)
    image = read_png(save_figure(fig, tmp_path / "hist.png"))
    assert image.shape[:2] == (400, 800)
    assert_not_blank(image)
    assert color_mask(image, BAND_COLOR).sum() > 1000
    for c in PALETTE[:3]:
        assert color_mask(image, c, tol=0.1).sum() > 50, c  # one outline per schedule


def test_load_matrix_files(tmp_path):
    a = np.arange(12.0).reshape(3, 4) + 1
    np.save(tmp_path / "a.npy", a)
    np.savez(tmp_path / "b.npz", vec=np.ones(3), mat=a)
    from safetensors.numpy import save_file

    save_file({"m": a.astype(np.float32), "bias": np.ones(4, dtype=np.float32)}, str(tmp_path / "c.safetensors"))
    assert load_matrix(str(tmp_path / "a.npy"))[0] == pytest.approx(a)
    assert load_matrix(str(tmp_path / "b.npz"))[0] == pytest.approx(a)
    assert load_matrix(f"{tmp_path / 'b.npz'}:mat")[0] == pytest.approx(a)
    assert load_matrix(f"{tmp_path / 'c.safetensors'}:m")[0] == pytest.approx(a)
    assert load_matrix(str(tmp_path / "c.safetensors"))[0] == pytest.approx(a)
    m, label = load_matrix("logspace:20x30:0.01")
    assert singular_values(m)[-1] == pytest.approx(0.01) and "20×30" in label


@pytest.mark.parametrize(
    "source",
    ["gaussian:0x4", "gaussian:4", "logspace:4x4:2", "logspace:4x4", "nofile.npy", "gaussian:100000x100000"],
)
def test_load_matrix_bad_sources(source):
    with pytest.raises(InputError):
        load_matrix(source)


def test_load_matrix_bad_files(tmp_path):
    np.save(tmp_path / "v.npy", np.ones(5))
    np.save(tmp_path / "z.npy", np.zeros((3, 3)))
    np.save(tmp_path / "n.npy", np.array([[1.0, np.nan]]))
    np.savez(tmp_path / "e.npz", vec=np.ones(3))
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    (tmp_path / "m.txt").write_text("1 2\n3 4\n")
    for name in ("v.npy", "z.npy", "n.npy", "e.npz", "junk.npy", "m.txt", "e.npz:nokey"):
        with pytest.raises(InputError):
            load_matrix(str(tmp_path / name))


# --------------------------------------------------------------------------------------------------
# frontier
# --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_frontier_points_are_exact_and_front_is_nondominated(tmp_path):
    shape = Shape(1024, 4096)
    points = frontier_points(1e-3, shape, max_steps=6)
    by_name = {p.name: p for p in points}
    assert by_name["greedy5"].error == pytest.approx(0.11345, rel=1e-4)  # E*(5), docs/background.md §2
    assert by_name["greedy6"].error == pytest.approx(9.165e-4, rel=1e-3)
    assert by_name["keller5"].error == pytest.approx(1 - 0.470544, abs=1e-6)
    assert by_name["greedy5"].flops == ns.flops(ns.preset("keller5"), shape)
    assert "aol4_eo" not in by_name  # AOL-scaled lists are meaningless under Frobenius scaling
    assert any(p.kind == "cheapest degree mix" for p in points)
    front = pareto_front(points)
    for p in front:
        assert not any(q.flops <= p.flops and q.error < p.error and q is not p for q in points)
    assert [p.flops for p in front] == sorted(p.flops for p in front)
    fig = frontier_figure(points, 1e-3, shape, dpi=70)
    image = read_png(save_figure(fig, tmp_path / "frontier.png"))
    assert_not_blank(image)
    assert color_mask(image, PALETTE[0], tol=0.03).sum() > 100  # preset markers


def test_load_pareto_formats(tmp_path):
    path = tmp_path / "front.json"
    path.write_text(json.dumps({"front": [{"name": "a", "flops": 1e11, "error": 0.1}, {"gflops": 50, "worst_error": "inf"}]}))
    points = load_pareto(path)
    assert points[0] == FrontierPoint("a", "pareto", 1e11, 0.1, 0, ())
    assert points[1].flops == 5e10 and points[1].error == float("inf")
    rows = [{"name": "g", "coefficients": [list(p.coefficients) for p in ns.greedy(1e-3, steps=5).schedule.steps]}]
    path.write_text(json.dumps(rows))
    point = load_pareto(path, Shape(1024, 4096), min_sigma=1e-3)[0]
    assert point.error == pytest.approx(0.11345, rel=1e-4) and point.steps == 5
    for bad in ([], {"x": 1}, [1], [{"flops": -1, "error": 0.1}], [{"flops": 1}], [{"error": True, "flops": 1}]):
        path.write_text(json.dumps(bad))
        with pytest.raises(InputError):
            load_pareto(path)
    path.write_text("{nope")
    with pytest.raises(InputError):
        load_pareto(path)


def test_read_pareto_document_of_nsdesign_pareto(tmp_path):
    from nsdesign.plot.frontier import read_pareto

    path = tmp_path / "front.json"
    path.write_text(json.dumps({
        "schema_version": 1, "kind": "nsdesign-pareto", "band": {"min_sigma": 1e-3, "max_sigma": 1.0},
        "shape": [1024, 4096], "dtype": "bf16", "form": "standard",
        "front": [{"trial": 7, "error": 0.05, "flops": 9e10, "matmuls": 15, "steps": 5, "degrees": [5, 5, 5, 5, 5]}],
    }))
    points, meta = read_pareto(path)
    assert points == [FrontierPoint("trial 7", "pareto", 9e10, 0.05, 5, (5, 5, 5, 5, 5))]
    assert meta == {"shape": Shape(1024, 4096), "min_sigma": 1e-3, "max_sigma": 1.0, "dtype": "bf16", "form": "standard"}
    path.write_text(json.dumps({"shape": [0, 3], "front": [{"error": 0.1, "flops": 1}]}))
    with pytest.raises(InputError):
        read_pareto(path)


def test_frontier_takes_what_a_pareto_document_states_and_refuses_what_disagrees(tmp_path):
    from nsdesign.plot.frontier import frontier

    path = tmp_path / "front.json"
    path.write_text(json.dumps({
        "schema_version": 1, "kind": "nsdesign-pareto", "band": {"min_sigma": 1e-4, "max_sigma": 1.0},
        "shape": [512, 2048], "dtype": "bf16", "form": "gram",
        "front": [{"trial": 3, "error": 0.3, "flops": 2e10, "steps": 5}],
    }))
    drawn = frontier(pareto=path, kernel="gram", presets=["keller5"])
    assert (drawn.min_sigma, drawn.max_sigma, drawn.shape, drawn.pareto_dtype) == (1e-4, 1.0, Shape(512, 2048), "bf16")
    assert [p.kind for p in drawn.points] == ["preset", "pareto"]  # a Pareto file's frontier designs nothing
    keller = drawn.points[0]
    assert keller.flops == ns.flops(ns.preset("keller5"), Shape(512, 2048), "gram")
    assert keller.error == pytest.approx(ns.worst_error(ns.preset("keller5"), 1e-4, 1.0))
    refusals = {
        "`shape` 512x2048": dict(shape=Shape(1024, 4096), kernel="gram"),
        "[0.0001, 1]": dict(min_sigma=1e-3, kernel="gram"),
        "`kernel` gram": dict(kernel="fused"),
        "known presets": dict(kernel="gram", presets=["nope"]),
    }
    for needle, kwargs in refusals.items():
        with pytest.raises(InputError, match=re.escape(needle)):
            frontier(pareto=path, **kwargs)
    with pytest.raises(InputError, match="min_sigma"):
        frontier()


# --------------------------------------------------------------------------------------------------
# laws
# --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_laws_figure_draws_the_fitted_law_and_its_band(tmp_path):
    from nsdesign.laws.momentum import load_laws

    fig = laws_figure(["final.o", "mid_late.q"], 0.5, sizes=(7e9, 1e12), dpi=80)
    ax = fig.axes[0]
    law = next(l for l in load_laws().for_layer("final.o") if l.quantile == 0.5)
    line = ax.lines[0]  # final.o inside the fitted range
    x, y = line.get_xdata(), line.get_ydata()
    assert x[0] == pytest.approx(law.m_min)
    assert y[5] == pytest.approx(law.predict(x[5])[0], rel=1e-9)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(f"α = {law.alpha:.3f}" in t for t in labels), labels
    image = read_png(save_figure(fig, tmp_path / "laws.png"))
    assert_not_blank(image)
    assert color_mask(image, BAND_COLOR).sum() > 1000  # the fitted range
    with pytest.raises(InputError):
        laws_figure(["final.nope"])
    with pytest.raises(InputError):
        laws_figure(quantile=1.5)
    with pytest.raises(InputError):
        laws_figure(sizes=(-1.0,))


# --------------------------------------------------------------------------------------------------
# saving
# --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_save_svg_png_atomic_and_reproducible(tmp_path, schedules):
    fig = map_figure(schedules[:1], 1e-3, dpi=60)
    svg = save_figure(fig, tmp_path / "m.svg").read_text()
    assert "<svg" in svg and BAND_COLOR in svg
    assert figure_bytes(fig, "png") == figure_bytes(fig, "png")
    assert figure_bytes(fig, "png")[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError):
        save_figure(fig, tmp_path / "m.pdf")
    with pytest.raises(InputError):
        save_figure(fig, tmp_path / "missing" / "m.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.svg"]


def test_plot_is_the_only_layer_importing_matplotlib():
    import subprocess
    import sys

    code = "import sys, nsdesign, nsdesign.cli.main; nsdesign.cli.main.build_parser(); print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
