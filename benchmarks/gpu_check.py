"""GPU check: ResT against GRPO on the same batches, training and generation throughput, one JSON.

    python benchmarks/gpu_check.py --device cuda --output gpu_check.json     # via gpu_check.sh
    python benchmarks/gpu_check.py --device cpu --tiny --output dry.json      # CPU dry run

A randomly initialised Qwen3-0.6B-shaped model (rest/models/shapes.py) trains one process
with fp32 weights and bf16 autocast, gradient checkpointing, as the recipe does on one GPU.
The batch is 8 completions of 2,048 tokens cut from real rlla outputs (so region tagging does
its real work) after 256-token prompts, with fixed random advantages. Each step is TRL's
loss through ``ResTTrainer._compute_loss``, backward and an AdamW step; the ResT step also
tags the completions' regions on the CPU, as ``_generate_and_score_completions`` does after
each rollout. The two kinds interleave (GRPO, ResT, GRPO, ...) after one warm-up each; the
JSON keeps every time, the medians and their ratio (targets: time <= 1.02, peak memory <= 1.05).
Then HF ``generate`` of 8 sequences. ``rest plan --gpu-check FILE`` reads the JSON: the
training rate becomes its training utilisation; the HF rate is not a vLLM rate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGETS = {"time_ratio": 1.02, "memory_ratio": 1.05}
#: bf16 dense peak of the GPUs we know, to turn a rate into a utilisation (rest plan).
PEAK_TFLOPS = {"H100": 989, "H200": 989, "A100": 312}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--tiny", action="store_true", help="the tiny model and short batches: a dry run of every step")
    p.add_argument("--output", default="gpu_check.json")
    p.add_argument("--data-dir", default=os.environ.get("REST_DATA_DIR"), help="folder holding train/ (rlla_sft)")
    p.add_argument("--completions", type=int, default=8)
    p.add_argument("--completion-tokens", type=int, default=2048)
    p.add_argument("--prompt-tokens", type=int, default=256)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--new-tokens", type=int, default=256, help="HF generate: new tokens per sequence")
    args = p.parse_args(argv)
    if args.tiny:
        args.completions, args.completion_tokens, args.prompt_tokens = 2, 64, 32
        args.repeats, args.new_tokens = 2, 8
    if not args.data_dir:
        p.error("--data-dir (or REST_DATA_DIR) is required: the tokenizer and completions come from rlla_sft")
    return args


def build(args):
    """(tokenizer, model, the rlla outputs): a BPE trained on rlla_sft, a random Qwen3 of the chosen shape."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from rest.models.shapes import SHAPES
    from rest.models.tiny import DEFAULT_ARCH, train_tokenizer
    from rest.train.data import load_records

    records = load_records(Path(args.data_dir) / "train/toolrl_rlla_4k_raw/rlla_sft.json")
    tokenizer = train_tokenizer([r["instruction"] + "\n" + r["input"] + "\n" + r["output"] for r in records])
    if args.tiny:
        arch = {**DEFAULT_ARCH, "vocab_size": len(tokenizer)}
    else:
        arch = {**SHAPES["Qwen3-0.6B"].config_kwargs(), "max_position_embeddings": 8192}
    torch.manual_seed(0)
    cfg = Qwen3Config(**arch, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                      bos_token_id=tokenizer.pad_token_id)
    model = Qwen3ForCausalLM(cfg).to(args.device)
    return tokenizer, model, records


def make_batch(args, tokenizer, records, device):
    """Prompts and completions of exactly the asked lengths, cut from consecutive real records."""
    import torch

    def cut(texts, n, start):
        ids, i = [], start
        while len(ids) < n:
            ids += tokenizer.encode(texts[i % len(texts)], add_special_tokens=False)
            i += 1
        return ids[:n], i

    prompts, completions, i = [], [], 0
    for _ in range(args.completions):
        p, i = cut([r["input"] for r in records], args.prompt_tokens, i)
        c, i = cut([r["output"] for r in records], args.completion_tokens, i)
        prompts.append(p)
        completions.append(c)
    g = torch.Generator().manual_seed(0)
    prompt_ids = torch.tensor(prompts, device=device)
    completion_ids = torch.tensor(completions, device=device)
    completion_mask = torch.ones_like(completion_ids)
    return {
        "prompt_ids": prompt_ids, "prompt_mask": torch.ones_like(prompt_ids),
        "completion_ids": completion_ids, "completion_mask": completion_mask,
        "advantages": torch.randn(args.completions, generator=g).to(device),
        "num_items_in_batch": completion_mask.sum().float(),
    }


def make_trainer(method_name, args, model, tokenizer):
    """Plain TRL ``GRPOTrainer`` (grpo) or ``ResTTrainer`` (rest) over ``model``; only their loss is used."""
    from datasets import Dataset
    from trl import GRPOTrainer

    from rest.train.config import load_recipe, resolve_config
    from rest.methods import get_method
    from rest.train.trainers import ResTTrainer

    method = get_method(method_name)
    cpu = args.device == "cpu"
    overrides = {"use_vllm": False, "bf16": not cpu, "use_cpu": cpu, "gradient_checkpointing": True,
                 "per_device_train_batch_size": args.completions, "num_generations": args.completions,
                 "generation_batch_size": args.completions, "optimizer_batch_size": args.completions,
                 "max_completion_length": args.completion_tokens, "report_to": "none", "save_strategy": "no"}
    config = resolve_config(load_recipe(REPO / "config/recipes/paper.yaml"), method.trainer, method.delta, overrides,
                            tempfile.mkdtemp(prefix=f"gpu_check_{method_name}_"))
    dataset = Dataset.from_dict({"prompt": ["x"] * args.completions, "ground_truth": ["x"] * args.completions})
    cls = ResTTrainer if method.trainer == "rest" else GRPOTrainer
    trainer = cls(model=model, reward_funcs=[lambda completions, **kw: [0.0] * len(completions)], args=config,
                          train_dataset=dataset, processing_class=tokenizer)
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1  # set by the training loop, which we do not run
    return trainer


