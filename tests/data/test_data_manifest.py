"""The data manifest and `python -m rest data fetch|verify`: copying, downloading, checksums."""

import hashlib
import json
import subprocess

import pytest
import yaml

from rest.cli import main
from rest.data.manifest import fetch, git_blob_sha1, load_manifest, manifest_entry, verify
from rest.io import InputError


def test_packaged_manifest_pins_every_downloadable_file():
    entries = load_manifest()
    keys = [e.key for e in entries]
    assert len(keys) == len(set(keys))
    for e in entries:
        assert not e.path.startswith("/") and ".." not in e.path
        if e.url:
            assert e.pinned, e.key
            assert any(c in e.url for c in ("/8cee13ec", "/5e3ca28c", "/1156d649")), e.key  # pinned to a commit
        else:
            assert e.manual, e.key
    assert manifest_entry("rlla_rl").git_blob == "1827b67d516cca98f58541c8d218a038d13321e3"
    assert "tiny" in manifest_entry("rlla_sft").needed_by and not manifest_entry("rlla_rl").needed("tiny")


def test_shared_data_matches_the_manifest(data_dir):
    lock = verify(data_dir, config="tiny")
    status = {row["key"]: row["status"] for row in lock["files"]}
    assert status["rlla_sft"] == status["rlla_test"] == status["apibank_level1"] == "ok"
    assert status["rlla_rl"].startswith("absent")


def test_git_blob_id_matches_git(tmp_path):
    f = tmp_path / "x.txt"
    f.write_bytes("héllo\n".encode())
    out = subprocess.run(["git", "hash-object", str(f)], capture_output=True, text=True, check=True).stdout.strip()
    assert git_blob_sha1(f) == out


def write_manifest(tmp_path, files):
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump({"files": files}))
    return path


def test_fetch_downloads_from_a_pinned_url_and_verifies(tmp_path, monkeypatch):
    monkeypatch.delenv("REST_DATA_DIR", raising=False)
    upstream = tmp_path / "upstream" / "a.json"
    upstream.parent.mkdir()
    upstream.write_text('[{"x": 1}]')
    good = hashlib.sha256(upstream.read_bytes()).hexdigest()
    manifest = write_manifest(tmp_path, [
        {"key": "a", "path": "d/a.json", "url": upstream.as_uri(), "sha256": good, "needed_by": ["tiny"]},
        {"key": "b", "path": "d/b.json", "url": upstream.as_uri(), "git_blob": git_blob_sha1(upstream),
         "needed_by": ["paper"]},
    ])
    out = tmp_path / "out"
    assert main(["data", "fetch", "--output", str(out), "--manifest", str(manifest), "--config", "all"]) == 0
    assert (out / "d/a.json").read_bytes() == upstream.read_bytes() == (out / "d/b.json").read_bytes()
    lock = json.loads((out / "manifest.lock.json").read_text())
    assert [(r["key"], r["status"], r["sha256"]) for r in lock["files"]] == [("a", "downloaded", good), ("b", "downloaded", good)]
    assert main(["data", "verify", "--output", str(out), "--manifest", str(manifest), "--config", "all"]) == 0


def test_fetch_failure_says_which_file_to_provide_and_where(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("REST_DATA_DIR", raising=False)  # no local copy: the output is where files go
    upstream = tmp_path / "a.json"
    upstream.write_text("tampered")
    manifest = write_manifest(tmp_path, [
        {"key": "a", "path": "d/a.json", "url": upstream.as_uri(), "sha256": "0" * 64, "needed_by": ["tiny"]},
        {"key": "gone", "path": "d/gone.json", "url": (tmp_path / "nope.json").as_uri(), "sha256": "0" * 64,
         "needed_by": ["tiny"]},
        {"key": "manual", "path": "d/m.json", "url": None, "manual": "ask the authors", "needed_by": ["tiny"]},
        {"key": "opt", "path": "d/o.json", "url": (tmp_path / "nope.json").as_uri(), "sha256": "0" * 64,
         "needed_by": ["paper"]},
    ])
    out = tmp_path / "out"
    assert main(["data", "fetch", "--output", str(out), "--manifest", str(manifest)]) == 2
    err = capsys.readouterr().err
    assert f"d/a.json: downloaded file has sha256 {hashlib.sha256(b'tampered').hexdigest()}, expected {'0' * 64}" in err
    assert f"place it at {out / 'd/a.json'}" in err
    assert "d/gone.json: download failed" in err
    assert f"d/m.json is needed by the tiny config: ask the authors and place it at {out / 'd/m.json'}" in err
    assert "d/o.json" not in err  # optional for tiny
    assert not (out / "d/a.json").exists()  # a bad download is not left behind


def test_fetch_copies_from_the_data_dir_and_rejects_a_corrupt_copy(tmp_path):
    local = tmp_path / "local"
    (local / "d").mkdir(parents=True)
    (local / "d/a.json").write_text("[]")
    entries = load_manifest(write_manifest(tmp_path, [
        {"key": "a", "path": "d/a.json", "url": None, "sha256": hashlib.sha256(b"[]").hexdigest(),
         "needed_by": ["tiny"]}]))
    lock = fetch(tmp_path / "out", local, "tiny", entries)
    assert lock["files"][0]["status"] == "copied" and (tmp_path / "out/d/a.json").read_text() == "[]"
    (local / "d/a.json").write_text("[1]")
    with pytest.raises(InputError, match=r"local/d/a.json: sha256 .*, expected .*; replace it"):
        fetch(tmp_path / "out2", local, "tiny", entries)
    (tmp_path / "out/d/a.json").write_text("[2]")
    with pytest.raises(InputError, match=r"out/d/a.json: sha256"):
        verify(tmp_path / "out", "tiny", entries)


def test_bad_manifest_names_the_entry(tmp_path):
    with pytest.raises(InputError, match=r"files\[0\] \(a\): needed_by has unknown config"):
        load_manifest(write_manifest(tmp_path, [{"key": "a", "path": "p", "needed_by": ["huge"]}]))
    with pytest.raises(InputError, match=r"files\[0\] \(a\): unknown field"):
        load_manifest(write_manifest(tmp_path, [{"key": "a", "path": "p", "md5": "x"}]))
