"""ResT step cost against plain TRL GRPO: time and peak memory ratios, same batch and seed.

    python benchmarks/bench_step.py [--model DIR] [--data FILE] [--steps 4] [--repeats 3]

Step time: both trainers live in one process and their steps interleave, so load on the
machine hits both alike; each pair of steps samples with the same seed from the same
(untouched) weights, so both train on the same batch. Peak RSS: each trainer runs the
normal training loop in fresh processes, alternating. Same recipe, seed, prompts and a
forced completion length throughout; the only difference is ResT's region tagging and
weighting. Targets: time <= 1.02,
memory <= 1.05. Each ratio is printed with the spread (min / median / max) of its pairs
(step i of ResT over step i of GRPO; fresh process i of each); when that spread is wider
than the target's margin (0.02, 0.05) the ratio is flagged as noise, not a result.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_trainers(args, kinds):
    """Plain TRL ``GRPOTrainer`` and/or ResT, from the same recipe, seed, data and model."""
    from trl import GRPOTrainer

    from rest.models.loading import load_tokenizer
    from rest.train.config import load_recipe, resolve_config
    from rest.methods import get_method
    from rest.train.run import build_trainer

    method = get_method("rest")
    overrides = {"max_steps": args.steps, "per_device_train_batch_size": args.batch, "num_generations": 4,
                 "max_completion_length": args.length, "max_train_records": args.batch * args.steps,
                 "generation_kwargs": {"min_new_tokens": args.length}, "save_strategy": "no",
                 "disable_tqdm": True}
    out = tempfile.mkdtemp(prefix="bench-step-run-")
    config = resolve_config(load_recipe(args.recipe), method.trainer, method.delta, overrides, out)
    tokenizer = load_tokenizer(args.model)
    trainers = {}
    for kind in kinds:
        rest, _ = build_trainer(method, config, args.model, args.data, tokenizer)
        trainers[kind] = rest if kind == "rest" else GRPOTrainer(
            model=args.model, reward_funcs=rest.reward_funcs, args=config, train_dataset=rest.train_dataset,
            processing_class=tokenizer)
    return trainers


def time_worker(args) -> None:
    """Both trainers in one process, steps interleaved, each step on the same sampled batch."""
    import torch

    trainers = make_trainers(args, ("grpo", "rest"))
    batches = {k: iter(t.get_train_dataloader()) for k, t in trainers.items()}
    # ResT's own work (region tagging, weights), timed inside its steps: a figure that
    # machine load cannot blur the way it blurs whole-step times.
    own = []
    rest = trainers["rest"]
    for name in ("tagger.batch", "reshape_advantages"):
        holder = rest.tagger if name.startswith("tagger") else rest
        attr = name.split(".")[-1]
        setattr(holder, attr, _timed(getattr(holder, attr), own))
    times = {k: [] for k in trainers}
    for t in trainers.values():
        t.model.train()
        t.current_gradient_accumulation_steps = 1
    for step in range(args.steps * args.repeats):
        order = ("grpo", "rest") if step % 2 == 0 else ("rest", "grpo")
        for kind in order:
            t = trainers[kind]
            torch.manual_seed(step)  # same sampling; no optimizer step, so same weights too
            batch = next(batches[kind])
            t0 = time.perf_counter()
            t.training_step(t.model, batch, None)
            times[kind].append(time.perf_counter() - t0)
            t.model.zero_grad()
    result = {k: statistics.median(v[1:]) for k, v in times.items()}
    result["pairs"] = [r / g for r, g in zip(times["rest"][1:], times["grpo"][1:])]
    result["rest_own_s"] = sum(own) / len(times["rest"])
    print(json.dumps(result))


def ratio_lines(what: str, ratio: float, pairs: list[float], target: float) -> list[str]:
    """The ratio beside its pairs' min / median / max, and a warning when their spread is
    wider than the target's margin above parity (``target - 1``)."""
    lo, mid, hi = min(pairs), statistics.median(pairs), max(pairs)
    head = (f"ResT/GRPO {what}: {ratio:.3f}  (target <= {target:.2f}; {len(pairs)} pairs: "
            f"min {lo:.3f} / median {mid:.3f} / max {hi:.3f})")
    lines = [head]
    margin = target - 1.0
    if hi - lo > margin:
        lines.append(f"  NOISE: the pairs spread {hi - lo:.3f}, wider than the target's margin {margin:.2f}; "
                     "this ratio is not a result (rerun on a quiet machine, or with more --repeats)")
    return lines


