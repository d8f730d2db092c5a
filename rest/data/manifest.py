"""The data manifest: every raw input, its upstream URL pinned to a commit, and its checksum.

``fetch`` gathers the files into one folder (copying from a local data directory when
the file is there, downloading otherwise) and ``verify`` checks an existing folder.
Both write or return a lock record of what was found, with checksums, so a report can
show exactly which data a result came from.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from rest.io import InputError, atomic_path, read_yaml

log = logging.getLogger(__name__)

CONFIG_NAMES = ("tiny", "paper", "rebuild")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ManifestEntry:
    key: str
    path: str  # relative to the data directory
    url: str | None = None
    sha256: str | None = None
    git_blob: str | None = None
    bytes: int | None = None
    records: int | None = None
    license: str | None = None
    manual: str | None = None
    needed_by: tuple[str, ...] = ()

    @property
    def pinned(self) -> bool:
        return bool(self.sha256 or self.git_blob)

    def needed(self, config: str) -> bool:
        return config == "all" or config in self.needed_by


def load_manifest(path: str | Path | None = None) -> list[ManifestEntry]:
    """Read the manifest (the packaged one by default); a bad entry names its key."""
    if path is None:
        text = resources.files("rest").joinpath("resources/data_manifest.yaml").read_text("utf-8")
        where = "rest/resources/data_manifest.yaml"
    else:
        text, where = None, str(path)
    doc = yaml.safe_load(text) if text is not None else read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
        raise InputError(f"{where}: expected a mapping with a 'files' list")
    entries = []
    fields = set(ManifestEntry.__dataclass_fields__)
    for i, raw in enumerate(doc["files"]):
        if not isinstance(raw, dict) or "key" not in raw or "path" not in raw:
            raise InputError(f"{where}: files[{i}] needs 'key' and 'path'")
        unknown = set(raw) - fields
        if unknown:
            raise InputError(f"{where}: files[{i}] ({raw['key']}): unknown field(s) {sorted(unknown)}")
        bad = set(raw.get("needed_by") or ()) - set(CONFIG_NAMES)
        if bad:
            raise InputError(f"{where}: files[{i}] ({raw['key']}): needed_by has unknown config(s) {sorted(bad)}")
        entries.append(ManifestEntry(**{**raw, "needed_by": tuple(raw.get("needed_by") or ())}))
    return entries


def manifest_entry(key: str, entries: list[ManifestEntry] | None = None) -> ManifestEntry:
    for e in entries if entries is not None else load_manifest():
        if e.key == key:
            return e
    raise KeyError(f"no manifest entry {key!r}")


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def git_blob_sha1(path: str | Path) -> str:
    """The id git gives a file's content: sha1 of ``b"blob <size>\\0" + content``."""
    path = Path(path)
    h = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def checksum_problem(path: Path, entry: ManifestEntry) -> str | None:
    """None when ``path`` matches the entry's pinned checksums, else what differs."""
    if entry.sha256 and (got := sha256_file(path)) != entry.sha256:
        return f"sha256 {got}, expected {entry.sha256}"
    if entry.git_blob and (got := git_blob_sha1(path)) != entry.git_blob:
        return f"git blob {got}, expected {entry.git_blob}"
    return None


def _lock_row(entry: ManifestEntry, path: Path | None, status: str) -> dict[str, Any]:
    row: dict[str, Any] = {"key": entry.key, "path": entry.path, "status": status, "url": entry.url}
    if path is not None and path.exists():
        row["sha256"] = sha256_file(path)
        row["bytes"] = path.stat().st_size
        if entry.git_blob:
            row["git_blob"] = git_blob_sha1(path)
    row["pinned"] = entry.pinned
    return row


def _how_to_provide(entry: ManifestEntry, folder: Path) -> str:
    source = entry.manual or (f"download {entry.url}" if entry.url else "obtain it")
    return f"{source} and place it at {folder / entry.path}"


#: Seconds a download waits for the server to answer (or to send more) before giving up.
DOWNLOAD_TIMEOUT = 60.0


