"""Gather the run's results by the identities their files record (docs/scores.md).

Each ``scores.json`` names its run (study, model, method, seed) and benchmark; each run's
``summary.json`` names its run and its files, among them ``metrics.jsonl`` (one training
log, whose header names the run again). Where a file lies says nothing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rest.identity import RunIdentity
from rest.io import InputError, check_input_file, iter_jsonl, read_json
from rest.scores import read_scores

SCORE_COLUMNS = ["study", "model", "method", "seed", "benchmark", "metric", "value", "path"]
ITEM_COLUMNS = ["study", "model", "method", "seed", "benchmark", "item", "correct"]


def load_scores(paths: list[str | Path]) -> pd.DataFrame:
    """One row per (study, model, method, seed, benchmark, metric) with the value in percent."""
    rows = []
    for path in paths:
        check_input_file(path, "scores file")  # a missing file is not a layout problem
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
    check_input_file(path, "metrics file")
    lines = list(iter_jsonl(path))
    if not lines or not isinstance(lines[0][1], dict) or "step" in lines[0][1]:
        raise InputError(f"{path}:1: expected the header line {{\"run\": ..., \"config\": ...}}")
    rows = []
    for where, row in lines[1:]:
        step = row.get("step") if isinstance(row, dict) else None
        if isinstance(step, bool) or not isinstance(step, int):
            raise InputError(f"{where}: each row needs an integer 'step', got {step!r}")
        rows.append(row)
    return RunIdentity.from_record(lines[0][1].get("run"), f"{path}:1"), rows


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
