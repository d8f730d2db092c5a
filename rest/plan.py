"""``rest plan``: peak memory per GPU, wall time and GPU-hours of every job of the DAG (docs/method.md §7).

Estimates, each printed with the assumptions it rests on:

* **Memory per GPU of a training job.** Model states are 16 bytes per parameter (bf16
  weights and gradients plus fp32 master weights, Adam's two moments; or, in one process,
  fp32 weights, gradients and moments), sharded by the ZeRO stage: stage 2 shards all but the
  bf16 weights, stage 3 everything. Activations with gradient checkpointing keep each layer's
  input and one layer's working set; the logits of the loss tokens add ``LOGIT_BYTES`` bytes
  per vocabulary entry. vLLM colocated on the same GPUs reserves its share of the GPU and must
  hold its bf16 weights (split by tensor parallelism) and the KV cache of at least one
  sequence of the capped context.
* **Time.** Training FLOPs are 6·N per token (forward and backward), plus 2·N for the old
  log-probabilities TRL computes when a rollout feeds several optimizer steps, at a stated
  utilisation of the GPUs' peak. Generation runs at a stated decode rate: 2·N FLOPs per new
  token at a stated (much lower) utilisation, per backend.

A GPU-check JSON (``benchmarks/gpu_check.sh``) replaces only what it measured: its training
throughput gives the training utilisation (it scales by 6·N·tokens); its HF-generation rate
replaces the HF decode utilisation. vLLM's decode rate stays an assumption unless measured
with vLLM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rest.io import InputError, read_json, read_yaml_mapping
from rest.models.shapes import Shape, model_shape
from rest.scale import job_resources

GB = 1e9

#: Every assumption: (default, what it is). A config's ``plan:`` section overrides the value.
ASSUMPTIONS: dict[str, tuple[Any, str]] = {
    "gpu_mem_gb": (80, "memory of one GPU (H100 80GB)"),
    "gpu_tflops": (989, "bf16 dense peak TFLOP/s of one GPU (H100 SXM)"),
    "train_mfu": (0.30, "training utilisation of the peak, on 6*N FLOPs per token"),
    "vllm_decode_mfu": (0.08, "vLLM decode utilisation of the peak, on 2*N FLOPs per new token"),
    "hf_decode_mfu": (0.01, "HF generate() utilisation of the peak, on 2*N FLOPs per new token"),
    "hf_step_ms": (25, "HF generate(): one decode step of a whole batch (launch-bound for small models)"),
    "vllm_step_ms": (20, "vLLM: one decode step of its running batch (launch-bound for small models)"),
    "vllm_max_seqs": (256, "sequences vLLM decodes at once (its max_num_seqs default)"),
    "prefill_mfu": (0.30, "prompt prefill utilisation of the peak, on 2*N FLOPs per prompt token"),
    "rl_prompt_tokens": (1000, "mean rlla prompt length (930 measured with SmolLM2's tokenizer)"),
    "rl_completion_tokens": (512, "mean RL completion length (of at most max_completion_length)"),
    "sft_tokens": (1300, "mean SFT example length (prompt + distilled output)"),
    "eval_prompt_tokens": (1000, "mean API-Bank/BFCL prompt length"),
    "eval_new_tokens": (256, "mean generated tokens per evaluation item"),
    "multi_turn_generations": (12, "model steps per BFCL multi-turn entry (turns x calls)"),
    "multi_turn_prompt_tokens": (3000, "mean prompt length of a multi-turn step (history grows)"),
    "activation_bytes_per_hidden": (34, "bytes per token per hidden unit of the one layer recomputed (bf16)"),
    "logit_bytes": (10, "bytes per token per vocabulary entry for the loss's logits (bf16 + fp32 + grad)"),
    "overhead_gb": (3.0, "CUDA context, NCCL and allocator slack per GPU"),
    "vllm_overhead_gb": (2.0, "vLLM's activations and CUDA graphs inside its share"),
    "startup_minutes": (5, "per job: loading the model, starting vLLM, saving"),
    "rest_time_ratio": (1.0, "ResT step time over GRPO's (token weights; 1.0 until measured)"),
    "rest_memory_ratio": (1.0, "ResT peak memory over GRPO's (1.0 until measured)"),
}

#: Records of each RL source before limits (ToolRL's split of rlla_rl: 3,920 train).
RL_SOURCE_RECORDS = {"rlla_rl": 3920, "rlla_sft": 400}
SFT_RECORDS = 400
#: BFCL v4 entries per category as shipped by bfcl-eval 2026.3.23.
BFCL_SIZES = {
    "simple_python": 400, "simple_java": 100, "simple_javascript": 50, "multiple": 200, "parallel": 200,
    "parallel_multiple": 200, "irrelevance": 240, "live_simple": 258, "live_multiple": 1053,
    "live_parallel": 16, "live_parallel_multiple": 24, "live_irrelevance": 884, "live_relevance": 16,
    "multi_turn_base": 200, "multi_turn_miss_func": 200, "multi_turn_miss_param": 200,
    "multi_turn_long_context": 200,
}


@dataclass
class Job:
    job: str
    rule: str
    model: str
    method: str
    gpus: int
    mem_gb_per_gpu: float
    hours: float
    memory: dict[str, float] = field(default_factory=dict)
    work: dict[str, float] = field(default_factory=dict)
    fix: str = ""

    @property
    def gpu_hours(self) -> float:
        return self.hours * max(self.gpus, 1) if self.gpus else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"job": self.job, "rule": self.rule, "model": self.model, "method": self.method, "gpus": self.gpus,
                "mem_gb_per_gpu": round(self.mem_gb_per_gpu, 2), "hours": round(self.hours, 3),
                "gpu_hours": round(self.gpu_hours, 2), "memory_gb": {k: round(v, 2) for k, v in self.memory.items()},
                "work": self.work, **({"fix": self.fix} if self.fix else {})}


# ---------------------------------------------------------------------------------------- inputs


def assumptions(config: dict, gpu_check: dict | None = None) -> dict[str, dict[str, Any]]:
    """Each assumption's value and where it comes from (default, config, or the GPU check)."""
    out = {k: {"value": v, "text": text, "from": "assumed"} for k, (v, text) in ASSUMPTIONS.items()}
    for key, value in (config.get("plan") or {}).items():
        if key not in out:
            raise InputError(f"config plan.{key}: unknown assumption; expected one of {', '.join(ASSUMPTIONS)}")
        out[key].update(value=value, **{"from": "config"})
    for key, value in measured_assumptions(gpu_check or {}).items():
        out[key].update(value=value, **{"from": "measured"})
    return out


