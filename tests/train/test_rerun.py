"""Reruns never train the wrong thing: a finished run finalizes, a changed run starts fresh,
a failed validation leaves the finished run alone, and train_loss covers every step."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rest.io import InputError

SFT = {"max_train_records": 8, "per_device_train_batch_size": 2, "max_length": 128, "save_steps": 2,
       "save_total_limit": 5}
CITIES = ["Paris", "Rome", "Oslo", "Lima", "Cairo", "Delhi", "Tokyo", "Quito"]


@pytest.fixture(scope="module")
def short_jsonl(tmp_path_factory) -> Path:
    """Eight short rlla records: a training step takes a fraction of a second."""
    path = tmp_path_factory.mktemp("short-data") / "records.jsonl"
    rows = [{"instruction": "You call tools. Tools: get_weather(city).",
             "input": f"**Dialogue Records History**\n<user> Weather in {city}? </user>",
             "output": f"<think> I need the weather. </think>\n<tool_call>\n"
                       f'{{"name": "get_weather", "parameters": {{"city": "{city}"}}}}\n</tool_call>'}
            for city in CITIES]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def run_sft(tiny_model_dir, short_jsonl, tiny_recipe):
    from rest.train.run import train

    def run(output: Path, model=None, data=None, **overrides):
        return train("sft", str(tiny_recipe), str(model or tiny_model_dir), str(data or short_jsonl), str(output),
                     {**SFT, **overrides})

    return run


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def _same_weights(a: Path, b: Path) -> bool:
    wa, wb = _weights(a), _weights(b)
    return wa.keys() == wb.keys() and all(bool((wa[k] == wb[k]).all()) for k in wa)


def test_rerunning_a_finished_run_finalizes_it_without_training(run_sft, tmp_path):
    run = tmp_path / "run"
    first = run_sft(run, max_steps=2)
    before = _weights(run / "model")
    second = run_sft(run, max_steps=2)
    assert second["global_step"] == 2
    assert second["finalized_without_training"] is True
    assert second["resumed_from"].endswith("checkpoint-2")
    assert second["train_loss"] == pytest.approx(first["train_loss"], rel=1e-9)
    after = _weights(run / "model")
    assert all(bool((before[k] == after[k]).all()) for k in before)
    steps = [json.loads(line).get("step") for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [None, 1, 2]  # the header, then each step once


def test_kill_between_last_checkpoint_and_summary_finalizes_like_the_uninterrupted_run(run_sft, tmp_path):
    done = tmp_path / "done"
    uninterrupted = run_sft(done, max_steps=2)
    killed = tmp_path / "killed"
    shutil.copytree(done, killed)
    # what a kill after the last checkpoint leaves: no model/, no summary.json
    shutil.rmtree(killed / "model")
    (killed / "summary.json").unlink()
    rerun = run_sft(killed, max_steps=2)
    assert rerun["global_step"] == 2 and rerun["finalized_without_training"]
    assert rerun["train_loss"] == pytest.approx(uninterrupted["train_loss"], rel=1e-9)
    assert _same_weights(done / "model", killed / "model")
    assert (killed / "summary.json").is_file()


def test_fresh_true_retrains_from_scratch(run_sft, tmp_path):
    run = tmp_path / "run"
    first = run_sft(run, max_steps=2)
    again = run_sft(run, max_steps=2, fresh=True)
    assert again["resumed_from"] is None and not again["finalized_without_training"]
    assert again["global_step"] == 2
    # same config and seed: the retrained run reproduces the first
    assert again["train_loss"] == pytest.approx(first["train_loss"], rel=1e-6)


def test_extended_run_resumes_and_reports_the_loss_of_every_step(run_sft, tmp_path):
    whole = run_sft(tmp_path / "whole", max_steps=4)
    run = tmp_path / "extended"
    run_sft(run, max_steps=2)
    extended = run_sft(run, max_steps=4)
    assert extended["resumed_from"].endswith("checkpoint-2")
    assert extended["global_step"] == 4
    assert extended["train_loss"] == pytest.approx(whole["train_loss"], rel=1e-6)
    assert _same_weights(tmp_path / "whole" / "model", run / "model")


def test_a_changed_config_does_not_resume_the_old_checkpoint(run_sft, tmp_path, caplog):
    run = tmp_path / "run"
    run_sft(run, max_steps=2)
    with caplog.at_level("WARNING", logger="rest"):
        changed = run_sft(run, max_steps=4, learning_rate=3e-4)
    assert changed["resumed_from"] is None
    assert changed["global_step"] == 4
    assert "learning_rate" in caplog.text
    # the discarded run's checkpoint is gone; the new run's checkpoints are its own
    ckpts = sorted(p.name for p in (run / "checkpoints").glob("checkpoint-*"))
    assert ckpts == ["checkpoint-2", "checkpoint-4"]
    recorded = json.loads((run / "checkpoints" / "checkpoint-2" / "run_fingerprint.json").read_text())
    assert recorded["config"]["learning_rate"] == 3e-4


def test_a_changed_starting_model_does_not_resume(run_sft, tiny_model_dir, tmp_path, caplog):
    other = tmp_path / "other-model"
    shutil.copytree(tiny_model_dir, other)
    run = tmp_path / "run"
    run_sft(run, model=other, max_steps=2)
    # same path, new content (a retrained upstream run overwrites its folder)
    from safetensors.torch import load_file, save_file

    weights = load_file(str(other / "model.safetensors"))
    name = min(weights)
    weights[name] = weights[name] + 1.0
    save_file(weights, str(other / "model.safetensors"), metadata={"format": "pt"})
    with caplog.at_level("WARNING", logger="rest"):
        again = run_sft(run, model=other, max_steps=2)
    assert again["resumed_from"] is None and not again["finalized_without_training"]
    assert "model" in caplog.text


def test_changed_data_does_not_resume(run_sft, short_jsonl, tmp_path):
    run = tmp_path / "run"
    run_sft(run, max_steps=2)
    data = tmp_path / "data.jsonl"
    lines = short_jsonl.read_text().splitlines()
    data.write_text("\n".join(reversed(lines)) + "\n")
    again = run_sft(run, data=data, max_steps=2)
    assert again["resumed_from"] is None


def test_a_checkpoint_without_fingerprint_is_never_resumed(run_sft, tmp_path):
    run = tmp_path / "run"
    run_sft(run, max_steps=2)
    (run / "checkpoints" / "checkpoint-2" / "run_fingerprint.json").unlink()
    (run / "summary.json").unlink()
    again = run_sft(run, max_steps=2)
    assert again["resumed_from"] is None


def test_a_rerun_that_fails_validation_keeps_the_finished_summary(run_sft, tmp_path):
    run = tmp_path / "run"
    run_sft(run, max_steps=2)
    summary = (run / "summary.json").read_text()
    for bad in ({"learning_rate": "fast"}, {"no_such_key": 1}, {"fresh": "maybe"}):
        with pytest.raises(InputError):
            run_sft(run, max_steps=2, **bad)
        assert (run / "summary.json").read_text() == summary
    with pytest.raises(InputError):
        run_sft(run, data=tmp_path / "missing.jsonl", max_steps=2)
    assert (run / "summary.json").read_text() == summary


def test_resume_plan_skips_incomplete_and_foreign_checkpoints(tmp_path):
    from rest.train.resume import FINGERPRINT_FILE, plan_resume

    mine = {"fingerprint": "a", "parts": {}, "config": {}, "max_steps": 10, "num_train_epochs": 3.0}
    assert plan_resume(tmp_path / "none", mine).checkpoint is None
    for step, state, fp in ((2, True, "a"), (4, True, "a"), (6, False, "a"), (8, True, None)):
        ckpt = tmp_path / f"checkpoint-{step}"
        ckpt.mkdir()
        if state:
            (ckpt / "trainer_state.json").write_text(json.dumps({"log_history": [
                {"step": s, "loss": float(s)} for s in range(1, step + 1)]}))
        if fp:
            (ckpt / FINGERPRINT_FILE).write_text(json.dumps({**mine, "fingerprint": fp}))
    (tmp_path / "checkpoint-x").mkdir()
    plan = plan_resume(tmp_path, mine)
    assert plan.checkpoint == str(tmp_path / "checkpoint-4") and not plan.finished
    assert plan.loss_sum == 1 + 2 + 3 + 4
    assert plan_resume(tmp_path, {**mine, "max_steps": 4}).finished
    assert plan_resume(tmp_path, {**mine, "fingerprint": "b"}).discard_reason
    assert plan_resume(tmp_path, mine, fresh=True).discard_reason



def test_command_line_overrides_train_as_yaml_1_2_values(tiny_model_dir, short_jsonl, tiny_recipe, tmp_path):
    import yaml

    from rest.cli import main

    run = tmp_path / "run"
    code = main(["train", "--config", str(tiny_recipe), "--method", "tsft", "--model", str(tiny_model_dir),
                 "--data", str(short_jsonl), "--output", str(run), "max_steps=1", "max_length=128",
                 "per_device_train_batch_size=2", "learning_rate=3e-3", 'upweight_regions=["NAME", "THINK"]'])
    assert code == 0
    assert json.loads((run / "summary.json").read_text())["global_step"] == 1
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["learning_rate"] == 0.003
    assert resolved["upweight_regions"] == ["NAME", "THINK"]
    header, first = (json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()[:2])
    assert header["config"]["learning_rate"] == 0.003 and first["learning_rate"] == 0.003
