"""``key=value`` overrides: YAML 1.2 numbers, lists, and clean errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from rest.io import InputError
from rest.train.config import load_recipe, parse_overrides, resolve_config
from rest.methods import get_method

TINY_RECIPE = Path(__file__).resolve().parents[2] / "config" / "recipes" / "tiny.yaml"


def _resolve(method, tmp_path, pairs):
    m = get_method(method)
    return resolve_config(load_recipe(TINY_RECIPE), m.trainer, m.delta, parse_overrides(pairs), tmp_path,
                          where=str(TINY_RECIPE))


def test_overrides_parse_yaml_1_2_numbers_and_lists(tmp_path):
    assert parse_overrides(["learning_rate=3e-3", "x=1.5E+2", "n=7", "b=true", "s=abc"]) == {
        "learning_rate": 0.003, "x": 150.0, "n": 7, "b": True, "s": "abc"}
    config = _resolve("tsft", tmp_path, ["learning_rate=3e-3", 'upweight_regions=["NAME", "THINK"]'])
    assert config.learning_rate == 0.003
    assert config.upweight_regions == ["NAME", "THINK"]


def test_a_recipe_number_in_exponent_form_is_a_number(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(TINY_RECIPE.read_text() + "weight_decay: 1e-2\n")
    assert load_recipe(recipe)["weight_decay"] == 0.01


@pytest.mark.parametrize("pair, message", [
    ("max_steps=abc", r"^override: max_steps='abc' must be int"),
    ("learning_rate=fast", r"^override: learning_rate='fast' must be float"),
    ("max_steps=[1", r"^override max_steps: cannot parse '\[1'"),
    ("weighting=3", r"^override: weighting=3 must be str"),
    ("no_such_key=1", r"^override: unknown key 'no_such_key'"),
    ("=1", r"expected key=value"),
])
def test_an_override_that_cannot_apply_names_the_key(tmp_path, pair, message):
    with pytest.raises(InputError, match=message):
        _resolve("rest", tmp_path, [pair])


def test_a_bad_recipe_value_names_the_recipe_file(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(TINY_RECIPE.read_text().replace("max_steps: 2", "max_steps: two"))
    m = get_method("sft")
    with pytest.raises(InputError, match=r"r\.yaml: max_steps='two' must be int"):
        resolve_config(load_recipe(recipe), m.trainer, m.delta, {}, tmp_path, where=str(recipe))