def measured_assumptions(check: dict) -> dict[str, float]:
    """What a GPU-check JSON measured, as the assumptions it replaces (and nothing else)."""
    out: dict[str, float] = {}
    if not check:
        return out
    if check.get("dry_run"):
        raise InputError(f"GPU check from {check.get('device')!r} is a dry run (--tiny or CPU): its figures "
                         f"are not GPU figures; run benchmarks/gpu_check.sh on a GPU")
    peak = check.get("gpu_tflops") or ASSUMPTIONS["gpu_tflops"][0]
    train = check.get("train")
    if train and train.get("tokens_per_s") and train.get("params"):
        out["train_mfu"] = 6 * train["params"] * train["tokens_per_s"] / (peak * 1e12)
    gen = check.get("hf_generate")
    if gen and gen.get("tokens_per_s") and gen.get("params"):
        out["hf_decode_mfu"] = 2 * gen["params"] * gen["tokens_per_s"] / (peak * 1e12)
    ratios = check.get("rest_vs_grpo") or {}
    if ratios.get("time_ratio"):
        out["rest_time_ratio"] = ratios["time_ratio"]
    if ratios.get("memory_ratio"):
        out["rest_memory_ratio"] = ratios["memory_ratio"]
    return out  # the checked GPU's memory is not the cluster's: gpu_mem_gb stays as configured


