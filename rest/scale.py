"""What each job of the DAG asks of the cluster, and how training is launched on it (docs/method.md §7).

Every model in the workflow config may declare ``train:`` and ``eval:`` resources::

    models:
      Qwen3-14B:
        train: {gpus: 8, zero_stage: 3, mem_mb: 480000, runtime: 2880,
                vllm_tensor_parallel_size: 2, vllm_gpu_memory_utilization: 0.35}
        eval: {gpus: 1, mem_mb: 96000, runtime: 600}
        train_overrides: {per_device_train_batch_size: 2}

The rules turn them into Snakemake ``resources:`` (so a SLURM profile only maps partitions)
and into the launcher: one plain process without GPUs or with one, ``accelerate launch``
with one process per GPU and the ZeRO config of ``zero_stage`` otherwise. This module is
imported by the Snakefile, so it imports nothing heavy.
"""

from __future__ import annotations

import shlex

from typing import Any

from rest.io import InputError

#: Defaults of a model's ``train:`` and ``eval:`` resources: one CPU process (the tiny run).
TRAIN_DEFAULTS: dict[str, Any] = {
    "gpus": 0, "zero_stage": 0, "mem_mb": 8000, "runtime": 60, "cpus": 2, "cpus_per_gpu": 8,
    "vllm_tensor_parallel_size": None, "vllm_gpu_memory_utilization": None,
}
EVAL_DEFAULTS: dict[str, Any] = {"gpus": 0, "mem_mb": 8000, "runtime": 60, "cpus": 2, "cpus_per_gpu": 8}
DEFAULTS = {"train": TRAIN_DEFAULTS, "eval": EVAL_DEFAULTS}

#: accelerate configs of the DeepSpeed ZeRO stages, relative to the repository root.
ZERO_CONFIGS = {2: "config/accelerate/zero2.yaml", 3: "config/accelerate/zero3.yaml"}

#: Resource keys that are recipe options of the training run rather than scheduler requests.
VLLM_KEYS = ("vllm_tensor_parallel_size", "vllm_gpu_memory_utilization")


def job_resources(config: dict, model: str, kind: str) -> dict[str, Any]:
    """The ``train`` or ``eval`` resources of ``model``: its config section over the defaults."""
    spec = config["models"][model]
    res = {**DEFAULTS[kind], **(spec.get(kind) or {})}
    where = f"config models.{model}.{kind}"
    if kind == "train":
        if res["gpus"] > 1 and res["zero_stage"] not in ZERO_CONFIGS:
            raise InputError(f"{where}: {res['gpus']} GPUs need zero_stage 2 or 3 "
                             f"(the DeepSpeed configs {', '.join(ZERO_CONFIGS.values())})")
        tp = res["vllm_tensor_parallel_size"]
        if tp and res["gpus"] and res["gpus"] % tp:
            raise InputError(f"{where}: vllm_tensor_parallel_size {tp} does not divide gpus {res['gpus']}")
    return res


def slurm_resources(res: dict[str, Any]) -> dict[str, Any]:
    """The Snakemake resources of a job: ``gpu`` becomes ``--gpus``, and every job stays on one node.

    ``accelerate launch --num_processes N`` expects all N GPUs on its own node. A GPU job asks
    ``cpus_per_gpu`` (its ``cpus_per_task: 0`` lets the plugin use it), a CPU job ``cpus``.
    """
    gpus = res["gpus"]
    return {"mem_mb": res["mem_mb"], "runtime": res["runtime"], "gpu": gpus, "nodes": 1,
            "cpus_per_gpu": res["cpus_per_gpu"] if gpus else 0, "cpus_per_task": 0 if gpus else res["cpus"]}


def launcher(res: dict[str, Any]) -> str:
    """What runs ``-m rest train``: plain Python for up to one GPU, else one process per GPU under ZeRO."""
    gpus = res["gpus"]
    if gpus <= 1:
        return "python"
    return shlex.join(["accelerate", "launch", "--num_processes", str(gpus), "--num_machines", "1",
                       "--config_file", ZERO_CONFIGS[res["zero_stage"]]])


def train_overrides(config: dict, model: str, method: str) -> dict[str, Any]:
    """Recipe overrides of one run: the global ones, the model's own, and its vLLM share (RL methods)."""
    from rest.methods import METHODS

    spec = config["models"][model]
    res = job_resources(config, model, "train")
    rl = METHODS[method].trainer != "sft"
    vllm = {k: res[k] for k in VLLM_KEYS if res[k] is not None and rl}
    return {**config.get("train_overrides", {}), **(spec.get("train_overrides") or {}), **vllm}

