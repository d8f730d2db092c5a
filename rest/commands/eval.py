"""Evaluate a model on API-Bank or BFCL, or score existing predictions.

  rest eval apibank --model PATH --output DIR [--limit N] [--backend hf|vllm]
  rest eval apibank --predictions FILE.jsonl
  rest eval bfcl --model PATH --output DIR [--categories ...] [--limit-per-category N]
  rest eval bfcl --predictions FILE.jsonl
"""

from __future__ import annotations


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    sub.add_parser("apibank", help="API-Bank levels 1-3 (ToolRL protocol)")
    sub.add_parser("bfcl", help="BFCL v4 with the official bfcl-eval checker")


def run(args) -> int:
    raise NotImplementedError("evaluation is being written")
