"""``python -m rest COMMAND``: one entry point for every stage of the pipeline.

Each command lives in ``rest/commands/<name>.py`` with ``add_arguments(parser)`` and
``run(args) -> int``. Only the chosen command's module is imported, and heavy imports
(torch, transformers) happen inside ``run``, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from rest.io import InputError

COMMANDS: dict[str, str] = {
    "reward": "score completions against ground truths with the rule reward (JSONL in, JSONL out)",
    "regions": "show each token's region and weight, coloured in a terminal",
    "weights": "print the token weights of a weighting profile (JSONL in, JSONL out)",
    "methods": "list the training methods and their switches (--json)",
    "data": "fetch or verify the raw inputs named in the data manifest",
    "curate": "build the RL, SFT and validation sets from raw records",
    "testbed": "generate the tool-call testbed's train, validation and test tasks",
    "build-model": "build the tiny embedded model and its tokenizer, or fetch a named model",
    "train": "train one method (ResT, GRPO, SFT, ...) from a recipe",
    "eval": "evaluate a model on API-Bank or BFCL, or score existing predictions",
    "report": "write the paper's tables and figures from score files",
    "variance": "measure the policy-gradient variance of GRPO and ResT at checkpoints (Theorems 1-2)",
    "plan": "estimate memory per GPU, wall time and GPU-hours of every job before submitting",
}


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rest",
        description="ResT reproduction: rewards, token regions, training, evaluation and reports.",
        epilog="commands:\n" + "\n".join(f"  {name:<12} {text}" for name, text in COMMANDS.items())
        + "\n\nRun 'rest COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=list(COMMANDS), metavar="COMMAND")
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def command_parser(name: str):
    """The argument parser of one command, and the function that runs it."""
    module = importlib.import_module(f"rest.commands.{name.replace('-', '_')}")
    parser = argparse.ArgumentParser(
        prog=f"rest {name}", description=module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(parser)
    return parser, module.run


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (it may be replaced after setup)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def _log_to_stderr() -> None:
    """Warnings and progress notes of the package go to stderr as ``LEVEL: message``."""
    logger = logging.getLogger("rest")
    if not logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def exit_status(run, *args) -> int:
    """Run a command (or a benchmark's main); bad input is one ``error:`` line and status 2."""
    _log_to_stderr()
    try:
        return int(run(*args) or 0)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


def main(argv: list[str] | None = None) -> int:
    top = _top_parser().parse_args(argv)
    parser, run = command_parser(top.command)
    args = parser.parse_args(top.args)
    return exit_status(run, args)
