"""Load a model or tokenizer by hub name or local path: one code path for the tiny model and Qwen3/Llama.

A local folder is checked first, so that a missing, partial or truncated one is reported
as one line naming it rather than as a loader's traceback.
"""

from __future__ import annotations

from pathlib import Path

from rest.io import InputError

#: At least one of these marks a folder that holds a tokenizer.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def _local(name_or_path: str) -> Path | None:
    """The folder ``name_or_path`` names, or None for a hub name."""
    path = Path(name_or_path).expanduser()
    if name_or_path.startswith((".", "/", "~")) or path.exists():
        if not path.is_dir():
            raise InputError(f"{name_or_path}: no such folder" if not path.exists() else f"{name_or_path}: not a folder")
        return path
    return None


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def _check_weights(path: Path, flag: str) -> None:
    """Every safetensors file must be whole (a truncated one fails at its header)."""
    from safetensors import safe_open

    for weights in sorted(path.glob("*.safetensors")):
        try:
            with safe_open(str(weights), "pt"):
                pass
        except Exception as e:  # noqa: BLE001 - SafetensorError has no public base class
            raise InputError(f"{flag} {weights}: unreadable weights ({_first_line(e)})") from None


def load_tokenizer(name_or_path: str, flag: str = "--model", chat_template: bool = True):
    from transformers import AutoTokenizer

    path = _local(name_or_path)
    if path is not None and not any((path / f).is_file() for f in TOKENIZER_FILES):
        raise InputError(f"{flag} {name_or_path}: no tokenizer there (none of {', '.join(TOKENIZER_FILES)})")
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{flag} {name_or_path}: cannot load the tokenizer ({_first_line(e)})") from None
    if chat_template and not getattr(tokenizer, "chat_template", None):
        raise InputError(f"{flag} {name_or_path}: the tokenizer has no chat template")
    return tokenizer


def load_model(name_or_path: str, flag: str = "--model", **kwargs):
    from transformers import AutoModelForCausalLM

    check_model_folder(name_or_path, flag)
    try:
        return AutoModelForCausalLM.from_pretrained(name_or_path, **kwargs)
    except (OSError, ValueError, KeyError) as e:
        raise InputError(f"{flag} {name_or_path}: cannot load the model ({_first_line(e)})") from None


def check_model_folder(name_or_path: str, flag: str = "--model") -> None:
    """What ``load_model`` checks before loading, for callers that let a trainer load the model."""
    path = _local(name_or_path)
    if path is not None:
        if not (path / "config.json").is_file():
            raise InputError(f"{flag} {name_or_path}: no config.json there (build it with `rest build-model`)")
        _check_weights(path, flag)
