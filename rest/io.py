"""Small I/O helpers: atomic writes, JSON Lines with line-numbered errors, the data directory."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

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


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 floats: ``3e-3`` is 0.003, not the string "3e-3"."""


_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def load_yaml(text: str) -> Any:
    """Parse YAML text (safe tags only) with YAML 1.2 numbers."""
    return yaml.load(text, Loader=_Yaml12Loader)


def check_input_file(path: str | os.PathLike, what: str = "file") -> Path:
    """``path`` must be an existing file (not a folder): else an InputError naming it."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: {what} not found")
    if not path.is_file():
        raise InputError(f"{path}: is a folder, expected a {what}")
    return path


def check_output_folder(path: str | os.PathLike, flag: str = "--output") -> Path:
    """``path`` may be created as a folder: it must not be an existing file."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{flag} {path}: exists and is not a folder")
    return path


def _not_utf8(where: str, e: UnicodeDecodeError) -> InputError:
    return InputError(f"{where}: not UTF-8 text ({e.reason} at byte {e.start})")


def read_text(path: str | os.PathLike) -> str:
    """A UTF-8 text file; a missing file, a folder or bad bytes raise InputError naming ``file:line``."""
    path = check_input_file(path)
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise _not_utf8(f"{path}:{line}", e) from None


def read_yaml(path: str | os.PathLike) -> Any:
    """A YAML file (YAML 1.2 numbers); errors name ``file:line``."""
    text = read_text(path)
    try:
        return load_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise InputError(f"{where}: invalid YAML ({getattr(e, 'problem', None) or e})") from None


def read_yaml_mapping(path: str | os.PathLike, what: str) -> dict:
    """A YAML file that must hold a mapping (a recipe, a workflow config); ``what`` names it in errors."""
    data = read_yaml(check_input_file(path, what)) or {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: a {what} must be a mapping of keys")
    return data


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{e.lineno}: invalid JSON ({e.msg})") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply") from None


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[str, Any]]:
    """Yield ``("file:line", object)`` for each non-blank line; bad JSON raises naming ``file:line``.

    ``-`` reads standard input.
    """
    if str(path) == "-":
        name, lines = "<stdin>", sys.stdin
    else:
        path = check_input_file(path)
        name, lines = str(path), path.open("rb")
    try:
        for lineno, raw in enumerate(lines, 1):
            where = f"{name}:{lineno}"
            try:
                line = raw if isinstance(raw, str) else raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise _not_utf8(where, e) from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{where}: invalid JSON ({e.msg})") from None
            except RecursionError:
                raise InputError(f"{where}: JSON nested too deeply") from None
            yield where, row
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
