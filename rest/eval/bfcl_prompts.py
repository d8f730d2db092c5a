"""BFCL prompts, byte for byte as ToolRL's handler builds them (docs/method.md, section 5).

ToolRL's ``benchmarks/BFCL/rlla_qwen.py`` (``RLLAHandler._format_prompt``) defines the text:

- the system message is the training records' system prompt with the entry's function docs
  as the tool list, plus a final newline; the docs are bfcl-eval's own, after its
  language-specific processing, and each ``Parameters:`` line is ``json.dumps`` of the
  doc's ``parameters.properties`` with its default ASCII escaping;
- the user message is the dialogue history: each user message wrapped in ``<user>`` with
  the turn's instruction (single- or multi-turn) on a new line, each tool result as an
  ``<obs>`` line naming the executed call, each assistant output as it was written; when
  the history ends with a tool result, the post-observation user turn follows;
- the question's system messages (bfcl-eval's own prompt, which it inserts into the first
  turn, and any the entry carries) are dropped.

The handler wraps the two messages in Qwen's ChatML itself; here they go through the model's
own chat template (for Qwen3 that is the same string). This module is the one place for
BFCL prompt text; the shared tags and the system prompt come from ``rest.formats``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import TextIO

from rest.formats import (
    HISTORY_HEADER,
    render_observation,
    render_system_prompt,
    render_user,
)

SINGLE_TURN, MULTI_TURN = "single_turn", "multi_turn"

#: The handler's instruction appended (after a newline) to every user message, per turn type.
TURN_INSTRUCTIONS = {
    SINGLE_TURN: (
        "If there's no appropriate tools to apply or required parameters are missing, please "
        "directly inform me in your response without any tool call, or call the tool with the name "
        "as 'None'. Otherwise, you should use one or more necessary tool calls to complete the given "
        "task in this turn."
    ),
    MULTI_TURN: (
        "Use the one or more necessary tool calls to complete the task. You could perform tool calls "
        "for multiple rounds so you can try and error. Please make a comprehensive plan about how to "
        "achieve the goal step by step, and begin to call the tool step by step. If no tools apply or "
        "required parameters are missing, please also directly state this in your response without "
        "tool calls."
    ),
}

#: The handler's user turn after the last tool result (its typo "selectioin" included).
AFTER_OBSERVATION = (
    "If you think you have completed the current task, or the task cannot be finished, please "
    "respond directly without additional tool calls. If you encounter an error during tool execution "
    "or the task remains unfinished, retry with the one or more necessary tool calls according to "
    "your thought and plan until completion. Based on the tool execution feedback, reflect on if "
    "understanding or selectioin of tool is wrong, what tool calling step is missing, and how to "
    "achieve the task goal from now on."
)


def tool_result_text(call: str, result: str) -> str:
    """A tool result as the handler feeds it back; ``call`` is the executed call string."""
    return f"You have made the tool call {call}. Execution returns: {result}"


def call_text(name: str, params: dict) -> str:
    """A parsed call as the handler writes it for execution and in the history: ``f(k=repr(v))``."""
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in params.items())})"


def turn_type_of(category: str) -> str:
    """Multi-turn categories get the handler's multi-turn instruction (a choice: docs/method.md §9)."""
    return MULTI_TURN if category.startswith("multi_turn") else SINGLE_TURN


# --------------------------------------------------------------------------- the two messages


def system_prompt(functions: Iterable[dict]) -> str:
    """The handler's system message for bfcl-eval function docs."""
    tools = [{"name": f.get("name", ""), "description": f.get("description", ""),
              "parameters": (f.get("parameters") or {}).get("properties", {})} for f in functions]
    return render_system_prompt(tools, ensure_ascii=True) + "\n"


def user_prompt(messages: Sequence[dict], turn_type: str) -> str:
    """The handler's user message from a bfcl-eval message list.

    ``messages`` hold ``user``, ``assistant`` and ``tool`` messages (a tool message carries the
    executed call string as ``name``); ``system`` messages and unknown roles are skipped.
    """
    instruction = TURN_INSTRUCTIONS[turn_type]
    parts = [HISTORY_HEADER + "\n"]
    last = len(messages) - 1
    for i, m in enumerate(messages):
        role, content = m.get("role"), str(m.get("content", "")).strip()
        if role == "user":
            parts.append(render_user(f"{content}\n{instruction}") + "\n")
        elif role == "tool":
            parts.append(render_observation(tool_result_text(str(m.get("name", "")).strip(), content)) + "\n")
            if i == last:
                parts.append("\n" + render_user(AFTER_OBSERVATION) + "\n")
        elif role == "assistant":
            parts.append(f"\n{content}\n")
    return "".join(parts).strip()


def conversation(functions: Iterable[dict], messages: Sequence[dict], turn_type: str) -> list[dict]:
    """The chat the model receives: the handler's system and user messages."""
    return [{"role": "system", "content": system_prompt(functions)},
            {"role": "user", "content": user_prompt(messages, turn_type)}]


# --------------------------------------------------------------------------- bfcl-eval's flow


def held_out_functions_message(functions: list[dict]) -> dict:
    """miss_func: the user turn bfcl-eval's prompting flow sends when held-out functions arrive."""
    from rest.eval.bfcl import load_bfcl

    return {"role": "user", "content": load_bfcl().added_functions_prompt.format(functions=functions)}


def turn_messages(entry: dict, turn: int) -> list[dict]:
    """The messages bfcl-eval adds at the start of ``turn`` (the held-out functions' turn in miss_func)."""
    held_out = entry.get("missed_function", {}).get(str(turn))
    if held_out:
        return [held_out_functions_message(held_out)]
    return [dict(m) for m in entry["question"][turn]]


def first_turn_prompt(entry: dict, category: str) -> dict:
    """``{"id", "system", "user"}``: the first query of an entry, before the chat template."""
    system, user = conversation(entry.get("function", []), turn_messages(entry, 0), turn_type_of(category))
    return {"id": entry["id"], "system": system["content"], "user": user["content"]}


def show_prompts(names: Iterable[str], limit: int | None = None, out: TextIO | None = None) -> int:
    """Print one JSON line per entry of the categories (or groups) named; returns how many."""
    from rest.eval.bfcl import expand_categories, load_prompt_entries

    out = out or sys.stdout
    n = 0
    for category in expand_categories(names):
        for entry in load_prompt_entries(category, limit):
            out.write(json.dumps(first_turn_prompt(entry, category)) + "\n")
            n += 1
    out.flush()
    return n
