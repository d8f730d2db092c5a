"""Training fixtures: a small rlla JSONL file and trainers built from the tiny recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY_RECIPE = REPO / "config" / "recipes" / "tiny.yaml"

#: Small enough that a step takes about a second on 2 cores.
FAST = {"max_train_records": 8, "max_steps": 1, "per_device_train_batch_size": 2}
FAST_GRPO = {"num_generations": 2, "max_completion_length": 8}
FAST_SFT = {"max_length": 1024}


def fast_overrides(trainer_kind: str, **extra) -> dict:
    return {**FAST, **(FAST_SFT if trainer_kind == "sft" else FAST_GRPO), **extra}


@pytest.fixture(scope="session")
def train_jsonl(tmp_path_factory, sft_records) -> Path:
    """The 400 distilled rlla records as a curated-style JSONL file."""
    path = tmp_path_factory.mktemp("train-data") / "records.jsonl"
    with path.open("w") as f:
        for i, r in enumerate(sft_records):
            f.write(json.dumps({"id": str(i), "source": "rlla_sft", **r}) + "\n")
    return path


@pytest.fixture(scope="session")
def short_records(sft_records, tmp_path_factory) -> Path:
    """Curated-style RL records with their prompts cut short, for tests of step mechanics rather than text."""
    from rest.curation.records import rl_ground_truth

    path = tmp_path_factory.mktemp("short-data") / "short.jsonl"
    path.write_text("".join(json.dumps({"instruction": "Call tools.", "input": r["input"][:160],
                                        "output": rl_ground_truth(r["output"])}) + "\n" for r in sft_records[:8]))
    return path


@pytest.fixture(scope="session")
def rl_jsonl(tmp_path_factory, sft_records) -> Path:
    """The same records as `rest curate` makes RL records of them: the placeholder thought."""
    from rest.curation.records import rl_ground_truth

    path = tmp_path_factory.mktemp("rl-data") / "rl_train.jsonl"
    with path.open("w") as f:
        for i, r in enumerate(sft_records):
            f.write(json.dumps({"id": str(i), "source": "rlla_sft", **r, "output": rl_ground_truth(r["output"])}) + "\n")
    return path


@pytest.fixture
def data_for(train_jsonl, rl_jsonl):
    """The training file a method learns from: SFT records, or curated RL records."""
    from rest.methods import get_method

    return lambda method: train_jsonl if get_method(method).trainer == "sft" else rl_jsonl


@pytest.fixture
def make_trainer(tiny_model_dir, data_for, tiny_tokenizer, tmp_path):
    """Build the trainer of a method (not trained) with the tiny recipe plus overrides."""
    from rest.train.config import load_recipe, resolve_config
    from rest.methods import get_method
    from rest.train.run import build_trainer

    def make(method_name: str, **overrides):
        method = get_method(method_name)
        config = resolve_config(load_recipe(TINY_RECIPE), method.trainer, method.delta,
                                fast_overrides(method.trainer, **overrides), tmp_path / method_name)
        trainer, _ = build_trainer(method, config, str(tiny_model_dir), str(data_for(method_name)), tiny_tokenizer)
        trainer.model.train()
        trainer.current_gradient_accumulation_steps = 1
        return trainer

    return make


@pytest.fixture(scope="session")
def tiny_recipe() -> Path:
    return TINY_RECIPE


@pytest.fixture(name="fast_overrides", scope="session")
def fast_overrides_fixture():
    return fast_overrides
