"""ResT step cost against plain TRL GRPO: time and peak memory ratios, same batch and seed.

    python benchmarks/bench_step.py [--model DIR] [--data FILE] [--steps 4] [--repeats 3]

Each measurement runs in a fresh subprocess (peak RSS is per process), alternating GRPO
and ResT so that load on the machine hits both alike. Both use the same recipe, seed,
prompts and a forced completion length, so they generate and train on the same shapes;
the only difference is ResT's region tagging and weighting. Targets: time <= 1.02,
memory <= 1.05.
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


def worker(args) -> None:
    from transformers import TrainerCallback
    from trl import GRPOTrainer

    from rest.models.loading import load_tokenizer
    from rest.train.config import load_recipe, resolve_config
    from rest.train.registry import get_method
    from rest.train.run import build_trainer

    method = get_method("rest")
    overrides = {"max_steps": args.steps, "per_device_train_batch_size": args.batch, "num_generations": 4,
                 "max_completion_length": args.length, "max_train_records": args.batch * args.steps,
                 "generation_kwargs": {"min_new_tokens": args.length}, "save_strategy": "no",
                 "disable_tqdm": True}
    with tempfile.TemporaryDirectory() as out:
        config = resolve_config(load_recipe(args.recipe), method.trainer, method.delta, overrides, out)
        tokenizer = load_tokenizer(args.model)
        trainer, _ = build_trainer(method, config, args.model, args.data, tokenizer)
        if args.worker == "grpo":
            trainer = GRPOTrainer(model=args.model, reward_funcs=trainer.reward_funcs, args=config,
                                  train_dataset=trainer.train_dataset, processing_class=tokenizer)
        times = []

        class Timer(TrainerCallback):
            def on_step_begin(self, *a, **k):
                self.t0 = time.perf_counter()

            def on_step_end(self, *a, **k):
                times.append(time.perf_counter() - self.t0)

        trainer.add_callback(Timer())
        trainer.train()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"step_s": statistics.median(times[1:]), "peak_rss_mb": peak_kb / 1024}))


def measure(kind: str, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--model", args.model, "--data", args.data,
           "--recipe", args.recipe, "--steps", str(args.steps), "--batch", str(args.batch),
           "--length", str(args.length)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False,
                       env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    if r.returncode != 0:
        sys.exit(f"{kind} worker failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def build_inputs(args) -> None:
    """Default inputs: the tiny model and the rlla SFT records from the data directory."""
    from rest.io import resolve_data_dir
    from rest.models.tiny import build_tiny_model

    records = json.loads((resolve_data_dir(args.data_dir) / "train/toolrl_rlla_4k_raw/rlla_sft.json").read_text())
    tmp = Path(tempfile.mkdtemp(prefix="bench-step-"))
    data = tmp / "records.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    if args.model is None:
        texts = [r["instruction"] + "\n" + r["input"] + "\n" + r["output"] for r in records]
        args.model = str(build_tiny_model(tmp / "tiny", texts, seed=0))
    args.data = args.data or str(data)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model dir (default: build the tiny model)")
    p.add_argument("--data", help="rlla JSONL/JSON (default: rlla_sft.json from the data dir)")
    p.add_argument("--data-dir", help="data directory (default: $REST_DATA_DIR)")
    p.add_argument("--recipe", default=str(REPO / "config/recipes/tiny.yaml"))
    p.add_argument("--steps", type=int, default=4, help="steps per run; the first is warm-up")
    p.add_argument("--batch", type=int, default=8, help="completions per step")
    p.add_argument("--length", type=int, default=32, help="completion length (forced)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--worker", choices=["grpo", "rest"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    if args.model is None or args.data is None:
        build_inputs(args)
    runs = {"grpo": [], "rest": []}
    for _ in range(args.repeats):
        for kind in ("grpo", "rest"):
            runs[kind].append(measure(kind, args))
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("step_s", "peak_rss_mb")} for k, v in runs.items()}
    print(f"setting: {args.batch} completions x {args.length} tokens per step, {args.steps - 1} timed steps, "
          f"{args.repeats} alternating repeats (medians)")
    for k in ("grpo", "rest"):
        print(f"{k:5s} step {med[k]['step_s']:.3f} s   peak RSS {med[k]['peak_rss_mb']:.0f} MB")
    print(f"ResT/GRPO step time: {med['rest']['step_s'] / med['grpo']['step_s']:.3f}  (target <= 1.02)")
    print(f"ResT/GRPO peak RSS:  {med['rest']['peak_rss_mb'] / med['grpo']['peak_rss_mb']:.3f}  (target <= 1.05)")


if __name__ == "__main__":
    main()
