"""Batch arithmetic and weight precision that hold at any GPU count (rest/train/batching.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rest.io import InputError
from rest.train.batching import apply_scale, gradient_accumulation, optimizer_steps_per_rollout
from rest.train.config import load_recipe, resolve_config

REPO = Path(__file__).resolve().parents[2]
PAPER_RECIPE = REPO / "config" / "recipes" / "paper.yaml"


def _paper_grpo():
    return load_recipe(PAPER_RECIPE)["grpo"]


@pytest.mark.parametrize("processes, accumulation", [(1, 32), (8, 4)])
def test_paper_recipe_makes_eight_optimizer_steps_per_rollout(processes, accumulation):
    """512 prompts x 4 completions per rollout in mini-batches of 256: 8 updates, on 1 GPU or 8."""
    from trl import GRPOConfig

    g = _paper_grpo()
    values = apply_scale(g, GRPOConfig, processes=processes, zero=processes > 1)
    assert values["gradient_accumulation_steps"] == accumulation
    steps = optimizer_steps_per_rollout(g["generation_batch_size"], g["per_device_train_batch_size"], processes,
                                        values["gradient_accumulation_steps"])
    assert steps == 8
    # The trap this closes: the released one-GPU accumulation (32) kept on 8 processes.
    assert optimizer_steps_per_rollout(2048, 8, 8, 32) == 1


def test_paper_recipe_caps_the_vllm_context():
    """Prompt 2,048 + completion 2,048: Qwen3-4B-2507's declared 262k context would not fit beside training."""
    g = _paper_grpo()
    assert g["vllm_max_model_length"] == 2048 + g["max_completion_length"] == 4096
    assert g["use_vllm"] and g["vllm_mode"] == "colocate"


def test_accumulation_that_is_not_whole_fails_naming_the_fix():
    with pytest.raises(InputError, match=r"optimizer_batch_size 256 is not a multiple of per_device_train_batch_size "
                                         r"3 x 8 process\(es\) = 24; change per_device_train_batch_size"):
        gradient_accumulation(256, 3, 8, where="recipe")
    with pytest.raises(InputError, match="not both"):
        apply_scale({"optimizer_batch_size": 4, "gradient_accumulation_steps": 2}, object, processes=1, zero=False)


def test_bf16_weights_only_under_zero():
    from trl import GRPOConfig

    assert apply_scale({"bf16": True}, GRPOConfig, processes=8, zero=True)["model_init_kwargs"] == {"dtype": "bfloat16"}
    assert apply_scale({"bf16": True}, GRPOConfig, processes=1, zero=False)["model_init_kwargs"] == {"dtype": "float32"}
    assert apply_scale({"bf16": False}, GRPOConfig, processes=8, zero=True)["model_init_kwargs"] == {"dtype": "float32"}


def _toy_recipe(tiny_recipe: Path, **grpo) -> dict:
    """The tiny recipe with the paper's batch arithmetic at 1/128 scale (no fixed accumulation)."""
    recipe = load_recipe(tiny_recipe)
    recipe.pop("gradient_accumulation_steps")
    recipe["grpo"] = {**recipe["grpo"], **grpo}
    return recipe


def test_one_process_run_makes_eight_updates_from_one_rollout(tiny_model_dir, short_records, tiny_tokenizer, tmp_path,
                                                              tiny_recipe):
    """Run on CPU: 16 completions per rollout, 2 per optimizer step, 1 per device -> accumulation 2, 8 updates."""
    from rest.methods import get_method
    from rest.train.run import build_trainer

    method = get_method("grpo")
    recipe = _toy_recipe(tiny_recipe, generation_batch_size=16, optimizer_batch_size=2, num_generations=2,
                         max_completion_length=4)
    config = resolve_config(recipe, method.trainer, method.delta,
                            {"max_steps": 8, "per_device_train_batch_size": 1, "max_train_records": 8,
                             "save_strategy": "no"}, tmp_path)
    assert config.gradient_accumulation_steps == 2 and config.steps_per_generation == 16
    trainer, _ = build_trainer(method, config, str(tiny_model_dir), str(short_records), tiny_tokenizer)
    rollouts = []
    generate = trainer._generate_and_score_completions

    def counting(inputs):
        rollouts.append(len(inputs))
        return generate(inputs)

    trainer._generate_and_score_completions = counting
    trainer.train()
    assert trainer.state.global_step == 8
    assert rollouts == [16]  # one generation batch of 16 completions fed all 8 updates


def _one_sft_step(tiny_model_dir, train_jsonl, tiny_tokenizer, tmp_path, dtype):
    """One SFT step at the paper's RL learning rate with bf16 on; returns (before, after) weights."""
    from rest.methods import get_method
    from rest.train.run import build_trainer

    method = get_method("sft")
    lr = _paper_grpo()["learning_rate"]
    overrides = {"learning_rate": lr, "bf16": True, "max_steps": 1, "max_train_records": 2,
                 "per_device_train_batch_size": 1, "max_length": 2048, "save_strategy": "no"}
    if dtype is not None:
        overrides["model_init_kwargs"] = {"dtype": dtype}
    config = resolve_config(load_recipe(REPO / "config/recipes/tiny.yaml"), method.trainer, method.delta, overrides,
                            tmp_path / str(dtype))
    trainer, _ = build_trainer(method, config, str(tiny_model_dir), str(train_jsonl), tiny_tokenizer)
    weight = trainer.model.model.layers[0].mlp.up_proj.weight
    before = weight.detach().clone()
    trainer.train()
    return before, weight.detach().clone()


@pytest.mark.slow
def test_one_process_weights_move_at_the_recipe_learning_rate(tiny_model_dir, train_jsonl, tiny_tokenizer, tmp_path):
    assert _paper_grpo()["learning_rate"] == 1e-6
    before, after = _one_sft_step(tiny_model_dir, train_jsonl, tiny_tokenizer, tmp_path, None)
    assert before.dtype == torch.float32  # the one-process default: fp32 weights, bf16 autocast
    assert (after != before).float().mean() > 0.9
    # The trap: bf16 weights without fp32 masters barely move (only weights below ~2e-4 in size).
    before16, after16 = _one_sft_step(tiny_model_dir, train_jsonl, tiny_tokenizer, tmp_path, "bfloat16")
    assert before16.dtype == torch.bfloat16
    assert (after16 != before16).float().mean() < 0.1
