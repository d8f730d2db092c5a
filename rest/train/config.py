"""Training configs: TRL's own dataclasses plus the ResT fields, and recipe resolution.

A recipe YAML (``config/recipes/*.yaml``) holds TRL options at the top level, as in
open-r1; a ``sft:`` or ``grpo:`` section applies only to that trainer family. The method's
config delta from the registry and then ``key=value`` overrides are applied on top.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from trl import GRPOConfig, SFTConfig

from rest.io import InputError, load_yaml, read_yaml_mapping
from rest.regions import Region
from rest.train.batching import apply_scale
from rest.weights import TokenWeighter

#: Aggregation of per-token losses (docs/method.md) -> TRL ``loss_type``.
#: ``token-mean`` is veRL's token-mean over the generation batch (TRL ``dapo``);
#: ``token-mean-weighted`` is Σ l·m·w / Σ m·w per micro-batch, built on TRL ``bnpo``
#: (Σ l·m / Σ m) by rescaling the weights; ``grpo`` averages per sequence first.
AGGREGATION_LOSS_TYPE = {"token-mean": "dapo", "token-mean-weighted": "bnpo", "grpo": "grpo"}


@dataclass
class RecipeFields:
    """Keys that belong to the recipe rather than to TRL."""

    max_train_records: int | None = field(
        default=None, metadata={"help": "Use only the first N training records (after validation)."}
    )


@dataclass
class ResTConfig(GRPOConfig, RecipeFields):
    """``GRPOConfig`` plus ResT's token weighting and dynamic reward (docs/method.md)."""

    weighting: str = field(default="uniform", metadata={"help": "uniform | released | paper"})
    cot_gradients: bool = field(default=True, metadata={"help": "False zeroes THINK weights (ablation)."})
    curriculum: bool = field(
        default=True, metadata={"help": "False holds the initial weights (paper: Eq. 9; released: rollout 0)."})
    curriculum_delta: float = field(default=0.3, metadata={"help": "δ of Eq. 16-17 per unit of progress."})
    weight_bounds: list[float] = field(default_factory=lambda: [0.1, 3.0], metadata={"help": "[lo, hi] of Eq. 16-17"})
    entropy_init_steps: int = field(default=1, metadata={"help": "Rollouts whose entropies make the Eq. 9 table."})
    entropy_tracking: str = field(default="fixed", metadata={"help": "fixed | ema"})
    ema_decay: float = field(default=0.9, metadata={"help": "Decay of entropy_tracking=ema."})
    dynamic_reward: bool | None = field(
        default=None, metadata={"help": "Eq. 14 ranges; False gives ToolRL's static ones. "
                                        "Unset (GRPO, SFT+GRPO): baseline_dynamic_reward."})
    baseline_dynamic_reward: bool = field(
        default=False, metadata={"help": "Run the baselines that leave dynamic_reward unset on the Eq. 14 schedule."})
    reward_horizon: int = field(default=150, metadata={"help": "H of Eq. 14, in rollouts."})
    aggregation: str | None = field(
        default=None, metadata={"help": "token-mean | token-mean-weighted | grpo; sets loss_type"}
    )

    def __post_init__(self):
        if self.dynamic_reward is None:
            self.dynamic_reward = self.baseline_dynamic_reward
        if self.aggregation is not None:
            if self.aggregation not in AGGREGATION_LOSS_TYPE:
                raise InputError(f"aggregation: expected one of {sorted(AGGREGATION_LOSS_TYPE)}, got {self.aggregation!r}")
            self.loss_type = AGGREGATION_LOSS_TYPE[self.aggregation]
        if len(self.weight_bounds) != 2:
            raise InputError(f"weight_bounds: expected [lo, hi], got {self.weight_bounds!r}")
        try:  # the weighter checks its own switches; fail here, before any model is loaded
            weighter_from_config(self)
        except ValueError as e:
            raise InputError(str(e)) from e
        super().__post_init__()


def weighter_from_config(a) -> TokenWeighter:
    """The ``TokenWeighter`` a ``ResTConfig`` describes."""
    return TokenWeighter(
        mode=a.weighting, cot_gradients=a.cot_gradients, curriculum=a.curriculum, delta=a.curriculum_delta,
        weight_bounds=tuple(a.weight_bounds), entropy_init_steps=a.entropy_init_steps,
        entropy_tracking=a.entropy_tracking, ema_decay=a.ema_decay,
    )


