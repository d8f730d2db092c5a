#!/usr/bin/env bash
# Run by Snakemake inside the new `rest-gpu` env (--sdm conda), from the repository root.
set -euo pipefail
python -m pip install --no-deps -r envs/no-deps.txt
