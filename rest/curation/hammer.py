"""Hammer's function masking of xLAM items, and Hammer's own SFT file format.

Masking (Hammer, ``train/data_processing.py``), applied to an item with probability 2/3:

1. tool names become random strings of 5-15 characters from ``[A-Za-z0-9_.]``;
2. argument names become random strings of 4-10 characters;
3. a default value that equals the answer's value for that argument is perturbed
   (int +1..4, float +U[0, 1), string 5 random characters) in the tool, the answer,
   the argument's description and the query.

Each step first removes duplicate tools (same name) and then pads the list back with
random duplicates and shuffles it, as Hammer does. Everything draws from one
``random.Random``, so a seed fixes the result.
"""

from __future__ import annotations

import copy
import json
import random
import string
from typing import Any

from rest.curation.callsyntax import CallSyntaxError, parse_literal
from rest.curation.records import ConversionError
from rest.curation.xlam import decode_item, to_record

SOURCE = "hammer"
NAME_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + "_." + string.digits
TOOL_NAME_LENGTH = (5, 15)
ARG_NAME_LENGTH = (4, 10)

# Section markers of Hammer's SFT prompt (its ``build_prompt``).
_TOOLS_BEGIN, _TOOLS_END = "[BEGIN OF AVAILABLE TOOLS]", "[END OF AVAILABLE TOOLS]"
_QUERY_BEGIN, _QUERY_END = "[BEGIN OF QUERY]", "[END OF QUERY]"


def _random_name(rng: random.Random, bounds: tuple[int, int]) -> str:
    return "".join(rng.choices(NAME_ALPHABET, k=rng.randint(*bounds)))


def _unique_by_name(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for t in tools:
        if t["name"] not in seen:
            seen.add(t["name"])
            out.append(t)
    return out


def _pad_and_shuffle(unique: list[dict], n_original: int, rng: random.Random) -> list[dict]:
    """Hammer's step after dedup: add back 0..(N-len+1) random duplicates, then shuffle."""
    tools = list(unique)
    if len(tools) != n_original and tools:
        tools += copy.deepcopy(rng.choices(tools, k=rng.randint(0, n_original - len(tools) + 1)))
    rng.shuffle(tools)
    return tools


def mask_tool_names(tools: list[dict], answers: list[dict], rng: random.Random) -> list[dict]:
    unique = _unique_by_name(tools)
    for tool in unique:
        old, new = tool["name"], _random_name(rng, TOOL_NAME_LENGTH)
        tool["name"] = new
        for ans in answers:
            if ans["name"] == old:
                ans["name"] = new
    return _pad_and_shuffle(unique, len(tools), rng)


def mask_argument_names(tools: list[dict], answers: list[dict], rng: random.Random) -> list[dict]:
    unique = _unique_by_name(tools)
    for tool in unique:
        params = tool.get("parameters")
        if not isinstance(params, dict):
            continue
        for old in list(params):
            new = _random_name(rng, ARG_NAME_LENGTH)
            params[new] = params.pop(old)
            for ans in answers:
                args = ans.setdefault("arguments", {})
                if ans["name"] == tool["name"] and old in args:
                    args[new] = args.pop(old)
    return _pad_and_shuffle(unique, len(tools), rng)


def perturb_value(value: Any, rng: random.Random) -> Any:
    """A new value of the same kind: int +1..4, float +U[0,1), string 5 random characters."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value + rng.randint(1, 4)
    if isinstance(value, float):
        return value + rng.random()
    return "".join(rng.choice(NAME_ALPHABET) for _ in range(5))


def _replace_case_variants(text: str, old: str, new: str) -> str:
    """Hammer's ``replace_in_query``: as written, Capitalized, lower and UPPER."""
    for f in (lambda s: s, str.capitalize, str.lower, str.upper):
        text = text.replace(f(old), f(new))
    return text


def perturb_defaults(tools: list[dict], answers: list[dict], query: str, rng: random.Random
                     ) -> tuple[list[dict], str]:
    """Perturb each default equal (as text) to the answer's value for that argument."""
    unique = _unique_by_name(tools)
    for tool in unique:
        params = tool.get("parameters")
        if not isinstance(params, dict):
            continue
        for param, info in params.items():
            default = info.get("default") if isinstance(info, dict) else None
            if default is None or default == "" or isinstance(default, (list, dict, bool)):
                continue
            matching = [a for a in answers if a["name"] == tool["name"]
                        and param in a.get("arguments", {}) and str(a["arguments"][param]) == str(default)]
            if not matching:
                continue
            new = perturb_value(default, rng)
            info["default"] = new
            if isinstance(info.get("description"), str):
                info["description"] = info["description"].replace(str(default), str(new))
            for ans in matching:
                old_value = ans["arguments"][param]
                ans["arguments"][param] = str(new) if isinstance(old_value, str) and not isinstance(new, str) else new
            query = _replace_case_variants(query, str(default), str(new))
    return unique, query


def mask(query: str, tools: list[dict], answers: list[dict], rng: random.Random
         ) -> tuple[str, list[dict], list[dict]]:
    """Hammer's three masking steps, in its order; inputs are not modified."""
    tools, answers = copy.deepcopy(tools), copy.deepcopy(answers)
    tools = mask_tool_names(tools, answers, rng)
    tools = mask_argument_names(tools, answers, rng)
    tools, query = perturb_defaults(tools, answers, query, rng)
    return query, tools, answers


def convert_masked(item: Any, index: int, rng: random.Random, mask_prob: float = 2 / 3
                   ) -> list[dict[str, str]]:
    """An xLAM item, masked with probability ``mask_prob``, as a record of source ``hammer``."""
    query, tools, answers = decode_item(item)
    if rng.random() < mask_prob:
        query, tools, answers = mask(query, tools, answers, rng)
    return [to_record(query, tools, answers, f"{SOURCE}:{item.get('id', index)}", SOURCE)]


# --------------------------------------------------------------------------- Hammer's SFT file


def _section(text: str, begin: str, end: str) -> str:
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        raise ConversionError(f"instruction lacks its {begin} ... {end} section")
    return text[i + len(begin):j].strip()


def _json_or_literal(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:  # Hammer's script formats the tool list with Python's repr
        return parse_literal(text)
    except CallSyntaxError as e:
        raise ConversionError("a section is neither JSON nor a Python literal") from e


def read_sft_item(item: Any) -> dict[str, Any]:
    """An xLAM-shaped item (query, tools, answers) from one entry of Hammer's SFT file."""
    if not isinstance(item, dict) or not isinstance(item.get("instruction"), str):
        raise ConversionError("item has no instruction")
    if not isinstance(item.get("output"), str):
        raise ConversionError("item has no output")
    tools = _json_or_literal(_section(item["instruction"], _TOOLS_BEGIN, _TOOLS_END))
    query = _section(item["instruction"], _QUERY_BEGIN, _QUERY_END)
    answers = _json_or_literal(item["output"].strip().strip("`").strip())
    return {"query": query, "tools": tools, "answers": answers}


def convert_sft(item: Any, index: int) -> list[dict[str, str]]:
    """A record of source ``hammer`` from an entry of Hammer's (already masked) SFT file."""
    query, tools, answers = decode_item(read_sft_item(item))
    return [to_record(query, tools, answers, f"{SOURCE}:{index}", SOURCE)]
