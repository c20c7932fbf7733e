"""Recipes to consumers (export/recipes.py): python gets every layer's schedule as data, exactly the coefficients
nsdesign.torch.Muon(recipe=…) runs; targets that take one schedule are refused with the routes that work."""

import json

import pytest

from nsdesign.errors import InputError
from nsdesign.export import target_names
from nsdesign.export.recipes import RECIPE_TARGETS, export_recipe, read_recipe
from nsdesign.plans.recipe import ModelConfig, build_recipe
from nsdesign.torch._resolve import load_recipe

SMALL = ModelConfig(d_model=256, n_layers=4, n_heads=4, n_kv_heads=4, head_dim=64, d_ff=1024, gated_mlp=True, name="s")


@pytest.fixture(scope="module")
def recipe_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("recipe") / "recipe.json"
    path.write_text(json.dumps(build_recipe(1e9, 0.3, config=SMALL, dtype="exact").document()))
    return path


@pytest.mark.slow
def test_python_holds_every_layers_schedule_exactly(recipe_file):
    text = export_recipe(read_recipe(recipe_file), "python").text
    namespace: dict = {}
    exec(text, namespace)
    expected = load_recipe(recipe_file)  # what nsdesign.torch.Muon(recipe=…) runs
    assert set(namespace["LAYERS"]) == set(expected) and len(expected) == 7 * SMALL.n_layers
    for name, schedule in expected.items():
        key = namespace["LAYERS"][name]
        assert [tuple(row) for row in namespace["SCHEDULES"][key]] == [tuple(row) for row in schedule.coefficients()]
        assert namespace["NORM_DIV"][key] == schedule.norm_div
    assert max(len(line) for line in text.splitlines()) <= 79


@pytest.mark.slow
def test_targets_that_take_one_schedule_are_refused(recipe_file):
    document = read_recipe(recipe_file)
    for target in (t for t in target_names() if t not in RECIPE_TARGETS):
        with pytest.raises(InputError, match="nsdesign.torch.Muon"):
            export_recipe(document, target)


@pytest.mark.slow
def test_only_recipe_files_are_recipes(tmp_path, recipe_file):
    schedule = tmp_path / "s.json"
    schedule.write_text(json.dumps({"kind": "nsdesign-schedule"}))
    assert read_recipe(recipe_file) is not None
    assert read_recipe(schedule) is None and read_recipe("keller5") is None and read_recipe(tmp_path) is None
