"""Estimate every job of the DAG before submitting it: GPUs, peak memory per GPU, wall time, GPU-hours.

Prints each job's figures, totals per model, per method and overall, and every assumption
beside its value (see rest/plan.py). Exits 2 naming the job and what to change when a job's
memory estimate exceeds its GPUs. ``--gpu-check FILE`` reads the JSON written by
benchmarks/gpu_check.sh and replaces only the assumptions it measured.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--configfile", default="config/config.yaml", help="workflow config (default: %(default)s)")
    parser.add_argument("--gpu-check", help="JSON written by benchmarks/gpu_check.sh")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    from rest.plan import load_workflow_config, make_plan, read_gpu_check, render

    plan = make_plan(load_workflow_config(args.configfile), read_gpu_check(args.gpu_check))
    print(json.dumps(plan, indent=1) if args.json else render(plan))
    for problem in plan["over_memory"]:
        print(f"error: {problem['job']}: {problem['fix']}", file=sys.stderr)
    return 2 if plan["over_memory"] else 0
