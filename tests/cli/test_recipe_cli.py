"""`nsdesign recipe` leads somewhere: it ends with the next steps, names layers as the model does (--layer-names),
and `export` takes a recipe to python or says in one line which routes take one (cli/views/recipe.py,
cli/export_commands.py)."""

import json

import pytest

SMALL = {"d_model": 256, "n_layers": 4, "n_heads": 4, "n_kv_heads": 4, "d_ff": 1024, "gated_mlp": False}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    from nsdesign.cli.main import invoke

    root = tmp_path_factory.mktemp("recipe")
    (root / "model.json").write_text(json.dumps({**SMALL, "model_type": "gpt2"}))
    result = invoke(("recipe", "--model-size", "1e9", "--config", "model.json", "--tol", "0.3", "--dtype", "exact",
                     "-o", "r.json", "--quiet"), cwd=root)
    return root, result


@pytest.mark.slow
def test_recipe_names_a_gpt2_config_as_gpt2_and_ends_with_the_next_steps(made):
    root, result = made
    assert result.returncode == 0, result.stderr
    names = [layer["name"] for layer in json.loads((root / "r.json").read_text())["layers"]]
    assert names[:4] == ["transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_proj.weight",
                         "transformer.h.0.mlp.c_fc.weight", "transformer.h.0.mlp.c_proj.weight"]
    tail = result.stdout[result.stdout.index("next:"):]
    assert 'recipe="r.json"' in tail and "nsdesign export r.json --to python" in tail and "--for torch-muon" in tail


@pytest.mark.slow
def test_layer_names_flag_takes_a_style_or_a_file(cli, tmp_path):
    (tmp_path / "model.json").write_text(json.dumps(SMALL))
    (tmp_path / "names.json").write_text(json.dumps(
        {"q": "b.{i}.q", "k": "b.{i}.k", "v": "b.{i}.v", "o": "b.{i}.o", "up": "b.{i}.up", "down": "b.{i}.down"}))
    for flag, first in (("neox", "gpt_neox.layers.0.attention.query_key_value.weight"), ("names.json", "b.0.q")):
        result = cli("recipe", "--model-size", "1e9", "--config", "model.json", "--tol", "0.3", "--dtype", "exact",
                     "--layer-names", flag, "-o", "r.json", "--quiet", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert json.loads((tmp_path / "r.json").read_text())["layers"][0]["name"] == first


def test_layer_names_errors_are_one_line(cli, cli_error, tmp_path):
    (tmp_path / "model.json").write_text(json.dumps({**SMALL, "gated_mlp": True}))
    base = ("recipe", "--model-size", "1e9", "--config", "model.json", "--tol", "0.3", "--dtype", "exact")
    assert "did you mean llama" in cli_error(cli(*base, "--layer-names", "lama", cwd=tmp_path))
    assert "no gate" in cli_error(cli(*base, "--layer-names", "gpt2", cwd=tmp_path))


@pytest.mark.slow
def test_export_takes_a_recipe_to_python_and_refuses_one_schedule_targets(made, cli, cli_error):
    root, _ = made
    line = cli_error(cli("export", "r.json", "--to", "torch-muon", "--patch", cwd=root))
    assert "this is a recipe" in line and "nsdesign.torch.Muon(recipe=" in line and "--to python" in line
    assert "--steps" in cli_error(cli("export", "r.json", "--to", "python", "--steps", "3", cwd=root))
    written = cli("export", "r.json", "--to", "python", "-o", "recipe_ns.py", cwd=root)
    assert written.returncode == 0, written.stderr
    assert "from recipe_ns import LAYERS" in written.stdout
    namespace: dict = {}
    exec((root / "recipe_ns.py").read_text(), namespace)
    assert "transformer.h.3.mlp.c_proj.weight" in namespace["LAYERS"]
