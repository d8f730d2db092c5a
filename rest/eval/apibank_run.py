"""An API-Bank evaluation end to end: generate, score, write.

The command layer turns options into this typed call; scoring itself is ``rest.eval.apibank``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from rest.eval import apibank, generation
from rest.eval.journal import fingerprint, open_journal, prepare_output
from rest.identity import RunIdentity
from rest.io import atomic_write_json, atomic_write_jsonl
from rest.parsers import scrub
from rest.scores import data_sha256, run_versions, scores_record

log = logging.getLogger("rest.eval")


def evaluate(model: str, output: Path, data_dir: Path, *, backend: str = "hf", config=None,
             limit: int | None = None, run: RunIdentity | None = None) -> dict:
    """Generate and score the levels' items; write ``predictions.jsonl`` and ``scores.json``.

    Completions are kept in the output's generation journal as they are made, so a rerun
    after a crash continues (``rest.eval.journal``). Returns the scores.
    """
    output = prepare_output(output)
    levels = apibank.load_levels(data_dir)
    items = apibank.select_items(levels, limit)
    config = config or generation.GenerationConfig()
    generator = open_journal(generation.load_generator(backend, model, config), output,
                             fingerprint(model, backend, config))
    completions = generator.generate([apibank.conversation(item) for _, _, item in items], desc="API-Bank")
    predictions = [{"level": lv, "index": i, "completion": text} for (lv, i, _), text in zip(items, completions)]
    scores, rows = apibank.score_predictions(predictions, levels)
    for p, r in zip(predictions, rows):
        p["correct"] = r["correct"]
    atomic_write_jsonl(output / "predictions.jsonl", scrub(predictions))
    files = {f"level-{lv}": apibank.level_path(data_dir, lv) for lv in apibank.LEVELS}
    result = scores_record(
        "apibank", run, versions=run_versions(data_sha256(files)), generation=generator.generation_info(backend),
        config={"model": str(model), "limit": limit},
        items=[{"id": f"level-{r['level']}/{r['index']}", "correct": r["correct"], "group": f"level_{r['level']}"}
               for r in rows],
        metrics=scores.metrics(), counts=scores.counts())
    if limit is not None:
        # Accuracies stay over the full level files, so a limited run is a lower bound.
        result["note"] = "limited run: items not generated count as wrong"
    atomic_write_json(output / "scores.json", result)
    log.info("API-Bank: %s", json.dumps(scores.short()))
    return result
