"""BFCL v4 with the official ``bfcl-eval`` checker: prompts, scoring, the paper's columns.

The test data and checkers ship inside the installed ``bfcl-eval`` package. Prompts are the
ToolRL handler's text (``rest.eval.bfcl_prompts``), so train and test share one format;
calls are read by ``rest.parsers.bfcl_calls`` (the last ``<tool_call>`` block). AST
categories are scored by ``ast_checker``, relevance and irrelevance by the no-call rule,
multi-turn by ``multi_turn_checker`` (see ``rest.eval.bfcl_multiturn``).
"""

from __future__ import annotations

import contextlib
import copy
import importlib.metadata
import os
import signal
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rest.eval import bfcl_prompts
from rest.io import InputError
from rest.parsers import bfcl_calls

DATA_VERSION = "v4"
#: A name registered in bfcl-eval's model table whose checker keeps dotted function names
#: as they are (``underscore_to_dot=False``), like our JSON output does.
CHECKER_MODEL_NAME = "Qwen_Qwen3-8B"
#: bfcl-eval's OSS handler asks for min(4096, model context - prompt - 2) new tokens.
MAX_NEW_TOKENS = 4096
RESERVE_TOKENS = 2

AST_NON_LIVE = ("simple_python", "simple_java", "simple_javascript", "multiple", "parallel",
                "parallel_multiple")
AST_LIVE = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")
RELEVANCE = ("live_relevance",)
IRRELEVANCE = ("irrelevance", "live_irrelevance")
MULTI_TURN = ("multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param",
              "multi_turn_long_context")
SINGLE_TURN = AST_NON_LIVE + AST_LIVE + RELEVANCE + IRRELEVANCE
ALL_CATEGORIES = SINGLE_TURN + MULTI_TURN

#: Names accepted by ``--categories`` besides single categories.
GROUPS: dict[str, tuple[str, ...]] = {
    "all": ALL_CATEGORIES,
    "single_turn": SINGLE_TURN,
    "multi_turn": MULTI_TURN,
    "non_live": AST_NON_LIVE + ("irrelevance",),
    "live": AST_LIVE + ("live_relevance", "live_irrelevance"),
    "ast": AST_NON_LIVE + AST_LIVE,
    "relevance": RELEVANCE + IRRELEVANCE,
}

MULTI_TURN_COLUMNS = {"Base": "multi_turn_base", "Miss Func": "multi_turn_miss_func",
                      "Miss Param": "multi_turn_miss_param", "Long Context": "multi_turn_long_context"}


# --------------------------------------------------------------------------- the package


def _default_project_root() -> Path:
    return Path(tempfile.gettempdir()) / "rest-bfcl-root"


@contextlib.contextmanager
def _signal_handlers_kept():
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):  # only the main thread may set handlers
            for sig, handler in saved.items():
                if handler is not None:  # None: set outside Python, cannot be restored
                    signal.signal(sig, handler)


@lru_cache(maxsize=1)
def load_bfcl() -> SimpleNamespace:
    """Import bfcl-eval with ``BFCL_PROJECT_ROOT`` on a writable folder (it writes there at import)."""
    if "bfcl_eval" not in sys.modules:
        root = Path(os.environ.get("BFCL_PROJECT_ROOT") or _default_project_root())
        root.mkdir(parents=True, exist_ok=True)
        os.environ["BFCL_PROJECT_ROOT"] = str(root)
    # Its import chain prints (keep stdout clean for --predictions) and installs SIGTERM and
    # SIGINT handlers (qwen-agent's); ours come back, so a kill still stops an evaluation.
    with contextlib.redirect_stdout(sys.stderr), _signal_handlers_kept():
        from bfcl_eval.constants.default_prompts import (
            DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_PROMPTING,
        )
        from bfcl_eval.constants.enums import Language
        from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
        from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils
        from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker
        from bfcl_eval.utils import load_dataset_entry, load_ground_truth_entry
    return SimpleNamespace(
        ast_checker=ast_checker,
        multi_turn_checker=multi_turn_checker,
        multi_turn_utils=multi_turn_utils,
        Language=Language,
        load_dataset_entry=load_dataset_entry,
        load_ground_truth_entry=load_ground_truth_entry,
        added_functions_prompt=DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_PROMPTING,
        version=importlib.metadata.version("bfcl-eval"),
    )


def versions() -> dict[str, str]:
    return {"bfcl_eval_version": importlib.metadata.version("bfcl-eval"), "data_version": DATA_VERSION}


def expand_categories(names: Iterable[str]) -> list[str]:
    """Categories from names or groups, in the canonical order, without repeats."""
    wanted: set[str] = set()
    for name in names:
        for part in str(name).split(","):
            part = part.strip()
            if not part:
                continue
            if part in GROUPS:
                wanted.update(GROUPS[part])
            elif part in ALL_CATEGORIES:
                wanted.add(part)
            else:
                raise InputError(
                    f"--categories: unknown category or group {part!r} (groups: {', '.join(GROUPS)}; "
                    f"categories: {', '.join(ALL_CATEGORIES)})"
                )
    return [c for c in ALL_CATEGORIES if c in wanted]


def category_of(entry_id: str) -> str:
    return entry_id.rsplit("_", 1)[0]


@dataclass
class Case:
    """One test entry: the prompt version (with bfcl's language hints), the checker version
    (function docs as the checker expects them) and the possible answer, if any."""

    id: str
    category: str
    prompt_entry: dict
    checker_entry: dict
    answer: Any = None


