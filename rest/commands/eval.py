"""Evaluate a model on API-Bank or BFCL, or score existing predictions.

  rest eval apibank --model PATH --output DIR [--limit N] [--backend hf|vllm]
  rest eval apibank --predictions FILE.jsonl
  rest eval bfcl --model PATH --output DIR [--categories ...] [--limit-per-category N]
  rest eval bfcl --predictions FILE.jsonl

With --model, the output folder gets the per-entry file (API-Bank: predictions.jsonl; BFCL:
results.jsonl) and scores.json, written last. Completions are appended to generations.jsonl
as they are made; a rerun with the same model, prompts and settings continues from them.
With --predictions, one JSON object of percentages goes to stdout and everything else to
stderr.
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


def _common(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="model folder or hub name to evaluate")
    src.add_argument("--predictions", type=Path, help="score this JSONL file instead of generating")
    p.add_argument("--output", type=Path, help="output folder (required with --model)")
    p.add_argument("--backend", choices=("hf", "vllm"), default="hf")
    p.add_argument("--batch-size", type=_positive, default=8)
    p.add_argument("--max-new-tokens", type=_positive, default=1024)
    p.add_argument("--max-prompt-tokens", type=_positive, default=None,
                   help="cut longer prompts from the left (default: the model's context minus new tokens)")


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    a = sub.add_parser("apibank", help="API-Bank levels 1-3 (ToolRL protocol)")
    _common(a)
    a.add_argument("--data-dir", help="folder holding apibank/ (default: $REST_DATA_DIR)")
    a.add_argument("--limit", type=_positive, default=None, help="first N items of each level")

    b = sub.add_parser("bfcl", help="BFCL v4 with the official bfcl-eval checker")
    _common(b)
    b.add_argument("--categories", nargs="+", default=["all"],
                   help="categories or groups (all, single_turn, multi_turn, non_live, live, ast, relevance)")
    b.add_argument("--limit-per-category", type=_positive, default=None, help="first N entries of each category")
    b.add_argument("--max-steps-per-turn", type=_positive, default=None,
                   help="multi-turn: an entry is force-quit (and fails) once a user turn has more than "
                        "this many steps with calls (default: bfcl-eval's 20)")


def run(args) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    if args.model is not None and args.output is None:
        raise InputError("--output is required with --model")
    if args.benchmark == "apibank":
        return _apibank(args)
    return _bfcl(args)


def _config(args):
    from rest.eval.generation import GenerationConfig

    return GenerationConfig(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                            max_prompt_tokens=args.max_prompt_tokens)


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
    apibank.evaluate(args.model, args.output, data_dir, backend=args.backend, config=_config(args), limit=args.limit)
    return 0


# --------------------------------------------------------------------------- BFCL


def _bfcl(args) -> int:
    from rest.eval import bfcl_run

    if args.predictions is not None:
        print(json.dumps(bfcl_run.score_predictions(args.predictions)))
        return 0
    bfcl_run.evaluate(args.model, args.output, args.categories, backend=args.backend, config=_config(args),
                      limit_per_category=args.limit_per_category, max_steps_per_turn=args.max_steps_per_turn)
    return 0
