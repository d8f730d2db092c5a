"""The rollout clock: with 4 optimizer steps per rollout, every schedule advances once per rollout."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from rest.regions import Region, region_bits
from rest.rewards import RolloutClock
from rest.train.metrics import MetricsCallback

#: 2 prompts x 2 generations per micro-batch, 2 micro-batches per optimizer step, 8 micro-batches
#: per generation batch: 8 / 2 = 4 optimizer steps per rollout; 12 steps = 3 rollouts.
FOUR_PER_ROLLOUT = {"per_device_train_batch_size": 2, "gradient_accumulation_steps": 2, "steps_per_generation": 8,
                    "max_steps": 12}
ROLLOUT_OF_STEP = [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]


def test_clock_arithmetic():
    clock = RolloutClock(micro_steps_per_rollout=8, gradient_accumulation_steps=2)
    assert [clock.rollout(s) for s in range(1, 13)] == ROLLOUT_OF_STEP
    assert clock.total_rollouts(12) == 3 and clock.total_rollouts(13) == 4
    # the paper recipe: 256 micro-batches of 8 per 2048-completion rollout, 32 per optimizer step
    paper = RolloutClock(256, 32)
    assert paper.rollout(8) == 1 and paper.rollout(9) == 2 and paper.total_rollouts(840) == 105


def step_inputs(trainer):
    regions = torch.tensor([[Region.FORMAT, Region.THINK, Region.NAME, Region.PARAMS]])
    bits = region_bits(regions) if trainer.args.weighting == "released" else regions
    return {"completion_mask": torch.ones(1, 4), "completion_regions": bits, "advantages": torch.ones(1)}


def weights_per_step(trainer, region: Region) -> list[float]:
    """The weight of ``region`` logged at each optimizer step, through the trainer's own hook."""
    out = []
    for done in range(12):
        trainer.state.global_step = done  # optimizer steps before this one
        trainer.reshape_advantages(step_inputs(trainer), torch.full((1, 4), 0.5) + 0.1 * torch.arange(4))
        out.append(trainer._metrics["train"][f"weight/{region.name}"][-1])
    return out


def test_reward_ramp_and_curriculum_advance_once_per_rollout(make_trainer):
    rest = make_trainer("rest", **FOUR_PER_ROLLOUT)
    clock = rest.clock
    assert (clock.micro_steps_per_rollout, clock.gradient_accumulation_steps) == (8, 2)
    rest.state.max_steps = 12

    # the dynamic reward's range: format max 2 - s/150 at rollout s
    fmt, _ = rest.reward_funcs
    gt = "<think> t </think>\n<response> hi </response>"
    maxima = [fmt(completions=[gt], ground_truth=[gt], trainer_state=SimpleNamespace(global_step=done))[0]
              for done in range(12)]
    assert maxima == pytest.approx([2 - s / 150 for s in ROLLOUT_OF_STEP])

    # the released ramp: THINK weighs 0.6 + 0.002 s
    assert weights_per_step(rest, Region.THINK) == pytest.approx([0.6 + 0.002 * s for s in ROLLOUT_OF_STEP])

    # the paper curriculum: weights 1 while rollout 1 is collected, then FORMAT falls once per rollout
    entropy = make_trainer("rest_entropy", **FOUR_PER_ROLLOUT)
    entropy.state.max_steps = 12
    fmt_weights = weights_per_step(entropy, Region.FORMAT)
    assert fmt_weights[:4] == [1.0] * 4
    assert len(set(fmt_weights[4:8])) == 1 and len(set(fmt_weights[8:])) == 1
    assert fmt_weights[8] == pytest.approx(fmt_weights[4] - 0.3 / 3)  # δ·Δp, p = rollout / 3
    assert entropy._metrics["train"]["weight/table"][:4] == [0.0] * 4
    assert entropy._metrics["train"]["weight/table"][4:] == [2.0] * 8  # frozen from rollout 2


def test_metrics_record_the_rollout_beside_the_step(make_trainer, tmp_path):
    args = make_trainer("grpo", **FOUR_PER_ROLLOUT).args
    callback = MetricsCallback(tmp_path / "metrics.jsonl", {"run": None, "config": {}})
    state = SimpleNamespace(is_world_process_zero=True, global_step=0)
    callback.on_train_begin(args, state, None)
    for step in range(1, 13):
        state.global_step = step  # logged after the step
        callback.on_log(args, state, None, logs={"loss": 0.1, "weight/table": 1.0})
    header, *rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert header == {"run": None, "config": {}}
    assert [(r["step"], r["rollout"]) for r in rows] == list(zip(range(1, 13), ROLLOUT_OF_STEP))
    assert rows[0]["weight_table"] == 1


@pytest.mark.slow
def test_a_real_run_logs_rollouts_and_ramps_once_per_rollout(tiny_model_dir, rl_jsonl, tiny_recipe,
                                                              fast_overrides, tmp_path):
    from rest.train.run import train

    train("rest", str(tiny_recipe), str(tiny_model_dir), str(rl_jsonl), str(tmp_path),
          fast_overrides("rest", **{**FOUR_PER_ROLLOUT, "max_steps": 5, "save_strategy": "no"}))
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()][1:]
    assert [r["rollout"] for r in rows] == ROLLOUT_OF_STEP[:5]
    think = [r["region_weights"]["THINK"] for r in rows]
    assert think == pytest.approx([0.6 + 0.002 * s for s in ROLLOUT_OF_STEP[:5]])
