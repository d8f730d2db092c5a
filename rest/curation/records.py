"""rlla records: loading, validation, RL ground truths and ToolRL's train/test split.

An rlla record is ``{"id", "source", "instruction", "input", "output"}``: the system
prompt, the user message (``**Dialogue Records History**`` and the turns) and the
ground truth or gold completion.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rest.formats import (
    FORMAT_TAG_PAIRS,
    HISTORY_HEADER,
    RESPONSE_CLOSE,
    RESPONSE_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    USER_OPEN,
    first_block,
    parse_tool_calls,
    placeholder_ground_truth,
)
from rest.io import InputError, read_json, read_jsonl

FIELDS = ("id", "source", "instruction", "input", "output")

# ToolRL's rlla.py: np.random.seed(31415), shuffle, last 2% held out.
TOOLRL_SPLIT_SEED = 31415
TOOLRL_TEST_FRACTION = 0.02


class ConversionError(ValueError):
    """A raw item that cannot become a record; the message is a short fixed reason."""


def make_record(id: str, source: str, instruction: str, input: str, output: str) -> dict[str, str]:
    return {"id": id, "source": source, "instruction": instruction, "input": input, "output": output}


# --------------------------------------------------------------------------- loading


def load_rlla(path: str | Path, source: str) -> list[dict[str, Any]]:
    """rlla records from a ``.json`` list, ``.jsonl`` file or veRL ``.parquet`` split.

    Records keep their position in the file as ``id`` (``source:index``); a parquet row
    uses ``extra_info.index``. Fields are not validated here (see ``Screen``) so that a
    bad record can be reported by index rather than failing the whole load.
    """
    path = Path(path)
    if path.suffix == ".parquet":
        return _load_parquet(path, source)
    rows = read_jsonl(path) if path.suffix == ".jsonl" else read_json(path)
    if not isinstance(rows, list):
        raise InputError(f"{path}: expected a JSON list of records, got {type(rows).__name__}")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            out.append(row)  # kept so that validation reports it by index
            continue
        out.append({"id": str(row.get("id", f"{source}:{i}")), "source": row.get("source", source),
                    **{k: row.get(k) for k in ("instruction", "input", "output")}})
    return out


def _load_parquet(path: Path, source: str) -> list[dict[str, Any]]:
    import pandas as pd

    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        frame = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises several unrelated types for a bad file
        raise InputError(f"{path}: not a readable parquet file ({e})") from e
    if "extra_info" not in frame.columns and "prompt" not in frame.columns:
        raise InputError(f"{path}: expected veRL columns 'extra_info' or 'prompt'/'reward_model'")
    out = []
    for i, row in enumerate(frame.to_dict("records")):
        extra = row.get("extra_info") if isinstance(row.get("extra_info"), dict) else {}
        if {"instruction", "input", "output"} <= set(extra):
            instruction, input_, output = extra["instruction"], extra["input"], extra["output"]
        else:  # fall back to the chat prompt and the reward model's ground truth
            prompt = {m.get("role"): m.get("content") for m in row.get("prompt", [])}
            instruction, input_ = prompt.get("system"), prompt.get("user")
            output = (row.get("reward_model") or {}).get("ground_truth")
        index = extra.get("index", i)
        out.append(make_record(f"{source}:{index}", source, instruction, input_, output))
    return out


# --------------------------------------------------------------------------- validation


def action_text(output: str) -> str:
    """The part of a completion after its thought: the tool calls and/or the response.

    Distilled thoughts sometimes name a tag (17 of the 400 rlla_sft records mention
    ``<tool_call>`` while reasoning), so the action is read after ``</think>``.
    """
    cut = output.find(THINK_CLOSE)
    return output if cut < 0 else output[cut + len(THINK_CLOSE):]


def parse_action(output: str) -> tuple[list[dict[str, Any]], str | None]:
    """The tool calls (``{"name", "parameters"}`` dicts) and response text of a completion."""
    action = action_text(output)
    block = first_block(action, TOOL_CALL_OPEN, TOOL_CALL_CLOSE)
    calls = [] if block is None else [{"name": n, "parameters": p} for n, p in parse_tool_calls(block)[0]]
    response = first_block(action, RESPONSE_OPEN, RESPONSE_CLOSE)
    return calls, None if response is None else response.strip()


def rl_ground_truth(output: str) -> str:
    """The ground truth an RL record needs: the same action, with the placeholder thought."""
    calls, response = parse_action(output)
    return placeholder_ground_truth(calls, response)


def tool_call_problem(action: str) -> str | None:
    """Why the tool-call block of a ground truth's action is unusable, or None (also without one)."""
    if TOOL_CALL_OPEN not in action:
        return None
    block = first_block(action, TOOL_CALL_OPEN, TOOL_CALL_CLOSE)
    if block is None:
        return "tool-call block is not closed"
    calls, bad = parse_tool_calls(block)
    if bad:
        return "tool-call line does not parse as {name, parameters}"
    if not calls:
        return "tool-call block is empty"
    return None


