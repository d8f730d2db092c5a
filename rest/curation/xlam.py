"""xLAM-60k items to rlla records.

An xLAM item is ``{"id", "query", "tools": "<JSON list of {name, description,
parameters: {p: {type, description, default}}}>", "answers": "<JSON list of {name,
arguments}>"}``; ``tools`` and ``answers`` may also be already-decoded lists. Each item
is a single user turn answered by one step of (possibly parallel) calls.
"""

from __future__ import annotations

import json
from typing import Any

from rest.curation.decompose import Action
from rest.curation.records import ConversionError, make_record
from rest.formats import Turn, render_history, render_system_prompt

SOURCE = "xlam"


def decode_field(item: dict[str, Any], key: str) -> list[Any]:
    value = item.get(key)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as e:
            raise ConversionError(f"{key} is not valid JSON") from e
    if not isinstance(value, list):
        raise ConversionError(f"{key} is not a list")
    return value


def decode_item(item: Any) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """``(query, tools, answers)`` of an xLAM item, checked for shape."""
    if not isinstance(item, dict) or not isinstance(item.get("query"), str) or not item["query"].strip():
        raise ConversionError("item has no query")
    tools, answers = decode_field(item, "tools"), decode_field(item, "answers")
    if not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in tools):
        raise ConversionError("a tool is not an object with a name")
    if not all(isinstance(a, dict) and isinstance(a.get("name"), str)
               and isinstance(a.get("arguments", {}), dict) for a in answers):
        raise ConversionError("an answer is not {name, arguments: object}")
    return item["query"], tools, answers


def to_record(query: str, tools: list[dict[str, Any]], answers: list[dict[str, Any]],
              id: str, source: str) -> dict[str, str]:
    """One rlla record: the tool list as system prompt, the query as the user turn."""
    if not answers:
        # Irrelevance items answer with no call and carry no response text to learn.
        raise ConversionError("no call and no response text")
    names = {t["name"] for t in tools}
    if any(a["name"] not in names for a in answers):
        raise ConversionError("an answer calls a tool that is not in the tool list")
    calls = tuple({"name": a["name"], "parameters": a.get("arguments", {})} for a in answers)
    return make_record(id, source, render_system_prompt(tools),
                       render_history([Turn("user", query.strip())]), Action(calls=calls).ground_truth())


def convert(item: Any, index: int) -> list[dict[str, str]]:
    query, tools, answers = decode_item(item)
    return [to_record(query, tools, answers, f"{SOURCE}:{item.get('id', index)}", SOURCE)]
