"""Reference completions: BFCL possible answers written as a correct model would write them.

They check the chain prompt format -> our decoding -> the official checker without a model
(tests, ``benchmarks/bench_eval.py``): every answer should score valid.

Each parameter takes the first acceptable option of its possible answer: an optional
parameter whose options include "" (meaning "may be omitted") is left out; nested dicts
and lists of dicts take the first option of each of their own entries. Java and JavaScript
arguments are written as the source-code strings bfcl-eval's type converters parse.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json

from rest.formats import render_completion


def _first(options):
    """The first option that is not the "may be omitted" marker."""
    if not isinstance(options, list):
        return options
    for o in options:
        if o != "":
            return _resolve(o)
    return ""


def _resolve(value):
    if isinstance(value, dict):
        return {k: _first(v) for k, v in value.items() if not (isinstance(v, list) and v and v[0] == "")}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


def _java_scalar(v, t: str | None) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if t == "long":
        return f"{v}L"
    if t == "float":
        return f"{v}f"
    if t == "String" or (t is None and isinstance(v, str)):
        return json.dumps(v)
    if t == "char":
        return f"'{v}'"
    return str(v)


def _java(v, doc: dict) -> str:
    t = doc.get("type")
    if isinstance(v, str):  # the answer is already written as Java source
        return v
    if t == "ArrayList":  # elements go through the item type's converter, String quoted
        item_t = (doc.get("items") or {}).get("type")
        elems = ", ".join(_java_scalar(x, item_t) for x in v)
        return f"new ArrayList<>(Arrays.asList({elems}))"
    if t == "Array":  # elements go through the item type's converter: String stays as written
        item_t = (doc.get("items") or {}).get("type")
        elems = ", ".join(str(x) if item_t == "String" else _java_scalar(x, item_t) for x in v)
        return f"new {item_t or 'Object'}[]{{{elems}}}"
    if t == "HashMap":
        puts = " ".join(f"put({json.dumps(k)}, {_java_scalar(x, None)});" for k, x in v.items())
        return f"new HashMap<String, String>() {{{{ {puts} }}}}"
    if t in ("any", "String", "char"):
        return v if isinstance(v, str) else json.dumps(v)
    return _java_scalar(v, t)


def _js(v, doc: dict) -> str:
    t = doc.get("type")
    if isinstance(v, str):  # a string or a variable name, written as is
        return v
    if t == "Bigint":
        return f"{v}n"
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v)


def reference_calls(case) -> list[dict]:
    functions = {f["name"]: f for f in case.checker_entry["function"]}
    calls = []
    for answer in case.answer:
        for name, params in answer.items():
            props = functions.get(name, {}).get("parameters", {}).get("properties", {})
            required = set(functions.get(name, {}).get("parameters", {}).get("required", []))
            args = {}
            for key, options in params.items():
                if "" in options and key not in required:
                    continue
                value = _first(options)
                if case.category == "simple_java":
                    value = _java(value, props.get(key, {}))
                elif case.category == "simple_javascript":
                    value = _js(value, props.get(key, {}))
                args[key] = value
            calls.append({"name": name, "parameters": args})
    return calls


def reference_completion(case) -> str:
    return render_completion("reference answer", reference_calls(case), None)


def multi_turn_call(call: str, methods: dict[str, str]) -> dict:
    """``{"name", "parameters"}`` of a ground-truth call string such as ``cd(folder='x')``;
    positional arguments are named from the backend method's signature. ``methods`` maps
    method names to backend class names (``Episode.methods``)."""
    from rest.eval.bfcl import load_bfcl

    load_bfcl()
    from bfcl_eval.constants.executable_backend_config import CLASS_FILE_PATH_MAPPING

    node = ast.parse(call, mode="eval").body
    name = node.func.id
    backend = getattr(importlib.import_module(CLASS_FILE_PATH_MAPPING[methods[name]]), methods[name])
    params = list(inspect.signature(getattr(backend, name)).parameters)[1:]  # without self
    args = {params[i]: ast.literal_eval(a) for i, a in enumerate(node.args)}
    args.update({k.arg: ast.literal_eval(k.value) for k in node.keywords})
    return {"name": name, "parameters": args}
