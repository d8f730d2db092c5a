"""Evaluate a model on API-Bank or BFCL, or score existing predictions.

  rest eval apibank --model PATH --output DIR [--limit N] [--backend hf|vllm]
  rest eval apibank --predictions FILE.jsonl
  rest eval bfcl --model PATH --output DIR [--categories ...] [--limit-per-category N]
  rest eval bfcl --predictions FILE.jsonl

With --model, the output folder gets the per-entry file (API-Bank: predictions.jsonl; BFCL:
results.jsonl) and scores.json (docs/scores.md), written last; --run-id records which run it
scores. With --predictions, one JSON object of percentages goes to stdout and everything else
to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from rest.identity import RunIdentity
from rest.io import (
    InputError,
    atomic_write_json,
    atomic_write_jsonl,
    iter_jsonl,
    require_keys,
    resolve_data_dir,
)
from rest.scores import data_sha256, run_versions, scores_record

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
    p.add_argument("--run-id", metavar="study=S,model=M,method=X[,seed=N]",
                   help="the run these scores belong to, recorded in scores.json (the report needs it)")


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


def _run_id(args):
    return RunIdentity.parse(args.run_id) if args.run_id else None


def _generation(args, generator, seconds: float) -> dict:
    """The generation settings of scores.json (docs/scores.md)."""
    return {"backend": args.backend, "decoding": "greedy", "max_new_tokens": args.max_new_tokens,
            "max_prompt_tokens": args.max_prompt_tokens, "batch_size": args.batch_size,
            "truncated_prompts": generator.truncated_prompts, "seconds": round(seconds, 1)}


# --------------------------------------------------------------------------- API-Bank


def _apibank(args) -> int:
    from rest.eval import apibank

    data_dir = resolve_data_dir(args.data_dir)
    levels = apibank.load_levels(data_dir)
    if args.predictions is not None:
        rows = apibank.read_predictions(args.predictions, levels)
        scores, _ = apibank.score_predictions(rows, levels)
        print(json.dumps(scores.short()))
        return 0

    run_id = _run_id(args)
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
    files = {f"level-{lv}": apibank.level_path(data_dir, lv) for lv in apibank.LEVELS}
    result = scores_record(
        "apibank", run_id, versions=run_versions(data_sha256(files)),
        generation=_generation(args, generator, seconds),
        config={"model": str(args.model), "limit": args.limit},
        items=[{"id": f"level-{r['level']}/{r['index']}", "correct": r["correct"]} for r in rows],
        metrics=scores.metrics(), counts=scores.counts())
    if args.limit is not None:
        # Accuracies stay over the full level files, so a limited run is a lower bound.
        result["note"] = "limited run: items not generated count as wrong"
    atomic_write_json(args.output / "scores.json", result)
    log.info("API-Bank: %s", json.dumps(scores.short()))
    return 0


# --------------------------------------------------------------------------- BFCL


def _read_bfcl_predictions(path: Path) -> list[dict]:
    from rest.eval import bfcl

    rows, seen = [], {}
    for where, row in iter_jsonl(path):
        require_keys(row, {"id": str, "completion": str}, where)
        category = bfcl.category_of(row["id"])
        if category in bfcl.MULTI_TURN:
            raise InputError(f"{where}: {row['id']} is multi-turn; --predictions scores single-turn "
                             "completions only (multi-turn needs the model in the loop)")
        if category not in bfcl.SINGLE_TURN:
            raise InputError(f"{where}: id {row['id']!r} names no BFCL category we score")
        if row["id"] in seen:
            raise InputError(f"{where}: duplicate id {row['id']} (first at {seen[row['id']]})")
        seen[row["id"]] = where
        rows.append(row)
    return rows


def score_bfcl_predictions(path: Path) -> dict[str, float]:
    """Per-category accuracy (%) of single-turn raw completions; unknown ids are an error."""
    from rest.eval import bfcl

    rows = _read_bfcl_predictions(path)
    by_category: dict[str, dict] = {}
    for r in rows:
        by_category.setdefault(bfcl.category_of(r["id"]), {})[r["id"]] = r["completion"]
    results = []
    for category in bfcl.expand_categories(by_category):
        cases = {c.id: c for c in bfcl.load_cases(category)}
        for entry_id, completion in by_category[category].items():
            if entry_id not in cases:
                raise InputError(f"{path}: id {entry_id!r} is not an entry of {category} "
                                 f"(bfcl-eval data {bfcl.DATA_VERSION})")
            verdict = bfcl.score_single_turn(cases[entry_id], completion)
            results.append({"category": category, "valid": verdict["valid"]})
    return bfcl.category_percentages(bfcl.tally(results))


def _bfcl(args) -> int:
    from rest.eval import bfcl

    if args.predictions is not None:
        print(json.dumps(score_bfcl_predictions(args.predictions)))
        return 0

    from rest.eval import bfcl_multiturn as mt

    run_id = _run_id(args)
    categories = bfcl.expand_categories(args.categories)
    cases = {c: bfcl.load_cases(c, args.limit_per_category) for c in categories}
    generator = _generator(args)
    start = time.time()
    results: list[dict] = []

    single = [case for c in categories if c in bfcl.SINGLE_TURN for case in cases[c]]
    if single:
        completions = generator.generate([bfcl.single_turn_conversation(x) for x in single], desc="BFCL single-turn")
        for case, text in zip(single, completions):
            verdict = bfcl.score_single_turn(case, text)
            results.append({"id": case.id, "category": case.category, "valid": verdict["valid"],
                            "error": verdict["error"], "completion": text, "decoded": verdict["decoded"]})

    multi = [case for c in categories if c in bfcl.MULTI_TURN for case in cases[c]]
    max_steps = args.max_steps_per_turn or mt.DEFAULT_MAX_STEPS_PER_TURN
    rejected = 0
    if multi:
        for episode in mt.play(multi, generator, max_steps):
            verdict = mt.score_multi_turn(episode.case, episode.calls)
            rejected += episode.rejected
            results.append({"id": episode.case.id, "category": episode.case.category, "valid": verdict["valid"],
                            "error": verdict["error"], "error_type": verdict["error_type"],
                            "completions": episode.outputs, "executed_calls": episode.calls,
                            "rejected_calls": episode.rejected, "force_quit": episode.force_quit})
    seconds = time.time() - start

    counts = bfcl.tally(results)
    atomic_write_jsonl(args.output / "results.jsonl", results)
    scores = scores_record(
        "bfcl", run_id, versions=run_versions(bfcl.DATA_VERSION),
        generation=_generation(args, generator, seconds),
        config={"model": str(args.model), "categories": categories,
                "limit_per_category": args.limit_per_category, "max_steps_per_turn": max_steps,
                "checker_model_name": bfcl.CHECKER_MODEL_NAME},
        items=[{"id": r["id"], "category": r["category"], "correct": r["valid"]} for r in results],
        metrics=bfcl.paper_columns(counts), categories=bfcl.category_percentages(counts), counts=counts,
        rejected_calls=rejected)
    atomic_write_json(args.output / "scores.json", scores)
    log.info("BFCL: %s", json.dumps(scores["metrics"] or scores["categories"]))
    return 0
