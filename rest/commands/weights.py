"""Print the ResT token weights a profile gives each token of some completions.

Input: JSON Lines, one object per line: {"completion": str, "step": int}, where the step
is the rollout (veRL's global step, from 1). Output: one line {"weights": [...]} per input
line, in order, with one weight per token of tokenizer(completion, add_special_tokens=False).

  rest weights --tokenizer DIR --profile released cases.jsonl
  rest weights --tokenizer DIR --profile paper --total-rollouts 105 cases.jsonl

``released`` is the released code's rule; ``paper`` is the paper's entropy rule (Eq. 9-18),
whose Eq. 9 table comes from --entropy-table (a JSON object of mean entropies keyed FORMAT,
NAME, PARAMS and THINK) or, without it, from equal entropies. See docs/method.md.
"""

from __future__ import annotations

import json
import math
import sys

from rest.io import InputError, iter_jsonl, read_json, require_keys

PROFILES = ("released", "paper")


def add_arguments(parser) -> None:
    parser.add_argument("file", help="JSONL of {\"completion\": str, \"step\": int} ('-' for stdin)")
    add_profile_arguments(parser)


def add_profile_arguments(parser, default: str = "released") -> None:
    """The options that choose a profile; shared with ``rest regions``."""
    parser.add_argument("--tokenizer", required=True, help="tokenizer (or model) directory or hub name")
    parser.add_argument("--profile", choices=PROFILES, default=default, help="weighting profile (default %(default)s)")
    parser.add_argument("--total-rollouts", type=int, help="rollouts of the whole run (required for paper)")
    parser.add_argument("--entropy-table", help="paper: JSON file of mean entropies keyed FORMAT, NAME, PARAMS, THINK")
    parser.add_argument("--no-cot-gradients", action="store_true", help="THINK weight 0 (ablation)")
    parser.add_argument("--no-curriculum", action="store_true", help="hold the initial weights (ablation)")


def profile_options(args) -> dict:
    """``completion_weights`` keyword arguments from the profile options, checked."""
    if args.profile == "paper" and (args.total_rollouts is None or args.total_rollouts < 1):
        raise InputError("--profile paper needs --total-rollouts N (N >= 1)")
    table = None
    if args.entropy_table:
        table = read_json(args.entropy_table)
        names = ("FORMAT", "NAME", "PARAMS", "THINK")
        if not isinstance(table, dict) or any(
                not isinstance(table.get(k), (int, float)) or isinstance(table.get(k), bool)
                or not math.isfinite(table[k]) or table[k] < 0 for k in names):
            raise InputError(f"{args.entropy_table}: expected an object of non-negative numbers keyed {', '.join(names)}")
    return {"profile": args.profile, "total_rollouts": args.total_rollouts, "entropy_table": table,
            "cot_gradients": not args.no_cot_gradients, "curriculum": not args.no_curriculum}


def run(args) -> int:
    from rest.models.loading import load_tokenizer
    from rest.parsers import scrub
    from rest.weights import completion_weights

    options = profile_options(args)
    texts, steps = [], []
    for where, row in iter_jsonl(args.file):
        require_keys(row, {"completion": str, "step": int}, where)
        if isinstance(row["step"], bool) or row["step"] < 0:
            raise InputError(f"{where}: key 'step' must be a non-negative integer, got {row['step']!r}")
        texts.append(row["completion"])
        steps.append(row["step"])
    tokenizer = load_tokenizer(args.tokenizer, "--tokenizer", chat_template=False)
    # A lone surrogate (a JSON "\\ud83d" escape) cannot be encoded for the tokenizer.
    weights = completion_weights(tokenizer, scrub(texts), steps, **options)
    sys.stdout.write("".join(json.dumps({"weights": w}) + "\n" for w in weights))
    return 0
