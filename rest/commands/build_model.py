"""Build the tiny embedded model and its tokenizer, or save a named hub model locally.

``tiny``: a small Qwen3-architecture model with random weights and a byte-level BPE
tokenizer trained on the corpus text. ``hub``: load a model by name or path and save it.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=["tiny", "hub"])
    parser.add_argument("--corpus", help="JSONL of rlla records whose text trains the tokenizer (tiny)")
    parser.add_argument("--name", help="hub name or local path (hub)")
    parser.add_argument("--output", required=True, help="directory to save the model into")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from rest.models.build import build_model_from_args

    return build_model_from_args(args)
