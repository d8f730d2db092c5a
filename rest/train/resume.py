"""Which checkpoint a training run may continue from: the run fingerprint and the resume rule.

A checkpoint is resumed only when the fingerprint recorded beside it matches the current
run's. The fingerprint hashes what determines the weights: the method, the resolved config
less its bookkeeping fields, the content of the starting model and the training data.
``max_steps`` and ``num_train_epochs`` are left out so that extending a run continues it.
A checkpoint already at the run's last step is finalized, never trained further.
See docs/method.md, section 6.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from rest.io import InputError, atomic_write_json

log = logging.getLogger(__name__)

#: Written into each checkpoint before the trainer's own files, and into the run's model/.
FINGERPRINT_FILE = "run_fingerprint.json"

#: Config fields that change where or how often things are written, never the weights.
BOOKKEEPING = ("local_rank", "output_dir", "report_to", "max_steps", "num_train_epochs")
BOOKKEEPING_PREFIXES = ("logging_", "save_", "dataloader_")


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def model_identity(model: str) -> str:
    """The content of the starting model.

    A model trained by ``rest train`` is named by its run's fingerprint (its folder is
    overwritten when that run is retrained); any other local folder by the sha256 of every
    file in it; a hub name by itself.
    """
    path = Path(model).expanduser()
    if not path.is_dir():
        return _digest({"hub_name": model})
    recorded = path / FINGERPRINT_FILE
    if recorded.is_file():
        return _digest({"run": read_fingerprint(recorded)["fingerprint"]})
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return _digest({str(p.relative_to(path)): file_sha256(p) for p in files})


def config_identity(config) -> dict[str, Any]:
    """The resolved config less the bookkeeping fields (those never change the weights)."""
    values = config.to_dict()
    return {k: v for k, v in sorted(values.items())
            if k not in BOOKKEEPING and not k.startswith(BOOKKEEPING_PREFIXES)}


def run_fingerprint(method, config, model: str, data: str) -> dict[str, Any]:
    """The fingerprint of a run and its parts, so that a mismatch can say what changed."""
    config_part = config_identity(config)
    parts = {
        "method": _digest(dataclasses.asdict(method)),
        "config": _digest(config_part),
        "model": model_identity(model),
        "data": file_sha256(data),
    }
    return {"fingerprint": _digest(parts), "parts": parts, "config": json.loads(json.dumps(config_part, default=str)),
            "max_steps": config.max_steps, "num_train_epochs": config.num_train_epochs}


def read_fingerprint(path: str | os.PathLike) -> dict[str, Any] | None:
    """A recorded fingerprint, or None when absent or unreadable (such a checkpoint is never resumed)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("fingerprint"), str) else None


def what_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """A short description of how two fingerprints differ."""
    if old is None:
        return "it records no run fingerprint"
    changed = [name for name, value in new["parts"].items() if old.get("parts", {}).get(name) != value]
    if "config" in changed:
        keys = sorted(k for k in set(old.get("config", {})) | set(new["config"])
                      if old.get("config", {}).get(k) != new["config"].get(k))
        changed[changed.index("config")] = f"config ({', '.join(keys[:8])}{', ...' if len(keys) > 8 else ''})"
    return "changed: " + (", ".join(changed) or "fingerprint")


def _state(checkpoint: Path) -> dict[str, Any] | None:
    try:
        return json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclasses.dataclass
class ResumePlan:
    """What a run does with its checkpoint folder."""

    checkpoint: str | None = None
    #: the checkpoint is at the run's last step: finalize from it without training
    finished: bool = False
    #: steps already trained, and the sum of their per-step losses (for the run's train_loss)
    global_step: int = 0
    loss_sum: float = 0.0
    #: why older checkpoints are discarded (None: nothing to discard)
    discard_reason: str | None = None


