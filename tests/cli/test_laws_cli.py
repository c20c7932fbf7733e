"""`predict`, `fit`, `recipe` through the real entry point."""

import json

import pytest

from nsdesign.core.cost import Shape
from nsdesign.laws import predict_band


def test_help_lists_the_commands(cli):
    result = cli("--help")
    assert result.returncode == 0
    for command in ("predict", "fit", "recipe"):
        assert command in result.stdout


def test_predict_from_model_size(cli, warning_lines):
    result = cli("predict", "--model-size", "70e9", "--layer", "final.o", "--quantile", "0.5")
    assert result.returncode == 0, result.stderr
    expected = predict_band(0.5, model_size=70e9, layer="final.o")
    assert f"{expected.min_sigma:.6g}" in result.stdout
    assert f"[{expected.interval[0]:.6g}, {expected.interval[1]:.6g}]" in result.stdout
    assert "momentum law final.o q=0.5 (arXiv 2606.04058 Fig. 16)" in result.stdout
    warnings = warning_lines(result.stderr)
    assert len(warnings) == len(expected.warnings) >= 2
    assert all(w.startswith("nsdesign: warning:") for w in warnings)
    assert any("outside the fitted range" in w for w in warnings) and any("curved" in w for w in warnings)


def test_predict_json_and_shape(cli):
    result = cli("predict", "--model-size", "70B", "--layer", "final.mlp_down", "--quantile", "0.9", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data == json.loads(json.dumps(predict_band(0.9, model_size=70e9, layer="final.mlp_down").to_dict()))
    shape = cli("predict", "--shape", "8192x32768", "--quantile", "0.9", "--json")
    assert shape.returncode == 0, shape.stderr
    assert json.loads(shape.stdout)["min_sigma"] == predict_band(0.9, shape=Shape(8192, 32768)).min_sigma


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("--model-size", "70e9", "--layer", "final.x"), "did you mean final.v?"),
        (("--model-size", "70e9", "--layer", "nonsense"), "valid layers: mid_early.k"),
        (("--model-size", "70e9", "--layer", "final.o", "--quantile", "1.5"), "quantile"),
        (("--model-size", "-5", "--layer", "final.o"), "model size"),
        (("--model-size", "lots", "--layer", "final.o"), "--model-size"),
        (("--shape", "8192by32768",), "shape"),
        (("--layer", "final.o"), "model size"),
    ],
)
def test_predict_bad_input(cli_error, cli, args, fragment):
    assert fragment in cli_error(cli("predict", *args))


def _measurements(tmp_path):
    rows = ["# my own runs", "depth,matrix,quantile,model_params,sigma"]
    for depth in ("mid_early", "mid", "mid_late", "final"):
        for matrix in ("q", "k", "v", "o", "mlp_up", "mlp_down"):
            for m in (1e8, 4e8, 1.6e9):
                rows.append(f"{depth},{matrix},0.5,{m:g},{0.5 * m ** -0.2:.8g}")
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.slow
def test_fit_then_predict_and_recipe_with_own_laws(cli, tmp_path):
    laws = tmp_path / "laws.json"
    result = cli("fit", str(_measurements(tmp_path)), "-o", str(laws), "--label", "my runs")
    assert result.returncode == 0, result.stderr
    assert "wrote 24 laws" in result.stdout
    document = json.loads(laws.read_text())
    assert document["kind"] == "nsdesign-laws" and document["provenance"]["data_file"] == "runs.csv"
    assert document["laws"][0]["alpha"] == pytest.approx(0.2, abs=1e-6)
    predicted = cli("predict", "--model-size", "1e9", "--layer", "mid.q", "--laws", str(laws), "--json")
    assert predicted.returncode == 0, predicted.stderr
    data = json.loads(predicted.stdout)
    assert data["min_sigma"] == pytest.approx(0.5 * 1e9**-0.2, rel=1e-6)
    assert data["source"] == "momentum law mid.q q=0.5 (my runs)"
    config = tmp_path / "model.json"
    config.write_text(json.dumps({"d_model": 256, "n_layers": 4, "n_heads": 4, "mlp_ratio": 4, "gated_mlp": False}))
    recipe = tmp_path / "recipe.json"
    made = cli("recipe", "--model-size", "1e9", "--config", str(config), "--tol", "0.3", "--laws", str(laws), "-o", str(recipe))
    assert made.returncode == 0, made.stderr
    doc = json.loads(recipe.read_text())
    assert doc["params"]["laws"].endswith("(my runs)") and len(doc["layers"]) == 4 * 6


