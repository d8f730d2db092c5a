"""API-Bank levels 1-3 under the ToolRL protocol (docs/method.md, section 5).

Each item of ``apibank/toolrl_processed/level-{1,2,3}-api_processed.json`` carries the
``system`` and ``user`` messages (used as given) and one ``answer`` call. An item is correct
when any call parsed from the last ``<tool_call>`` block equals the answer's name and
parameters. Accuracy is over the full level files (a missing prediction is wrong) and the
overall figure is the micro-average over all 597 items.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rest import prompt
from rest.io import (
    InputError,
    iter_jsonl,
    read_json,
    require_keys,
)
from rest.parsers import apibank_calls, loads_bounded

log = logging.getLogger("rest.eval")

LEVELS = (1, 2, 3)
#: Items per level in the ToolRL files (a check on the data, not an input).
LEVEL_SIZES = {1: 399, 2: 67, 3: 131}
METRIC_NAMES = {1: "Level 1 Acc", 2: "Level 2 Acc", 3: "Level 3 Acc", "overall": "Overall Acc"}
#: Generation length of the released ``API-Bank/generate.py``: vLLM with ``max_model_len=4096``
#: and ``max_tokens=4096``, so prompt + completion <= 4096 (its temperature 1e-4 is greedy here).
MAX_NEW_TOKENS = 4096
CONTEXT_TOKENS = 4096


def level_path(data_dir: Path, level: int) -> Path:
    return Path(data_dir) / "apibank" / "toolrl_processed" / f"level-{level}-api_processed.json"


def load_level(data_dir: Path, level: int) -> list[dict]:
    path = level_path(data_dir, level)
    items = read_json(path)
    if not isinstance(items, list):
        raise InputError(f"{path}: expected a JSON list of items")
    for i, item in enumerate(items):
        require_keys(item, {"system": str, "user": str, "answer": (dict, list)}, f"{path}: item {i}")
    return items


def load_levels(data_dir: Path) -> dict[int, list[dict]]:
    return {level: load_level(data_dir, level) for level in LEVELS}


def is_correct(completion: Any, answer: dict | list) -> bool:
    """ToolRL's soft match; never raises.

    A parsed value without ``name`` or ``parameters`` is taken as the parameters of a call
    to the answer's tool. A value that cannot be checked (an error while inspecting it)
    ends the check as wrong, as the released evaluator's try/except does.
    """
    if isinstance(answer, list):
        if not answer:
            return False
        answer = answer[0]
    want_name, want_params = answer.get("name"), answer.get("parameters")
    for call in apibank_calls(completion):
        try:
            if isinstance(call, str):  # a JSON string holding a call is decoded once more
                call = loads_bounded(call)
            if "name" not in call or "parameters" not in call:
                name, params = want_name, call
            else:
                name, params = call["name"], call["parameters"]
            if name == want_name and params == want_params:
                return True
        except Exception:  # noqa: BLE001 - the released evaluator catches everything
            return False
    return False


@dataclass
class ApiBankScores:
    correct: dict[int, int]
    total: dict[int, int]
    predicted: dict[int, int]

    def percent(self, level: int | str) -> float:
        if level == "overall":
            c, t = sum(self.correct.values()), sum(self.total.values())
        else:
            c, t = self.correct[level], self.total[level]
        return round(100.0 * c / t, 2) if t else 0.0

    def short(self) -> dict[str, float]:
        """The ``--predictions`` summary: level_1, level_2, level_3, overall."""
        out = {f"level_{lv}": self.percent(lv) for lv in LEVELS}
        out["overall"] = self.percent("overall")
        return out

    def metrics(self) -> dict[str, float]:
        """Percentages under the paper's column names."""
        return {METRIC_NAMES[k]: self.percent(k) for k in (*LEVELS, "overall")}

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            f"level_{lv}": {"correct": self.correct[lv], "total": self.total[lv],
                            "predicted": self.predicted[lv]}
            for lv in LEVELS
        }


def score_predictions(predictions: Iterable[dict], levels: dict[int, list[dict]]) -> tuple[ApiBankScores, list[dict]]:
    """Score ``{"level", "index", "completion"}`` rows; also return one result row per prediction."""
    correct = {lv: 0 for lv in LEVELS}
    predicted = {lv: 0 for lv in LEVELS}
    rows = []
    for p in predictions:
        lv, i = p["level"], p["index"]
        ok = is_correct(p["completion"], levels[lv][i]["answer"])
        correct[lv] += ok
        predicted[lv] += 1
        rows.append({"level": lv, "index": i, "correct": bool(ok)})
    total = {lv: len(levels[lv]) for lv in LEVELS}
    return ApiBankScores(correct, total, predicted), rows


def read_predictions(path: Path, levels: dict[int, list[dict]]) -> list[dict]:
    """Validated prediction rows; errors name ``file:line``. Duplicates are an error."""
    path = Path(path)
    rows, seen = [], {}
    for where, row in iter_jsonl(path):
        require_keys(row, {"level": int, "index": int, "completion": str}, where)
        lv, i = row["level"], row["index"]
        if lv not in LEVELS or isinstance(lv, bool):
            raise InputError(f"{where}: key 'level' must be 1, 2 or 3, got {lv!r}")
        if not 0 <= i < len(levels[lv]):
            raise InputError(f"{where}: key 'index' {i} is out of range for level {lv} "
                             f"({len(levels[lv])} items, 0-based)")
        if (lv, i) in seen:
            raise InputError(f"{where}: duplicate prediction for level {lv} index {i} (first at {seen[lv, i]})")
        seen[lv, i] = where
        rows.append(row)
    return rows


def select_items(levels: dict[int, list[dict]], limit: int | None) -> list[tuple[int, int, dict]]:
    """``(level, index, item)`` triples; ``limit`` keeps the first N of each level."""
    out = []
    for lv in LEVELS:
        items = levels[lv] if limit is None else levels[lv][:limit]
        out.extend((lv, i, item) for i, item in enumerate(items))
    return out


def conversation(item: dict) -> list[dict]:
    return prompt.conversation(item["system"], item["user"])


__all__ = [
    "LEVELS", "LEVEL_SIZES", "ApiBankScores", "conversation", "is_correct", "load_levels",
    "read_predictions", "score_predictions", "select_items",
]