def load_prompt_entries(category: str, limit: int | None = None) -> list[dict]:
    """bfcl-eval's entries as its generation pipeline loads them (function docs with language hints)."""
    bf = load_bfcl()
    with contextlib.redirect_stdout(sys.stderr):
        entries = bf.load_dataset_entry(category, include_prereq=False, include_language_specific_hint=True)
    return entries if limit is None else entries[:limit]


def load_cases(category: str, limit: int | None = None) -> list[Case]:
    bf = load_bfcl()
    prompts = load_prompt_entries(category)
    with contextlib.redirect_stdout(sys.stderr):
        plain = bf.load_dataset_entry(category, include_prereq=False, include_language_specific_hint=False)
        answers = None
        if category not in RELEVANCE + IRRELEVANCE:
            answers = bf.load_ground_truth_entry(category)
    n = len(prompts) if limit is None else min(limit, len(prompts))
    cases = []
    for i in range(n):
        if answers is not None and answers[i]["id"] != prompts[i]["id"]:
            raise InputError(f"bfcl-eval data: {category} entry {i}: answer id {answers[i]['id']} "
                             f"does not match prompt id {prompts[i]['id']}")
        cases.append(Case(prompts[i]["id"], category, prompts[i], plain[i],
                          None if answers is None else answers[i]["ground_truth"]))
    return cases


# --------------------------------------------------------------------------- prompts


def single_turn_conversation(case: Case) -> list[dict]:
    """The first-turn chat of a single-turn entry, as ToolRL's handler writes it."""
    entry = case.prompt_entry
    return bfcl_prompts.conversation(entry.get("function", []), bfcl_prompts.turn_messages(entry, 0),
                                     bfcl_prompts.SINGLE_TURN)


# --------------------------------------------------------------------------- decoding and scoring


def ast_format(calls: list[tuple[str, dict]]) -> list[dict]:
    """The checker's shape: ``[{name: {param: value}}, ...]``."""
    return [{name: params} for name, params in calls]


def language_of(category: str):
    lang = load_bfcl().Language
    if category == "simple_java":
        return lang.JAVA
    if category == "simple_javascript":
        return lang.JAVASCRIPT
    return lang.PYTHON


def score_single_turn(case: Case, completion: Any) -> dict:
    """``{"valid": bool, "error": str|None, "decoded": [...]}`` for one single-turn entry."""
    calls = bfcl_calls(completion)
    decoded = ast_format(calls)
    if case.category in RELEVANCE or case.category in IRRELEVANCE:
        has_call = bool(calls)
        valid = not has_call if case.category in IRRELEVANCE else has_call
        error = None if valid else ("made a call where none was wanted" if has_call else "made no call")
        return {"valid": valid, "error": error, "decoded": decoded}
    bf = load_bfcl()
    try:
        with contextlib.redirect_stdout(sys.stderr):
            result = bf.ast_checker(
                copy.deepcopy(case.checker_entry["function"]), decoded, case.answer,
                language_of(case.category), case.category, CHECKER_MODEL_NAME,
            )
    except Exception as e:  # noqa: BLE001 - odd model output must not take a run down
        return {"valid": False, "error": f"checker error: {type(e).__name__}: {e}", "decoded": decoded}
    error = None if result["valid"] else "; ".join(str(x) for x in result.get("error", [])) or result.get("error_type")
    return {"valid": bool(result["valid"]), "error": error, "decoded": decoded}


# --------------------------------------------------------------------------- aggregation


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def paper_columns(categories: dict[str, dict]) -> dict[str, float]:
    """The paper's columns from per-category ``{"correct", "total"}``, the leaderboard's way.

    A column is present only when every category behind it was run.
    """
    acc = {c: v["correct"] / v["total"] for c, v in categories.items() if v["total"] > 0}
    out: dict[str, float] = {}
    if all(c in acc for c in AST_NON_LIVE):
        simple = _mean([acc["simple_python"], acc["simple_java"], acc["simple_javascript"]])
        out["Non-Live AST Acc"] = _mean([simple, acc["multiple"], acc["parallel"], acc["parallel_multiple"]])
    if all(c in acc for c in AST_LIVE):
        out["Live Acc"] = (sum(categories[c]["correct"] for c in AST_LIVE)
                           / sum(categories[c]["total"] for c in AST_LIVE))
    if all(c in acc for c in MULTI_TURN):
        out["Multi Turn Acc"] = _mean([acc[c] for c in MULTI_TURN])
        out["Overall Acc"] = out["Multi Turn Acc"]
    for column, c in MULTI_TURN_COLUMNS.items():
        if c in acc:
            out[column] = acc[c]
    if "live_relevance" in acc:
        out["Relevance Detection"] = acc["live_relevance"]
    if all(c in acc for c in IRRELEVANCE):
        out["Irrelevance Detection"] = _mean([acc[c] for c in IRRELEVANCE])
    return {k: round(100.0 * v, 2) for k, v in out.items()}


def category_percentages(categories: dict[str, dict]) -> dict[str, float]:
    return {c: round(100.0 * v["correct"] / v["total"], 2) for c, v in categories.items() if v["total"] > 0}


def tally(rows: Iterable[dict]) -> dict[str, dict]:
    """Per-category ``{"correct", "total"}`` from result rows, in the canonical order."""
    counts: dict[str, dict] = {}
    for r in rows:
        c = counts.setdefault(r["category"], {"correct": 0, "total": 0})
        c["total"] += 1
        c["correct"] += bool(r["valid"])
    return {c: counts[c] for c in ALL_CATEGORIES if c in counts}