@dataclass
class RegionSFTConfig(SFTConfig, RecipeFields):
    """``SFTConfig`` plus region up-weighting of the gold completion's loss (TSFT, RSFT)."""

    upweight_regions: list[str] = field(
        default_factory=list,
        metadata={"help": "Region names (FORMAT NAME PARAMS THINK OTHER, or TOOL_CALL_TAGS) to up-weight."},
    )
    upweight_factor: float = field(default=1.0, metadata={"help": "Loss weight of the up-weighted tokens."})

    def __post_init__(self):
        allowed = {r.name for r in Region} | {TOOL_CALL_TAGS}
        bad = [r for r in self.upweight_regions if r not in allowed]
        if bad:
            raise InputError(f"upweight_regions: unknown region(s) {bad}; expected some of {sorted(allowed)}")
        if self.upweight_factor < 0:
            raise InputError(f"upweight_factor must be >= 0, got {self.upweight_factor}")
        super().__post_init__()


#: Pseudo-region: the FORMAT tokens of the <tool_call> and </tool_call> tags only.
TOOL_CALL_TAGS = "TOOL_CALL_TAGS"

CONFIG_CLASSES = {"sft": RegionSFTConfig, "grpo": ResTConfig, "rest": ResTConfig}
SECTION = {"sft": "sft", "grpo": "grpo", "rest": "grpo"}


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` strings -> dict; values are parsed as YAML 1.2 (``3e-3`` is a number; bools, lists)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"override {pair!r}: expected key=value")
        try:
            out[key.strip()] = load_yaml(value)
        except yaml.YAMLError as e:
            problem = str(getattr(e, "problem", None) or e).splitlines()[0]
            raise InputError(f"override {key.strip()}: cannot parse {value!r} ({problem})") from None
    return out


def _accepts(tp, value) -> bool:
    """Whether ``value`` (as YAML gives it) fits the annotation ``tp``; unknown types are left to the class."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(a, value) for a in args)
    if origin is typing.Literal:
        return value in args
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    if origin in (list, tuple) or tp in (list, tuple):
        return isinstance(value, (list, tuple)) and (not args or all(_accepts(args[0], v) for v in value))
    if origin is dict or tp is dict:
        return isinstance(value, dict)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return value in {m.value for m in tp}
    return True


def _type_name(tp) -> str:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))


def check_value_types(cls, values: dict[str, Any], source: dict[str, str]) -> None:
    """Each value must fit its field's type; the error names the key and where it was set."""
    hints = typing.get_type_hints(cls)
    for key, value in values.items():
        if key in hints and not _accepts(hints[key], value):
            raise InputError(f"{source[key]}: {key}={value!r} must be {_type_name(hints[key])}")


def load_recipe(path: str | Path) -> dict[str, Any]:
    return read_yaml_mapping(path, "recipe")


def recipe_values(recipe: dict[str, Any], kind: str, method_delta: dict[str, Any], overrides: dict[str, Any],
                  where: str = "recipe") -> dict[str, Any]:
    """Recipe common keys < the trainer family's section < method delta < overrides, each key
    known to the config class and of its type (checked without building the config)."""
    cls = CONFIG_CLASSES[kind]
    common = {k: v for k, v in recipe.items() if k not in set(SECTION.values())}
    section = recipe.get(SECTION[kind]) or {}
    if not isinstance(section, dict):
        raise InputError(f"{where}: section {SECTION[kind]!r} must be a mapping")
    values = {**common, **section, **method_delta, **overrides}
    source = {**{k: where for k in common}, **{k: f"{where}: section {SECTION[kind]}" for k in section},
              **{k: "method" for k in method_delta}, **{k: "override" for k in overrides}}
    values = apply_scale(values, cls, where)
    source = {k: source.get(k, where) for k in values}  # derived keys answer to the recipe
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise InputError("; ".join(f"{source[k]}: unknown key {k!r} for {cls.__name__}" for k in unknown))
    check_value_types(cls, values, source)
    return values


def resolve_config(recipe: dict[str, Any], kind: str, method_delta: dict[str, Any],
                   overrides: dict[str, Any], output_dir: str | Path, where: str = "recipe"):
    """The config object of ``recipe_values``, writing checkpoints under ``output_dir``."""
    cls = CONFIG_CLASSES[kind]
    values = recipe_values(recipe, kind, method_delta, overrides, where)
    values["output_dir"] = str(Path(output_dir) / "checkpoints")
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        if isinstance(e, InputError):
            raise
        raise InputError(f"{where}: {e}") from e


def config_to_yaml(config) -> str:
    """The resolved config as YAML: every field, so a run can be reproduced from it alone."""
    data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.to_dict().items()}
    data["config_class"] = type(config).__name__
    return yaml.safe_dump(data, sort_keys=True)