def plan_resume(checkpoint_dir: Path, fingerprint: dict[str, Any], fresh: bool = False) -> ResumePlan:
    """Pick the newest complete checkpoint whose fingerprint matches and that lies within the run."""
    found = []
    for path in checkpoint_dir.glob("checkpoint-*") if checkpoint_dir.is_dir() else []:
        step = path.name.removeprefix("checkpoint-")
        if step.isdigit() and path.is_dir():
            found.append((int(step), path))
    if not found:
        return ResumePlan()
    if fresh:
        return ResumePlan(discard_reason="fresh=true was given")
    max_steps = fingerprint["max_steps"]
    reason = None
    for step, path in sorted(found, reverse=True):
        state = _state(path)
        if state is None:  # trainer_state.json is written last: a save cut by a kill lacks it
            log.warning("skipping incomplete checkpoint %s", path)
            continue
        recorded = read_fingerprint(path / FINGERPRINT_FILE)
        if recorded is None or recorded["fingerprint"] != fingerprint["fingerprint"]:
            reason = reason or f"checkpoint {path.name} belongs to another run: {what_changed(recorded, fingerprint)}"
            continue
        target = max_steps if max_steps > 0 else state.get("max_steps", 0)
        if max_steps <= 0 and recorded.get("num_train_epochs") != fingerprint["num_train_epochs"]:
            target = float("inf")  # more epochs: the trainer works out the new end
        if step > target:
            reason = reason or f"checkpoint {path.name} lies past max_steps={max_steps}"
            continue
        return ResumePlan(checkpoint=str(path), finished=step >= target, global_step=step,
                          loss_sum=logged_loss_sum(state, step))
    return ResumePlan(discard_reason=reason or "no usable checkpoint")


def logged_loss_sum(state: dict[str, Any], step: int) -> float:
    """Σ of the per-step training losses up to ``step``, from a checkpoint's log history.

    Each logged loss is the mean over the steps since the previous log; ``LogAtSave``
    makes every checkpoint step a logging step, so the sum is exact.
    """
    total, last = 0.0, 0
    for entry in state.get("log_history", []):
        if "loss" in entry and entry.get("step", 0) <= step:
            total += entry["loss"] * (entry["step"] - last)
            last = entry["step"]
    return total


def discard_checkpoints(checkpoint_dir: Path) -> None:
    """Move the folder aside in one rename, then delete it: no reader sees it half gone."""
    if not checkpoint_dir.exists():
        return
    stale = checkpoint_dir.with_name(f".{checkpoint_dir.name}.stale")
    if stale.exists():
        shutil.rmtree(stale)
    os.replace(checkpoint_dir, stale)
    shutil.rmtree(stale, ignore_errors=True)


class FingerprintCallback(TrainerCallback):
    """Record the run fingerprint in each checkpoint, and log at every checkpoint step.

    The fingerprint goes into the checkpoint folder just before the trainer saves there,
    so it is in place before ``trainer_state.json``, the file that marks a checkpoint
    complete. Logging at save steps makes the losses in a checkpoint's log history cover
    every step up to it (an exact ``train_loss`` on resume).
    """

    def __init__(self, fingerprint: dict[str, Any]):
        self.fingerprint = fingerprint

    def _before_save(self, args, state, control):
        if control.should_save:
            control.should_log = True
            if state.is_world_process_zero:
                folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                folder.mkdir(parents=True, exist_ok=True)
                atomic_write_json(folder / FINGERPRINT_FILE, self.fingerprint)
        return control

    def on_step_end(self, args, state, control, **kwargs):
        return self._before_save(args, state, control)

    def on_epoch_end(self, args, state, control, **kwargs):
        return self._before_save(args, state, control)


def split_fresh(overrides: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The config overrides, and the run switch ``fresh`` (discard checkpoints), which is not a config key."""
    rest = dict(overrides)
    fresh = rest.pop("fresh", False)
    if not isinstance(fresh, bool):
        raise InputError(f"override fresh={fresh!r}: expected true or false")
    return rest, fresh
