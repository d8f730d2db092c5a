"""One training run: recipe + method + model + data -> DIR/{model, config.yaml, metrics.jsonl, summary.json}."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

from rest.identity import RunIdentity
from rest.io import InputError, atomic_write_json, atomic_write_text
from rest.train.config import config_to_yaml, load_recipe, parse_overrides, resolve_config
from rest.train.registry import Method, get_method


def save_model_atomically(save, target: Path, trainer=None) -> None:
    """Save into ``.NAME.partial`` beside ``target``, then rename it onto ``target``.

    With a trainer, every process takes part in saving (sharded weights are gathered) and
    only the main process renames.
    """
    tmp = target.parent / f".{target.name}.partial"
    main = trainer is None or trainer.accelerator.is_main_process
    if main and tmp.exists():
        shutil.rmtree(tmp)
    if trainer is not None:
        trainer.accelerator.wait_for_everyone()
    save(tmp)
    if trainer is not None:
        trainer.accelerator.wait_for_everyone()
    if main:
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)


def last_checkpoint(checkpoint_dir: Path) -> str | None:
    """The newest complete checkpoint; a save cut by a kill lacks trainer_state.json (written last)."""
    found = []
    for path in checkpoint_dir.glob("checkpoint-*") if checkpoint_dir.is_dir() else []:
        step = path.name.removeprefix("checkpoint-")
        if step.isdigit() and path.is_dir():
            found.append((int(step), path))
    for step, path in sorted(found, reverse=True):
        if (path / "trainer_state.json").exists():
            return str(path)
        print(f"warning: skipping incomplete checkpoint {path}")
    return None


def build_trainer(method: Method, config, model: str, data: str | None, tokenizer, callbacks=()):
    """The TRL trainer for ``method`` and the data report; ``config`` is already resolved."""
    from rest.rewards import make_reward_funcs
    from rest.train.data import load_records, rl_dataset, sft_dataset
    from rest.train.trainers import RegionSFTTrainer, ResTTrainer

    if not data:
        raise InputError(f"--data is required for method {method.name!r}")
    records = load_records(data)
    if method.trainer == "sft":
        prepared = sft_dataset(records, tokenizer, config.max_train_records)
        trainer = RegionSFTTrainer(model=model, args=config, train_dataset=prepared.dataset,
                                   processing_class=tokenizer, callbacks=list(callbacks))
    else:
        prepared = rl_dataset(records, tokenizer, str(data), config.max_train_records)
        trainer = ResTTrainer(model=model, reward_funcs=make_reward_funcs(config.dynamic_reward, config.reward_horizon),
                              args=config, train_dataset=prepared.dataset, processing_class=tokenizer,
                              callbacks=list(callbacks))
    # TRL drops SFT examples whose completion is truncated away entirely; say so.
    dropped = prepared.report["records"] - len(trainer.train_dataset)
    prepared.report["records_dropped_by_truncation"] = dropped
    if dropped:
        print(f"warning: {dropped} of {prepared.report['records']} records left no trainable token after "
              f"truncation to max_length and were dropped")
    return trainer, prepared.report


#: The run folder's files, as summary.json lists them (relative to the folder).
RUN_FILES = {"model": "model", "config": "config.yaml", "metrics": "metrics.jsonl"}


def _check_identity(run_id: RunIdentity | None, method: Method, seed: int | None) -> None:
    if run_id is None:
        return
    if run_id.method != method.name:
        raise InputError(f"--run-id method={run_id.method} but --method {method.name}")
    if run_id.seed != seed:
        raise InputError(f"--run-id seed={run_id.seed} but the run's seed is {seed} (override it: seed=N)")


def train(method_name: str, recipe_path: str, model: str, data: str | None, output: str,
          overrides: dict[str, Any] | None = None, run_id: RunIdentity | None = None) -> dict:
    """Train (or resume) one method; returns the summary written last to ``output/summary.json``.

    ``run_id`` (study, model, method, seed) goes into summary.json and metrics.jsonl beside
    the resolved config, so the report reads who made a run from the run's own files.
    """
    from rest.models.loading import load_model, load_tokenizer
    from rest.train.metrics import MetricsCallback, metrics_header

    method = get_method(method_name)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    main = int(os.environ.get("RANK", "0")) == 0  # launched by accelerate/torchrun: one writer
    if main:
        (out / "summary.json").unlink(missing_ok=True)  # a rerun is not done until it says so
    started = time.time()
    tokenizer = load_tokenizer(model)
    summary: dict[str, Any] = {"run": run_id.as_dict() if run_id else None, "files": RUN_FILES,
                               "method": method.name, "display_name": method.display, "trainer": method.trainer,
                               "init_from": method.init_from, "model": str(model), "data": data}

    if method.trainer == "none":
        _check_identity(run_id, method, None)
        resolved = {"method": method.name, "model": str(model)}
        atomic_write_text(out / "config.yaml", yaml.safe_dump(resolved))
        atomic_write_text(out / "metrics.jsonl", json.dumps(metrics_header(run_id, resolved)) + "\n")
        base = load_model(model)
        save_model_atomically(lambda d: (base.save_pretrained(d), tokenizer.save_pretrained(d)), out / "model")
        summary.update(config=resolved, global_step=0, seconds=round(time.time() - started, 2))
        atomic_write_json(out / "summary.json", summary)
        return summary

    recipe = load_recipe(recipe_path)
    config = resolve_config(recipe, method.trainer, method.delta, overrides or {}, out, where=str(recipe_path))
    _check_identity(run_id, method, config.seed)
    config_text = config_to_yaml(config)
    resolved = yaml.safe_load(config_text)
    if main:
        atomic_write_text(out / "config.yaml", config_text)
    trainer, data_report = build_trainer(method, config, model, data, tokenizer,
                                         [MetricsCallback(out / "metrics.jsonl", metrics_header(run_id, resolved))])
    resume = last_checkpoint(Path(config.output_dir))
    if resume:
        print(f"resuming from {resume}")
    result = trainer.train(resume_from_checkpoint=resume)
    save_model_atomically(trainer.save_model, out / "model", trainer)

    summary.update(
        global_step=trainer.state.global_step,
        resumed_from=resume,
        train_loss=result.training_loss,
        seconds=round(time.time() - started, 2),
        seed=config.seed,
        world_size=trainer.args.world_size,
        data_report=data_report,
        config=resolved,
    )
    if main:
        atomic_write_json(out / "summary.json", summary)
    return summary


def train_from_args(args) -> int:
    run_id = RunIdentity.parse(args.run_id) if args.run_id else None
    train(args.method, args.config, args.model, args.data, args.output, parse_overrides(args.overrides), run_id)
    return 0
