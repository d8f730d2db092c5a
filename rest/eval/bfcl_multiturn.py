"""BFCL multi-turn: the model loop, safe execution on bfcl-eval's backends, and scoring.

bfcl-eval executes a call by ``eval`` of a call string. Model text never reaches it: a call
string is built here from parsed JSON, only for a public method of one of the entry's
backend classes, with identifier keyword names and arguments that are JSON literals written
with ``repr``. Anything else is rejected and answered with an error observation.

The loop follows bfcl-eval's prompting handler: a step whose output has no call ends the
user turn; more than ``max_steps_per_turn`` steps with calls force-quit the entry (it then
fails). Prompts are ToolRL's handler text over bfcl-eval's message list
(``rest.eval.bfcl_prompts``). In miss_func the held-out functions arrive as that flow delivers
them: a user turn listing them before "I have updated some more functions...", while the
system prompt's tool list stays as it was. One departure: a
step whose calls were all rejected is answered with error observations, but the checker
sees it as a step without calls (bfcl-eval would have ``eval``-ed the text and failed).

Execution and scoring run in a worker process (``rest.eval.bfcl_worker``): a call's
arguments are checked against per-method limits first, a call that still overruns its time
limit is answered with an error (and not passed to the checker), the worker is restarted
and every open episode replays its executed calls into the new one, so it goes on from the
same state. An entry whose scoring overruns is scored wrong.

bfcl-eval caches backend instances in its module globals, keyed by a model name and the
entry id. Every episode and every scoring uses a fresh key and removes its instances
afterwards, so an entry scored twice in one process starts from its initial state each time.
"""

from __future__ import annotations

import itertools
import keyword
import math
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rest.eval import bfcl_prompts
from rest.eval.bfcl import Case
from rest.eval.bfcl_worker import (
    CALL_TIMEOUT,
    SCORE_TIMEOUT,
    BackendWorker,
    LimitExceeded,
    WorkerTimeout,
    check_limits,
    shared_worker,
)
from rest.parsers import bfcl_calls, scrub

#: bfcl-eval's own step limit per user turn (``MAXIMUM_STEP_LIMIT``).
DEFAULT_MAX_STEPS_PER_TURN = 20

_keys = itertools.count()


def fresh_key(kind: str) -> str:
    """A backend-instance key no other episode or scoring in this process uses."""
    return f"rest_{kind}_{os.getpid()}_{next(_keys)}"


def release(key: str, worker: BackendWorker | None = None) -> int:
    """Drop every backend instance bfcl-eval cached under ``key``; returns how many."""
    try:
        return (worker or shared_worker()).request("release", key)
    except WorkerTimeout:
        return 0  # the killed worker took them along


# --------------------------------------------------------------------------- safe call strings


class RejectedCall(ValueError):
    pass


