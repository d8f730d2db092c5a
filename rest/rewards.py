"""The rule reward: format + tool-call correctness, with static or dynamic ranges; and the training clock.

Paper Eq. 10-14. The reference is the released reward (``rlla.py`` of the authors' code),
whose corner cases we keep exactly: the tag-order checks on first occurrences, the
order-sensitive exact match, the multiset Jaccard over names and keys, the greedy
matching of unused predicted calls, Python ``==`` on values, and correctness 0 when the
ground truth has no call. Nothing here raises on model output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rest.formats import (
    RESPONSE_CLOSE,
    RESPONSE_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
)
from rest.parsers import rlla_calls

DEFAULT_HORIZON = 150


@dataclass(frozen=True)
class RewardRanges:
    """Bounds of the two reward components at one training step."""

    fmt_max: float
    fmt_min: float
    cor_max: float
    cor_min: float


STATIC_RANGES = RewardRanges(fmt_max=1.0, fmt_min=0.0, cor_max=3.0, cor_min=-3.0)


@dataclass(frozen=True)
class RolloutClock:
    """The training clock of every schedule: the rollout, veRL's ``global_steps`` (from 1).

    The dynamic reward (Eq. 14, ``s/150``), the released weight ramp (``0.002·s``) and the
    ``paper`` curriculum's progress all run on it, as in the released code. TRL's optimizer
    step is not a rollout: one generation batch is trained in
    ``steps_per_generation · num_iterations / gradient_accumulation_steps`` optimizer steps
    (8 in the paper recipe).
    """

    micro_steps_per_rollout: int = 1
    gradient_accumulation_steps: int = 1

    @classmethod
    def from_args(cls, args) -> RolloutClock:
        """The clock of a resolved ``GRPOConfig`` (after TRL has set ``steps_per_generation``)."""
        return cls(max(int(args.steps_per_generation) * int(args.num_iterations), 1),
                   max(int(args.gradient_accumulation_steps), 1))

    def rollout(self, optimizer_step: int) -> int:
        """The rollout whose completions optimizer step ``optimizer_step`` (from 1) trains on.

        During a step, TRL's ``state.global_step`` counts the steps before it: pass
        ``global_step + 1``; in a log written after the step, pass ``global_step``.
        """
        first_micro_step = (max(int(optimizer_step), 1) - 1) * self.gradient_accumulation_steps
        return first_micro_step // self.micro_steps_per_rollout + 1

    def total_rollouts(self, max_steps: int) -> int:
        return max(self.rollout(max(int(max_steps), 1)), 1)


def reward_ranges(step: int, dynamic: bool, horizon: int = DEFAULT_HORIZON) -> RewardRanges:
    """Eq. 14: the dynamic reward ranges at rollout ``step`` (progress p = step / H), or the static ones.

    Format and correctness start with equal weight ([-2, 2] each) and move linearly to
    format in [-1, 1] and correctness in [-3, 3] at p = 1, then stay there.
    """
    if not dynamic:
        return STATIC_RANGES
    if horizon <= 0:
        raise ValueError(f"reward horizon must be positive, got {horizon}")
    p = max(step, 0) / horizon
    return RewardRanges(
        fmt_max=max(2.0 - p, 1.0),
        fmt_min=min(-2.0 + 2.0 * p, -1.0),
        cor_max=min(2.0 + p, 3.0),
        cor_min=max(-2.0 - p, -3.0),
    )


@dataclass(frozen=True)
class RewardBreakdown:
    format: float
    correctness: float

    @property
    def total(self) -> float:
        return self.format + self.correctness

    def as_dict(self) -> dict[str, float]:
        return {"format": self.format, "correctness": self.correctness, "total": self.total}


# --------------------------------------------------------------------------- format


def _in_order(text: str, tags: Sequence[str]) -> bool:
    positions = [text.find(t) for t in tags]
    return all(a < b for a, b in zip(positions, positions[1:]))


def _once(text: str, tags: Sequence[str]) -> bool:
    return all(text.count(t) == 1 for t in tags)


def is_format_correct(completion: str, ground_truth: str) -> bool:
    """Eq. 10-11: whether the completion has the tags the ground truth's case requires."""
    r = completion.strip()
    has = lambda *tags: all(t in r for t in tags)
    think = (THINK_OPEN, THINK_CLOSE)
    call = (TOOL_CALL_OPEN, TOOL_CALL_CLOSE)
    resp = (RESPONSE_OPEN, RESPONSE_CLOSE)
    gt_call, gt_resp = TOOL_CALL_OPEN in ground_truth, RESPONSE_OPEN in ground_truth
    if gt_resp and not gt_call:
        return has(*think, *resp) and _in_order(r, think + resp) and _once(r, resp)
    if gt_call and not gt_resp:
        return (
            has(*think, *call)
            and RESPONSE_OPEN not in r
            and RESPONSE_CLOSE not in r
            and _in_order(r, think + call)
            and _once(r, call)
        )
    if gt_call and gt_resp:
        return has(*think, *call, *resp) and _in_order(r, think + call + resp) and _once(r, call + resp)
    return has(*think) and _once(r, think)


