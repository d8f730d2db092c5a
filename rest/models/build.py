"""``rest build-model``: the tiny embedded model, or a hub model saved locally."""

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
        build_tiny_model(Path(args.output), corpus_texts(args.corpus), seed=args.seed)
    else:
        from rest.models.loading import load_model, load_tokenizer
        from rest.train.run import save_model_atomically

        if not args.name:
            raise InputError("build-model hub needs --name (a hub name or a local path)")
        model, tok = load_model(args.name), load_tokenizer(args.name)
        save_model_atomically(lambda d: (model.save_pretrained(d), tok.save_pretrained(d)), Path(args.output))
    print(f"saved {args.kind} model to {args.output}")
    return 0
