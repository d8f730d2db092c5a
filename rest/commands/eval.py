"""Evaluate a model on API-Bank or BFCL, or score existing predictions.

  rest eval apibank --model PATH --output DIR [--limit N] [--backend hf|vllm]
  rest eval apibank --predictions FILE.jsonl
  rest eval bfcl --model PATH --output DIR [--categories ...] [--limit-per-category N]
  rest eval bfcl --predictions FILE.jsonl
  rest eval bfcl --show-prompts [--categories ...]   # prompts only: no model, nothing generated
  rest eval testbed --model PATH --data test.jsonl --output DIR [--curve-data val.jsonl] [--run DIR]

With --model, the output folder gets the per-entry file (API-Bank: predictions.jsonl; BFCL:
results.jsonl) and scores.json (docs/scores.md), written last; --run-id records which run it
scores. Completions are appended to generations.jsonl as they are made; a rerun with the same
model, prompts and settings continues from them. With --predictions, one JSON object of
percentages goes to stdout and everything else to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rest.io import InputError, resolve_data_dir


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return n


def _common(p: argparse.ArgumentParser, max_new_tokens: int, context_tokens: int | None = None,
            reserve_tokens: int = 0):
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="model folder or hub name to evaluate")
    src.add_argument("--predictions", type=Path, help="score this JSONL file instead of generating")
    p.add_argument("--output", type=Path, help="output folder (required with --model)")
    p.add_argument("--backend", choices=("hf", "vllm"), default="hf")
    p.add_argument("--batch-size", type=_positive, default=8)
    p.add_argument("--max-new-tokens", type=_positive, default=max_new_tokens,
                   help="cap on new tokens; each prompt gets min(cap, context - prompt - "
                        f"{reserve_tokens}) (default: %(default)s)")
    p.add_argument("--context-tokens", type=_positive, default=context_tokens,
                   help="prompt + completion stay within this many tokens and the model's context "
                        f"(default: {context_tokens or 'the model context alone'})")
    p.set_defaults(reserve_tokens=reserve_tokens)
    p.add_argument("--max-prompt-tokens", type=_positive, default=None,
                   help="cut longer prompts from the left (default: the context minus one new token)")
    p.add_argument("--run-id", metavar="study=S,model=M,method=X[,seed=N]",
                   help="the run these scores belong to, recorded in scores.json (the report needs it)")
    return src


def add_arguments(parser) -> None:
    from rest.eval import apibank, bfcl

    sub = parser.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    a = sub.add_parser("apibank", help="API-Bank levels 1-3 (ToolRL protocol)")
    _common(a, apibank.MAX_NEW_TOKENS, context_tokens=apibank.CONTEXT_TOKENS)
    a.add_argument("--data-dir", help="folder holding apibank/ (default: $REST_DATA_DIR)")
    a.add_argument("--limit", type=_positive, default=None, help="first N items of each level")

    b = sub.add_parser("bfcl", help="BFCL v4 with the official bfcl-eval checker")
    _common(b, bfcl.MAX_NEW_TOKENS, reserve_tokens=bfcl.RESERVE_TOKENS).add_argument(
        "--show-prompts", action="store_true",
        help='print one JSON line {"id", "system", "user"} per entry: the first-turn messages '
             "before the chat template; loads no model")
    b.add_argument("--categories", nargs="+", default=["all"],
                   help="categories or groups (all, single_turn, multi_turn, non_live, live, ast, relevance)")
    b.add_argument("--limit-per-category", type=_positive, default=None, help="first N entries of each category")
    b.add_argument("--max-steps-per-turn", type=_positive, default=None,
                   help="multi-turn: an entry is force-quit (and fails) once a user turn has more than "
                        "this many steps with calls (default: bfcl-eval's 20)")


    t = sub.add_parser("testbed", help="the tool-call testbed's held-out tasks: format %%, exact-call %%, "
                                       "reward with static ranges")
    t.add_argument("--model", required=True, help="model folder to score on --data")
    t.add_argument("--data", required=True, type=Path, help="held-out testbed records (test.jsonl)")
    t.add_argument("--output", required=True, type=Path, help="folder for predictions.jsonl and scores.json")
    t.add_argument("--curve-data", type=Path, help="validation records scored at every point of the curve")
    t.add_argument("--run", type=Path, help="training run folder: its kept checkpoints make the curve; "
                                            "without it, --model is the curve's rollout-0 point")
    t.add_argument("--batch-size", type=_positive, default=64)
    t.add_argument("--max-new-tokens", type=_positive, default=64)
    t.add_argument("--run-id", metavar="study=S,model=M,method=X,seed=N",
                   help="the run these scores belong to, recorded in scores.json (the report needs it)")


def run(args) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    if args.benchmark == "testbed":
        from rest.testbed.evaluate import run_eval

        return run_eval(args)
    if args.model is not None and args.output is None:
        raise InputError("--output is required with --model")
    if args.benchmark == "apibank":
        return _apibank(args)
    return _bfcl(args)


def _config(args):
    from rest.eval.generation import GenerationConfig

    return GenerationConfig(max_new_tokens=args.max_new_tokens, context_tokens=args.context_tokens,
                            reserve_tokens=args.reserve_tokens, batch_size=args.batch_size,
                            max_prompt_tokens=args.max_prompt_tokens)


def _run_id(args):
    from rest.identity import RunIdentity

    return RunIdentity.parse(args.run_id) if args.run_id else None


# --------------------------------------------------------------------------- API-Bank


def _apibank(args) -> int:
    from rest.eval import apibank

    data_dir = resolve_data_dir(args.data_dir)
    if args.predictions is not None:
        levels = apibank.load_levels(data_dir)
        rows = apibank.read_predictions(args.predictions, levels)
        scores, _ = apibank.score_predictions(rows, levels)
        print(json.dumps(scores.short()))
        return 0
    from rest.eval import apibank_run

    apibank_run.evaluate(args.model, args.output, data_dir, backend=args.backend, config=_config(args), limit=args.limit,
                     run=_run_id(args))
    return 0


# --------------------------------------------------------------------------- BFCL


def _bfcl(args) -> int:
    from rest.eval import bfcl_run

    if args.predictions is not None:
        print(json.dumps(bfcl_run.score_predictions(args.predictions)))
        return 0
    if args.show_prompts:
        from rest.eval.bfcl_prompts import show_prompts

        show_prompts(args.categories, args.limit_per_category)
        return 0
    bfcl_run.evaluate(args.model, args.output, args.categories, backend=args.backend, config=_config(args),
                      limit_per_category=args.limit_per_category, max_steps_per_turn=args.max_steps_per_turn,
                      run=_run_id(args))
    return 0
