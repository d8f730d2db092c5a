"""Every training method of the paper as data: display name, trainer family, config delta.

The pipeline reads ``init_from``: ``sft_grpo`` starts from the SFT run's ``model/``.
``rest`` is ResT with the ``released`` weighting profile, the rule that shipped with the
published numbers; ``rest_entropy`` is ResT with the paper's entropy rule (``paper``).
The ablations are ``rest`` with one switch changed (paper Table 3). GRPO and SFT+GRPO
leave ``dynamic_reward`` to the recipe's ``baseline_dynamic_reward`` (see docs/method.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rest.identity import BASE
from rest.io import InputError


@dataclass(frozen=True)
class Method:
    name: str
    display: str
    #: none (model unchanged), sft (SFTTrainer) or grpo/rest (GRPOTrainer subclass)
    trainer: str
    delta: dict[str, Any] = field(default_factory=dict)
    #: "base" = the given base model; "sft" = the SFT run's model
    init_from: str = BASE


_GRPO = {"weighting": "uniform"}
_REST = {"weighting": "released", "dynamic_reward": True, "aggregation": "token-mean-weighted"}

METHODS: dict[str, Method] = {m.name: m for m in [
    Method(BASE, "Base", "none"),
    Method("sft", "SFT", "sft"),
    Method("tsft", "TSFT", "sft", {"upweight_regions": ["NAME", "PARAMS", "TOOL_CALL_TAGS"], "upweight_factor": 2.0}),
    Method("rsft", "RSFT", "sft", {"upweight_regions": ["THINK"], "upweight_factor": 2.0}),
    Method("grpo", "GRPO", "grpo", _GRPO),
    Method("sft_grpo", "SFT+GRPO", "grpo", _GRPO, init_from="sft"),
    Method("rest", "ResT", "rest", _REST),
    Method("rest_entropy", "ResT (entropy rule)", "rest", {**_REST, "weighting": "paper"}),
    Method("rest_no_dynamic_reward", "No dynamic reward", "rest", {**_REST, "dynamic_reward": False}),
    Method("rest_no_cot_gradients", "No gradients for CoT", "rest", {**_REST, "cot_gradients": False}),
    Method("rest_no_curriculum", "No curriculum learning", "rest", {**_REST, "curriculum": False}),
]}


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise InputError(f"--method {name!r}: unknown; expected one of {', '.join(METHODS)}")
    return METHODS[name]


#: The switches ``describe`` reports, and the trainer families they apply to.
SWITCHES = {"weighting": ("grpo", "rest"), "dynamic_reward": ("grpo", "rest"),
            "cot_gradients": ("rest",), "curriculum": ("rest",)}


def describe(method: Method) -> dict[str, Any]:
    """What a method trains with: its switches resolved against the config defaults, null where moot."""
    import dataclasses

    from rest.train.config import ResTConfig

    defaults = {f.name: f.default for f in dataclasses.fields(ResTConfig)}
    defaults["dynamic_reward"] = defaults["baseline_dynamic_reward"]  # unset: the baselines' switch
    row: dict[str, Any] = {"name": method.name, "display": method.display, "trainer": method.trainer}
    for key, families in SWITCHES.items():
        row[key] = method.delta.get(key, defaults[key]) if method.trainer in families else None
    row["init_from"] = method.init_from
    return row
