"""The multi-process path (two CPU processes over gloo) and, where a GPU exists, vLLM rollouts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_process_rest_step_under_accelerate(tiny_model_dir, rl_jsonl, tiny_recipe, tmp_path):
    run = tmp_path / "run"
    # accelerate launches CPU multi-process jobs only through MPI; its torchrun launcher
    # (--multi_gpu) with use_cpu from the recipe gives the same gloo process group.
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "-m", "rest", "train", "--config", str(tiny_recipe), "--method", "rest_entropy", "--model",
           str(tiny_model_dir), "--data", str(rl_jsonl), "--output", str(run), "max_steps=2",
           "per_device_train_batch_size=2",
           "num_generations=4", "max_completion_length=8", "max_train_records=8"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["global_step"] == 2
    # 4 completions per step = 2 processes x 2: one group of 4 (one process alone could not form it)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows[0].get("step") is None  # the header
    rows = rows[1:]
    assert [r["step"] for r in rows] == [1, 2] and [r["rollout"] for r in rows] == [1, 2]
    # rollout 1 collects the entropies; rollout 2 applies the table summed over both processes
    assert rows[0]["weight_table"] == 0 and rows[1]["weight_table"] in (1, 2)
    assert (run / "model" / "model.safetensors").exists()
    assert not list(run.glob(".model.partial"))


def _has_cuda_and_vllm() -> bool:
    try:
        import torch

        if not torch.cuda.is_available():
            return False
        import vllm  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.gpu
@pytest.mark.skipif(not _has_cuda_and_vllm(), reason="needs CUDA and vllm")
def test_rest_steps_with_vllm_colocate(tiny_model_dir, rl_jsonl, tiny_recipe, tmp_path):
    from rest.train.run import train

    summary = train("rest", str(tiny_recipe), str(tiny_model_dir), str(rl_jsonl), str(tmp_path / "run"),
                    {"use_cpu": False, "use_vllm": True, "vllm_mode": "colocate", "vllm_gpu_memory_utilization": 0.2,
                     "max_steps": 3, "num_generations": 4, "max_completion_length": 32, "max_train_records": 16})
    assert summary["global_step"] == 3