def record_problem(record: Any) -> str | None:
    """Why ``record`` is not a usable rlla record, or None. Reasons are short fixed phrases."""
    if not isinstance(record, dict):
        return "not a JSON object"
    for key in ("instruction", "input", "output"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            return f"missing or empty {key}"
    if HISTORY_HEADER not in record["input"] or USER_OPEN not in record["input"]:
        return f"input has no dialogue history ({HISTORY_HEADER} with a {USER_OPEN} turn)"
    action = action_text(record["output"])
    if THINK_OPEN in action or THINK_CLOSE in action or any(
            action.count(tag) > 1 for pair in FORMAT_TAG_PAIRS for tag in pair):
        # e.g. an argument value "<tool_call>": the reward's tag checks could never pass
        return "a format tag appears inside the tool calls or response"
    has_call, has_response = TOOL_CALL_OPEN in action, RESPONSE_OPEN in action
    if not (has_call or has_response):
        return "ground truth has neither a tool call nor a response"
    if has_call and (reason := tool_call_problem(action)):
        return reason
    if has_response and first_block(action, RESPONSE_OPEN, RESPONSE_CLOSE) is None:
        return "response block is not closed"
    return None


@dataclass
class Screen:
    """Keeps valid records; a bad one stops (strict) or is dropped and counted."""

    strict: bool = True
    dropped: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def drop(self, reason: str, where: str) -> None:
        """Record a drop; in strict mode stop with ``where`` and the reason."""
        if self.strict:
            raise InputError(f"{where}: {reason} (rerun with --no-strict to drop such records and count them)")
        self.dropped[reason] += 1
        self.examples.setdefault(reason, where)

    def keep_valid(self, records: Iterable[dict[str, Any]], where: str) -> list[dict[str, Any]]:
        kept = []
        for i, rec in enumerate(records):
            reason = record_problem(rec)
            if reason is None:
                kept.append(rec)
            else:
                self.drop(reason, f"{where}: record {i} (id {rec.get('id') if isinstance(rec, dict) else '?'})")
        return kept

    def report(self) -> dict[str, Any]:
        return {"total": sum(self.dropped.values()), "by_reason": dict(self.dropped),
                "first_example": dict(self.examples)}


# --------------------------------------------------------------------------- splits


def toolrl_split(
    items: Sequence[Any], seed: int = TOOLRL_SPLIT_SEED, test_fraction: float = TOOLRL_TEST_FRACTION
) -> tuple[list[Any], list[Any]]:
    """ToolRL's split of rlla_rl.json (its ``dataset/rlla_4k_raw/rlla.py``): 3,920 / 80.

    That script seeds NumPy's global generator with 31415, shuffles the loaded list in
    place with ``np.random.shuffle`` and holds out the last ``int(0.02 * n)`` items.
    A ``RandomState`` with the same seed draws the same permutation without touching
    the global generator.
    """
    shuffled = list(items)
    np.random.RandomState(seed).shuffle(shuffled)
    test_num = int(len(shuffled) * test_fraction)
    if test_num == 0:
        return shuffled, []
    return shuffled[:-test_num], shuffled[-test_num:]


def seeded_subset(records: Sequence[Any], limit: int | None, seed: int) -> list[Any]:
    """``limit`` records chosen with ``seed``, kept in their original order."""
    if limit is None or limit >= len(records):
        return list(records)
    if limit < 0:
        raise InputError(f"a record limit must be >= 0, got {limit}")
    keep = sorted(random.Random(seed).sample(range(len(records)), limit))
    return [records[i] for i in keep]


def dump_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with exactly the contract's fields, in the contract's order."""
    return [{k: r[k] for k in FIELDS} for r in records]


def prompt_key(record: dict[str, Any]) -> str:
    return json.dumps([record["instruction"], record["input"]], ensure_ascii=False)
