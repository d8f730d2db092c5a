"""ToolACE's bracket call syntax: ``[Func Name(arg="v", n=1), Other(x=[1, {"k": null}])]``.

Tool names may contain spaces and punctuation, so the text is not Python and is never
evaluated. A small scanner finds each name and its string-aware, bracket-matched
argument list; each argument value is read with ``ast.parse`` and converted from
literal nodes only (strings, numbers, lists, dicts, true/false/null in Python or JSON
spelling). Anything else raises ``CallSyntaxError``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable
from typing import Any

_OPEN, _CLOSE = "([{", ")]}"
_NAMED_CONSTANTS = {"True": True, "False": False, "None": None, "true": True, "false": False, "null": None}


class CallSyntaxError(ValueError):
    """The text is not a well-formed bracket call list."""


def looks_like_call_list(text: str) -> bool:
    s = text.strip()
    return s.startswith("[") and s.endswith("]") and "(" in s


def parse_call_list(text: str, known_names: Iterable[str] = ()) -> list[dict[str, Any]]:
    """``[{"name": ..., "parameters": {...}}, ...]`` from a bracket call list.

    ``known_names`` (the tool list's names) lets names that themselves contain ``(``
    be read whole; otherwise a name runs up to the first ``(``.
    """
    if not isinstance(text, str):
        raise CallSyntaxError(f"expected text, got {type(text).__name__}")
    s = text.strip()
    if not (s.startswith("[") and s.endswith("]")):
        raise CallSyntaxError("a call list must be enclosed in [ ]")
    names = sorted({n for n in known_names if isinstance(n, str) and n}, key=len, reverse=True)
    calls, i, end = [], 1, len(s) - 1
    while True:
        i = _skip_space(s, i, end)
        if i >= end:
            break
        j, known = _name_end(s, i, end, names)
        name = s[i:j].strip()
        if not name or (not known and any(c in name for c in "[]{}\"'=,)")):
            raise CallSyntaxError(f"bad tool name {name!r}")
        k = _matching(s, j, end)
        calls.append({"name": name, "parameters": _parse_arguments(s[j + 1:k])})
        i = _skip_space(s, k + 1, end)
        if i < end:
            if s[i] != ",":
                raise CallSyntaxError(f"expected ',' between calls at offset {i}")
            i += 1
    if not calls:
        raise CallSyntaxError("empty call list")
    return calls


def _skip_space(s: str, i: int, end: int) -> int:
    while i < end and s[i].isspace():
        i += 1
    return i


def _name_end(s: str, i: int, end: int, names: list[str]) -> tuple[int, bool]:
    """Index of the ``(`` opening the call's arguments, and whether the name is a known one."""
    for name in names:
        if s.startswith(name, i):
            j = _skip_space(s, i + len(name), end)
            if j < end and s[j] == "(":
                return j, True
    j = s.find("(", i, end)
    if j < 0:
        raise CallSyntaxError(f"expected '(' after a tool name at offset {i}")
    return j, False


def _matching(s: str, start: int, end: int) -> int:
    """Index of the bracket closing ``s[start]``, skipping quoted strings."""
    stack, quote, i = [], None, start
    while i < end:
        c = s[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c in _OPEN:
            stack.append(_CLOSE[_OPEN.index(c)])
        elif c in _CLOSE:
            if not stack or c != stack.pop():
                raise CallSyntaxError(f"unbalanced {c!r} at offset {i}")
            if not stack:
                return i
        i += 1
    raise CallSyntaxError("unclosed argument list" if not quote else "unclosed string")


def _split_top_level(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside strings and brackets."""
    parts, depth, quote, buf, i = [], 0, None, [], 0
    while i < len(text):
        c = text[i]
        if quote:
            buf.append(c)
            if c == "\\" and i + 1 < len(text):
                buf.append(text[i + 1])
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
            buf.append(c)
        elif c in _OPEN:
            depth += 1
            buf.append(c)
        elif c in _CLOSE:
            depth -= 1
            buf.append(c)
        elif c == sep and depth == 0:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(c)
        i += 1
    parts.append("".join(buf))
    return parts


def _parse_arguments(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    pieces = _split_top_level(text, ",")
    if len(pieces) > 1 and not pieces[-1].strip():
        pieces = pieces[:-1]  # a trailing comma
    args: dict[str, Any] = {}
    for piece in pieces:
        key, eq, value = piece.partition("=")
        key = key.strip()
        if not eq or not key or not value.strip():
            raise CallSyntaxError(f"argument {piece.strip()!r} is not key=value")
        if any(c in key for c in "\"'()[]{}"):
            raise CallSyntaxError(f"bad argument name {key!r}")
        if key in args:
            raise CallSyntaxError(f"argument {key!r} given twice")
        args[key] = parse_literal(value.strip())
    return args


def parse_literal(text: str) -> Any:
    """A JSON-compatible value from Python/JSON literal text; never evaluates code."""
    try:
        node = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        raise CallSyntaxError(f"value {text[:60]!r} is not a literal") from e
    try:
        return _literal(node)
    except RecursionError as e:
        raise CallSyntaxError("value nests too deeply") from e


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or v is None or isinstance(v, (str, int)):
            return v
        if isinstance(v, float) and math.isfinite(v):
            return v
        raise CallSyntaxError(f"unsupported constant {v!r}")
    if isinstance(node, ast.Name) and node.id in _NAMED_CONSTANTS:
        return _NAMED_CONSTANTS[node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        out = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                raise CallSyntaxError("** unpacking is not a literal")
            key = _literal(k)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise CallSyntaxError("dict keys must be scalars")
            out[key if isinstance(key, str) else str(key)] = _literal(v)
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _literal(node.operand)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise CallSyntaxError("a sign applies only to numbers")
        return -v if isinstance(node.op, ast.USub) else v
    raise CallSyntaxError(f"{type(node).__name__} is not a literal value")
