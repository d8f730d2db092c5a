"""Fetch or verify the raw inputs named in the data manifest.

``fetch`` copies each file from --data-dir (or $REST_DATA_DIR) into --output when it is
there, else downloads it from the URL pinned in the manifest; every file is checked
against its checksum, and ``manifest.lock.json`` records what was found. ``verify``
checks an existing folder. --config chooses which files are required (the others are
optional and only copied when present).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

LOCK_NAME = "manifest.lock.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["fetch", "verify"])
    parser.add_argument("--output", required=True, help="folder to fill (fetch) or to check (verify)")
    parser.add_argument("--data-dir", default=None,
                        help="local folder that already holds raw files (default: $REST_DATA_DIR)")
    parser.add_argument("--config", default="tiny", choices=["tiny", "paper", "rebuild", "all"],
                        help="which pipeline config's files are required (default: tiny)")
    parser.add_argument("--manifest", default=None, help="manifest YAML (default: the packaged one)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds a download waits for the server before giving up (default: 60)")


def run(args: argparse.Namespace) -> int:
    from rest.data.manifest import fetch, load_manifest, verify
    from rest.io import (
        DATA_DIR_ENV,
        InputError,
        atomic_write_json,
        check_output_folder,
        resolve_data_dir,
    )

    check_output_folder(args.output)
    entries = load_manifest(args.manifest)
    if args.action == "fetch":
        data_dir = resolve_data_dir(args.data_dir) if (args.data_dir or os.environ.get(DATA_DIR_ENV)) else None
        if args.timeout is not None and args.timeout <= 0:
            raise InputError(f"--timeout must be positive, got {args.timeout}")
        lock = fetch(args.output, data_dir, args.config, entries,
                     **({"timeout": args.timeout} if args.timeout else {}))
    else:
        if not Path(args.output).is_dir():
            raise InputError(f"--output {args.output}: no such folder to verify")
        lock = verify(args.output, args.config, entries)
    atomic_write_json(Path(args.output) / LOCK_NAME, lock)
    print(json.dumps({"config": lock["config"],
                      "files": {row["path"]: row["status"] for row in lock["files"]}}, indent=2))
    return 0
