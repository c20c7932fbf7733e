"""`nsdesign plot …` in-process through main(argv): files are written and read back; bad input is one line, exit 2."""

import json

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from nsdesign.cli.main import invoke
from nsdesign.design.greedy import greedy
from nsdesign.documents import save_document, schedule_document
from nsdesign.plot import BAND_COLOR


def nsd(*args, cwd=None):
    return invoke(["plot", *args], cwd=cwd)  # main(argv) in this process, output captured


def ok(result, path):
    assert result.returncode == 0, result.stderr
    assert f"wrote {path}" in result.stdout
    return imread(path)


def band_pixels(image):
    return np.all(np.abs(image[..., :3] - np.asarray(to_rgb(BAND_COLOR))) <= 0.02, axis=-1).sum()


@pytest.fixture(scope="module")
def schedule_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("s") / "pe_like.json"
    design = greedy(1e-3, steps=5, cushion=0.02, safety=1.02)
    save_document(path, schedule_document(design.schedule, (1e-3, 1.0), design.params))
    return path


@pytest.mark.slow
def test_map_png_with_presets_and_a_file(tmp_path, schedule_file):
    out = tmp_path / "map.png"
    result = nsd("map", "keller5", "cans5_eo", str(schedule_file), "--min-sigma", "1e-3", "--tol", "0.1",
                 "--size", "8x4", "--dpi", "90", "-o", str(out))
    image = ok(result, out)
    assert image.shape[:2] == (360, 720)
    assert band_pixels(image) > 0.1 * 360 * 720
    assert image[..., :3].std() > 0.05