def read_gpu_check(path: str | Path | None) -> dict | None:
    return None if path is None else read_json(path)


def load_workflow_config(path: str | Path) -> dict:
    return read_yaml_mapping(path, "workflow config")


# ---------------------------------------------------------------------------------------- models


def model_state_bytes(params: int, gpus: int, zero_stage: int) -> float:
    """16 bytes per parameter, sharded by the ZeRO stage over ``gpus`` processes."""
    shards = max(gpus, 1)
    if zero_stage == 3:
        return 16 * params / shards
    if zero_stage == 2:
        return 2 * params + 14 * params / shards
    return 16 * params


def activation_bytes(shape: Shape, batch: int, seq: int, loss_tokens: int, a: dict) -> float:
    """Gradient checkpointing: every layer's bf16 input, one layer's working set, the loss's logits."""
    tokens = batch * seq
    kept = 2 * shape.hidden * shape.layers * tokens
    working = a["activation_bytes_per_hidden"] * shape.hidden * tokens
    logits = a["logit_bytes"] * shape.vocab * batch * loss_tokens
    return kept + working + logits


def vllm_fit(shape: Shape, share_gb: float, tp: int, context: int, a: dict) -> tuple[float, float]:
    """(GB of vLLM's weights per GPU, full-context sequences its KV cache holds at once)."""
    weights = 2 * shape.params / tp / GB
    kv_gb = share_gb - weights - a["vllm_overhead_gb"]
    per_seq = shape.kv_bytes_per_token() / tp * context / GB
    return weights, max(kv_gb, 0.0) / per_seq


def decode_tokens_per_s(shape: Shape, backend: str, batch: int, a: dict) -> float:
    """New tokens per second of one GPU: FLOP-bound (2·N per token) or step-latency-bound, the lower."""
    mfu = a["vllm_decode_mfu"] if backend == "vllm" else a["hf_decode_mfu"]
    flop_bound = mfu * a["gpu_tflops"] * 1e12 / (2 * shape.params)
    if backend == "vllm":
        latency_bound = min(batch, a["vllm_max_seqs"]) / (a["vllm_step_ms"] / 1000)
    else:
        latency_bound = batch / (a["hf_step_ms"] / 1000)
    return min(flop_bound, latency_bound)


# ---------------------------------------------------------------------------------------- jobs


def _recipe_section(recipe: dict, kind: str, overrides: dict) -> dict:
    section = recipe.get("sft" if kind == "sft" else "grpo") or {}
    common = {k: v for k, v in recipe.items() if k not in ("sft", "grpo")}
    return {**common, **section, **overrides}


def _rl_records(config: dict) -> int:
    curate = config.get("curate", {})
    n = RL_SOURCE_RECORDS.get(curate.get("rl_from", "rlla_rl"), RL_SOURCE_RECORDS["rlla_rl"])
    return min(n, curate.get("rl_limit") or n)


