"""A killed run resumes from its last checkpoint: steps, metrics and the weighter state continue."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest


@pytest.mark.slow
def test_killed_run_resumes_at_the_right_step(tiny_model_dir, rl_jsonl, tiny_recipe, tmp_path):
    run = tmp_path / "run"
    # the entropy rule keeps state; with ema tracking it folds in every micro-batch
    cmd = [sys.executable, "-m", "rest", "train", "--config", str(tiny_recipe), "--method", "rest_entropy",
           "--model", str(tiny_model_dir), "--data", str(rl_jsonl), "--output", str(run),
           "max_steps=6", "save_steps=2", "save_total_limit=5", "per_device_train_batch_size=2",
           "num_generations=2", "max_completion_length=8", "max_train_records=12", "entropy_tracking=ema"]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    marker = run / "checkpoints" / "checkpoint-2" / "token_weighter.json"
    deadline = time.time() + 180
    while not marker.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "no checkpoint before the first run ended"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert not (run / "summary.json").exists()
    done = sorted(int(p.name.split("-")[1]) for p in (run / "checkpoints").glob("checkpoint-*")
                  if (p / "token_weighter.json").exists())
    assert done and done[-1] < 6, "the first run finished before it was killed"

    second = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert second.returncode == 0, second.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["resumed_from"].endswith(f"checkpoint-{done[-1]}")
    assert summary["global_step"] == 6
    steps = [json.loads(line).get("step") for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [None, 1, 2, 3, 4, 5, 6]  # one header, each step once
    final = run / "checkpoints" / "checkpoint-6"
    assert json.loads((final / "trainer_state.json").read_text())["global_step"] == 6
    # one micro-batch per step: a weighter restored from the checkpoint has seen all six
    assert json.loads((final / "token_weighter.json").read_text())["batches_seen"] == 6
