"""Gather the run's results by the identities their files record (docs/scores.md).

Each ``scores.json`` names its run (study, model, method, seed) and benchmark; each run's
``summary.json`` names its run and its files, among them ``metrics.jsonl`` (one training
log, whose header names the run again). Where a file lies says nothing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rest.identity import RunIdentity
from rest.io import InputError, read_json, read_jsonl
from rest.scores import read_scores

SCORE_COLUMNS = ["study", "model", "method", "seed", "benchmark", "metric", "value", "path"]
ITEM_COLUMNS = ["study", "model", "method", "seed", "benchmark", "item", "correct"]


def load_scores(paths: list[str | Path]) -> pd.DataFrame:
    """One row per (study, model, method, seed, benchmark, metric) with the value in percent."""
    rows = []
    for path in paths:
        run, record = read_scores(path)
        for metric, value in record["metrics"].items():
            rows.append((run.study, run.model, run.method, run.seed, record["benchmark"], metric,
                         float(value), str(path)))
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def load_items(paths: list[str | Path]) -> pd.DataFrame:
    """One row per scored item (its stable id), so two runs' results pair item by item."""
    rows = []
    for path in paths:
        run, record = read_scores(path)
        rows += [(run.study, run.model, run.method, run.seed, record["benchmark"], item["id"],
                  bool(item["correct"])) for item in record["items"]]
    return pd.DataFrame(rows, columns=ITEM_COLUMNS)


def read_training_log(path: str | Path) -> tuple[RunIdentity, list[dict]]:
    """A ``metrics.jsonl``: the identity of its header line and its step rows."""
    lines = [r for r in read_jsonl(path) if isinstance(r, dict)]
    if not lines or "step" in lines[0]:
        raise InputError(f"{path}:1: expected the header line {{\"run\": ..., \"config\": ...}}")
    return RunIdentity.from_record(lines[0].get("run"), f"{path}:1"), [r for r in lines[1:] if "step" in r]


def load_runs(summaries: list[str | Path]) -> pd.DataFrame:
    """Training logs of the runs whose ``summary.json`` files are given, as one frame: the
    log's own columns plus study, model, method and seed."""
    frames = []
    for path in summaries:
        summary = read_json(path)
        if not isinstance(summary, dict) or not isinstance(summary.get("files"), dict) \
                or "metrics" not in summary["files"]:
            raise InputError(f"{path}: missing key 'files.metrics' (written by `rest train`)")
        run = RunIdentity.from_record(summary.get("run"), str(path))
        log = Path(path).parent / summary["files"]["metrics"]
        logged, rows = read_training_log(log)
        if logged != run:
            raise InputError(f"{log}: its header names run {logged.as_arg()}, its summary {run.as_arg()}")
        if not rows:
            continue
        # Nested per-region logs become columns such as ``region_weights/THINK``.
        df = pd.json_normalize(rows, sep="/")
        df["study"], df["model"], df["method"], df["seed"] = run.study, run.model, run.method, run.seed
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
