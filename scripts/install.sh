#!/usr/bin/env bash
# One command that installs everything the default pipeline and the tests need.
# Usage: bash scripts/install.sh [extra ...]   e.g. `bash scripts/install.sh vllm` on a GPU node.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="dev,eval,slurm"
for e in "$@"; do extras="$extras,$e"; done
python -m pip install -q -e ".[${extras}]"
# bfcl-eval's declared requirements pull a CUDA torch; its checkers need only the
# packages listed in the `eval` extra above.
python -m pip install -q --no-deps "bfcl-eval==2026.3.23"
