"""The output format shared by training data, rewards and evaluation (docs/method.md, section 2).

This module is the single home of the format tags, the placeholder thoughts and the
prompt templates. Everything that builds or reads a prompt or a completion imports
them from here.

A completion looks like::

    <think> reasoning </think>
    <tool_call>
    {"name": "tool_a", "parameters": {"x": 1}}
    </tool_call>
    <response> text for the user </response>
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
TOOL_CALL_OPEN, TOOL_CALL_CLOSE = "<tool_call>", "</tool_call>"
#: A misspelling the released token weighting also accepts around a call (never as FORMAT).
TOOLCALL_OPEN_ALT, TOOLCALL_CLOSE_ALT = "<toolcall>", "</toolcall>"
RESPONSE_OPEN, RESPONSE_CLOSE = "<response>", "</response>"
OBS_OPEN, OBS_CLOSE = "<obs>", "</obs>"
USER_OPEN, USER_CLOSE = "<user>", "</user>"

#: Tag pairs whose strings form the FORMAT region and are checked by the format reward.
FORMAT_TAG_PAIRS: tuple[tuple[str, str], ...] = (
    (THINK_OPEN, THINK_CLOSE),
    (TOOL_CALL_OPEN, TOOL_CALL_CLOSE),
    (RESPONSE_OPEN, RESPONSE_CLOSE),
)
#: Every tag the tokenizer must keep as one ordinary (non-special) added token.
ALL_TAGS: tuple[str, ...] = (
    THINK_OPEN, THINK_CLOSE, TOOL_CALL_OPEN, TOOL_CALL_CLOSE,
    RESPONSE_OPEN, RESPONSE_CLOSE, OBS_OPEN, OBS_CLOSE,
)

#: ToolRL's placeholder thoughts in RL ground truths (verbatim from rlla_rl.json).
PLACEHOLDER_THOUGHT_CALL = "I should use the appropriate tool with proper parameters to respond to the user's need."
PLACEHOLDER_THOUGHT_RESPONSE = "I should directly respond to the user's need."

HISTORY_HEADER = "**Dialogue Records History**"

SYSTEM_PREAMBLE = (
    "You are a helpful multi-turn dialogue assistant capable of leveraging tool calls to solve "
    "user tasks and provide structured chat responses.\n\n"
    "**Available Tools**\n"
    "In your response, you can use the following tools:\n"
)

# Verbatim from the rlla corpus and the API-Bank test files, so training and test
# prompts are the same text.
SYSTEM_INSTRUCTIONS = """

**Steps for Each Turn**
1. **Think:** Recall relevant context and analyze the current user goal.
2. **Decide on Tool Usage:** If a tool is needed, specify the tool and its parameters.
3. **Respond Appropriately:** If a response is needed, generate one while maintaining consistency across user queries.

**Output Format**
```plaintext
<think> Your thoughts and reasoning </think>
<tool_call>
{"name": "Tool name", "parameters": {"Parameter name": "Parameter content", "... ...": "... ..."}}
{"name": "... ...", "parameters": {"... ...": "... ...", "... ...": "... ..."}}
...
</tool_call>
<response> AI's final response </response>
```

**Important Notes**
1. You must always include the `<think>` field to outline your reasoning. Provide at least one of `<tool_call>` or `<response>`. Decide whether to use `<tool_call>` (possibly multiple times), `<response>`, or both.
2. You can invoke multiple tool calls simultaneously in the `<tool_call>` fields. Each tool call should be a JSON object with a "name" field and an "parameters" field containing a dictionary of parameters. If no parameters are needed, leave the "parameters" field an empty dictionary.
3. Refer to the previous dialogue records in the history, including the user's queries, previous `<tool_call>`, `<response>`, and any tool feedback noted as `<obs>` (if exists)."""

# --------------------------------------------------------------------------- prompts


def render_tool_list(tools: Iterable[dict[str, Any]], ensure_ascii: bool = False) -> str:
    """Tools as ``N. Name: / Description: / Parameters: {json}`` lines.

    ``ensure_ascii`` escapes non-ASCII characters in the parameters' JSON, as the BFCL handler's
    plain ``json.dumps`` does.
    """
    lines = []
    for i, tool in enumerate(tools, 1):
        params = tool.get("parameters", {})
        lines.append(
            f"{i}. Name: {tool.get('name', '')}\n"
            f"Description: {tool.get('description', '')}\n"
            f"Parameters: {json.dumps(params, ensure_ascii=ensure_ascii)}"
        )
    return "\n".join(lines)


def render_system_prompt(tools: Iterable[dict[str, Any]], ensure_ascii: bool = False) -> str:
    """The system message: preamble, numbered tool list, then the output-format rules."""
    return SYSTEM_PREAMBLE + render_tool_list(tools, ensure_ascii) + SYSTEM_INSTRUCTIONS


