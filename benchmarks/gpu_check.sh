#!/usr/bin/env bash
# GPU check: one script, at most 8 minutes on one H100, no network. It installs the wheels
# the GPU image lacks (TRL and datasets with their small pure-Python dependencies, prepared
# beforehand as the README's "GPU check" section says) into a temporary folder, then runs
# benchmarks/gpu_check.py and writes one JSON that `rest plan --gpu-check FILE` reads.
#   bash benchmarks/gpu_check.sh [WHEELS_DIR] [OUTPUT_JSON]
# Defaults: wheels/ and gpu_check.json. REST_DATA_DIR must hold train/toolrl_rlla_4k_raw/.
set -euo pipefail
cd "$(dirname "$0")/.."
wheels="${1:-wheels}"
output="${2:-gpu_check.json}"
site="$(mktemp -d)"
trap 'rm -rf "$site"' EXIT
if compgen -G "$wheels/*.whl" > /dev/null; then
  python -m pip install -q --no-index --no-deps --target "$site" "$wheels"/*.whl
fi
PYTHONPATH="$PWD:$site${PYTHONPATH:+:$PYTHONPATH}" timeout 480 \
  python benchmarks/gpu_check.py --device cuda --output "$output"
