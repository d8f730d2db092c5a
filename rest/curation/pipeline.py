"""The two curation routes and the files they write.

``published``: ToolRL's corpus as released. ``rebuild``: ToolACE, xLAM and Hammer-masked
xLAM converted, decomposed and mixed here. Both write ``rl_train.jsonl``,
``rl_val.jsonl``, ``sft.jsonl`` and, last, ``curation_report.json``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rest.curation import hammer, toolace, xlam
from rest.curation.mix import dedup_key, mix
from rest.curation.records import (
    TOOLRL_SPLIT_SEED,
    TOOLRL_TEST_FRACTION,
    ConversionError,
    Screen,
    dump_records,
    load_rlla,
    prompt_key,
    rl_ground_truth,
    seeded_subset,
    toolrl_split,
)
from rest.data.manifest import manifest_entry, sha256_file
from rest.io import InputError, atomic_write_json, atomic_write_jsonl, read_json, resolve_data_dir

OUTPUT_FILES = ("rl_train.jsonl", "rl_val.jsonl", "sft.jsonl")
REPORT_NAME = "curation_report.json"


@dataclass
class Curation:
    """The three sets being built, and what the report needs to say about them."""

    data_dir: Path
    screen: Screen
    rl_train: list[dict[str, Any]] = field(default_factory=list)
    rl_val: list[dict[str, Any]] = field(default_factory=list)
    sft: list[dict[str, Any]] = field(default_factory=list)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def input_path(self, key: str, explicit: str | None = None) -> Path:
        """A raw file: ``explicit`` if given, else the manifest's path under the data dir."""
        path = Path(explicit) if explicit else self.data_dir / manifest_entry(key).path
        if not path.is_file():
            raise InputError(f"{path}: file not found (manifest key {key!r}; `python -m rest data fetch` "
                             "lists where to get it)")
        return path

    def note_input(self, path: Path) -> None:
        try:
            name = str(path.resolve().relative_to(self.data_dir.resolve()))
        except ValueError:
            name = path.name
        self.inputs[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}

    def load(self, key: str, source: str, explicit: str | None = None) -> list[dict[str, Any]]:
        path = self.input_path(key, explicit)
        self.note_input(path)
        return load_rlla(path, source)


# --------------------------------------------------------------------------- route 1


def _sft_set(cur: Curation) -> None:
    """The SFT set: ToolRL's 400 rlla_sft records with their distilled thoughts, as they are."""
    path = cur.input_path("rlla_sft")
    cur.sft = cur.screen.keep_valid(cur.load("rlla_sft", "rlla_sft"), str(path))


def curate_published(cur: Curation, rl_from: str, rl_file: str | None) -> None:
    _sft_set(cur)
    if rl_from == "rlla_sft":
        # The SFT records double as RL prompts; their ground truths get the placeholder thought.
        cur.rl_train = [{**r, "output": rl_ground_truth(r["output"])} for r in cur.sft]
        test_path = cur.input_path("rlla_test")
        cur.rl_val = cur.screen.keep_valid(cur.load("rlla_test", "rlla_test"), str(test_path))
        return
    path = _rlla_rl_path(cur, rl_file)
    cur.note_input(path)
    if path.suffix == ".parquet":  # the split ToolRL already made
        cur.rl_train = cur.screen.keep_valid(load_rlla(path, "rlla_rl_train"), str(path))
        test_path = cur.input_path("rlla_test")
        cur.rl_val = cur.screen.keep_valid(cur.load("rlla_test", "rlla_test"), str(test_path))
        cur.info["split"] = {"method": "published parquet split"}
        return
    items = load_rlla(path, "rlla_rl")
    # Split before validating so a dropped record cannot shift ToolRL's positions.
    train, test = toolrl_split(items)
    cur.rl_train = cur.screen.keep_valid(train, str(path))
    cur.rl_val = cur.screen.keep_valid(test, str(path))
    cur.info["split"] = {"method": "toolrl", "seed": TOOLRL_SPLIT_SEED, "test_fraction": TOOLRL_TEST_FRACTION,
                         "train": len(train), "test": len(test),
                         "matches_published_test": _matches_published_test(cur, test)}


def _rlla_rl_path(cur: Curation, rl_file: str | None) -> Path:
    if rl_file:
        return cur.input_path("rlla_rl", rl_file)
    full = cur.data_dir / manifest_entry("rlla_rl").path
    if full.is_file():
        return full
    split = (cur.data_dir / manifest_entry("rlla_test").path).with_name("train.parquet")
    if split.is_file():
        return split
    raise InputError(f"{full}: file not found, nor its split {split} (manifest key 'rlla_rl'; "
                     "`python -m rest data fetch --config paper` fetches it)")


def _matches_published_test(cur: Curation, test: list[dict[str, Any]]) -> bool | None:
    """Whether our held-out records are, in order, those of ToolRL's published test.parquet."""
    path = cur.data_dir / manifest_entry("rlla_test").path
    if not path.is_file():
        return None
    published = load_rlla(path, "rlla_test")
    return [dedup_key(r) for r in published] == [dedup_key(r) for r in test]


# --------------------------------------------------------------------------- route 2


def _convert_all(cur: Curation, items: list[Any], where: str,
                 convert: Callable[[Any, int], list[dict[str, str]]]) -> list[dict[str, Any]]:
    records = []
    for i, item in enumerate(items):
        try:
            records.extend(convert(item, i))
        except ConversionError as e:
            cur.screen.drop(str(e), f"{where}: item {i}")
    return cur.screen.keep_valid(records, where)


