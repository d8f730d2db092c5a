"""``scores.json``: one evaluation of one run on one benchmark, schema version 1.

The schema is documented field by field in docs/scores.md. Items are keyed by a stable id
(API-Bank ``level-L/I``, BFCL's entry id), so two runs' results pair item by item.
Other fields (the benchmark's counts, notes) ride along as extras; readers ignore them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rest.identity import RunIdentity
from rest.io import InputError, read_json

SCHEMA_VERSION = 1
#: Keys every version-1 record has (docs/scores.md).
REQUIRED = ("schema_version", "benchmark", "run", "versions", "generation", "config", "items", "metrics")


def run_versions(data: Any) -> dict:
    """The ``versions`` field: python and every package of the stack, plus the data's version."""
    from rest.report.index import package_versions

    return {**package_versions(), "data": data}


def data_sha256(paths: dict[str, Path]) -> dict[str, str]:
    """name -> sha256 of each data file a score was computed from (the data's version)."""
    from rest.data.manifest import sha256_file

    return {name: sha256_file(p) for name, p in paths.items()}


def scores_record(benchmark: str, run: RunIdentity | None, *, versions: dict, generation: dict,
                  config: dict, items: list[dict], metrics: dict[str, float], **extra: Any) -> dict:
    """A version-1 ``scores.json`` record; each item needs ``id`` (unique) and ``correct``."""
    ids = [item["id"] for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{benchmark}: item ids must be unique")
    return {"schema_version": SCHEMA_VERSION, "benchmark": benchmark,
            "run": run.as_dict() if run else None, "versions": versions, "generation": generation,
            "config": config, "metrics": metrics,
            "items": [{"id": item["id"], "correct": bool(item["correct"]),
                       **{k: v for k, v in item.items() if k not in ("id", "correct")}} for item in items],
            **extra}


def read_scores(path: str | Path) -> tuple[RunIdentity, dict]:
    """The run identity and the record of a ``scores.json``; a bad file is an InputError naming it."""
    record = read_json(path)
    if not isinstance(record, dict):
        raise InputError(f"{path}: expected a JSON object")
    version = record.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError(f"{path}: schema_version {version!r}; this reader knows {SCHEMA_VERSION} "
                         "(docs/scores.md)")
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise InputError(f"{path}: missing key {missing[0]!r} (docs/scores.md)")
    if not isinstance(record["metrics"], dict):
        raise InputError(f"{path}: key 'metrics' must be an object of metric -> percent")
    for metric, value in record["metrics"].items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise InputError(f"{path}: metric {metric!r} must be a number, got {value!r}")
    return RunIdentity.from_record(record["run"], str(path)), record
