"""Recipe layer names (plans/recipe/shapes.py NameStyle, build.py): each model named as its own code names it, a
fused qkv designed as one matrix for the lowest of its parts' bands, user templates from a JSON file."""

import json

import pytest

from nsdesign.core.metrics import worst_error
from nsdesign.errors import InputError
from nsdesign.laws import predict_band
from nsdesign.plans.recipe import ModelConfig, build_recipe, default_config
from nsdesign.plans.recipe.shapes import NAME_STYLES, default_names, name_style

SMALL = ModelConfig(d_model=256, n_layers=4, n_heads=4, n_kv_heads=2, head_dim=64, d_ff=1024, gated_mlp=False, name="gpt2-tiny")


def _names(recipe, block=0):
    return [layer.name for layer in recipe.layers if layer.block == block]


@pytest.fixture(scope="module")
def gpt2():
    return build_recipe(1e9, 0.3, config=SMALL, dtype="exact")


def test_each_preset_style_names_one_block_as_the_model_does():
    small = ModelConfig(256, 4, 4, 2, 64, 1024, False, "small")
    named = {style: [t.replace("{i}", "3") for t, _, _ in small.named_matrices(NAME_STYLES[style])] for style in NAME_STYLES}
    assert named["gpt2"] == ["transformer.h.3.attn.c_attn.weight", "transformer.h.3.attn.c_proj.weight",
                             "transformer.h.3.mlp.c_fc.weight", "transformer.h.3.mlp.c_proj.weight"]
    assert named["neox"] == ["gpt_neox.layers.3.attention.query_key_value.weight", "gpt_neox.layers.3.attention.dense.weight",
                             "gpt_neox.layers.3.mlp.dense_h_to_4h.weight", "gpt_neox.layers.3.mlp.dense_4h_to_h.weight"]
    assert named["llama"] == [f"model.layers.3.{s}" for s, _, _ in small.matrices()]  # the names recipes always had
    fused = dict((law, shape) for _, law, shape in small.named_matrices(NAME_STYLES["gpt2"]))
    assert fused["qkv"] == (4 * 64 + 2 * 2 * 64, 256)  # q rows + k rows + v rows, one matrix


def test_a_model_gets_its_own_names_by_default():
    assert default_names(default_config(124e6)[0]).name == "gpt2"
    assert default_names(default_config(70e9)[0]).name == "llama"
    assert default_names(ModelConfig(256, 4, 4, 4, 64, 1024, False, "gpt_neox")).name == "neox"
    assert default_names(ModelConfig(256, 4, 4, 4, 64, 1024, False, "tiny")).name == "llama"


@pytest.mark.slow
def test_fused_qkv_is_one_matrix_designed_for_the_lowest_of_its_parts(gpt2):
    assert _names(gpt2) == [t.replace("{i}", "0") for t, _, _ in SMALL.named_matrices(NAME_STYLES["gpt2"])]
    assert len(gpt2.layers) == 4 * SMALL.n_layers
    for group in (g for g in gpt2.groups if g.law.endswith(".qkv")):
        depth = group.law.split(".")[0]
        edges = [predict_band(0.5, 1e9, f"{depth}.{m}").interval[0] for m in ("q", "k", "v")]
        assert group.edge == pytest.approx(min(edges))
        assert "fused qkv" in group.band.source
        assert worst_error(group.design.schedule, min(edges), 1.0) <= 0.3  # meets δ on the widest part's band
    assert gpt2.document()["params"]["layer_names"]["style"] == "gpt2"


def test_names_from_a_file_and_their_errors(tmp_path):
    path = tmp_path / "names.json"
    roles = {"qkv": "blk.{i}.qkv", "o": "blk.{i}.out", "up": "blk.{i}.fc1", "down": "blk.{i}.fc2"}
    path.write_text(json.dumps(roles))
    recipe = build_recipe(1e9, 0.3, config=SMALL, dtype="exact", names=str(path))
    assert _names(recipe, 2) == ["blk.2.qkv", "blk.2.out", "blk.2.fc1", "blk.2.fc2"]
    bad = [
        ({**roles, "q": "blk.{i}.q"}, "'qkv' (fused) or all of"),
        ({k: v for k, v in roles.items() if k != "down"}, "missing 'down'"),
        ({**roles, "o": "blk.out"}, "needs {i}"),
        ({**roles, "attn": "blk.{i}.a"}, "unknown role 'attn'"),
    ]
    for data, message in bad:
        path.write_text(json.dumps(data))
        with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)").replace("{", r"\{").replace("}", r"\}")):
            name_style(str(path), SMALL)


def test_names_that_cannot_name_the_model_are_refused():
    gated = ModelConfig(256, 4, 4, 2, 64, 1024, True, "gated")
    with pytest.raises(InputError, match="no gate"):
        name_style("gpt2", gated)
    with pytest.raises(InputError, match="did you mean llama"):
        name_style("lama", gated)
    with pytest.raises(InputError, match="q, k, v apart"):
        build_recipe(1e9, 0.3, config=SMALL, dtype="exact", per_head=True)