@dataclass(frozen=True)
class Turn:
    """One entry of the dialogue history: ``role`` is user, assistant or tool."""

    role: str
    content: str


def render_user(text: str) -> str:
    return f"{USER_OPEN} {text} {USER_CLOSE}"


def render_observation(content: str) -> str:
    return f"{OBS_OPEN} {content} {OBS_CLOSE}"


def render_history(turns: Sequence[Turn]) -> str:
    """The user message: the history header, then one block per turn.

    Assistant turns are already in the completion format; user and tool turns are wrapped.
    """
    parts = [HISTORY_HEADER]
    for turn in turns:
        if turn.role == "user":
            parts.append(("\n" if len(parts) > 1 else "") + render_user(turn.content))
        elif turn.role == "tool":
            parts.append(render_observation(turn.content))
        elif turn.role == "assistant":
            parts.append("\n" + turn.content.strip())
        else:
            raise ValueError(f"unknown dialogue role {turn.role!r} (expected user, assistant or tool)")
    return "\n".join(parts)


# --------------------------------------------------------------------------- completions


def render_tool_calls(calls: Sequence[dict[str, Any]]) -> str:
    """A tool-call block, one JSON object per line."""
    body = "\n".join(json.dumps(c, ensure_ascii=False) for c in calls)
    return f"{TOOL_CALL_OPEN}\n{body}\n{TOOL_CALL_CLOSE}"


def render_completion(
    think: str | None = None,
    calls: Sequence[dict[str, Any]] | None = None,
    response: str | None = None,
) -> str:
    """Assemble a completion in the canonical order think, tool_call, response."""
    parts = []
    if think is not None:
        parts.append(f"{THINK_OPEN} {think} {THINK_CLOSE}")
    if calls:
        parts.append(render_tool_calls(calls))
    if response is not None:
        parts.append(f"{RESPONSE_OPEN} {response} {RESPONSE_CLOSE}")
    return "\n".join(parts)


def placeholder_ground_truth(calls: Sequence[dict[str, Any]] | None, response: str | None = None) -> str:
    """A ground truth with ToolRL's placeholder thought, as in the RL corpus."""
    thought = PLACEHOLDER_THOUGHT_CALL if calls else PLACEHOLDER_THOUGHT_RESPONSE
    return render_completion(thought, calls, response)


def first_block(text: str, open_tag: str, close_tag: str) -> str | None:
    """Text between the first ``open_tag`` and the next ``close_tag``; None if either is missing."""
    start = text.find(open_tag)
    if start < 0:
        return None
    start += len(open_tag)
    end = text.find(close_tag, start)
    if end < 0:
        return None
    return text[start:end]


def last_block(text: str, open_tag: str, close_tag: str) -> str:
    """Text after the last ``open_tag`` up to the next ``close_tag`` (API-Bank/BFCL decoding).

    Without the open tag, the whole text; without a following close tag, the rest.
    """
    start = text.rfind(open_tag)
    if start < 0:
        return text
    rest = text[start + len(open_tag):]
    end = rest.find(close_tag)
    return rest if end < 0 else rest[:end]


@dataclass
class ParsedCompletion:
    """The parts of a completion; any part may be missing (None)."""

    think: str | None = None
    tool_block: str | None = None
    response: str | None = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: Lines of the tool block that did not parse as ``{"name": str, "parameters": dict}``.
    bad_call_lines: int = 0


def parse_tool_calls(block: str) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """Parse a tool-call block into ``(name, parameters)`` pairs and a count of bad lines."""
    calls, bad = [], 0
    for line in block.strip().split("\n"):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            bad += 1
            continue
        name = obj.get("name") if isinstance(obj, dict) else None
        params = obj.get("parameters", obj.get("arguments", {})) if isinstance(obj, dict) else None
        if not isinstance(name, str) or not isinstance(params, dict):
            bad += 1
            continue
        calls.append((name, params))
    return calls, bad


def parse_completion(text: str) -> ParsedCompletion:
    """Split a completion into think, tool-call and response parts. Never raises."""
    if not isinstance(text, str):
        return ParsedCompletion()
    tool_block = first_block(text, TOOL_CALL_OPEN, TOOL_CALL_CLOSE)
    calls, bad = parse_tool_calls(tool_block) if tool_block is not None else ([], 0)
    think = first_block(text, THINK_OPEN, THINK_CLOSE)
    response = first_block(text, RESPONSE_OPEN, RESPONSE_CLOSE)
    return ParsedCompletion(
        think=None if think is None else think.strip(),
        tool_block=tool_block,
        response=None if response is None else response.strip(),
        calls=calls,
        bad_call_lines=bad,
    )
