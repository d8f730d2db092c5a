"""``metrics.jsonl``: one line per optimizer step, the data behind the training-dynamics figures.

The first line is the header, ``{"run": <identity or null>, "config": <resolved config>}``
(the only line without ``step``; docs/scores.md). Step fields: step (the optimizer step),
rollout (GRPO-family only: the generation batch the step trained on, from 1, the clock of
the reward and weight schedules), loss, reward (total, format, correctness; GRPO-family only), entropy overall
and by region, completion length, region weights, learning rate, grad norm, step time.
A field that a method does not compute is absent, never 0. Lines are appended and
flushed one by one; on resume, lines past the checkpoint's step are dropped first.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from transformers import TrainerCallback

from rest.io import atomic_write_text
from rest.regions import Region
from rest.rewards import RolloutClock

# TRL log key -> metrics.jsonl key
RENAMES = {
    "loss": "loss",
    "reward": "reward",
    "reward_std": "reward_std",
    "rewards/format/mean": "reward_format",
    "rewards/correctness/mean": "reward_correctness",
    "entropy": "entropy",
    "completions/mean_length": "completion_length",
    "mean_token_accuracy": "token_accuracy",
    "learning_rate": "learning_rate",
    "grad_norm": "grad_norm",
    "epoch": "epoch",
}


def metrics_header(run_id, config: dict) -> dict:
    """The first line: who ran (a RunIdentity or None) and with which resolved config."""
    return {"run": run_id.as_dict() if run_id else None, "config": config}


def metrics_row(step: int, logs: dict, step_time: float | None, rollout: int | None = None) -> dict:
    row = {"step": step}
    if rollout is not None:
        row["rollout"] = rollout
    for key, name in RENAMES.items():
        if logs.get(key) is not None:
            row[name] = float(logs[key])
    if logs.get("weight/table") is not None:
        row["weight_table"] = int(round(float(logs["weight/table"])))
    for prefix, name in (("entropy/", "entropy_by_region"), ("weight/", "region_weights")):
        values = {r.name: float(logs[prefix + r.name]) for r in Region if logs.get(prefix + r.name) is not None}
        if values:
            row[name] = values
    if step_time is not None:
        row["step_time_s"] = step_time
    return row


def keep_steps_through(path: Path, step: int, header: dict | None = None) -> None:
    """Drop the rows logged after ``step`` (a killed run logs past its last checkpoint).

    The header line stays first: ``header`` if given, else the one already there."""
    kept = [json.dumps(header) + "\n"] if header is not None else []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line cut by the kill
            if not isinstance(row, dict):
                continue
            if ("step" not in row and header is None) or ("step" in row and row["step"] <= step):
                kept.append(line + "\n")
    atomic_write_text(path, "".join(kept))


class MetricsCallback(TrainerCallback):
    def __init__(self, path: str | Path, header: dict):
        self.path = Path(path)
        self.header = header
        self._t0 = None
        self._step_time = None

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        # Resuming: the killed run may have logged steps after its last checkpoint.
        keep_steps_through(self.path, state.global_step, header=self.header)

    def on_step_begin(self, args, state, control, **kwargs):
        self._t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if self._t0 is not None:
            self._step_time = time.perf_counter() - self._t0

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return
        # GRPO-family configs generate in rollouts; SFT has none.
        rollout = (RolloutClock.from_args(args).rollout(state.global_step)
                   if getattr(args, "steps_per_generation", None) else None)
        row = metrics_row(state.global_step, logs, self._step_time, rollout)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
