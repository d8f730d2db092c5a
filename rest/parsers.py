"""The completion parsers, side by side: each reads tool calls the way one protocol does.

Three protocols read the same completion format (``rest.formats``) differently, and each
is kept exactly as released:

- ``rlla_calls``: the released training reward (ToolRL's ``rlla.py``, paper Eq. 12-13). The
  text between the FIRST ``<tool_call>`` and the next ``</tool_call>``, split on newlines;
  every line must decode, or the whole prediction is malformed (it raises).
- ``apibank_calls``: ToolRL's API-Bank evaluator. The LAST ``<tool_call>`` block (the whole
  text when there is none); lines that fail to decode are skipped; values are kept as decoded.
- ``bfcl_calls``: ToolRL's BFCL handler. The LAST block, only when the tag is present; lines
  without a string ``name`` and an object ``parameters`` are skipped, as is the name ``None``.

All of them decode JSON through ``loads_bounded``, which refuses nesting deeper than
``MAX_JSON_DEPTH`` (no tool call nests that deep; deeper values made later writes and
checkers overflow the stack, docs/method.md section 9). Decoded strings may hold lone
surrogates (a ``"\\ud83d"`` escape); ``scrub`` makes a value safe to write and to tokenize.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rest.formats import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, last_block

#: Deepest JSON nesting (arrays and objects) a decoded line may have.
MAX_JSON_DEPTH = 100

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONTooDeep(ValueError):
    """A JSON text nests deeper than ``MAX_JSON_DEPTH``."""


def json_depth(text: str) -> int:
    """The deepest bracket nesting of a JSON text, brackets inside strings not counted."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads_bounded(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that raises ``JSONTooDeep`` (a ValueError) past ``max_depth`` levels."""
    # Fewer opening brackets than the bound cannot nest past it: skip the scan.
    if text.count("[") + text.count("{") > max_depth and json_depth(text) > max_depth:
        raise JSONTooDeep(f"JSON nested deeper than {max_depth} levels")
    return json.loads(text)


def json_lines(block: str) -> list[Any]:
    """Each non-blank line decoded, skipping lines that fail. Never raises."""
    out = []
    for line in block.strip().split("\n"):
        line = line.strip()
        if not line:
            continue
        try:
            out.append(loads_bounded(line))
        except (ValueError, RecursionError):
            continue
    return out


def rlla_call_lines(text: str) -> list[str]:
    """The released reward's call lines. Raises IndexError without ``<tool_call>``, as released.

    The released code splits on the first ``<tool_call>``, so a second opening tag ends the block.
    """
    return text.split(TOOL_CALL_OPEN)[1].split(TOOL_CALL_CLOSE)[0].strip().split("\n")


def rlla_calls(text: str) -> list[Any]:
    """The released reward's decoded calls; raises on any line that fails, as released."""
    return [loads_bounded(line) for line in rlla_call_lines(text)]


def apibank_calls(completion: Any) -> list[Any]:
    """ToolRL's API-Bank reading: the decoded lines of the last tool-call block (the whole
    text if there is none). Never raises."""
    if not isinstance(completion, str):
        return []
    return json_lines(last_block(completion.strip(), TOOL_CALL_OPEN, TOOL_CALL_CLOSE))


def bfcl_calls(completion: Any) -> list[tuple[str, dict]]:
    """ToolRL's BFCL reading: ``(name, parameters)`` of the last tool-call block. Never raises.

    No ``<tool_call>`` means no calls; lines that fail to parse or lack a string ``name`` and
    an object ``parameters`` are skipped, and so is the name ``None`` in any case.
    """
    if not isinstance(completion, str) or TOOL_CALL_OPEN not in completion:
        return []
    calls = []
    for obj in json_lines(last_block(completion, TOOL_CALL_OPEN, TOOL_CALL_CLOSE)):
        if not isinstance(obj, dict):
            continue
        name, params = obj.get("name"), obj.get("parameters")
        if not isinstance(name, str) or not isinstance(params, dict) or name.lower() == "none":
            continue
        calls.append((name, params))
    return calls


def scrub(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) replaced by U+FFFD.

    JSON may escape half a UTF-16 pair; Python decodes it into a string that UTF-8 cannot
    encode, so writing it or tokenizing it would raise.
    """
    if isinstance(value, str):
        return value if value.isascii() else _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    return value