def _raw_list(cur: Curation, key: str, explicit: str | None) -> tuple[list[Any], Path]:
    path = cur.input_path(key, explicit)
    cur.note_input(path)
    items = read_json(path)
    if not isinstance(items, list):
        raise InputError(f"{path}: expected a JSON list of items, got {type(items).__name__}")
    return items, path


def curate_rebuild(cur: Curation, seed: int, sizes: dict[str, int], mask_prob: float,
                   toolace_file: str | None, xlam_file: str | None, hammer_file: str | None) -> None:
    """Convert each source, mix ``sizes`` records (instances after decomposition, so a
    ToolACE dialogue may give several) and split the mix like ToolRL. The SFT set stays
    rlla_sft: its distilled thoughts cannot be rebuilt from the raw corpora."""
    _sft_set(cur)
    items, path = _raw_list(cur, "toolace", toolace_file)
    pools = {"toolace": _convert_all(cur, items, str(path), toolace.convert)}
    items, xlam_path = _raw_list(cur, "xlam", xlam_file)
    if hammer_file:
        hammer_items, hammer_path = _raw_list(cur, "hammer_sft", hammer_file)
        pools["hammer"] = _convert_all(cur, hammer_items, str(hammer_path), hammer.convert_sft)
        pools["xlam"] = _convert_all(cur, items, str(xlam_path), xlam.convert)
    else:
        # Disjoint halves of xLAM: one kept as is, the other masked, so no query is in both.
        order = list(range(len(items)))
        random.Random(seed).shuffle(order)
        half = len(order) // 2
        rng = random.Random(seed + 1)
        pools["xlam"] = _convert_all(cur, [items[i] for i in order[:half]], str(xlam_path), xlam.convert)
        pools["hammer"] = _convert_all(
            cur, [items[i] for i in order[half:]], str(xlam_path),
            lambda item, i: hammer.convert_masked(item, i, rng, mask_prob))
    mixed, report = mix(pools, sizes, seed)
    train, test = toolrl_split(mixed)
    cur.rl_train, cur.rl_val = train, test
    cur.info["mix"] = report
    cur.info["split"] = {"method": "toolrl", "seed": TOOLRL_SPLIT_SEED, "test_fraction": TOOLRL_TEST_FRACTION,
                         "train": len(train), "test": len(test)}


# --------------------------------------------------------------------------- writing


def write_outputs(cur: Curation, output: Path, report: dict[str, Any]) -> dict[str, Any]:
    sets = {"rl_train": cur.rl_train, "rl_val": cur.rl_val, "sft": cur.sft}
    val_prompts = {prompt_key(r) for r in cur.rl_val}
    report.update({
        "inputs": cur.inputs,
        "counts": {name: len(rows) for name, rows in sets.items()},
        "per_source": {name: dict(Counter(r["source"] for r in rows)) for name, rows in sets.items()},
        "rl_val_prompts_also_in_rl_train": sum(prompt_key(r) in val_prompts for r in cur.rl_train),
        "dropped": cur.screen.report(),
        **cur.info,
    })
    for name, rows in sets.items():
        atomic_write_jsonl(output / f"{name}.jsonl", dump_records(rows))
    atomic_write_json(output / REPORT_NAME, report)  # last: the file a workflow waits for
    return report


def curate(output: str | Path, *, data_dir: str | None = None, route: str = "published", seed: int = 0,
           strict: bool = False, rl_from: str = "rlla_sft", rl_file: str | None = None,
           sizes: dict[str, int] | None = None, mask_prob: float = 2 / 3,
           sources: dict[str, str | None] | None = None, limits: dict[str, int | None] | None = None) -> dict[str, Any]:
    """Curate the training sets into ``output`` (rl_train, rl_val, sft and curation_report.json).

    ``route`` ``published`` reads ToolRL's processed corpus (``rl_from``: its split or one
    ``rl_file``); ``rebuild`` rebuilds the 4k mix from the raw corpora (``sizes`` per source,
    ``mask_prob``, ``sources`` as the paths of toolace/xlam/hammer). ``limits`` keeps a seeded
    subset of rl_train, rl_val and sft.
    """
    cur = Curation(data_dir=resolve_data_dir(data_dir), screen=Screen(strict=strict))
    report: dict[str, Any] = {"route": route, "seed": seed, "strict": strict}
    if route == "published":
        report["rl_from"] = rl_from
        curate_published(cur, rl_from, rl_file)
    else:
        sizes = sizes or {}
        sources = sources or {}
        for name, size in sizes.items():
            if size < 0:
                raise InputError(f"--{name}-size must be >= 0, got {size}")
        if not 0.0 <= mask_prob <= 1.0:
            raise InputError(f"--mask-prob must be in [0, 1], got {mask_prob}")
        report.update({"sizes": sizes, "mask_prob": mask_prob})
        curate_rebuild(cur, seed, sizes, mask_prob, sources.get("toolace"), sources.get("xlam"), sources.get("hammer"))
    limits = limits or {}
    before = {"rl_train": len(cur.rl_train), "rl_val": len(cur.rl_val), "sft": len(cur.sft)}
    cur.rl_train = seeded_subset(cur.rl_train, limits.get("rl_train"), seed)
    cur.rl_val = seeded_subset(cur.rl_val, limits.get("rl_val"), seed)
    cur.sft = seeded_subset(cur.sft, limits.get("sft"), seed)
    report["limits"] = {k: {"limit": v, "before": before[k]} for k, v in limits.items() if v is not None}
    return write_outputs(cur, Path(output), report)
