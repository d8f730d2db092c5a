"""Batch arithmetic and weight precision that do not change with the GPU count (docs/method.md §7).

Two traps of moving a one-GPU recipe onto N processes:

* TRL multiplies ``per_device_train_batch_size`` by the process count, so a fixed
  ``gradient_accumulation_steps`` makes each optimizer step N times larger and a rollout
  N times fewer updates. The recipe therefore states ``optimizer_batch_size`` (samples per
  optimizer step: veRL's mini-batch of 64 prompts × 4 completions = 256) and the
  accumulation is derived here for the processes actually launched.
* bf16 weights are only safe where fp32 master weights exist (DeepSpeed ZeRO keeps them).
  Elsewhere an Adam update at lr 1e-6 is below bf16's resolution and the weights never
  move, so a single process keeps fp32 weights and ``bf16: true`` means autocast only.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from rest.io import InputError

#: The recipe key: samples (completions for GRPO, examples for SFT) per optimizer step.
OPTIMIZER_BATCH_SIZE = "optimizer_batch_size"


def launched_processes() -> int:
    """Processes of this run as set by accelerate/torchrun (1 when run plainly)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def under_zero() -> bool:
    """True when accelerate launched this run under DeepSpeed (ZeRO keeps fp32 master weights)."""
    return os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true"


def gradient_accumulation(optimizer_batch_size: int, per_device: int, processes: int, where: str = "recipe") -> int:
    """``optimizer_batch_size / (per_device_train_batch_size × processes)``, which must be a whole number."""
    per_step = per_device * processes
    if optimizer_batch_size % per_step:
        raise InputError(
            f"{where}: {OPTIMIZER_BATCH_SIZE} {optimizer_batch_size} is not a multiple of "
            f"per_device_train_batch_size {per_device} x {processes} process(es) = {per_step}; "
            f"change per_device_train_batch_size or the GPU count")
    return optimizer_batch_size // per_step


def optimizer_steps_per_rollout(generation_batch_size: int, per_device: int, processes: int,
                                gradient_accumulation_steps: int) -> float:
    """Optimizer steps TRL makes per generation batch: its micro-batches over the accumulation."""
    micro_batches = generation_batch_size / (per_device * processes)
    return micro_batches / gradient_accumulation_steps


def _default(cls, name: str) -> Any:
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


def apply_scale(values: dict[str, Any], cls, where: str = "recipe", processes: int | None = None,
                zero: bool | None = None) -> dict[str, Any]:
    """Resolve ``optimizer_batch_size`` into ``gradient_accumulation_steps`` and pick the weights' dtype."""
    values = dict(values)
    processes = launched_processes() if processes is None else processes
    zero = under_zero() if zero is None else zero
    target = values.pop(OPTIMIZER_BATCH_SIZE, None)
    if target is not None:
        if "gradient_accumulation_steps" in values:
            raise InputError(f"{where}: set {OPTIMIZER_BATCH_SIZE} or gradient_accumulation_steps, not both")
        per_device = values.get("per_device_train_batch_size", _default(cls, "per_device_train_batch_size"))
        values["gradient_accumulation_steps"] = gradient_accumulation(int(target), int(per_device), processes, where)
    init = values.get("model_init_kwargs") or {}
    init = dict(json.loads(init) if isinstance(init, str) else init)
    init.setdefault("dtype", "bfloat16" if zero and values.get("bf16") else "float32")
    values["model_init_kwargs"] = init
    return values
