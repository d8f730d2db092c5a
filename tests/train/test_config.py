"""Recipes, the method registry and the ablation switches."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rest.io import InputError
from rest.regions import Region, region_bits
from rest.rewards import make_reward_funcs
from rest.train.config import load_recipe, parse_overrides, resolve_config
from rest.methods import METHODS, get_method
from rest.train.trainers import weighter_from_config

REPO = Path(__file__).resolve().parents[2]
TINY_RECIPE = REPO / "config" / "recipes" / "tiny.yaml"
PAPER_RECIPE = REPO / "config" / "recipes" / "paper.yaml"


def config_for(method, tmp_path, recipe=TINY_RECIPE, **overrides):
    m = get_method(method)
    return resolve_config(load_recipe(recipe), m.trainer, m.delta, overrides, tmp_path)


def test_registry_lists_every_method_of_the_paper():
    assert list(METHODS) == ["base", "sft", "tsft", "rsft", "grpo", "sft_grpo", "rest", "rest_entropy",
                             "rest_no_dynamic_reward", "rest_no_cot_gradients", "rest_no_curriculum"]
    assert [m.display for m in METHODS.values()][:7] == ["Base", "SFT", "TSFT", "RSFT", "GRPO", "SFT+GRPO", "ResT"]
    assert METHODS["sft_grpo"].init_from == "sft"
    assert {m.init_from for n, m in METHODS.items() if n != "sft_grpo"} == {"base"}
    with pytest.raises(InputError, match="unknown"):
        get_method("ppo")


def test_paper_recipe_aggregations_match_the_released_code(tmp_path):
    grpo = config_for("grpo", tmp_path, PAPER_RECIPE, bf16=False, use_vllm=False)
    rest = config_for("rest", tmp_path, PAPER_RECIPE, bf16=False, use_vllm=False)
    assert grpo.loss_type == "dapo" and rest.loss_type == "bnpo"
    assert rest.aggregation == "token-mean-weighted"
    assert (grpo.learning_rate, grpo.num_generations, grpo.epsilon, grpo.beta, grpo.delta) == (1e-6, 4, 0.2, 0.0, 3.0)
    assert grpo.generation_batch_size == 2048 and grpo.num_train_epochs == 15
    assert config_for("grpo", tmp_path, PAPER_RECIPE, bf16=False, use_vllm=False,
                      aggregation="grpo").loss_type == "grpo"


def ablation_diff(name, tmp_path):
    rest = config_for("rest", tmp_path).to_dict()
    other = config_for(name, tmp_path).to_dict()
    return {k for k in rest if rest[k] != other[k]}


def test_each_ablation_changes_one_switch(tmp_path):
    assert ablation_diff("rest_no_dynamic_reward", tmp_path) == {"dynamic_reward"}
    assert ablation_diff("rest_no_cot_gradients", tmp_path) == {"cot_gradients"}
    assert ablation_diff("rest_no_curriculum", tmp_path) == {"curriculum"}


def test_profiles_of_the_two_rest_methods(tmp_path):
    assert config_for("rest", tmp_path).weighting == "released"
    assert config_for("rest_entropy", tmp_path).weighting == "paper"
    for name in ("rest_no_dynamic_reward", "rest_no_cot_gradients", "rest_no_curriculum"):
        assert config_for(name, tmp_path).weighting == "released"  # ablations of rest


def test_paper_recipe_turns_off_the_vllm_importance_sampling_correction(tmp_path):
    paper = config_for("rest", tmp_path, PAPER_RECIPE, bf16=False, use_vllm=False)
    assert paper.vllm_importance_sampling_correction is False
    assert config_for("rest", tmp_path).vllm_importance_sampling_correction is True  # TRL's default, kept
    assert config_for("rest", tmp_path, PAPER_RECIPE, bf16=False, use_vllm=False,
                      vllm_importance_sampling_correction=True).vllm_importance_sampling_correction is True


def test_dynamic_reward_of_rest_and_the_baselines(tmp_path):
    gt = "<think> t </think>\n<response> hi </response>"

    class State:
        global_step = 0  # the first optimizer step trains rollout 1: p = 1/150

    expected = {"rest": 2 - 1 / 150, "rest_no_dynamic_reward": 1.0, "grpo": 1.0, "sft_grpo": 1.0}
    for method, fmt in expected.items():
        cfg = config_for(method, tmp_path)
        fmt_fn, _ = make_reward_funcs(cfg.dynamic_reward, cfg.reward_horizon)
        assert fmt_fn(completions=[gt], ground_truth=[gt], trainer_state=State()) == [pytest.approx(fmt)], method
    for method in ("grpo", "sft_grpo"):  # the documented switch puts the baselines on the schedule
        assert config_for(method, tmp_path, baseline_dynamic_reward=True).dynamic_reward is True
    assert config_for("rest_no_dynamic_reward", tmp_path, baseline_dynamic_reward=True).dynamic_reward is False


def entropies_batch():
    regions = torch.tensor([[Region.FORMAT, Region.NAME, Region.PARAMS, Region.THINK, Region.OTHER]])
    return regions, torch.ones(1, 5), torch.tensor([[0.5, 1.0, 2.0, 4.0, 3.0]])


def test_no_cot_gradients_zeroes_only_think(tmp_path):
    regions, mask, ent = entropies_batch()
    bits = region_bits(regions)
    w_rest = weighter_from_config(config_for("rest", tmp_path))(bits, mask, ent, 1, 10)
    w_abl = weighter_from_config(config_for("rest_no_cot_gradients", tmp_path))(bits, mask, ent, 1, 10)
    assert w_rest[0, 3] > 0 and w_abl[0, 3] == 0
    assert (w_abl[0, :3] > 0).all() and w_abl[0, 4] == 0


def test_no_curriculum_holds_the_initial_weights(tmp_path):
    for method, moves in (("rest", True), ("rest_no_curriculum", False)):
        w = weighter_from_config(config_for(method, tmp_path))
        start, end = w.region_weights(1, 100), w.region_weights(100, 100)
        assert (not torch.equal(start, end)) == moves
        if not moves:  # released: the rollout-0 ramp, 0.6, for the whole run
            assert end[Region.PARAMS].item() == end[Region.THINK].item() == pytest.approx(0.6)
    regions, mask, ent = entropies_batch()
    for method, moves in (("rest_entropy", True), ("rest_entropy", False)):
        w = weighter_from_config(config_for(method, tmp_path, curriculum=moves))
        w(regions, mask, ent, 1, 10)  # Eq. 9 estimate from rollout 1
        w(regions, mask, ent, 2, 10)
        start, end = w.region_weights(2, 10), w.region_weights(10, 10)
        assert (not torch.equal(start, end)) == moves
        if moves:
            assert end[Region.FORMAT] < start[Region.FORMAT] and end[Region.PARAMS] > start[Region.PARAMS]
            assert end[Region.NAME] == start[Region.NAME]


def test_bad_recipe_keys_and_values_are_named(tmp_path):
    with pytest.raises(InputError, match=r"override: unknown key 'learning_rat'"):
        config_for("grpo", tmp_path, learning_rat=1.0)
    with pytest.raises(InputError, match="weighting"):
        config_for("rest", tmp_path, weighting="entropy")
    with pytest.raises(InputError, match="aggregation"):
        config_for("rest", tmp_path, aggregation="sum")
    with pytest.raises(InputError, match="key=value"):
        parse_overrides(["learning_rate"])
    assert parse_overrides(["seed=3", "weight_bounds=[0.2, 2]", "use_vllm=true"]) == {
        "seed": 3, "weight_bounds": [0.2, 2], "use_vllm": True}
