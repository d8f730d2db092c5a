"""Show each token of a completion with its region and ResT weight.

In a terminal the tokens are coloured by region, each followed by its weight in dim
brackets, the quickest way to see what ResT up-weights; otherwise one tab-separated line per
token (index, token, region, weight).

  rest regions --tokenizer DIR "<think> ... </think> <tool_call> ..."
  rest regions --tokenizer DIR --jsonl completions.jsonl    # {"completion": str} per line

With --weighting paper and no model entropies at hand, the initial weights are equal
(Eq. 9 with equal entropies) and the curriculum moves them with --step/--total-steps.
"""

from __future__ import annotations

import sys

from rest.io import read_jsonl, require_keys

COLOURS = {"FORMAT": "\033[45m", "NAME": "\033[41m", "PARAMS": "\033[43m", "THINK": "\033[46m", "OTHER": ""}
RESET = "\033[0m"
DIM = "\033[2m"


def add_arguments(parser) -> None:
    parser.add_argument("texts", nargs="*", help="completion strings")
    parser.add_argument("--tokenizer", required=True, help="tokenizer (or model) directory or hub name")
    parser.add_argument("--jsonl", help="JSONL file with a 'completion' field per line")
    parser.add_argument("--weighting", choices=["uniform", "released", "paper"], default="paper")
    parser.add_argument("--step", type=int, default=0, help="global step (released ramp, curriculum)")
    parser.add_argument("--total-steps", type=int, default=100, help="total steps (curriculum progress)")
    parser.add_argument("--no-cot-gradients", action="store_true", help="THINK weight 0 (ablation)")
    parser.add_argument("--color", choices=["auto", "always", "never"], default="auto")


def run(args) -> int:
    import torch
    from transformers import AutoTokenizer

    from rest.regions import REGION_NAMES, RegionTagger
    from rest.weights import TokenWeighter

    texts = list(args.texts)
    if args.jsonl:
        for i, row in enumerate(read_jsonl(args.jsonl), 1):
            require_keys(row, {"completion": str}, f"{args.jsonl}: record {i}")
            texts.append(row["completion"])
    if not texts:
        print("error: give completion TEXT arguments or --jsonl FILE", file=sys.stderr)
        return 2
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    tagger = RegionTagger(tokenizer)
    weighter = TokenWeighter(args.weighting, cot_gradients=not args.no_cot_gradients)
    colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    for n, text in enumerate(texts):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        regions = torch.as_tensor(tagger(ids)).unsqueeze(0)
        weights = weighter(regions, torch.ones_like(regions), None, args.step, args.total_steps)[0]
        if n:
            print()
        if colour:
            pieces = [f"{COLOURS[REGION_NAMES[r]]}{tokenizer.decode([i])}{RESET}{DIM}[{w:.2f}]{RESET}"
                      for i, r, w in zip(ids, regions[0].tolist(), weights.tolist())]
            print("".join(pieces))
            print("  ".join(f"{COLOURS[name]}{name}{RESET}" for name in REGION_NAMES))
        else:
            for k, (i, r, w) in enumerate(zip(ids, regions[0].tolist(), weights.tolist())):
                print(f"{k}\t{tokenizer.decode([i])!r}\t{REGION_NAMES[r]}\t{w:.4f}")
    return 0
