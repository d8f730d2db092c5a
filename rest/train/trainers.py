"""The trainers: ResT on TRL's ``GRPOTrainer``, region-weighted SFT on ``SFTTrainer``.

ResT (paper Eq. 19) needs per-token weights built from each token's region and the
policy's entropy. TRL's loss forward already returns those entropies, and TRL accepts
``(B, T)`` advantages, so ResT overrides only three small methods of ``GRPOTrainer``:

``_generate_and_score_completions``      adds ``completion_regions`` (B, T) after generation
                                         (and ``_tokenize_prompts`` takes the prompt ids
                                         rendered by ``rest.prompt``, as evaluation does);
``_compute_loss``                        exposes the micro-batch to the hook below;
``_get_per_token_logps_and_entropies``   right after the loss forward, turns regions and
                                         entropies into weights and folds them into the
                                         advantages. Never a second forward.

plus ``_save_checkpoint`` / ``_load_optimizer_and_scheduler`` for the weighter's state,
as TRL does for its own entropy controller. These are TRL internals: if a TRL release stops
calling the hook, a weighted loss would silently become plain GRPO, so ``_compute_loss``
raises instead, naming the TRL version.
"""

from __future__ import annotations

import json
import os

import torch
import trl
from trl import GRPOTrainer, SFTTrainer

from rest.regions import NUM_REGIONS, Region, RegionTagger, ReleasedTagger, dominant_region
from rest.rewards import RolloutClock
from rest.train.config import weighter_from_config
from rest.weights import region_mean_entropy

WEIGHTER_STATE = "token_weighter.json"


def _checkpoint_dir(trainer, trial=None) -> str:
    return os.path.join(trainer._get_output_dir(trial=trial), f"checkpoint-{trainer.state.global_step}")


