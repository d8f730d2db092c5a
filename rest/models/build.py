"""``rest build-model``: the tiny embedded model, or a hub, local or GGUF model saved as an HF folder."""

from __future__ import annotations

from pathlib import Path

from rest.io import InputError


def corpus_texts(path: str) -> list[str]:
    """Tokenizer training text: each record's system prompt, user message and output."""
    from rest.train.data import load_records

    return [r["instruction"] + "\n" + r["input"] + "\n" + r["output"] for r in load_records(path)]


def build_model_from_args(args) -> int:
    if args.kind == "tiny":
        from rest.models.tiny import build_tiny_model

        if not args.corpus:
            raise InputError("build-model tiny needs --corpus FILE.jsonl")
        from rest.train.config import parse_overrides

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
