"""Throughput of the core on the real records: rule reward and regions + weights.

    python benchmarks/bench_core.py [--data-dir DIR] [--released-code token_weighting.py]

Prints completions/s on one core for (1) the rule reward over every SFT completion
scored against its placeholder ground truth and against itself, and (2) region tagging
plus Eq. 9/16-18 weighting of ~300-token completions in batches of 64.

With ``--released-code PATH`` (a local copy of the released ``recipe/custom/token_weighting.py``
that you fetched yourself; it is imported from there, never copied into this repository),
(3) times each profile's tagging and weights from a padded batch of token ids, the
training path, against the released ``build_token_weight`` on the same completions and
tokenizer, in alternating rounds, and prints each ratio's median and range over rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seconds", type=float, default=3.0, help="minimum time per measurement")
    parser.add_argument("--released-code", help="local copy of the released recipe/custom/token_weighting.py")
    parser.add_argument("--tokenizer", help="tokenizer directory for (3), e.g. a tiny model's (default: trained here)")
    parser.add_argument("--completions", type=int, default=200, help="completions for (3) (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds for (3) (default %(default)s)")
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
    if args.released_code:
        if args.tokenizer:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(args.tokenizer)
        against_released(args, tok, outputs[: args.completions])


def load_released(path: str):
    """The user's copy of the released ``build_token_weight``, imported from where it lies."""
    if not Path(path).is_file():
        raise SystemExit(f"error: --released-code {path}: file not found")
    spec = importlib.util.spec_from_file_location("released_token_weighting", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_token_weight


def against_released(args, tok, texts: list[str]) -> None:
    """(3): both profiles from padded ids vs the released function on text, side by side."""
    from rest.regions import RegionTagger, ReleasedTagger
    from rest.weights import TokenWeighter

    build_token_weight = load_released(args.released_code)
    enc = tok(texts, add_special_tokens=False, padding=True, return_tensors="pt")  # tokenisation excluded
    ids, mask = enc["input_ids"], enc["attention_mask"]
    step = 40
    ours = {
        "released profile": (ReleasedTagger(tok), TokenWeighter("released")),
        "paper profile": (RegionTagger(tok), TokenWeighter("paper")),
    }

    def time_ours(tagger, weighter):
        start = time.perf_counter()
        weighter(tagger.batch(ids, mask), mask, None, step, 100)
        return len(texts) / (time.perf_counter() - start)

    def time_theirs():
        batch = {"loss_mask": mask.float(), "response_text": texts, "step": step}
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # it prints the step on every call
            build_token_weight(batch, tok)
        return len(texts) / (time.perf_counter() - start)

    rates = {name: [] for name in (*ours, "build_token_weight")}
    for _ in range(args.rounds):
        for name, (tagger, weighter) in ours.items():
            rates[name].append(time_ours(tagger, weighter))
        rates["build_token_weight"].append(time_theirs())
    mean_len = float(mask.sum(1).float().mean())
    print(f"\nagainst the released build_token_weight: {len(texts)} completions of {mean_len:.0f} tokens, "
          f"{args.rounds} rounds (completions/s: median [min, max])")
    theirs = rates["build_token_weight"]
    for name, r in rates.items():
        print(f"  {name:<20} {statistics.median(r):10.0f} [{min(r):.0f}, {max(r):.0f}]")
    for name in ours:
        ratio = [a / b for a, b in zip(rates[name], theirs)]
        print(f"  {name} / build_token_weight: median {statistics.median(ratio):.1f}x "
              f"[{min(ratio):.1f}x, {max(ratio):.1f}x]  (target >= 20x)")


if __name__ == "__main__":
    from rest.cli import exit_status

    sys.exit(exit_status(main))