def format_reward(completion: str, ground_truth: str, ranges: RewardRanges) -> float:
    """Eq. 10: ``fmt_max`` if the format is correct, else ``fmt_min`` (two-valued)."""
    if not isinstance(completion, str) or not isinstance(ground_truth, str):
        return ranges.fmt_min
    return ranges.fmt_max if is_format_correct(completion, ground_truth) else ranges.fmt_min


# --------------------------------------------------------------------------- correctness


def multiset_jaccard(a: list, b: list) -> float:
    """1 if the lists are equal; 0 if either is empty; else |A∩B| / (|A|+|B|-|A∩B|) with counts."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    ca, cb = Counter(a), Counter(b)
    inter = sum(min(ca[k], cb[k]) for k in ca.keys() & cb.keys())
    union = len(a) + len(b) - inter
    return inter / union if union > 0 else 0.0


def tool_call_score(gt_calls: list[Any], pd_calls: list[Any]) -> tuple[float, float]:
    """Eq. 12-13: the matching score and its maximum, before scaling to the reward range.

    Names are compared by multiset Jaccard; then, per ground-truth call in order, the best
    unused predicted call of the same name adds ``Jaccard(keys) + #equal values``.
    May raise on malformed predicted calls, exactly where the released code does.
    """
    score = multiset_jaccard([c["name"] for c in gt_calls], [c["name"] for c in pd_calls])
    local_max = 1.0
    used: set[int] = set()
    for gt in gt_calls:
        gt_params = gt["parameters"]
        local_max += 1.0 + len(gt_params)
        best, best_index = 0.0, -1
        for i, pd in enumerate(pd_calls):
            if i in used or pd["name"] != gt["name"]:
                continue
            pd_params = pd["parameters"]
            value = multiset_jaccard(list(gt_params.keys()), list(pd_params.keys()))
            value += sum(1.0 for k, v in gt_params.items() if k in pd_params and pd_params[k] == v)
            if value > best:
                best, best_index = value, i
        if best_index >= 0:
            used.add(best_index)
            score += best
    return score, local_max


def correctness_reward(completion: str, ground_truth: str, ranges: RewardRanges) -> float:
    """Eq. 12-13: tool-call correctness scaled to ``[cor_min, cor_max]``; 0 without a GT call."""
    if not isinstance(ground_truth, str) or TOOL_CALL_OPEN not in ground_truth:
        return 0.0
    try:
        # A ground truth that does not parse crashes the released code; training data is
        # validated upstream, so here it simply scores the minimum.
        gt_calls = rlla_calls(ground_truth)
        if not isinstance(completion, str) or TOOL_CALL_OPEN not in completion or TOOL_CALL_CLOSE not in completion:
            return ranges.cor_min
        pd_calls = rlla_calls(completion)
        if gt_calls == pd_calls:
            return ranges.cor_max
        score, local_max = tool_call_score(gt_calls, pd_calls)
        return (ranges.cor_max - ranges.cor_min) * score / local_max + ranges.cor_min
    except Exception:  # noqa: BLE001 - any malformed call scores the minimum, as released
        return ranges.cor_min


def compute_reward(
    completion: str,
    ground_truth: str,
    step: int = 0,
    dynamic: bool = True,
    horizon: int = DEFAULT_HORIZON,
) -> RewardBreakdown:
    """The total rule reward (Eq. 10-14) of one completion."""
    ranges = reward_ranges(step, dynamic, horizon)
    return RewardBreakdown(
        format=format_reward(completion, ground_truth, ranges),
        correctness=correctness_reward(completion, ground_truth, ranges),
    )


# --------------------------------------------------------------------------- TRL adapter


def _completion_text(completion: Any) -> str:
    # TRL passes strings for text prompts and message lists for conversational ones.
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    return completion if isinstance(completion, str) else ""


def make_reward_funcs(dynamic: bool, horizon: int = DEFAULT_HORIZON,
                      clock: RolloutClock = RolloutClock()) -> list[Callable[..., list[float]]]:
    """Two TRL reward functions, ``format`` and ``correctness``; TRL sums them into the total.

    Each reads the rollout from ``trainer_state.global_step`` through ``clock`` and the
    ground truth from the dataset column ``ground_truth``.
    """

    def _make(component: Callable[[str, str, RewardRanges], float], name: str):
        def reward_fn(completions, ground_truth, trainer_state=None, **_: Any) -> list[float]:
            done = trainer_state.global_step if trainer_state is not None else 0
            ranges = reward_ranges(clock.rollout(done + 1), dynamic, horizon)
            pairs = zip(completions, ground_truth, strict=True)
            return [component(_completion_text(c), gt, ranges) for c, gt in pairs]

        reward_fn.__name__ = name
        return reward_fn

    return [_make(format_reward, "format"), _make(correctness_reward, "correctness")]