def train_job(config: dict, recipe: dict, model: str, method, seed: int, a: dict) -> Job:
    from rest.scale import train_overrides

    spec = config["models"][model]
    res = job_resources(config, model, "train")
    shape = model_shape(model, spec)
    n = shape.params
    r = _recipe_section(recipe, method.trainer, {**method.delta, **train_overrides(config, model, method.name)})
    gpus = res["gpus"]
    peak = a["gpu_tflops"] * 1e12 * max(gpus, 1)
    per_device = int(r.get("per_device_train_batch_size", 8))
    memory: dict[str, float] = {"model_states": model_state_bytes(n, gpus, res["zero_stage"]) / GB}
    work: dict[str, float] = {}
    if method.trainer == "sft":
        records = min(SFT_RECORDS, config.get("curate", {}).get("sft_limit") or SFT_RECORDS,
                      r.get("max_train_records") or SFT_RECORDS)
        tokens = a["sft_tokens"]
        seq = int(r.get("max_length") or tokens)
        examples = records * float(r.get("num_train_epochs", 3))
        if r.get("max_steps", -1) and r.get("max_steps", -1) > 0:
            examples = min(examples, r["max_steps"] * int(r.get("optimizer_batch_size") or per_device))
        memory["activations"] = activation_bytes(shape, per_device, seq, seq, a) / GB
        seconds = 6 * n * examples * tokens / (peak * a["train_mfu"])
        work.update(examples=examples, tokens=examples * tokens)
    else:
        group = int(r.get("num_generations", 4))
        rollout = int(r.get("generation_batch_size") or per_device * group)
        completion_max = int(r.get("max_completion_length", 2048))
        prompts = _rl_records(config)
        prompts = min(prompts, r.get("max_train_records") or prompts)
        rollouts = float(r.get("num_train_epochs", 1)) * max(prompts * group // rollout, 1)
        per_rollout = rollout / int(r.get("optimizer_batch_size") or rollout)
        if r.get("max_steps", -1) and r.get("max_steps", -1) > 0:
            rollouts = min(rollouts, math.ceil(r["max_steps"] / per_rollout))
        completions = rollouts * rollout
        seq = a["rl_prompt_tokens"] + completion_max
        acts = activation_bytes(shape, per_device, seq, completion_max, a) / GB
        memory["activations"] = acts * a["rest_memory_ratio"] if method.trainer == "rest" else acts
        new_tokens = completions * min(a["rl_completion_tokens"], completion_max)
        train_flops = 8 * n * completions * (a["rl_prompt_tokens"] + min(a["rl_completion_tokens"], completion_max))
        seconds = train_flops / (peak * a["train_mfu"])
        if method.trainer == "rest":
            seconds *= a["rest_time_ratio"]
        backend = "vllm" if r.get("use_vllm") else "hf"
        per_gpu_batch = max(rollout // max(gpus, 1), 1)  # each process generates its share of the rollout
        seconds += new_tokens / (decode_tokens_per_s(shape, backend, per_gpu_batch, a) * max(gpus, 1))
        seconds += completions * a["rl_prompt_tokens"] * 2 * n / (peak * a["prefill_mfu"])
        work.update(rollouts=rollouts, completions=completions, new_tokens=new_tokens,
                    optimizer_steps=rollouts * per_rollout)
        if backend == "vllm" and r.get("vllm_mode", "colocate") == "colocate":
            share = float(r.get("vllm_gpu_memory_utilization", 0.3)) * a["gpu_mem_gb"]
            tp = int(r.get("vllm_tensor_parallel_size") or 1)
            context = int(r.get("vllm_max_model_length") or 0)
            if not context:
                raise InputError(f"{model}: vllm_max_model_length is unset; cap it (prompt + completion, e.g. 4096)")
            weights, seqs = vllm_fit(shape, share, tp, context, a)
            memory["vllm_share"] = share
            work.update(vllm_weights_gb=round(weights, 2), vllm_sequences_at_once=round(seqs, 1))
    memory["overhead"] = a["overhead_gb"] if gpus else 0.0
    job = Job(f"train {model}/{method.name}/seed{seed}", "train", model, method.name, gpus,
              sum(memory.values()), seconds / 3600 + a["startup_minutes"] / 60, memory, work)
    job.fix = _memory_fix(job, res, a, r)
    return job


def _memory_fix(job: Job, res: dict, a: dict, r: dict) -> str:
    """What to change when a job does not fit (empty when it does)."""
    if not job.gpus:
        return ""
    if job.mem_gb_per_gpu > a["gpu_mem_gb"]:
        hints = []
        if res["zero_stage"] < 3 and job.gpus > 1:
            hints.append("zero_stage: 3")
        if int(r.get("per_device_train_batch_size", 8)) > 1:
            hints.append("a smaller per_device_train_batch_size in the model's train_overrides")
        if "vllm_share" in job.memory:
            hints.append("a smaller vllm_gpu_memory_utilization with a larger vllm_tensor_parallel_size")
        hints.append("more GPUs")
        return f"needs {job.mem_gb_per_gpu:.1f} GB of {a['gpu_mem_gb']} GB per GPU: try " + ", or ".join(hints)
    if job.work.get("vllm_sequences_at_once", 1) < 1:
        return (f"vLLM's share holds {job.work['vllm_weights_gb']} GB of weights but not one full-context sequence:"
                f" raise vllm_gpu_memory_utilization or vllm_tensor_parallel_size")
    return ""


def eval_items(config: dict, bench: str) -> tuple[int, int]:
    """(single-step items, multi-turn entries) one evaluation job generates for."""
    from rest.eval.apibank import LEVEL_SIZES
    from rest.eval.bfcl import MULTI_TURN, expand_categories

    opts = config["eval"][bench]
    if bench == "apibank":
        limit = opts.get("limit")
        return sum(min(n, limit or n) for n in LEVEL_SIZES.values()), 0
    limit = opts.get("limit_per_category")
    single = multi = 0
    for c in expand_categories(opts.get("categories") or ["all"]):
        n = min(BFCL_SIZES[c], limit or BFCL_SIZES[c])
        if c in MULTI_TURN:
            multi += n
        else:
            single += n
    return single, multi


def eval_job(config: dict, model: str, method: str, seed: int | None, bench: str, a: dict) -> Job:
    spec = config["models"][model]
    res = job_resources(config, model, "eval")
    shape = model_shape(model, spec)
    n = shape.params
    backend = config["eval"]["backend"]
    single, multi = eval_items(config, bench)
    new = min(a["eval_new_tokens"], config["eval"][bench].get("max_new_tokens") or a["eval_new_tokens"])
    steps = multi * a["multi_turn_generations"]
    new_tokens = (single + steps) * new
    prompt_tokens = single * a["eval_prompt_tokens"] + steps * a["multi_turn_prompt_tokens"]
    gpus = max(res["gpus"], 1)
    batch = config["eval"][bench].get("batch_size") or 8
    seconds = new_tokens / (decode_tokens_per_s(shape, backend, batch, a) * gpus)
    seconds += 2 * n * prompt_tokens / (a["gpu_tflops"] * 1e12 * gpus * a["prefill_mfu"])
    weights = 2 * n / GB  # bf16 inference weights
    memory = {"weights": weights}
    if res["gpus"]:
        memory["kv_cache_and_overhead"] = (0.9 * a["gpu_mem_gb"] - weights) if backend == "vllm" else a["overhead_gb"]
    where = f"seed{seed}" if seed is not None else "base"
    job = Job(f"eval_{bench} {model}/{method}/{where}", f"eval_{bench}", model, method, res["gpus"],
              sum(memory.values()) if res["gpus"] else 0.0, seconds / 3600 + a["startup_minutes"] / 60, memory,
              {"items": single + multi, "generations": single + steps, "new_tokens": new_tokens})
    if res["gpus"] and weights + a["overhead_gb"] > a["gpu_mem_gb"]:
        job.fix = f"bf16 weights need {weights:.1f} GB: give eval more GPUs (tensor parallel)"
    return job


def plan_jobs(config: dict, recipe: dict, a: dict) -> list[Job]:
    """Every training and evaluation job of the DAG, as the rules list them (rest/methods.py)."""
    from rest.methods import METHODS

    runs = [(m, meth, s) for m in config["models"] for meth in config["methods"] if meth != "base"
            for s in config["seeds"]]
    runs += [(m, meth, s) for m in config["ablations"]["models"] for meth in config["ablations"]["methods"]
             for s in config["seeds"]]
    runs = list(dict.fromkeys(runs))
    benches = [b for b in ("apibank", "bfcl") if config["eval"][b]["enabled"]]
    jobs = [train_job(config, recipe, m, METHODS[meth], s, a) for m, meth, s in runs]
    if "base" in config["methods"]:
        jobs += [eval_job(config, m, "base", None, b, a) for m in config["models"] for b in benches]
    jobs += [eval_job(config, m, meth, s, b, a) for m, meth, s in runs for b in benches]
    return jobs


def make_plan(config: dict, gpu_check: dict | None = None, repo: str | Path = ".") -> dict[str, Any]:
    """The whole plan: assumptions, jobs, totals per model and method, and the jobs that do not fit."""
    table = assumptions(config, gpu_check)
    a = {k: v["value"] for k, v in table.items()}
    recipe = read_yaml_mapping(Path(repo) / config["recipe"], "recipe")
    jobs = plan_jobs(config, recipe, a)
    per_model: dict[str, float] = {}
    per_method: dict[str, float] = {}
    for j in jobs:
        per_model[j.model] = per_model.get(j.model, 0.0) + j.gpu_hours
        per_method[j.method] = per_method.get(j.method, 0.0) + j.gpu_hours
    total = sum(j.gpu_hours for j in jobs)
    gpu_jobs = [j for j in jobs if j.gpus]
    return {
        "assumptions": table,
        "jobs": [j.to_dict() for j in jobs],
        "gpu_hours_per_model": {k: round(v, 1) for k, v in per_model.items()},
        "gpu_hours_per_method": {k: round(v, 1) for k, v in per_method.items()},
        "total_gpu_hours": round(total, 1),
        "max_job_hours": round(max((j.hours for j in gpu_jobs), default=0.0), 2),
        "over_memory": [{"job": j.job, "fix": j.fix} for j in jobs if j.fix],
    }


def check(config: dict, repo: str | Path = ".", gpu_check: dict | None = None) -> None:
    """Raise ``InputError`` naming every job over its GPUs' memory (the DAG calls this first).

    Only models with GPU jobs are planned: a CPU-only model has no GPU memory to exceed.
    """
    from rest.scale import job_resources

    gpu_models = {m: spec for m, spec in config["models"].items()
                  if any(job_resources(config, m, kind)["gpus"] for kind in ("train", "eval"))}
    if not gpu_models:
        return
    ablations = {**config.get("ablations", {}), "models": [m for m in config.get("ablations", {}).get("models", [])
                                                           if m in gpu_models]}
    problems = make_plan({**config, "models": gpu_models, "ablations": ablations}, gpu_check, repo)["over_memory"]
    if problems:
        raise InputError("rest plan: " + "; ".join(f"{p['job']}: {p['fix']}" for p in problems))


# ---------------------------------------------------------------------------------------- text


def render(plan: dict[str, Any]) -> str:
    """The plan as text: one line per job with its figures, totals, then every assumption."""
    lines = [f"{'job':<58} {'GPUs':>4} {'GB/GPU':>7} {'hours':>7} {'GPU-h':>8}  memory (GB)"]
    for j in plan["jobs"]:
        mem = ", ".join(f"{k} {v:.1f}" for k, v in j["memory_gb"].items())
        lines.append(f"{j['job']:<58} {j['gpus']:>4} {j['mem_gb_per_gpu']:>7.1f} {j['hours']:>7.2f} "
                     f"{j['gpu_hours']:>8.1f}  {mem}")
    lines.append("")
    lines.append("GPU-hours per model:  " + ", ".join(f"{k} {v}" for k, v in plan["gpu_hours_per_model"].items()))
    lines.append("GPU-hours per method: " + ", ".join(f"{k} {v}" for k, v in plan["gpu_hours_per_method"].items()))
    lines.append(f"total GPU-hours: {plan['total_gpu_hours']}   longest GPU job: {plan['max_job_hours']} h")
    lines.append("")
    lines.append("assumptions (value, source, meaning):")
    for k, v in plan["assumptions"].items():
        value = v["value"]
        value = f"{value:.4g}" if isinstance(value, float) else value
        lines.append(f"  {k:<28} {value!s:>8}  {v['from']:<8}  {v['text']}")
    lines.append("  model states: 16 bytes/parameter (bf16 weights + grads, fp32 masters + Adam), sharded by ZeRO stage")
    lines.append("  training FLOPs: 6*N per token, + 2*N for TRL's old log-probs on RL runs; decode 2*N per new token")
    for p in plan["over_memory"]:
        lines.append(f"OVER MEMORY: {p['job']}: {p['fix']}")
    return "\n".join(lines)