def test_fit_malformed_file(cli_error, cli, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("# header next\ndepth,matrix,quantile,model_params,sigma\nmid,q,0.5,1e8,0.1\nmid,q,0.5,1e9,oops\n")
    line = cli_error(cli("fit", str(path), "-o", str(tmp_path / "l.json")))
    assert "line 4" in line and "sigma must be a number" in line
    assert not (tmp_path / "l.json").exists()


@pytest.mark.slow
def test_recipe_70b_prints_table_and_writes_json(cli, tmp_path, warning_lines, shared_recipes):
    path = tmp_path / "recipe.json"
    result = cli("recipe", "--model-size", "70e9", "--tol", "0.3", "--quantile", "0.5", "-o", str(path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "llama-3.1-70b" in out and "final.mlp_down" in out and "every layer meets δ: yes" in out
    assert "uniform keller5 fails δ = 0.3" in out
    for name in ("keller5", "polar_express_modded5", "deepseek_v4_10"):
        assert f"uniform {name}" in out
    doc = json.loads(path.read_text())
    assert doc["schema_version"] == 1 and doc["kind"] == "nsdesign-recipe"
    assert len(doc["layers"]) == 80 * 7
    assert {layer["schedule"] for layer in doc["layers"]} == set(doc["schedules"])
    assert doc["totals"]["saving_vs"]["deepseek_v4_10"] >= 0.4
    assert doc["params"]["band_edge"] == "lower" and doc["params"]["dtype"] == "bf16"
    assert set(doc["totals"]["saving_vs_references"]) == {"deepseek_v4_10", "uniform_quintic_greedy", "per_layer_quintic_greedy"}
    assert "quintic greedy per layer" in out and "bf16 fused check within δ: 24 of 24" in out
    assert all(line.startswith("nsdesign: warning:") for line in warning_lines(result.stderr))


@pytest.mark.parametrize(
    "config, fragment",
    [
        ("{not json", "not valid JSON"),
        ('{"d_model": 256, "n_layers": -2, "n_heads": 4}', "'n_layers' must be a positive integer"),
        ('{"n_layers": 2, "n_heads": 4}', "missing 'd_model'"),
    ],
)
def test_recipe_malformed_config(cli_error, cli, tmp_path, config, fragment):
    path = tmp_path / "model.json"
    path.write_text(config)
    assert fragment in cli_error(cli("recipe", "--model-size", "1e9", "--config", str(path), "--tol", "0.3"))


def test_recipe_bad_numbers(cli_error, cli):
    assert "tolerance" in cli_error(cli("recipe", "--model-size", "1e9", "--tol", "2"))
    assert "quantile" in cli_error(cli("recipe", "--model-size", "1e9", "--tol", "0.3", "--quantile", "0"))
    assert "model size" in cli_error(cli("recipe", "--model-size", "0", "--tol", "0.3"))
    assert "--check-margin" in cli_error(cli("recipe", "--model-size", "1e9", "--tol", "0.3", "--check-margin", "1"))


@pytest.mark.slow
def test_recipe_check_margin_reaches_the_document(cli, tmp_path):
    config = tmp_path / "model.json"
    config.write_text(json.dumps({"d_model": 256, "n_layers": 1, "n_heads": 4, "mlp_ratio": 4, "gated_mlp": False}))
    path = tmp_path / "recipe.json"
    made = cli("recipe", "--model-size", "1e9", "--config", str(config), "--tol", "0.3", "--check-margin", "0.25", "-o", str(path))
    assert made.returncode == 0, made.stderr
    doc = json.loads(path.read_text())
    assert doc["params"]["check_margin"] == 0.25
    for s in doc["schedules"].values():
        check = s["params"]["check"]
        assert check["max_error"] <= check["accept_limit"] == pytest.approx(0.3 * 0.75)


def test_recipe_flag_conflicts(cli_error, cli):
    assert "--bf16 sets degrees 5" in cli_error(cli("recipe", "--model-size", "1e9", "--tol", "0.3", "--bf16", "--degrees", "5"))
    assert "--degree-choices" in cli_error(cli("recipe", "--model-size", "1e9", "--tol", "0.3", "--degrees", "five"))


def test_a_model_size_in_billions_by_mistake_suggests_the_intent(cli):
    r = cli("predict", "--model-size", "70", "--layer", "final.mlp_down", "--quantile", "0.9")
    assert r.returncode == 2 and "did you mean 70e9 (70B)?" in r.stderr


def test_a_marchenko_pastur_edge_says_what_it_means_for_real_momentum(cli):
    r = cli("predict", "--shape", "1024x4096", "--quantile", "0.99")
    assert r.returncode == 0
    assert "captured momentum sits at 0.07–0.63×" in r.stdout and "--min-sigma 0.0012" in r.stdout