def _download(url: str, dest: Path, timeout: float = DOWNLOAD_TIMEOUT) -> None:
    log.info("fetching %s from %s (waiting up to %g s for the server)", dest.name, url, timeout)
    with atomic_path(dest) as tmp, urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
        shutil.copyfileobj(resp, out, _CHUNK)


def _unreachable(error: BaseException) -> bool:
    """A timeout or refused connection: the next download from this machine would wait as long."""
    reason = getattr(error, "reason", error)
    return isinstance(reason, (TimeoutError, ConnectionError, socket.timeout, socket.gaierror))


def fetch(
    output: str | Path,
    data_dir: str | Path | None = None,
    config: str = "tiny",
    entries: list[ManifestEntry] | None = None,
    timeout: float = DOWNLOAD_TIMEOUT,
) -> dict[str, Any]:
    """Gather the manifest's files into ``output``; return the lock record.

    A file is copied from ``data_dir`` when it is there, else downloaded from its URL
    when the chosen config needs it. Every file is checked against its pinned checksum.
    A needed file that cannot be had stops with a message saying what to put where.
    After one download times out or is refused, no other is tried (each would wait as long).
    """
    output = Path(output)
    entries = entries if entries is not None else load_manifest()
    local = Path(data_dir) if data_dir else None
    rows, problems = [], []
    offline = None
    for entry in entries:
        dest = output / entry.path
        src = local / entry.path if local else None
        if src is not None and src.is_file():
            bad = checksum_problem(src, entry)
            if bad:
                problems.append(f"{src}: {bad}; replace it: {_how_to_provide(entry, local)}")
                continue
            if src.resolve() != dest.resolve():
                with atomic_path(dest) as tmp:
                    shutil.copyfile(src, tmp)
            rows.append(_lock_row(entry, dest, "copied" if src.resolve() != dest.resolve() else "present"))
            continue
        if dest.is_file() and not checksum_problem(dest, entry):
            rows.append(_lock_row(entry, dest, "present"))
            continue
        if not entry.needed(config):
            rows.append(_lock_row(entry, None, f"absent (optional for {config})"))
            continue
        if not entry.url:
            problems.append(f"{entry.path} is needed by the {config} config: {_how_to_provide(entry, local or output)}")
            continue
        if offline is not None:
            problems.append(f"{entry.path}: not tried ({offline}); {_how_to_provide(entry, local or output)}")
            continue
        try:
            _download(entry.url, dest, timeout)
        except (urllib.error.URLError, OSError, ValueError) as e:
            problems.append(f"{entry.path}: download failed ({e}); {_how_to_provide(entry, local or output)}")
            if _unreachable(e):
                offline = f"the download of {entry.path} got no answer within {timeout:g} s"
            continue
        bad = checksum_problem(dest, entry)
        if bad:
            dest.unlink()
            problems.append(f"{entry.path}: downloaded file has {bad}; {_how_to_provide(entry, local or output)}")
            continue
        rows.append(_lock_row(entry, dest, "downloaded"))
    if problems:
        raise InputError("data fetch failed (a folder already holding the files can be given as --data-dir "
                         "or $REST_DATA_DIR):\n  " + "\n  ".join(problems))
    return {"config": config, "files": rows}


def verify(
    folder: str | Path, config: str = "tiny", entries: list[ManifestEntry] | None = None
) -> dict[str, Any]:
    """Check the checksums of the files in ``folder``; every problem is listed, not only the first."""
    folder = Path(folder)
    entries = entries if entries is not None else load_manifest()
    rows, problems = [], []
    for entry in entries:
        path = folder / entry.path
        if not path.is_file():
            if entry.needed(config):
                problems.append(f"{path}: missing (needed by the {config} config); {_how_to_provide(entry, folder)}")
            else:
                rows.append(_lock_row(entry, None, f"absent (optional for {config})"))
            continue
        bad = checksum_problem(path, entry)
        if bad:
            problems.append(f"{path}: {bad}")
            continue
        rows.append(_lock_row(entry, path, "ok" if entry.pinned else "unpinned"))
    if problems:
        raise InputError("data verify failed:\n  " + "\n  ".join(problems))
    return {"config": config, "files": rows}
