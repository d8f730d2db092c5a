"""Throughput of the core on the real records: rule reward and regions + weights.

    python benchmarks/bench_core.py [--data-dir DIR]

Prints completions/s on one core for (1) the rule reward over every SFT completion
scored against its placeholder ground truth and against itself, and (2) region tagging
plus Eq. 9/16-18 weighting of ~300-token completions in batches of 64.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seconds", type=float, default=3.0, help="minimum time per measurement")
    args = parser.parse_args()
    torch.set_num_threads(1)

    from rest.formats import parse_completion, placeholder_ground_truth
    from rest.io import read_json, resolve_data_dir
    from rest.models.tiny import train_tokenizer
    from rest.regions import RegionTagger
    from rest.rewards import compute_reward
    from rest.weights import TokenWeighter

    records = read_json(resolve_data_dir(args.data_dir) / "train/toolrl_rlla_4k_raw/rlla_sft.json")
    outputs = [r["output"] for r in records]
    pairs = []
    for out in outputs:
        p = parse_completion(out)
        gt = placeholder_ground_truth([{"name": n, "parameters": a} for n, a in p.calls], p.response)
        pairs += [(out, gt), (out, out)]

    def rate(fn, n_items):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            fn()
            count += n_items
        return count / (time.perf_counter() - start)

    reward_rate = rate(lambda: [compute_reward(c, g, step=40) for c, g in pairs], len(pairs))

    with tempfile.TemporaryDirectory():
        tok = train_tokenizer([r["instruction"] + r["input"] + r["output"] for r in records])
    tagger = RegionTagger(tok)
    ids = [tok(o, add_special_tokens=False)["input_ids"][:300] for o in outputs]
    ids = [x for x in ids if len(x) >= 250][:64] or ids[:64]
    mean_len = sum(map(len, ids)) / len(ids)
    weighter = TokenWeighter("paper")
    width = max(map(len, ids))
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
    entropies = torch.rand(mask.shape)

    def regions_and_weights():
        regions = tagger.batch(ids)
        weighter(regions, mask, entropies, step=5, total_steps=100)

    region_rate = rate(regions_and_weights, len(ids))
    print(f"reward:            {reward_rate:10.0f} completions/s  (target >= 20000)")
    print(f"regions + weights: {region_rate:10.0f} completions/s at {mean_len:.0f} tokens  (target >= 5000)")


if __name__ == "__main__":
    from rest.cli import exit_status

    sys.exit(exit_status(main))