def _check_literal(value: Any, path: str) -> None:
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RejectedCall(f"argument {path} is not a finite number")
        return
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check_literal(v, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise RejectedCall(f"argument {path} has a non-string key")
            _check_literal(v, f"{path}[{k!r}]")
        return
    raise RejectedCall(f"argument {path} is not a JSON value")


def call_string(name: Any, params: Any, methods) -> str:
    """``method(key=literal, ...)`` from a parsed call, or ``RejectedCall`` saying why.

    ``methods`` holds the backends' public method names; a mapping to their class names
    also checks the arguments against the per-method limits."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise RejectedCall(f"{name!r} is not a valid function name")
    if name not in methods:
        raise RejectedCall(f"{name!r} is not an available function")
    if not isinstance(params, dict):
        raise RejectedCall("parameters must be a JSON object")
    for key, value in params.items():
        # Python folds identifiers to NFKC ("ª" reads as "a"), so only names that are already
        # folded reach the backend under the name the model wrote.
        if (not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key)
                or unicodedata.normalize("NFKC", key) != key):
            raise RejectedCall(f"{key!r} is not a valid parameter name")
        _check_literal(value, key)
    if isinstance(methods, dict):
        try:
            check_limits(methods[name], name, params)
        except LimitExceeded as e:
            raise RejectedCall(str(e)) from None
    return bfcl_prompts.call_text(name, params)


# --------------------------------------------------------------------------- the model loop


@dataclass
class Episode:
    """One multi-turn entry being played: history, per-step outputs and executed calls."""

    case: Case
    max_steps_per_turn: int = DEFAULT_MAX_STEPS_PER_TURN
    key: str = field(default_factory=lambda: fresh_key("run"))
    #: Raw completions, per turn, per step.
    outputs: list[list[str]] = field(default_factory=list)
    #: Executed call strings, per turn, per step that had calls (what the checker replays).
    calls: list[list[list[str]]] = field(default_factory=list)
    rejected: int = 0
    #: Calls stopped at the time limit (answered with an error, not passed to the checker).
    timed_out: int = 0
    force_quit: bool = False
    done: bool = False
    worker: BackendWorker | None = None
    call_timeout: float = CALL_TIMEOUT

    def __post_init__(self):
        entry = self.case.prompt_entry
        self.functions = list(entry.get("function", []))
        #: bfcl-eval's message list for this entry (tool messages name the executed call).
        self.messages: list[dict] = []
        self.turn_index = -1
        self.steps = 0
        self.worker = self.worker or shared_worker()
        #: Every call string executed so far, in order: what a fresh worker replays.
        self.history: list[str] = []
        self._generation = None
        #: Public method name -> backend class name.
        self.methods: dict[str, str] = {}
        self.methods = self._execute([])[1]
        self._next_turn()

    def _request(self, calls: list[str], timeout: float):
        """bfcl-eval's executor in the worker, with our fresh key in place of a model name.

        If the worker was restarted since this episode last ran, its executed calls are
        replayed first, so the backends are in the state the episode left them in."""
        if self.history and (self._generation != self.worker.generation or not self.worker.alive):
            self._send(self.history, self.call_timeout * (len(self.history) + 1))
        out = self._send(calls, timeout)
        self._generation = self.worker.generation
        return out

    def _send(self, calls: list[str], timeout: float):
        entry = self.case.checker_entry
        entry = {"id": entry["id"], "involved_classes": entry["involved_classes"],
                 "initial_config": entry.get("initial_config", {})}
        return self.worker.request("execute", self.key, entry, calls, "long_context" in self.case.category,
                                   timeout=timeout)

    def _execute(self, calls: list[str]) -> tuple[list[str], dict[str, str], list[str]]:
        """Run calls one at a time: their results, the backends' methods, and the calls that ran.

        A call that overruns the time limit is answered with an error and left out of what ran."""
        if not calls:
            results, methods = self._request([], self.call_timeout)
            return results, methods, []
        results, methods, ran = [], self.methods, []
        for call in calls:
            try:
                (result,), methods = self._request([call], self.call_timeout)
                self.history.append(call)
                ran.append(call)
            except WorkerTimeout as e:
                self.timed_out += 1
                result = f"Error during execution: {e}"
            results.append(result)
        return results, methods, ran

    def _next_turn(self) -> None:
        questions = self.case.prompt_entry["question"]
        self.turn_index += 1
        if self.turn_index >= len(questions):
            self.close()
            return
        self.messages.extend(bfcl_prompts.turn_messages(self.case.prompt_entry, self.turn_index))
        self.outputs.append([])
        self.calls.append([])
        self.steps = 0

    def close(self) -> None:
        """End the episode and drop its backend instances (also for an episode abandoned early)."""
        self.done = True
        if self._generation == self.worker.generation and self.worker.alive:
            release(self.key, self.worker)  # a killed worker took them along

    def conversation(self) -> list[dict]:
        turn_type = bfcl_prompts.turn_type_of(self.case.category)
        return bfcl_prompts.conversation(self.functions, self.messages, turn_type)

    def feed(self, completion: str) -> None:
        """Take the model's output for the current step and advance."""
        self.outputs[-1].append(completion)
        self.messages.append({"role": "assistant", "content": completion})
        parsed = bfcl_calls(completion)
        if not parsed:  # no call ends the turn, as in bfcl-eval's prompting handler
            self._next_turn()
            return
        strings, results = [], {}
        for i, (name, params) in enumerate(parsed):
            try:
                strings.append((i, call_string(name, params, self.methods)))
            except RejectedCall as e:
                self.rejected += 1
                results[i] = f"Error during execution: {e}"
        executed, _, ran = self._execute([s for _, s in strings])
        for (i, _), result in zip(strings, executed):
            results[i] = result
        if ran:  # what the checker replays; a call stopped at the time limit did not run
            self.calls[-1].append(ran)
        for i, (name, params) in enumerate(parsed):
            # the history names each call as the handler wrote it for execution; model text
            # may hold lone surrogates, which the tokenizer cannot take
            self.messages.append(scrub({"role": "tool", "name": bfcl_prompts.call_text(name, params),
                                        "content": str(results[i])}))
        self.steps += 1
        if self.steps > self.max_steps_per_turn:
            self.force_quit = True
            self.close()


def play(cases: Sequence[Case], generator, max_steps_per_turn: int = DEFAULT_MAX_STEPS_PER_TURN) -> list[Episode]:
    """Run every entry to its end, batching the current step of all open episodes."""
    episodes = [Episode(c, max_steps_per_turn) for c in cases]
    round_ = 0
    while True:
        open_ = [e for e in episodes if not e.done]
        if not open_:
            return episodes
        round_ += 1
        outputs = generator.generate([e.conversation() for e in open_], desc=f"multi-turn step {round_}")
        for episode, text in zip(open_, outputs):
            episode.feed(text)


# --------------------------------------------------------------------------- scoring


def score_multi_turn(case: Case, calls_per_turn: list[list[list[str]]], worker: BackendWorker | None = None,
                     timeout: float = SCORE_TIMEOUT) -> dict:
    """bfcl-eval's verdict for one entry from its executed call strings. Never raises.

    The checker runs in the worker; one that takes longer than ``timeout`` seconds is
    stopped and the entry scored wrong."""
    ground_truth = case.answer
    if len(calls_per_turn) != len(ground_truth):
        return {"valid": False, "error": f"force-terminated: {len(calls_per_turn)} of {len(ground_truth)} turns played",
                "error_type": "multi_turn:force_terminated"}
    try:
        result = (worker or shared_worker()).request(
            "score", fresh_key("score"), calls_per_turn, ground_truth, case.checker_entry, case.category,
            timeout=timeout)
    except WorkerTimeout as e:
        return {"valid": False, "error": f"checker {e}", "error_type": "multi_turn:checker_timeout"}
    except RuntimeError as e:  # the checker asserts on some inputs
        return {"valid": False, "error": f"checker error: {e}", "error_type": "checker_error"}
    if result.get("valid"):
        return {"valid": True, "error": None, "error_type": None}
    return {"valid": False, "error": result.get("error_message"), "error_type": result.get("error_type")}
