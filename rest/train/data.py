"""Training records -> TRL datasets (docs/method.md, section 2).

Prompts are rendered to ids by the one renderer the evaluators use (``rest.prompt``).
RL: ``prompt`` (the rendered text), ``prompt_ids`` and ``ground_truth`` for the reward.
SFT: pre-tokenized ``input_ids`` = prompt ids + gold completion ids + EOS, with ``labels``
masking the prompt. Ground truths are rewritten by curation alone; here they are checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rest.curation.records import action_text, tool_call_problem
from rest.formats import ALL_TAGS, THINK_CLOSE, THINK_OPEN
from rest.io import InputError, read_json, read_jsonl, require_keys
from rest.prompt import record_conversation, render_prompt

RECORD_KEYS = {"instruction": str, "input": str, "output": str}


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """rlla records from JSONL (curated sets) or a JSON list (``rlla_sft.json``)."""
    path = Path(path)
    rows = read_json(path) if path.suffix == ".json" else read_jsonl(path)
    if not isinstance(rows, list):
        raise InputError(f"{path}: expected a list of records")
    for i, row in enumerate(rows):
        require_keys(row, RECORD_KEYS, f"{path}: record {i}")
    if not rows:
        raise InputError(f"{path}: no records")
    return rows


def _thought_mentions_tag(output: str) -> bool:
    start, cut = output.find(THINK_OPEN), output.find(THINK_CLOSE)
    if start < 0 or cut < 0:
        return False
    thought = output[start + len(THINK_OPEN):cut]
    return any(tag in thought for tag in ALL_TAGS)


def check_rl_ground_truth(output: str, where: str) -> None:
    """A ground truth the reward can use, or an InputError naming the record.

    Its tool-call block must parse, and its thought must not mention a tag: the reward
    would parse the wrong block (e.g. a distilled "then I close with </tool_call>").
    ``rest curate`` gives RL records the placeholder thought, so curated sets pass.
    """
    reason = tool_call_problem(action_text(output))
    if reason:
        raise InputError(f"{where}: ground truth: {reason}")
    if _thought_mentions_tag(output):
        raise InputError(f"{where}: ground truth: its thought mentions a tag, which the reward would parse; "
                         "train RL methods on curated records (`rest curate` writes rl_train.jsonl)")


@dataclass
class PreparedData:
    dataset: Any
    #: what was changed or left out, with counts (written into summary.json)
    report: dict[str, int]


def rl_dataset(records: list[dict[str, Any]], tokenizer, where: str, limit: int | None = None) -> PreparedData:
    """``prompt`` (rendered text), ``prompt_ids`` and ``ground_truth`` columns for GRPO/ResT."""
    from datasets import Dataset

    rows = []
    for i, rec in enumerate(records[:limit] if limit else records):
        check_rl_ground_truth(rec["output"], f"{where}: record {i}")
        prompt = render_prompt(tokenizer, record_conversation(rec))
        rows.append({"prompt": prompt.text, "prompt_ids": prompt.ids, "ground_truth": rec["output"]})
    report = {"records": len(rows), "records_not_used_over_limit": len(records) - len(rows)}
    return PreparedData(Dataset.from_list(rows), report)


def sft_example(tokenizer, record: dict[str, Any]) -> dict[str, list[int]]:
    """Prompt ids + the gold completion's ids + EOS; ``labels`` mask the prompt (-100)."""
    prompt = render_prompt(tokenizer, record_conversation(record)).ids
    completion = tokenizer(record["output"] + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
    return {"input_ids": prompt + completion, "labels": [-100] * len(prompt) + completion}


def sft_dataset(records: list[dict[str, Any]], tokenizer, limit: int | None = None) -> PreparedData:
    """Pre-tokenized SFT examples (TRL keeps them as given, then truncates to max_length)."""
    from datasets import Dataset

    used = records[:limit] if limit else records
    rows = [sft_example(tokenizer, r) for r in used]
    return PreparedData(Dataset.from_list(rows), {"records": len(rows), "records_not_used_over_limit": len(records) - len(rows)})
