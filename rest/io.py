"""Small I/O helpers: atomic writes, JSON Lines with line-numbered errors, the data directory."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

DATA_DIR_ENV = "REST_DATA_DIR"


class InputError(ValueError):
    """Bad input: the message names the file, line or key at fault."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    An interrupted job therefore never leaves a half-written file that a workflow
    manager would take for complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def atomic_write_jsonl(path: str | os.PathLike, rows: Iterable[Any]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def read_yaml_mapping(path: str | os.PathLike, what: str) -> dict:
    """A YAML file that must hold a mapping (a recipe, a workflow config); ``what`` names it in errors."""
    import yaml

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: {what} not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise InputError(f"{path}: invalid YAML ({e})") from e
    if not isinstance(data, dict):
        raise InputError(f"{path}: a {what} must be a mapping of keys")
    return data


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{e.lineno}: invalid JSON ({e.msg})") from e


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[str, Any]]:
    """Yield ``("file:line", object)`` for each non-blank line; bad JSON raises naming ``file:line``.

    ``-`` reads standard input.
    """
    if str(path) == "-":
        name, lines = "<stdin>", sys.stdin
    else:
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: file not found")
        name, lines = str(path), path.open(encoding="utf-8")
    try:
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{name}:{lineno}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{where}: invalid JSON ({e.msg})") from e
    finally:
        if lines is not sys.stdin:
            lines.close()


def read_jsonl(path: str | os.PathLike) -> list[Any]:
    """Read JSON Lines (blank lines skipped); a malformed line raises InputError naming ``file:line``."""
    return [row for _, row in iter_jsonl(path)]


def require_keys(obj: Any, keys: dict[str, type | tuple[type, ...]], where: str) -> None:
    """Check that ``obj`` is a dict with ``keys`` of the given types; errors name ``where``."""
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    for key, typ in keys.items():
        if key not in obj:
            raise InputError(f"{where}: missing key {key!r}")
        if not isinstance(obj[key], typ):
            names = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
            raise InputError(f"{where}: key {key!r} must be {names}, got {type(obj[key]).__name__}")


def resolve_data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The raw-data directory: ``explicit`` if given, else ``$REST_DATA_DIR``."""
    value = explicit if explicit else os.environ.get(DATA_DIR_ENV)
    if not value:
        raise InputError(
            f"no data directory: pass --data-dir or set {DATA_DIR_ENV} to the folder that holds "
            "apibank/ and train/ (see README, 'Data')"
        )
    path = Path(value).expanduser()
    if not path.is_dir():
        raise InputError(f"data directory {path} (from {'--data-dir' if explicit else DATA_DIR_ENV}) does not exist")
    return path
