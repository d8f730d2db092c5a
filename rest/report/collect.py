"""Gather the run's results from their place in the results layout.

``eval/{model}/{method}/seed{N}/{benchmark}/scores.json`` holds one evaluation of a
trained model; ``eval/{model}/base/{benchmark}/scores.json`` the untrained one (greedy
decoding makes it seed-free). ``runs/{model}/{method}/seed{N}/metrics.jsonl`` holds one
training log.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from rest.io import InputError, check_input_file, iter_jsonl, read_json

BASE_METHOD = "base"
_SEED = re.compile(r"^seed(\d+)$")

SCORE_COLUMNS = ["model", "method", "seed", "benchmark", "metric", "value", "path"]


def parse_eval_path(path: str | Path) -> tuple[str, str, int | None, str]:
    """(model, method, seed, benchmark) from a scores.json path; seed is None for Base."""
    parts = Path(path).parts
    if len(parts) < 4 or parts[-1] != "scores.json":
        raise InputError(f"{path}: expected .../{{model}}/{{method}}/[seed{{N}}/]{{benchmark}}/scores.json")
    bench = parts[-2]
    m = _SEED.match(parts[-3])
    if m:
        if len(parts) < 6:
            raise InputError(f"{path}: expected .../{{model}}/{{method}}/seed{{N}}/{{benchmark}}/scores.json")
        return parts[-5], parts[-4], int(m.group(1)), bench
    if parts[-3] != BASE_METHOD:
        raise InputError(f"{path}: only the {BASE_METHOD!r} method is evaluated without a seed folder")
    return parts[-4], BASE_METHOD, None, bench


def parse_run_path(path: str | Path) -> tuple[str, str, int]:
    """(model, method, seed) from a runs/{model}/{method}/seed{N}/metrics.jsonl path."""
    parts = Path(path).parts
    m = _SEED.match(parts[-2]) if len(parts) >= 4 else None
    if not m:
        raise InputError(f"{path}: expected .../{{model}}/{{method}}/seed{{N}}/metrics.jsonl")
    return parts[-4], parts[-3], int(m.group(1))


def load_scores(paths: list[str | Path]) -> pd.DataFrame:
    """One row per (model, method, seed, benchmark, metric) with the value in percent."""
    rows = []
    for path in paths:
        check_input_file(path, "scores file")  # a missing file is not a layout problem
        model, method, seed, bench = parse_eval_path(path)
        scores = read_json(path)
        metrics = scores.get("metrics") if isinstance(scores, dict) else None
        if not isinstance(metrics, dict):
            raise InputError(f"{path}: missing key 'metrics' (an object of metric -> percent)")
        if scores.get("benchmark", bench) != bench:
            raise InputError(f"{path}: benchmark {scores.get('benchmark')!r} does not match its folder {bench!r}")
        for metric, value in metrics.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise InputError(f"{path}: metric {metric!r} must be a number, got {value!r}")
            rows.append((model, method, seed, bench, metric, float(value), str(path)))
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def load_metrics(paths: list[str | Path]) -> pd.DataFrame:
    """Training logs as one frame: the log's own columns plus model, method and seed."""
    frames = []
    for path in paths:
        check_input_file(path, "metrics file")
        model, method, seed = parse_run_path(path)
        rows = []
        for where, row in iter_jsonl(path):
            step = row.get("step") if isinstance(row, dict) else None
            if isinstance(step, bool) or not isinstance(step, int):
                raise InputError(f"{where}: each row needs an integer 'step', got {step!r}")
            rows.append(row)
        if not rows:
            continue
        # Nested per-region logs become columns such as ``region_weights/THINK``.
        df = pd.json_normalize(rows, sep="/")
        df["model"], df["method"], df["seed"] = model, method, seed
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
