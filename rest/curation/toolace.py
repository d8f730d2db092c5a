"""ToolACE dialogues to rlla records.

A ToolACE item is ``{"system": "... [<tool JSON list>] ...", "conversations": [{"from":
"user"|"assistant"|"tool", "value": ...}]}``. Assistant turns are either a bracket call
list (``[Func Name(arg="v")]``, see ``callsyntax``) or a plain response; tool turns hold
the observation text. Each assistant step becomes one record (``decompose``).
"""

from __future__ import annotations

import json
from typing import Any

from rest.curation.callsyntax import CallSyntaxError, looks_like_call_list, parse_call_list
from rest.curation.decompose import Action, decompose
from rest.curation.records import ConversionError, make_record
from rest.formats import Turn, render_system_prompt

SOURCE = "toolace"


def extract_tools(system: str) -> list[dict[str, Any]]:
    """The JSON tool list embedded in a ToolACE system prompt, parameters as properties."""
    decoder = json.JSONDecoder()
    start = system.find("[")
    while start >= 0:
        try:
            value, _ = decoder.raw_decode(system, start)
        except ValueError:
            value = None
        if isinstance(value, list) and value and all(isinstance(t, dict) and "name" in t for t in value):
            return [normalize_tool(t) for t in value]
        start = system.find("[", start + 1)
    raise ConversionError("system prompt has no JSON tool list")


def normalize_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """``{name, description, parameters}`` with parameters as the properties mapping.

    ToolRL's prompts list a tool's ``properties`` (each with description, type, default)
    rather than the JSON-schema wrapper around them.
    """
    params = tool.get("parameters") or {}
    if isinstance(params, dict) and isinstance(params.get("properties"), dict):
        params = params["properties"]
    return {"name": tool["name"], "description": tool.get("description", ""), "parameters": params}


def to_dialogue(conversations: Any, tool_names: set[str]) -> list[Turn | Action]:
    if not isinstance(conversations, list) or not conversations:
        raise ConversionError("conversations is missing or empty")
    dialogue: list[Turn | Action] = []
    for turn in conversations:
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise ConversionError("a turn is not {from, value: text}")
        role, value = turn.get("from"), turn["value"]
        if role == "user":
            dialogue.append(Turn("user", value.strip()))
        elif role == "tool":
            dialogue.append(Turn("tool", value.strip()))
        elif role == "assistant":
            dialogue.append(_assistant_action(value, tool_names))
        else:
            raise ConversionError("a turn has an unknown role (expected user, assistant or tool)")
    return dialogue


def _assistant_action(value: str, tool_names: set[str]) -> Action:
    if not looks_like_call_list(value):
        if not value.strip():
            raise ConversionError("an assistant turn is empty")
        return Action(response=value.strip())
    try:
        calls = parse_call_list(value, tool_names)
    except CallSyntaxError as e:
        raise ConversionError("an assistant call list does not parse") from e
    unknown = [c["name"] for c in calls if c["name"] not in tool_names]
    if unknown:
        raise ConversionError("an assistant turn calls a tool that is not in the tool list")
    return Action(calls=tuple(calls))


def convert(item: Any, index: int) -> list[dict[str, str]]:
    """All records (one per assistant step) of the ToolACE item at ``index``."""
    if not isinstance(item, dict) or not isinstance(item.get("system"), str):
        raise ConversionError("item has no system prompt")
    tools = extract_tools(item["system"])
    dialogue = to_dialogue(item.get("conversations"), {t["name"] for t in tools})
    instruction = render_system_prompt(tools)
    return [
        make_record(f"{SOURCE}:{index}:{inst.step}", SOURCE, instruction, inst.input, inst.output)
        for inst in decompose(dialogue)
    ]
