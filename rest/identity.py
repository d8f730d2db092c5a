"""A run's identity: the study, model, method and seed that produced a file.

A run's ``summary.json`` and ``metrics.jsonl`` and each ``scores.json`` record it, so the
report learns who made a number from the number's own file, never from the folder it sits in
(docs/method.md §6). On the command line it is one word, ``--run-id
study=paper,model=tiny,method=sft,seed=0``; the untrained model (``method=base``) has no seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rest.io import InputError

#: The untrained model: the one method that is neither trained nor seeded.
BASE = "base"
#: The paper's matrix; other studies (e.g. the testbed) name themselves.
DEFAULT_STUDY = "paper"

_KEYS = ("study", "model", "method", "seed")


@dataclass(frozen=True)
class RunIdentity:
    study: str
    model: str
    method: str
    seed: int | None  # None for BASE only: greedy evaluation of an untrained model is seed-free

    def __post_init__(self) -> None:
        for key in ("study", "model", "method"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value or any(c in value for c in ",= /"):
                raise InputError(f"run identity: {key} must be a non-empty name without ',', '=', '/' "
                                 f"or spaces, got {value!r}")
        if self.method == BASE:
            if self.seed is not None:
                raise InputError(f"run identity: method {BASE!r} has no seed, got seed={self.seed}")
        elif not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise InputError(f"run identity: method {self.method!r} needs a seed >= 0, got {self.seed!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_arg(self) -> str:
        """The one-word form ``--run-id`` takes."""
        return ",".join(f"{k}={v}" for k, v in self.as_dict().items() if v is not None)

    @classmethod
    def parse(cls, text: str, where: str = "--run-id") -> RunIdentity:
        """``study=S,model=M,method=X[,seed=N]`` (the form :meth:`as_arg` writes)."""
        fields: dict[str, Any] = {}
        for part in text.split(","):
            key, sep, value = part.partition("=")
            if not sep or key not in _KEYS or key in fields:
                raise InputError(f"{where} {text!r}: expected study=S,model=M,method=X[,seed=N], "
                                 f"each key once")
            fields[key] = value
        seed = fields.pop("seed", None)
        if seed is not None and not seed.isdigit():
            raise InputError(f"{where} {text!r}: seed must be a non-negative integer")
        return cls.from_record({**fields, "seed": None if seed is None else int(seed)}, where)

    @classmethod
    def from_record(cls, value: Any, where: str) -> RunIdentity:
        """The ``run`` object of a record; ``where`` (the file) goes into every error."""
        if value is None:
            raise InputError(f"{where}: no run identity (written without --run-id)")
        if not isinstance(value, dict) or set(value) - set(_KEYS) or not {"study", "model", "method"} <= set(value):
            raise InputError(f"{where}: run identity must be an object with keys {', '.join(_KEYS)}, got {value!r}")
        try:
            return cls(value["study"], value["model"], value["method"], value.get("seed"))
        except InputError as e:
            raise InputError(f"{where}: {e}") from None