def _timed(fn, sink: list):
    def wrapper(*a, **k):
        t0 = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            sink.append(time.perf_counter() - t0)

    return wrapper


def memory_worker(args) -> None:
    """One trainer through the normal training loop; peak RSS of this process."""
    trainer = make_trainers(args, (args.worker,))[args.worker]
    trainer.train()
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def measure(worker: str, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", worker, "--model", args.model, "--data", args.data,
           "--recipe", args.recipe, "--steps", str(args.steps), "--batch", str(args.batch),
           "--length", str(args.length), "--repeats", str(args.repeats)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False,
                       env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    if r.returncode != 0:
        sys.exit(f"{worker} worker failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def build_inputs(args) -> None:
    """Default inputs: the tiny model and the rlla SFT records from the data directory."""
    from rest.curation.records import rl_ground_truth
    from rest.io import read_json, resolve_data_dir
    from rest.models.tiny import build_tiny_model

    records = read_json(resolve_data_dir(args.data_dir) / "train/toolrl_rlla_4k_raw/rlla_sft.json")
    tmp = Path(tempfile.mkdtemp(prefix="bench-step-"))
    data = tmp / "records.jsonl"
    # as `rest curate` makes RL records of them: the placeholder thought
    data.write_text("".join(json.dumps({**r, "output": rl_ground_truth(r["output"])}) + "\n" for r in records))
    if args.model is None:
        texts = [r["instruction"] + "\n" + r["input"] + "\n" + r["output"] for r in records]
        args.model = str(build_tiny_model(tmp / "tiny", texts, seed=0))
    args.data = args.data or str(data)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model dir (default: build the tiny model)")
    p.add_argument("--data", help="curated rlla JSONL (default: rlla_sft.json from the data dir, curated here)")
    p.add_argument("--data-dir", help="data directory (default: $REST_DATA_DIR)")
    p.add_argument("--recipe", default=str(REPO / "config/recipes/tiny.yaml"))
    p.add_argument("--steps", type=int, default=4, help="steps per run; the first is warm-up")
    p.add_argument("--batch", type=int, default=8, help="completions per step")
    p.add_argument("--length", type=int, default=32, help="completion length (forced)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--worker", choices=["time", "grpo", "rest"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker == "time":
        time_worker(args)
        return
    if args.worker:
        memory_worker(args)
        return
    if args.model is None or args.data is None:
        build_inputs(args)
    step = measure("time", args)
    rss = {"grpo": [], "rest": []}
    for _ in range(args.repeats):
        for kind in ("grpo", "rest"):
            rss[kind].append(measure(kind, args)["peak_rss_mb"])
    rss_pairs = [r / g for r, g in zip(rss["rest"], rss["grpo"])]
    rss = {k: statistics.median(v) for k, v in rss.items()}
    print(f"setting: {args.batch} completions x {args.length} tokens per step (generation + loss + backward)")
    print(f"step time, {args.steps * args.repeats - 1} interleaved steps each, one process (medians):")
    print(f"  GRPO {step['grpo']:.3f} s   ResT {step['rest']:.3f} s")
    print(f"peak RSS, {args.repeats} fresh processes each, {args.steps} training steps (medians):")
    print(f"  GRPO {rss['grpo']:.0f} MB   ResT {rss['rest']:.0f} MB")
    print(f"ResT-only work (region tagging + weights): {step['rest_own_s'] * 1000:.2f} ms per step "
          f"= {step['rest_own_s'] / step['grpo']:.2%} of a GRPO step")
    for line in (ratio_lines("step time", step["rest"] / step["grpo"], step["pairs"], 1.02)
                 + ratio_lines("peak RSS", rss["rest"] / rss["grpo"], rss_pairs, 1.05)):
        print(line)


if __name__ == "__main__":
    from rest.cli import exit_status

    sys.exit(exit_status(main))