def test_map_svg(tmp_path):
    out = tmp_path / "map.svg"
    result = nsd("map", "polar_express_modded5", "--min-sigma", "1e-3", "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and BAND_COLOR in text
    assert "polar_express_modded5" in text


@pytest.mark.slow
def test_intervals(tmp_path):
    out = tmp_path / "i.png"
    image = ok(nsd("intervals", "keller5", "polar_express_pkg10", "--min-sigma", "1e-3", "--tol", "0.05", "-o", str(out)), out)
    assert image.shape[0] > 200 and image[..., :3].std() > 0.05


@pytest.mark.slow  # > 10 s on the 2-core machine (measured with --durations)
def test_histogram_from_generated_and_file_sources(tmp_path):
    out = tmp_path / "h.png"
    image = ok(nsd("histogram", "keller5", "polar_express_modded5", "--source", "gaussian:64x256", "--min-sigma",
                   "1e-3", "--dtype", "float64", "-o", str(out)), out)
    assert band_pixels(image) > 1000
    matrix = np.random.default_rng(0).standard_normal((48, 80))
    np.save(tmp_path / "m.npy", matrix)
    out2 = tmp_path / "h2.png"
    ok(nsd("histogram", "keller5", "--source", str(tmp_path / "m.npy"), "-o", str(out2)), out2)


@pytest.mark.slow
def test_frontier_computed_and_from_pareto_file(tmp_path, schedule_file):
    out = tmp_path / "f.png"
    image = ok(nsd("frontier", str(schedule_file), "--min-sigma", "1e-3", "--shape", "1024x4096", "--max-steps", "6",
                   "-o", str(out)), out)
    assert image[..., :3].std() > 0.05
    pareto = tmp_path / "front.json"
    pareto.write_text(json.dumps({"front": [{"name": "x", "flops": 1e11, "error": 0.2}, {"name": "y", "flops": 2e11, "error": 1e-3}]}))
    out2 = tmp_path / "f2.svg"
    result = nsd("frontier", "--min-sigma", "1e-3", "--pareto", str(pareto), "--presets", "keller5,cans5_eo",
                 "-o", str(out2))
    assert result.returncode == 0, result.stderr
    assert "keller5" in out2.read_text()


def test_frontier_takes_shape_and_band_from_a_pareto_document(cli_error, tmp_path):
    pareto = tmp_path / "front.json"
    pareto.write_text(json.dumps({
        "schema_version": 1, "kind": "nsdesign-pareto", "band": {"min_sigma": 1e-4, "max_sigma": 1.0},
        "shape": [512, 2048], "dtype": "bf16", "form": "standard",
        "front": [{"trial": 3, "error": 0.3, "flops": 2e10, "steps": 5}, {"trial": 9, "error": 0.01, "flops": 4e10}],
    }))
    out = tmp_path / "f.svg"
    result = nsd("frontier", "--pareto", str(pareto), "--presets", "keller5", "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "512x2048" in text and "bf16" in text and "0.0001" in text
    assert "--shape 512x2048" in cli_error(nsd("frontier", "--pareto", str(pareto), "--shape", "1024x4096",
                                                    "-o", str(tmp_path / "g.png")))
    assert "band" in cli_error(nsd("frontier", "--pareto", str(pareto), "--min-sigma", "1e-3",
                                        "-o", str(tmp_path / "g.png")))
    assert "--min-sigma" in cli_error(nsd("frontier", "-o", str(tmp_path / "g.png")))


@pytest.mark.slow
def test_laws(cli_error, tmp_path):
    out = tmp_path / "laws.png"
    image = ok(nsd("laws", "--layer", "final.mlp_down", "--layer", "mid.q", "--quantile", "0.75", "--model-sizes", "7e9,1e12",
                   "-o", str(out)), out)
    assert band_pixels(image) > 1000
    result = nsd("laws", "--layer", "nonsense", "-o", str(tmp_path / "x.png"))
    assert "valid layers" in cli_error(result)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["map", "keller5", "--min-sigma", "1e-3", "-o", "x.pdf"], ".png or .svg"),
        (["map", "keller5", "--min-sigma", "1e-3", "-o", "nodir/x.png"], "no such folder"),
        (["map", "no_such_preset", "--min-sigma", "1e-3", "-o", "x.png"], "not a preset or a schedule"),
        (["map", "keller5", "--min-sigma", "0.5", "--max-sigma", "0.1", "-o", "x.png"], "0 < --min-sigma"),
        (["map", "keller5", "-o", "x.png"], "--min-sigma"),
        (["map", "keller5", "--min-sigma", "1e-3", "--size", "big", "-o", "x.png"], "--size"),
        (["map", "keller5", "--min-sigma", "1e-3", "--tol", "3", "-o", "x.png"], "tolerance"),
        (["intervals", "keller5", "--min-sigma", "nan", "-o", "x.png"], "finite"),
        (["histogram", "keller5", "--source", "gaussian:12", "-o", "x.png"], "gaussian:MxN"),
        (["histogram", "keller5", "--source", "missing.npy", "-o", "x.png"], "not a file"),
        (["histogram", "keller5", "--source", "gaussian:8x8", "--dtype", "int8", "-o", "x.png"], "dtype"),
        (["histogram", "keller5", "--source", "gaussian:8x8", "--bins", "1", "-o", "x.png"], "bins"),
        (["frontier", "--min-sigma", "1e-3", "--shape", "axb", "-o", "x.png"], "shape"),
        (["frontier", "--min-sigma", "1e-3", "--presets", "nope", "-o", "x.png"], "unknown preset"),
        (["frontier", "--min-sigma", "1e-3", "--pareto", "missing.json", "-o", "x.png"], "not found"),
        (["frontier", "--min-sigma", "1e-3", "--max-steps", "0", "-o", "x.png"], "max steps"),
        (["laws", "--model-sizes", "7e9,abc", "-o", "x.png"], "--model-sizes"),
        (["spiral", "-o", "x.png"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli_error, tmp_path, args, needle):
    line = cli_error(nsd(*args, cwd=tmp_path))
    assert needle in line
    assert not any(tmp_path.iterdir())  # nothing half-written
