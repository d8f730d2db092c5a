"""Evaluate a model on API-Bank or BFCL, or score existing predictions.

  rest eval apibank --model PATH --output DIR [--limit N] [--backend hf|vllm]
  rest eval apibank --predictions FILE.jsonl
  rest eval bfcl --model PATH --output DIR [--categories ...] [--limit-per-category N]
  rest eval bfcl --predictions FILE.jsonl

With --model, the output folder gets the per-entry file (API-Bank: predictions.jsonl; BFCL:
results.jsonl) and scores.json, written last. With --predictions, one JSON object of
percentages goes to stdout and everything else to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from rest.io import InputError, atomic_write_json, atomic_write_jsonl, resolve_data_dir

log = logging.getLogger("rest.eval")


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


def _generator(args):
    from rest.eval.generation import GenerationConfig, load_generator

    config = GenerationConfig(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                              max_prompt_tokens=args.max_prompt_tokens)
    return load_generator(args.backend, args.model, config)


def _run_info(args) -> dict:
    return {"model": str(args.model), "backend": args.backend, "max_new_tokens": args.max_new_tokens}


# --------------------------------------------------------------------------- API-Bank


def _apibank(args) -> int:
    from rest.eval import apibank

    levels = apibank.load_levels(resolve_data_dir(args.data_dir))
    if args.predictions is not None:
        rows = apibank.read_predictions(args.predictions, levels)
        scores, _ = apibank.score_predictions(rows, levels)
        print(json.dumps(scores.short()))
        return 0

    items = apibank.select_items(levels, args.limit)
    generator = _generator(args)
    start = time.time()
    completions = generator.generate([apibank.conversation(item) for _, _, item in items], desc="API-Bank")
    seconds = time.time() - start
    predictions = [{"level": lv, "index": i, "completion": text} for (lv, i, _), text in zip(items, completions)]
    scores, rows = apibank.score_predictions(predictions, levels)
    for p, r in zip(predictions, rows):
        p["correct"] = r["correct"]
    atomic_write_jsonl(args.output / "predictions.jsonl", predictions)
    result = {"benchmark": "apibank", "metrics": scores.metrics(), "counts": scores.counts(),
              "limit": args.limit, **_run_info(args), "truncated_prompts": generator.truncated_prompts,
              "generation_seconds": round(seconds, 1)}
    if args.limit is not None:
        # Accuracies stay over the full level files, so a limited run is a lower bound.
        result["note"] = "limited run: items not generated count as wrong"
    atomic_write_json(args.output / "scores.json", result)
    log.info("API-Bank: %s", json.dumps(scores.short()))
    return 0


# --------------------------------------------------------------------------- BFCL


def _bfcl(args) -> int:
    from rest.eval import bfcl_run

    if args.predictions is not None:
        print(json.dumps(bfcl_run.score_predictions(args.predictions)))
        return 0
    generator = _generator(args)
    bfcl_run.evaluate(generator, args.output, args.categories, limit_per_category=args.limit_per_category,
                      max_steps_per_turn=args.max_steps_per_turn, run_info=_run_info(args))
    return 0
