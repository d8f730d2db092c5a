"""Train one method (ResT, GRPO, SFT, ...) from a recipe YAML.

Writes DIR/model/, DIR/config.yaml (resolved), DIR/metrics.jsonl, DIR/checkpoints/ and,
last and atomically, DIR/summary.json; the last two record --run-id and the resolved config.
A rerun with the same DIR resumes from the last checkpoint of the same run (same method,
config, starting model and data), finalizes a run whose last checkpoint is at max_steps
without training, and otherwise starts over, saying what changed. Extra ``key=value``
arguments override recipe keys (YAML values: ``learning_rate=3e-3``,
``upweight_regions=[NAME,THINK]``); ``fresh=true`` retrains from scratch.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="recipe YAML (config/recipes/tiny.yaml, paper.yaml)")
    parser.add_argument("--method", required=True, help="method name from rest/methods.py")
    parser.add_argument("--model", required=True, help="hub name or local path of the starting model")
    parser.add_argument("--data", required=False, help="training records (rlla JSONL)")
    parser.add_argument("--output", required=True, help="run directory")
    parser.add_argument("--run-id", metavar="study=S,model=M,method=X,seed=N",
                        help="the run's identity, recorded in summary.json and metrics.jsonl")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="recipe overrides")


def run(args: argparse.Namespace) -> int:
    from rest.methods import get_method

    get_method(args.method)  # a typo fails before the heavy imports
    from rest.identity import RunIdentity
    from rest.train.config import parse_overrides
    from rest.train.run import train

    run_id = RunIdentity.parse(args.run_id) if args.run_id else None
    train(args.method, args.config, args.model, args.data, args.output, parse_overrides(args.overrides), run_id)
    return 0
