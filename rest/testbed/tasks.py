"""A seeded generator of short tool-use tasks in the project's record format.

Each task shows a few tools with typed parameters and a templated user request; the gold
answer is ``<think>…</think>`` then a ``<tool_call>`` block of JSON lines, rendered by
``rest.formats`` (the one place for tags and templates). Records carry the training-record
keys ``instruction`` (system message), ``input`` (user message) and ``output`` (gold
completion), so curation, training, the reward and the regions treat them like any other.

Difficulty knobs (``Knobs``): how many tools are shown, how many parameters each tool has,
how many shown tools are near misses of the target (same verb, other object), how many
calls an answer makes, and the share of values the model must infer (``three`` → 3,
``the capital of France`` → ``"Paris"``) instead of copying them from the request, where
copied strings stand quoted exactly as the answer's JSON spells them.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

from rest.formats import Turn, render_completion, render_history, render_tool_list

#: The short system message: a header and the numbered tool list (no long format notes, so
#: prompts stay at ~50-100 tokens for a CPU-sized model).
SYSTEM_HEADER = "Tools:\n"

# Slot kinds: each value is (value in the call, surface to copy, surface to infer).
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
SLOTS: dict[str, list[tuple[Any, str, str]]] = {
    "city": [("Paris", "Paris", "the capital of France"), ("Tokyo", "Tokyo", "the capital of Japan"),
             ("Rome", "Rome", "the capital of Italy"), ("Madrid", "Madrid", "the capital of Spain"),
             ("Berlin", "Berlin", "the capital of Germany"), ("Lima", "Lima", "the capital of Peru"),
             ("Cairo", "Cairo", "the capital of Egypt"), ("Oslo", "Oslo", "the capital of Norway")],
    "day": [(d, d, f"the day after {p}") for p, d in zip(
        ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"])],
    "count": [(n, str(n), NUMBERS[n]) for n in range(1, 10)],
    "hour": [(n, str(n), NUMBERS[n]) for n in range(1, 10)],
    "unit": [("celsius", "celsius", "metric units"), ("fahrenheit", "fahrenheit", "imperial units")],
    "language": [("fr", "fr", "French"), ("de", "de", "German"), ("es", "es", "Spanish"),
                 ("ja", "ja", "Japanese"), ("it", "it", "Italian")],
    "currency": [("EUR", "EUR", "euros"), ("USD", "USD", "dollars"), ("JPY", "JPY", "yen"),
                 ("GBP", "GBP", "pounds")],
    "person": [(n, n, n) for n in ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank"]],
    "genre": [(g, g, g) for g in ["jazz", "rock", "pop", "folk", "blues"]],
}
TYPES = {"count": "integer", "hour": "integer"}


@dataclass(frozen=True)
class Param:
    name: str
    slot: str
    #: how the request mentions it; ``{}`` is the value's surface form
    phrase: str


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    request: str
    params: tuple[Param, ...]

    @property
    def verb(self) -> str:
        return self.name.split("_", 1)[0]

    def schema(self, n_params: int) -> dict[str, Any]:
        """The tool as shown in the prompt, with its first ``n_params`` parameters."""
        return {"name": self.name, "description": self.description,
                "parameters": {p.name: TYPES.get(p.slot, "string") for p in self.params[:n_params]}}


def _tool(name, description, request, *params):
    return Tool(name, description, request, tuple(Param(*p) for p in params))


CATALOGUE: tuple[Tool, ...] = (
    _tool("get_weather", "weather", "What is the weather",
          ("city", "city", "in {}"), ("day", "day", "on {}"), ("unit", "unit", "in {}")),
    _tool("get_forecast", "forecast", "Give me the forecast",
          ("city", "city", "for {}"), ("days", "count", "for {} days"), ("unit", "unit", "in {}")),
    _tool("get_news", "news", "Show the news",
          ("city", "city", "from {}"), ("language", "language", "in {}"), ("limit", "count", "top {}")),
    _tool("book_hotel", "hotel", "Book a hotel",
          ("city", "city", "in {}"), ("date", "day", "on {}"), ("nights", "count", "for {} nights")),
    _tool("book_flight", "flight", "Book a flight",
          ("destination", "city", "to {}"), ("date", "day", "on {}"), ("seats", "count", "with {} seats")),
    _tool("book_table", "restaurant", "Book a table",
          ("city", "city", "in {}"), ("hour", "hour", "at {}"), ("people", "count", "for {} people")),
    _tool("send_email", "email", "Send an email",
          ("to", "person", "to {}"), ("language", "language", "in {}"), ("day", "day", "on {}")),
    _tool("send_sms", "text", "Text",
          ("to", "person", "{}"), ("hour", "hour", "at {}"), ("language", "language", "in {}")),
    _tool("set_alarm", "alarm", "Set an alarm",
          ("hour", "hour", "for {}"), ("day", "day", "on {}"), ("label", "genre", "with {} music")),
    _tool("set_reminder", "reminder", "Remind me",
          ("day", "day", "on {}"), ("hour", "hour", "at {}"), ("person", "person", "to call {}")),
    _tool("play_music", "music", "Play",
          ("genre", "genre", "some {}"), ("count", "count", "{} songs"), ("language", "language", "sung in {}")),
    _tool("play_radio", "radio", "Put on",
          ("genre", "genre", "a {} station"), ("city", "city", "from {}"), ("hour", "hour", "at {}")),
    _tool("convert_units", "units", "Convert",
          ("amount", "count", "{} degrees"), ("to", "unit", "to {}"), ("digits", "count", "with {} decimals")),
    _tool("convert_currency", "currency", "Convert",
          ("amount", "count", "{}"), ("to", "currency", "into {}"), ("day", "day", "at the rate of {}")),
)
BY_NAME = {t.name: t for t in CATALOGUE}


@dataclass(frozen=True)
class Knobs:
    """Difficulty of the generated tasks."""

    tools_shown: int = 3
    #: parameters of each shown tool: a value drawn uniformly in [min, max] per task
    params_min: int = 1
    params_max: int = 3
    #: shown tools that share the target's verb (near misses), when the catalogue has them
    distractors: int = 1
    calls_min: int = 1
    calls_max: int = 1
    #: chance that a value must be inferred from its paraphrase instead of copied
    inferred_fraction: float = 0.3

    def __post_init__(self):
        if not 1 <= self.params_min <= self.params_max <= 3:
            raise ValueError(f"params: need 1 <= min <= max <= 3, got {self.params_min}..{self.params_max}")
        if not 1 <= self.calls_min <= self.calls_max:
            raise ValueError(f"calls: need 1 <= min <= max, got {self.calls_min}..{self.calls_max}")
        if not self.calls_max <= self.tools_shown <= len(CATALOGUE):
            raise ValueError(f"tools_shown: need calls_max <= tools_shown <= {len(CATALOGUE)}, "
                             f"got {self.tools_shown}")
        if not 0 <= self.distractors < self.tools_shown:
            raise ValueError(f"distractors: need 0 <= distractors < tools_shown, got {self.distractors}")
        if not 0.0 <= self.inferred_fraction <= 1.0:
            raise ValueError(f"inferred_fraction must be in [0, 1], got {self.inferred_fraction}")


def _verbatim(surface: str, slot: str) -> str:
    """A copied string value is quoted as in the call's JSON, so the request holds the very
    tokens the answer must copy (``in "Paris"`` → ``"city": "Paris"``); numbers need no quotes."""
    return surface if TYPES.get(slot) == "integer" else f'"{surface}"'


def _pick_tools(rng: random.Random, knobs: Knobs, n_calls: int) -> tuple[list[Tool], list[Tool]]:
    """(shown tools in prompt order, target tools in call order)."""
    targets = rng.sample(CATALOGUE, n_calls)
    near = [t for t in CATALOGUE if t not in targets and any(t.verb == g.verb for g in targets)]
    shown = list(targets) + rng.sample(near, min(knobs.distractors, len(near)))
    rest = [t for t in CATALOGUE if t not in shown]
    shown += rng.sample(rest, knobs.tools_shown - len(shown))
    rng.shuffle(shown)
    return shown, targets


def make_task(rng: random.Random, knobs: Knobs) -> dict[str, Any]:
    """One task: the record (``instruction``, ``input``, ``output``) and its ``task`` metadata."""
    n_calls = rng.randint(knobs.calls_min, knobs.calls_max)
    n_params = rng.randint(knobs.params_min, knobs.params_max)
    shown, targets = _pick_tools(rng, knobs, n_calls)
    calls, requests, inferred = [], [], 0
    for tool in targets:
        values, phrases = {}, [tool.request]
        for param in tool.params[:n_params]:
            value, copy, infer = rng.choice(SLOTS[param.slot])
            use_infer = infer != copy and rng.random() < knobs.inferred_fraction
            inferred += use_infer
            values[param.name] = value
            phrases.append(param.phrase.format(infer if use_infer else _verbatim(copy, param.slot)))
        calls.append({"name": tool.name, "parameters": values})
        requests.append(" ".join(phrases))
    thought = " and ".join(f"use {t.name}" for t in targets)
    return {
        "instruction": SYSTEM_HEADER + render_tool_list(t.schema(n_params) for t in shown),
        "input": render_history([Turn("user", ". Also, ".join(requests) + ".")]),
        "output": render_completion(thought, calls),
        "task": {"tools_shown": [t.name for t in shown], "calls": len(calls), "params": n_params,
                 "inferred_values": inferred},
    }


def generate(n: int, seed: int, knobs: Knobs, exclude: set[str] = frozenset()) -> list[dict[str, Any]]:
    """``n`` distinct tasks from ``seed``; prompts in ``exclude`` are skipped (disjoint splits)."""
    rng = random.Random(seed)
    out, seen = [], set(exclude)
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise ValueError(f"cannot draw {n} distinct tasks with these knobs; lower the split sizes")
        task = make_task(rng, knobs)
        key = prompt_key(task)
        if key in seen:
            continue
        seen.add(key)
        out.append(task)
    return out


def prompt_key(task: dict[str, Any]) -> str:
    return task["instruction"] + "\n" + task["input"]


SPLITS = ("train", "val", "test")


def make_splits(sizes: dict[str, int], seed: int, knobs: Knobs) -> dict[str, list[dict[str, Any]]]:
    """Disjoint train / val / test splits: no prompt appears in two splits.

    Test is drawn first and validation second, each from its own stream of ``seed``, so
    growing the training set never changes the held-out tasks.
    """
    splits, seen = {}, set()
    for offset, name in ((2, "test"), (1, "val"), (0, "train")):
        splits[name] = generate(sizes[name], seed * 1000 + offset, knobs, exclude=seen)
        seen |= {prompt_key(t) for t in splits[name]}
    return {name: splits[name] for name in SPLITS}


def knobs_dict(knobs: Knobs) -> dict[str, Any]:
    return asdict(knobs)
