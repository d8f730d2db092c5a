"""Split a multi-turn dialogue into one training instance per assistant step (SWiRL-style).

A dialogue with k assistant steps gives k instances. Instance j is conditioned on the
whole history before step j: the user turns, the earlier assistant steps (rendered
with the placeholder thought, as in ToolRL's corpus) and the tool observations. Its
ground truth is step j's action with the placeholder thought.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rest.formats import Turn, placeholder_ground_truth, render_history


@dataclass(frozen=True)
class Action:
    """One assistant step: tool calls (``{"name", "parameters"}`` dicts), a response, or both."""

    calls: tuple[dict[str, Any], ...] = ()
    response: str | None = None

    def ground_truth(self) -> str:
        return placeholder_ground_truth(list(self.calls) or None, self.response)


@dataclass(frozen=True)
class Instance:
    input: str  # the rendered history, the rlla ``input`` field
    output: str  # the step's ground truth
    step: int  # 0-based index of the assistant step in the dialogue


def decompose(dialogue: Sequence[Turn | Action]) -> list[Instance]:
    """One instance per ``Action``; ``Turn``s are user or tool turns of the history."""
    history: list[Turn] = []
    instances = []
    for item in dialogue:
        if isinstance(item, Action):
            truth = item.ground_truth()
            instances.append(Instance(render_history(history), truth, len(instances)))
            history.append(Turn("assistant", truth))
        else:
            history.append(item)
    return instances
