"""Write config/README.md from the workflow's config schema (its descriptions).

    python scripts/config_readme.py          # rewrite config/README.md
    python scripts/config_readme.py --check  # exit 1 if it is out of date

A key without a description is an error: every key the workflow reads is documented.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
README = REPO / "config" / "README.md"

HEADER = """# Configuration

`config/config.yaml` is the default run, `config/smoke.yaml` the frozen tiny matrix the
tests run, `config/paper.yaml` the paper's matrix (`snakemake --configfile FILE`, which
replaces the default config). `config/recipes/*.yaml` are the training recipes (TRL's
options; see the comments in them) and `config/accelerate/` the multi-process launch
configs. Every key below is checked against `workflow/schemas/config.schema.yaml`, and
this file is generated from that schema's descriptions (`python scripts/config_readme.py`).

| key | allowed values | required | meaning |
|---|---|---|---|
"""


def _resolve(node: dict, defs: dict) -> dict:
    """``node`` with a ``#/$defs/a/b`` reference merged in (the node's own keys win)."""
    if "$ref" not in node:
        return node
    target = defs
    for part in node["$ref"].removeprefix("#/$defs/").split("/"):
        target = target[part]
    return {**_resolve(target, defs), **{k: v for k, v in node.items() if k != "$ref"}}


def _type(node: dict, defs: dict) -> str:
    if "$ref" in node:
        return _type(_resolve(node, defs), defs)
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    kinds = node.get("type", "object")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    text = " or ".join("null" if k == "null" else k for k in kinds)
    if "items" in node:
        text += f" of {_type(node['items'], defs)}"
    if "minimum" in node:
        text += f" ≥ {node['minimum']}"
    return text


def rows(node: dict, defs: dict, prefix: str = "", required: bool = True) -> list[str]:
    node = _resolve(node, defs)
    out = []
    if prefix:
        if "description" not in node:
            MISSING.append(prefix)
            return out
        out.append(f"| `{prefix}` | {_type(node, defs)} | {'yes' if required else 'no'} | {node['description']} |")
    needed = set(node.get("required", []))
    for key, child in node.get("properties", {}).items():
        out += rows(child, defs, f"{prefix}.{key}" if prefix else key, key in needed)
    if isinstance(node.get("additionalProperties"), dict):
        out += rows(node["additionalProperties"], defs, f"{prefix}.<name>", True)
    return out


#: Keys found without a description (each is an error).
MISSING: list[str] = []


def render() -> str:
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    MISSING.clear()
    text = HEADER + "\n".join(rows(schema, schema.get("$defs", {}))) + "\n"
    if MISSING:
        raise ValueError(f"{SCHEMA.name}: keys without a description: {', '.join(MISSING)}")
    return text


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if README.read_text(encoding="utf-8") != text:
            print(f"{README.relative_to(REPO)} is out of date: run python scripts/config_readme.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