class ResTTrainer(GRPOTrainer):
    """GRPO with region- and entropy-aware token weights (ResT). ``weighting: uniform`` is plain GRPO."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        released = self.args.weighting == "released"
        # released: per token, the bit set of the released code's spans; else one exact region.
        self.tagger = (ReleasedTagger if released else RegionTagger)(self.processing_class)
        self.weighter = weighter_from_config(self.args)
        self.clock = RolloutClock.from_args(self.args)
        self._loss_inputs = None
        #: Loss micro-batches whose advantages the hook reshaped (or, uniform, logged).
        self.hooked_micro_batches = 0

    def _generate_and_score_completions(self, inputs):
        self._prompt_ids = [list(x["prompt_ids"]) for x in inputs]
        try:
            out = super()._generate_and_score_completions(inputs)
        finally:
            self._prompt_ids = None
        ids, mask = out["completion_ids"], out["completion_mask"]
        out["completion_regions"] = self.tagger.batch(ids.cpu(), mask.cpu()).to(ids.device)
        return out

    def _tokenize_prompts(self, prompts: list):
        """The batch's ``prompt_ids`` column (rest.prompt's renderer), never a second tokenization."""
        ids = getattr(self, "_prompt_ids", None)
        if ids is None or len(ids) != len(prompts):
            raise RuntimeError("ResTTrainer: no prompt_ids for this generation batch; the dataset needs the "
                               "prompt_ids column of rest.train.data.rl_dataset")
        return ids, None, {}

    def _compute_loss(self, model, inputs):
        # A shallow copy: TRL may reuse the buffered batch (num_iterations > 1), which must keep
        # its unweighted advantages.
        self._loss_inputs = dict(inputs)
        try:
            loss = super()._compute_loss(model, self._loss_inputs)
            if self._loss_inputs is not None and self.args.weighting != "uniform":
                raise RuntimeError(
                    f"ResT: TRL {trl.__version__} computed a GRPO loss without calling "
                    "_get_per_token_logps_and_entropies with entropies, so no token weights (Eq. 19) were "
                    f"applied under weighting={self.args.weighting!r}; ResT's hook does not fit this TRL "
                    "version (pinned: see pyproject.toml)")
            return loss
        finally:
            self._loss_inputs = None

    def _get_per_token_logps_and_entropies(self, *args, **kwargs):
        logps, entropies, aux = super()._get_per_token_logps_and_entropies(*args, **kwargs)
        if self._loss_inputs is not None and entropies is not None:
            self.reshape_advantages(self._loss_inputs, entropies)
            self._loss_inputs = None  # once per loss forward
            self.hooked_micro_batches += 1
        return logps, entropies, aux

    def reshape_advantages(self, inputs: dict, entropies: torch.Tensor) -> None:
        """Eq. 19: replace the (B,) advantages by ``A_i · w_{i,t}`` (B, T) in ``inputs``.

        With ``aggregation: token-mean-weighted`` the weights are rescaled by Σm / Σm·w so
        that TRL's Σ l·m / Σ m (``bnpo``) becomes Σ l·m·w / Σ m·w.
        """
        mask = inputs["completion_mask"]
        if "tool_mask" in inputs:
            mask = mask * inputs["tool_mask"]
        regions = inputs["completion_regions"]
        entropies = entropies.detach()
        mode = "train" if self.model.training else "eval"
        # The schedules run on rollouts; global_step counts the optimizer steps before this one.
        step = self.clock.rollout(self.state.global_step + 1)
        total = self.clock.total_rollouts(self.state.max_steps)
        exclusive = dominant_region(regions) if self.args.weighting == "released" else regions
        entropy_by_region = region_mean_entropy(exclusive, mask, entropies)
        if self.args.weighting == "uniform":
            self._log_regions(mode, entropy_by_region, self.weighter.region_weights(step, total))
            return  # exactly TRL's GRPO
        weights = self.weighter(regions, mask, entropies, step, total, observe=self.model.training)
        self._log_regions(mode, entropy_by_region, self.weighter.region_weights(step, total))
        if self.args.weighting == "paper":
            self._metrics[mode]["weight/table"].append(float(self.weighter.table_phase))
        if self.args.aggregation == "token-mean-weighted":
            weights = weights * (mask.sum() / (weights * mask).sum().clamp(min=1e-8))
        advantages = inputs["advantages"]
        if advantages.dim() == 1:
            advantages = advantages.unsqueeze(1)
        inputs["advantages"] = advantages * weights.to(advantages.dtype)

    def _log_regions(self, mode: str, entropy: torch.Tensor, weights: torch.Tensor) -> None:
        for r in Region:
            self._metrics[mode][f"entropy/{r.name}"].append(float(entropy[r]))  # NaN if absent: TRL skips it
            self._metrics[mode][f"weight/{r.name}"].append(float(weights[r]))

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            with open(os.path.join(_checkpoint_dir(self, trial), WEIGHTER_STATE), "w") as f:
                json.dump(self.weighter.state_dict(), f)

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is not None:
            path = os.path.join(checkpoint, WEIGHTER_STATE)
            if os.path.exists(path):
                with open(path) as f:
                    self.weighter.load_state_dict(json.load(f))


def tag_label_regions(tagger: RegionTagger, labels: torch.Tensor) -> torch.Tensor:
    """Regions of the supervised (label != -100) tokens, aligned with ``labels``; others OTHER."""
    valid = labels != -100
    return tagger.batch(labels.masked_fill(~valid, 0).cpu(), valid.cpu()).to(labels.device)


def tool_call_tag_ids(tokenizer) -> set[int]:
    """Token ids that spell ``<tool_call>``/``</tool_call>`` and no other format tag."""
    from rest.formats import ALL_TAGS, TOOL_CALL_CLOSE, TOOL_CALL_OPEN

    def ids(tag):
        return set(tokenizer.encode(tag, add_special_tokens=False))

    mine = ids(TOOL_CALL_OPEN) | ids(TOOL_CALL_CLOSE)
    others = set().union(*(ids(t) for t in ALL_TAGS if t not in (TOOL_CALL_OPEN, TOOL_CALL_CLOSE)))
    return mine - others


class RegionSFTTrainer(SFTTrainer):
    """SFT whose per-token loss is multiplied by ``upweight_factor`` on chosen regions (TSFT, RSFT).

    The normaliser stays the number of supervised tokens, so an up-weighted token counts
    ``upweight_factor`` times. Overrides only ``compute_loss``, by scaling the fused
    head's per-token log-probs before TRL sums them.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tagger = RegionTagger(self.processing_class)
        from rest.train.config import TOOL_CALL_TAGS

        names = set(self.args.upweight_regions)
        table = torch.ones(NUM_REGIONS)
        for r in Region:
            if r.name in names:
                table[r] = self.args.upweight_factor
        self._region_table = table
        self._tool_tags = tool_call_tag_ids(self.processing_class) if TOOL_CALL_TAGS in names else set()
        self.weighting = bool(names) and self.args.upweight_factor != 1.0
        if self.weighting and (self.compute_loss_func is not None or self.label_smoother is not None):
            raise ValueError("upweight_regions cannot be combined with compute_loss_func or label smoothing")

    def token_weights(self, labels: torch.Tensor) -> torch.Tensor:
        """Per-token loss weights ``(B, T-1)``, aligned with ``labels[:, 1:]`` like TRL's log-probs."""
        shifted = labels[:, 1:]
        regions = tag_label_regions(self.tagger, shifted)
        weights = self._region_table.to(labels.device)[regions]
        if self._tool_tags:
            is_tag = torch.isin(shifted, torch.tensor(sorted(self._tool_tags), device=labels.device))
            weights = torch.where(is_tag & (regions == Region.FORMAT), self.args.upweight_factor, weights)
        return weights * (shifted != -100)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if not self.weighting or not self.model.training:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        weights = self.token_weights(inputs["labels"])

        def weighted_model(**kw):
            out = model(**kw)
            if kw.get("fused_lm_head") and getattr(out, "log_probs", None) is not None:
                out.log_probs = out.log_probs * weights.to(out.log_probs.dtype)
            return out

        return super().compute_loss(weighted_model, inputs, return_outputs, num_items_in_batch)
