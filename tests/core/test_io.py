"""Atomic writes and line-numbered input errors."""

import pytest

from rest.io import InputError, atomic_path, atomic_write_json, read_jsonl, require_keys, resolve_data_dir


def test_interrupted_write_leaves_nothing(tmp_path):
    target = tmp_path / "out" / "scores.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half a fi")
            raise RuntimeError("killed")
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "s.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_json(target, {"b": 2})
    assert target.read_text() == '{\n  "b": 2\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


def test_read_jsonl_names_file_and_line(tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text('{"a": 1}\n\n{"a": \n')
    with pytest.raises(InputError, match=r"x\.jsonl:3: invalid JSON"):
        read_jsonl(f)


def test_require_keys_names_the_key():
    with pytest.raises(InputError, match="rec 4: key 'step' must be int"):
        require_keys({"step": "1"}, {"step": int}, "rec 4")


def test_data_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("REST_DATA_DIR", raising=False)
    with pytest.raises(InputError, match="REST_DATA_DIR"):
        resolve_data_dir()
    monkeypatch.setenv("REST_DATA_DIR", str(tmp_path))
    assert resolve_data_dir() == tmp_path
    with pytest.raises(InputError, match="does not exist"):
        resolve_data_dir(tmp_path / "missing")