def step_fn(trainer, batch, optimizer, device, tag: bool):
    """One training step on ``batch``: (tag regions,) loss, backward, AdamW step; returns seconds."""
    import torch

    def run():
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        inputs = dict(batch)
        if tag:  # what ResT adds after generation, on the CPU
            ids, mask = inputs["completion_ids"], inputs["completion_mask"]
            inputs["completion_regions"] = trainer.tagger.batch(ids.cpu(), mask.cpu()).to(ids.device)
        with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
            loss = trainer.compute_loss(trainer.model, inputs)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    return run


def measure_steps(args, model, tokenizer, batch):
    import torch

    trainers = {"grpo": make_trainer("grpo", args, model, tokenizer), "rest": make_trainer("rest", args, model, tokenizer)}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)
    steps = {k: step_fn(t, batch, optimizer, args.device, tag=k == "rest") for k, t in trainers.items()}
    times = {k: [] for k in steps}
    peaks = {k: [] for k in steps}
    for run in steps.values():  # warm-up: allocator, kernels, optimizer states
        run()
    for _ in range(args.repeats):
        for k, run in steps.items():
            if args.device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            times[k].append(run())
            if args.device == "cuda":
                peaks[k].append(torch.cuda.max_memory_allocated() / 2**30)
    ids = batch["completion_ids"]
    t0 = time.perf_counter()
    for _ in range(args.repeats):
        trainers["rest"].tagger.batch(ids.cpu(), batch["completion_mask"].cpu())
    tagging_ms = 1000 * (time.perf_counter() - t0) / args.repeats
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {
        "grpo_s": [round(x, 4) for x in times["grpo"]], "rest_s": [round(x, 4) for x in times["rest"]],
        "grpo_median_s": round(med["grpo"], 4), "rest_median_s": round(med["rest"], 4),
        "time_ratio": round(med["rest"] / med["grpo"], 4),
        "time_ratio_range": [round(min(times["rest"]) / max(times["grpo"]), 4),
                             round(max(times["rest"]) / min(times["grpo"]), 4)],
        "tagging_ms": round(tagging_ms, 2), "targets": TARGETS,
    }
    if peaks["grpo"]:
        out.update(grpo_peak_gib=round(max(peaks["grpo"]), 3), rest_peak_gib=round(max(peaks["rest"]), 3),
                   memory_ratio=round(max(peaks["rest"]) / max(peaks["grpo"]), 4))
    tokens = args.completions * (args.prompt_tokens + args.completion_tokens)
    return out, tokens / med["grpo"]


def measure_generation(args, model, tokenizer, batch):
    import torch

    model.eval()
    prompts = batch["prompt_ids"]
    kw = {"max_new_tokens": args.new_tokens, "min_new_tokens": args.new_tokens, "do_sample": False,
          "pad_token_id": tokenizer.pad_token_id}
    with torch.inference_mode(), torch.autocast(args.device, dtype=torch.bfloat16, enabled=args.device == "cuda"):
        model.generate(prompts[:, :8], max_new_tokens=2, pad_token_id=tokenizer.pad_token_id)  # warm-up
        if args.device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = model.generate(prompts, attention_mask=torch.ones_like(prompts), **kw)
        if args.device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    new = (out.shape[1] - prompts.shape[1]) * prompts.shape[0]
    return {"tokens_per_s": round(new / seconds, 1), "batch": int(prompts.shape[0]), "new_tokens": args.new_tokens,
            "prompt_tokens": args.prompt_tokens, "seconds": round(seconds, 3)}


def main(argv=None) -> int:
    import torch
    import transformers

    args = parse_args(argv)
    started = time.time()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but no GPU is visible", file=sys.stderr)
        return 2
    tokenizer, model, records = build(args)
    params = sum(p.numel() for p in model.parameters())
    batch = make_batch(args, tokenizer, records, args.device)
    ratios, train_rate = measure_steps(args, model, tokenizer, batch)
    gen = measure_generation(args, model, tokenizer, batch)
    name = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor() or "cpu"
    peak = next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    result = {
        "device": name, "dry_run": args.device != "cuda" or args.tiny, "gpu_tflops": peak,
        "gpu_mem_gb": round(torch.cuda.get_device_properties(0).total_memory / 1e9, 1) if args.device == "cuda" else None,
        "model": "tiny" if args.tiny else "Qwen3-0.6B-shaped, random", "params": params,
        "batch": {"completions": args.completions, "prompt_tokens": args.prompt_tokens,
                  "completion_tokens": args.completion_tokens},
        "train": {"params": params, "tokens_per_s": round(train_rate, 1), "precision": "fp32 weights, bf16 autocast",
                  "gradient_checkpointing": True},
        "hf_generate": {"params": params, **gen},
        "rest_vs_grpo": ratios,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "trl": __import__("trl").__version__, "python": platform.python_version()},
        "seconds": round(time.time() - started, 1),
    }
    Path(args.output).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("device", "train", "hf_generate", "rest_vs_grpo")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
