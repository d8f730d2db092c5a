"""A BFCL evaluation end to end: generate, score, write; and scoring a predictions file.

The command layer turns options into these typed calls; everything BFCL-specific about a
run (which categories, the per-entry rows, the ``scores.json`` fields) lives here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from rest.eval import bfcl, generation
from rest.eval.generation import GenerationConfig
from rest.eval.journal import fingerprint, open_journal, prepare_output
from rest.identity import RunIdentity
from rest.io import InputError, atomic_write_json, atomic_write_jsonl, iter_jsonl, require_keys
from rest.parsers import scrub
from rest.scores import run_versions, scores_record

log = logging.getLogger("rest.eval")


def read_predictions(path: Path) -> list[dict]:
    """Validated single-turn ``{"id", "completion"}`` rows; errors name ``file:line``."""
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


def score_predictions(path: Path) -> dict[str, float]:
    """Per-category accuracy (%) of single-turn raw completions; unknown ids are an error."""
    rows = read_predictions(path)
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


def evaluate(
    model: str,
    output: Path,
    categories: Sequence[str],
    *,
    backend: str = "hf",
    config: GenerationConfig | None = None,
    limit_per_category: int | None = None,
    max_steps_per_turn: int | None = None,
    run: RunIdentity | None = None,
) -> dict:
    """Generate and score every entry of ``categories``; write ``results.jsonl`` and ``scores.json``.

    Completions are kept in the output's generation journal as they are made, so a rerun
    after a crash continues (``rest.eval.journal``). Returns the scores.
    """
    from rest.eval import bfcl_multiturn as mt

    output = prepare_output(output)
    categories = bfcl.expand_categories(categories)
    config = config or GenerationConfig()
    cases = {c: bfcl.load_cases(c, limit_per_category) for c in categories}
    max_steps = max_steps_per_turn or mt.DEFAULT_MAX_STEPS_PER_TURN
    current = fingerprint(model, backend, config, bfcl.versions())
    multi = [case for c in categories if c in bfcl.MULTI_TURN for case in cases[c]]
    if multi:
        from rest.eval.bfcl_worker import shared_worker

        shared_worker().start()  # its import of bfcl-eval overlaps loading the model
    generator = open_journal(generation.load_generator(backend, model, config), output, current)
    results: list[dict] = []

    single = [case for c in categories if c in bfcl.SINGLE_TURN for case in cases[c]]
    if single:
        completions = generator.generate([bfcl.single_turn_conversation(x) for x in single], desc="BFCL single-turn")
        for case, text in zip(single, completions):
            verdict = bfcl.score_single_turn(case, text)
            results.append({"id": case.id, "category": case.category, "valid": verdict["valid"],
                            "error": verdict["error"], "completion": text, "decoded": verdict["decoded"]})

    rejected = timed_out = 0
    if multi:
        for episode in mt.play(multi, generator, max_steps):
            verdict = mt.score_multi_turn(episode.case, episode.calls)
            rejected += episode.rejected
            timed_out += episode.timed_out
            results.append({"id": episode.case.id, "category": episode.case.category, "valid": verdict["valid"],
                            "error": verdict["error"], "error_type": verdict["error_type"],
                            "completions": episode.outputs, "executed_calls": episode.calls,
                            "rejected_calls": episode.rejected, "timed_out_calls": episode.timed_out,
                            "force_quit": episode.force_quit})

    counts = bfcl.tally(results)
    atomic_write_jsonl(output / "results.jsonl", scrub(results))
    scores = scores_record(
        "bfcl", run, versions=run_versions(bfcl.DATA_VERSION), generation=generator.generation_info(backend),
        config={"model": str(model), "categories": categories, "limit_per_category": limit_per_category,
                "max_steps_per_turn": max_steps, "checker_model_name": bfcl.CHECKER_MODEL_NAME},
        items=[{"id": r["id"], "group": r["category"], "correct": r["valid"]} for r in results],
        metrics=bfcl.paper_columns(counts), categories=bfcl.category_percentages(counts), counts=counts,
        rejected_calls=rejected, timed_out_calls=timed_out)
    atomic_write_json(output / "scores.json", scores)
    log.info("BFCL: %s", json.dumps(scores["metrics"] or scores["categories"]))
    return scores
