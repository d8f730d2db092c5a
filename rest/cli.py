"""``python -m rest COMMAND``: one entry point for every stage of the pipeline.

Each command lives in ``rest/commands/<name>.py`` with ``add_arguments(parser)`` and
``run(args) -> int``. Heavy imports (torch, transformers) happen inside ``run`` so that
``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from rest.io import InputError

COMMANDS: dict[str, str] = {
    "reward": "score completions against ground truths with the rule reward (JSONL in, JSONL out)",
    "regions": "show each token's region and weight, coloured in a terminal",
    "data": "fetch or verify the raw inputs named in the data manifest",
    "curate": "build the RL, SFT and validation sets from raw records",
    "build-model": "build the tiny embedded model and its tokenizer, or fetch a named model",
    "train": "train one method (ResT, GRPO, SFT, ...) from a recipe",
    "eval": "evaluate a model on API-Bank or BFCL, or score existing predictions",
    "report": "write the paper's tables and figures from score files",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rest",
        description="ResT reproduction: rewards, token regions, training, evaluation and reports.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"rest.commands.{name.replace('-', '_')}")
        p = sub.add_parser(name, help=help_text, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
