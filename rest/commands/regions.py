"""Show each token of a completion with its region and ResT weight.

In a terminal the tokens are coloured by region, each followed by its weight in dim
brackets, the quickest way to see what ResT up-weights; otherwise one tab-separated line per
token (index, token, region, weight).

  rest regions --tokenizer DIR "<think> ... </think> <tool_call> ..."
  rest regions --tokenizer DIR --jsonl completions.jsonl    # {"completion": str} per line
  rest regions --tokenizer DIR --profile paper --total-rollouts 105 --step 50 "..."

The weights are those of ``rest weights`` (same options) at rollout --step. Under the
``released`` profile a token covered by several released spans shows the one that
weighs most (NAME > PARAMS > FORMAT > THINK).
"""

from __future__ import annotations

import sys

from rest.commands.weights import add_profile_arguments, profile_options
from rest.io import InputError, iter_jsonl, require_keys

COLOURS = {"FORMAT": "\033[45m", "NAME": "\033[41m", "PARAMS": "\033[43m", "THINK": "\033[46m", "OTHER": ""}
RESET = "\033[0m"
DIM = "\033[2m"


def add_arguments(parser) -> None:
    parser.add_argument("texts", nargs="*", help="completion strings")
    parser.add_argument("--jsonl", help="JSONL file with a 'completion' field per line")
    add_profile_arguments(parser)
    parser.add_argument("--step", type=int, default=1, help="rollout (released ramp, paper curriculum); default 1")
    parser.add_argument("--color", choices=["auto", "always", "never"], default="auto")


def run(args) -> int:
    import torch

    from rest.models.loading import load_tokenizer
    from rest.parsers import scrub
    from rest.regions import REGION_NAMES, RegionTagger, ReleasedTagger, dominant_region
    from rest.weights import completion_weights

    options = profile_options(args)
    if args.step < 0:
        raise InputError(f"--step must be >= 0, got {args.step}")
    texts = list(args.texts)
    if args.jsonl:
        for where, row in iter_jsonl(args.jsonl):
            require_keys(row, {"completion": str}, where)
            texts.append(row["completion"])
    if not texts:
        raise InputError("give completion TEXT arguments or --jsonl FILE")
    # A lone surrogate (e.g. a JSON "\\ud83d" escape) cannot be encoded for the tokenizer.
    texts = scrub(texts)
    tokenizer = load_tokenizer(args.tokenizer, "--tokenizer", chat_template=False)
    tagger = (ReleasedTagger if args.profile == "released" else RegionTagger)(tokenizer)
    weights = completion_weights(tokenizer, texts, [args.step] * len(texts), **options)
    colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    for n, (text, w) in enumerate(zip(texts, weights)):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        regions = torch.as_tensor(tagger(ids))
        if args.profile == "released":
            regions = dominant_region(regions)
        if n:
            print()
        if colour:
            pieces = [f"{COLOURS[REGION_NAMES[r]]}{tokenizer.decode([i])}{RESET}{DIM}[{wk:.2f}]{RESET}"
                      for i, r, wk in zip(ids, regions.tolist(), w)]
            print("".join(pieces))
            print("  ".join(f"{COLOURS[name]}{name}{RESET}" for name in REGION_NAMES))
        else:
            for k, (i, r, wk) in enumerate(zip(ids, regions.tolist(), w)):
                print(f"{k}\t{tokenizer.decode([i])!r}\t{REGION_NAMES[r]}\t{wk:.4f}")
    return 0
