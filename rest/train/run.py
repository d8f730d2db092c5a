"""One training run: recipe + method + model + data -> DIR/{model, config.yaml, metrics.jsonl, summary.json}."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

from rest.identity import RunIdentity
from rest.io import InputError, atomic_write_json, atomic_write_text, check_output_folder
from rest.train.config import config_to_yaml, load_recipe, resolve_config
from rest.train.data import load_records
from rest.methods import Method, get_method
from rest.train.resume import (
    FINGERPRINT_FILE,
    FingerprintCallback,
    discard_checkpoints,
    plan_resume,
    run_fingerprint,
    split_fresh,
)

log = logging.getLogger(__name__)


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


def build_trainer(method: Method, config, model: str, data: str | None, tokenizer, callbacks=()):
    """The TRL trainer for ``method`` and the data report; ``config`` is already resolved."""
    from rest.rewards import RolloutClock, make_reward_funcs
    from rest.train.data import rl_dataset, sft_dataset
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
        reward_funcs = make_reward_funcs(config.dynamic_reward, config.reward_horizon, RolloutClock.from_args(config))
        trainer = ResTTrainer(model=model, reward_funcs=reward_funcs,
                              args=config, train_dataset=prepared.dataset, processing_class=tokenizer,
                              callbacks=list(callbacks))
    # TRL drops SFT examples whose completion is truncated away entirely; say so.
    dropped = prepared.report["records"] - len(trainer.train_dataset)
    prepared.report["records_dropped_by_truncation"] = dropped
    if dropped:
        log.warning("%d of %d records left no trainable token after truncation to max_length and were dropped",
                    dropped, prepared.report["records"])
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
    """Train (or resume, or finalize) one method; returns the summary written last to ``output/summary.json``.

    Everything is validated before the run folder is touched. Checkpoints are resumed only
    under the rule of ``rest.train.resume``; ``fresh=true`` among the overrides discards them.
    ``run_id`` (study, model, method, seed) goes into summary.json and metrics.jsonl beside
    the resolved config, so the report reads who made a run from the run's own files.
    """
    from rest.models.loading import check_model_folder, load_model, load_tokenizer
    from rest.train.metrics import MetricsCallback, keep_steps_through, metrics_header

    method = get_method(method_name)
    out = Path(output)
    check_output_folder(out)
    overrides, fresh = split_fresh(overrides or {})
    main = int(os.environ.get("RANK", "0")) == 0  # launched by accelerate/torchrun: one writer
    started = time.time()
    tokenizer = load_tokenizer(model)
    check_model_folder(model)
    summary: dict[str, Any] = {"run": run_id.as_dict() if run_id else None, "files": RUN_FILES,
                               "method": method.name, "display_name": method.display, "trainer": method.trainer,
                               "init_from": method.init_from, "model": str(model), "data": data}

    if method.trainer == "none":
        _check_identity(run_id, method, None)
        out.mkdir(parents=True, exist_ok=True)
        if main:
            (out / "summary.json").unlink(missing_ok=True)
        resolved = {"method": method.name, "model": str(model)}
        atomic_write_text(out / "config.yaml", yaml.safe_dump(resolved))
        atomic_write_text(out / "metrics.jsonl", json.dumps(metrics_header(run_id, resolved)) + "\n")
        base = load_model(model)
        save_model_atomically(lambda d: (base.save_pretrained(d), tokenizer.save_pretrained(d)), out / "model")
        summary.update(config=resolved, global_step=0, seconds=round(time.time() - started, 2))
        atomic_write_json(out / "summary.json", summary)
        return summary

    # Validate everything before touching the run folder: a bad rerun leaves a finished run intact.
    recipe = load_recipe(recipe_path)
    config = resolve_config(recipe, method.trainer, method.delta, overrides, out, where=str(recipe_path))
    _check_identity(run_id, method, config.seed)
    config_text = config_to_yaml(config)
    resolved = yaml.safe_load(config_text)
    if not data:
        raise InputError(f"--data is required for method {method.name!r}")
    load_records(data)
    fingerprint = run_fingerprint(method, config, model, data)
    plan = plan_resume(Path(config.output_dir), fingerprint, fresh=fresh)

    out.mkdir(parents=True, exist_ok=True)
    if main:
        (out / "summary.json").unlink(missing_ok=True)  # a rerun is not done until it says so
        if plan.discard_reason:
            log.warning("starting %s from scratch, discarding its checkpoints: %s", out, plan.discard_reason)
            discard_checkpoints(Path(config.output_dir))
            (out / "metrics.jsonl").unlink(missing_ok=True)
        atomic_write_text(out / "config.yaml", config_text)

    if plan.finished:
        # The last checkpoint is the trained model: finalize from it, never train a step past max_steps.
        log.info("%s is the run's last step: finalizing from it without training", plan.checkpoint)
        global_step, world_size, data_report = plan.global_step, int(os.environ.get("WORLD_SIZE", "1")), None
        train_loss = plan.loss_sum / max(global_step, 1)
        if main:
            keep_steps_through(out / "metrics.jsonl", global_step)
            trained = load_model(plan.checkpoint, dtype="auto")
            save_model_atomically(lambda d: _save_with_fingerprint(d, fingerprint, trained, tokenizer), out / "model")
    else:
        trainer, data_report = build_trainer(method, config, model, data, tokenizer,
                                             [MetricsCallback(out / "metrics.jsonl", metrics_header(run_id, resolved)),
                                              FingerprintCallback(fingerprint)])
        if plan.checkpoint:
            log.info("resuming from %s", plan.checkpoint)
        result = trainer.train(resume_from_checkpoint=plan.checkpoint)
        save_model_atomically(lambda d: _save_with_fingerprint(d, fingerprint, trainer), out / "model", trainer)
        global_step, world_size = trainer.state.global_step, trainer.args.world_size
        # HF averages over this call's steps only; the run's loss covers every step (the resumed ones too).
        new_steps = global_step - plan.global_step
        train_loss = (plan.loss_sum + result.training_loss * new_steps) / max(global_step, 1)

    summary.update(
        global_step=global_step,
        resumed_from=plan.checkpoint,
        finalized_without_training=plan.finished,
        train_loss=train_loss,
        seconds=round(time.time() - started, 2),
        seed=config.seed,
        world_size=world_size,
        data_report=data_report,
        fingerprint=fingerprint["fingerprint"],
        config=resolved,
    )
    if main:
        atomic_write_json(out / "summary.json", summary)
    return summary


def _save_with_fingerprint(folder, fingerprint: dict, model_or_trainer, tokenizer=None) -> None:
    """Save the trained model with the fingerprint of the run that made it (a later run starts from it)."""
    if tokenizer is None:
        model_or_trainer.save_model(folder)
        if not model_or_trainer.args.should_save:
            return
    else:
        model_or_trainer.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    if Path(folder).is_dir():
        atomic_write_json(Path(folder) / FINGERPRINT_FILE, fingerprint)
