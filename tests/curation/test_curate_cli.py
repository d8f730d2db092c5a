"""`python -m rest curate` end to end: files, report, ToolRL's split, strict and lenient runs."""

import json
import shutil
from pathlib import Path

import numpy as np

from rest.cli import main
from rest.curation.records import load_rlla, rl_ground_truth
from rest.io import read_jsonl

FIXTURES = Path(__file__).parent / "fixtures"
SFT = "train/toolrl_rlla_4k_raw/rlla_sft.json"
TEST = "train/toolrl_rlla_4k/test.parquet"
FIELDS = ["id", "source", "instruction", "input", "output"]


def data_copy(tmp_path, data_dir, *relpaths):
    root = tmp_path / "data"
    for rel in relpaths:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data_dir / rel, root / rel)
    return root


def curate(*argv):
    return main(["curate", *map(str, argv)])


def test_published_tiny_sets(tmp_path, data_dir, sft_records):
    out = tmp_path / "out"
    assert curate("--route", "published", "--data-dir", data_dir, "--output", out) == 0
    train, val, sft = (read_jsonl(out / f"{n}.jsonl") for n in ("rl_train", "rl_val", "sft"))
    assert (len(train), len(val), len(sft)) == (400, 80, 400)
    assert all(list(r) == FIELDS for r in train + val + sft)
    for i, (t, s, raw) in enumerate(zip(train, sft, sft_records)):
        assert t["id"] == s["id"] == f"rlla_sft:{i}"
        assert s["instruction"] == t["instruction"] == raw["instruction"]
        assert s["input"] == t["input"] == raw["input"]
        assert s["output"] == raw["output"]  # SFT keeps the distilled thought
        assert t["output"] == rl_ground_truth(raw["output"])
    assert val == [{k: r[k] for k in FIELDS} for r in load_rlla(data_dir / TEST, "rlla_test")]
    report = json.loads((out / "curation_report.json").read_text())
    assert report["route"] == "published" and report["rl_from"] == "rlla_sft"
    assert report["counts"] == {"rl_train": 400, "rl_val": 80, "sft": 400}
    assert report["per_source"]["rl_val"] == {"rlla_test": 80}
    assert report["inputs"][SFT]["sha256"] == "ef42a7b1574f1552d6cc7bf9f060a6425458ff67bae2baf53e945dc640dc125c"
    assert report["dropped"]["total"] == 0
    assert report["rl_val_prompts_also_in_rl_train"] == 1


def test_limits_are_seeded_and_reproducible(tmp_path, data_dir):
    args = ["--data-dir", data_dir, "--rl-limit", 16, "--sft-limit", 8, "--val-limit", 4, "--seed", 3]
    assert curate(*args, "--output", tmp_path / "a") == 0
    assert curate(*args, "--output", tmp_path / "b") == 0
    for name in ("rl_train", "rl_val", "sft"):
        assert (tmp_path / "a" / f"{name}.jsonl").read_bytes() == (tmp_path / "b" / f"{name}.jsonl").read_bytes()
    report = json.loads((tmp_path / "a" / "curation_report.json").read_text())
    assert report["counts"] == {"rl_train": 16, "rl_val": 4, "sft": 8}
    assert report["limits"]["rl_train"] == {"limit": 16, "before": 400}


def test_full_corpus_is_split_exactly_like_toolrl(tmp_path, data_dir, sft_records):
    """A 4,000-record rlla_rl.json with the 80 published test records at the positions
    ToolRL's shuffle holds out: our split must give back exactly the published test set."""
    root = data_copy(tmp_path, data_dir, SFT, TEST)
    published = load_rlla(data_dir / TEST, "rlla_test")
    order = list(range(4000))
    np.random.RandomState(31415).shuffle(order)
    corpus = [None] * 4000
    for j, pos in enumerate(order[-80:]):
        corpus[pos] = {k: published[j][k] for k in ("instruction", "input", "output")}
    filler = iter(range(10**6))
    for pos in range(4000):
        if corpus[pos] is None:
            raw = sft_records[next(filler) % 400]
            corpus[pos] = {"instruction": raw["instruction"], "input": raw["input"] + f" {pos}",
                           "output": rl_ground_truth(raw["output"])}
    full = root / "train/toolrl_rlla_4k_raw/rlla_rl.json"
    full.write_text(json.dumps(corpus))
    out = tmp_path / "out"
    assert curate("--data-dir", root, "--rl-from", "rlla_rl", "--output", out) == 0
    report = json.loads((out / "curation_report.json").read_text())
    assert report["split"]["matches_published_test"] is True
    assert report["counts"] == {"rl_train": 3920, "rl_val": 80, "sft": 400}
    val = read_jsonl(out / "rl_val.jsonl")
    assert [(r["input"], r["output"]) for r in val] == [(r["input"], r["output"]) for r in published]
    assert [r["id"] for r in val] == [f"rlla_rl:{p}" for p in order[-80:]]


def test_missing_full_corpus_says_what_to_fetch(tmp_path, data_dir, capsys):
    root = data_copy(tmp_path, data_dir, SFT, TEST)
    assert curate("--data-dir", root, "--rl-from", "rlla_rl", "--output", tmp_path / "o") == 2
    err = capsys.readouterr().err
    assert "rlla_rl.json: file not found" in err and "data fetch --config paper" in err
    assert not (tmp_path / "o" / "curation_report.json").exists()


def test_bad_record_stops_with_its_index_or_is_counted(tmp_path, data_dir, sft_records, capsys):
    root = data_copy(tmp_path, data_dir, TEST)
    bad = [dict(r) for r in sft_records[:5]]
    bad[3]["output"] = "<think> no action </think>"
    (root / SFT).parent.mkdir(parents=True)
    (root / SFT).write_text(json.dumps(bad))
    assert curate("--data-dir", root, "--output", tmp_path / "o") == 2
    err = capsys.readouterr().err
    assert "rlla_sft.json: record 3 (id rlla_sft:3): ground truth has neither a tool call nor a response" in err
    assert curate("--data-dir", root, "--output", tmp_path / "o", "--no-strict") == 0
    report = json.loads((tmp_path / "o" / "curation_report.json").read_text())
    assert report["counts"]["sft"] == 4 and report["counts"]["rl_train"] == 4
    assert report["dropped"]["by_reason"] == {"ground truth has neither a tool call nor a response": 1}


def rebuild_data(tmp_path, data_dir):
    root = data_copy(tmp_path, data_dir, SFT)
    for rel, fixture in [("sources/toolace/data.json", "toolace_sample.json"),
                         ("sources/xlam/xlam_function_calling_60k.json", "xlam_sample.json")]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / fixture, root / rel)
    return root


def test_rebuild_route_from_raw_fixtures(tmp_path, data_dir, capsys):
    root = rebuild_data(tmp_path, data_dir)
    sizes = ["--toolace-size", 4, "--xlam-size", 2, "--hammer-size", 2]
    assert curate("--route", "rebuild", "--data-dir", root, "--output", tmp_path / "s", *sizes) == 2
    assert "data.json: item 2: an assistant call list does not parse" in capsys.readouterr().err
    out = tmp_path / "o"
    assert curate("--route", "rebuild", "--data-dir", root, "--output", out, "--no-strict", "--seed", 1, *sizes) == 0
    report = json.loads((out / "curation_report.json").read_text())
    assert report["mix"]["toolace"] == {"available": 5, "requested": 4, "taken": 4, "duplicates_skipped": 0, "shortfall": 0}
    assert report["mix"]["xlam"]["taken"] + report["mix"]["hammer"]["taken"] <= 3  # 3 convertible xLAM items, split in halves
    assert report["dropped"]["by_reason"] == {
        "an assistant call list does not parse": 1,
        "an assistant turn calls a tool that is not in the tool list": 1,
        "no call and no response text": 1,
        "answers is not valid JSON": 1,
    }
    train, val = read_jsonl(out / "rl_train.jsonl"), read_jsonl(out / "rl_val.jsonl")
    taken = sum(v["taken"] for v in report["mix"].values())
    assert len(train) + len(val) == taken and len(val) == int(taken * 0.02)
    assert set(report["inputs"]) == {SFT, "sources/toolace/data.json", "sources/xlam/xlam_function_calling_60k.json"}
    assert curate("--route", "rebuild", "--data-dir", root, "--output", tmp_path / "o2", "--no-strict", "--seed", 1, *sizes) == 0
    assert (out / "rl_train.jsonl").read_bytes() == (tmp_path / "o2" / "rl_train.jsonl").read_bytes()


def test_rebuild_rejects_bad_config_values(tmp_path, data_dir, capsys):
    root = rebuild_data(tmp_path, data_dir)
    assert curate("--route", "rebuild", "--data-dir", root, "--output", tmp_path / "o", "--mask-prob", 1.5) == 2
    assert "--mask-prob must be in [0, 1]" in capsys.readouterr().err


def test_published_parquet_split_is_accepted(tmp_path, data_dir, sft_records):
    """The paper config also accepts ToolRL's train.parquet (its 3,920-row split) beside test.parquet."""
    import pandas as pd

    root = data_copy(tmp_path, data_dir, SFT, TEST)
    rows = [{"data_source": "rlla",
             "prompt": [{"role": "system", "content": r["instruction"]}, {"role": "user", "content": r["input"]}],
             "ability": "math", "reward_model": {"style": "rule", "ground_truth": rl_ground_truth(r["output"])},
             "extra_info": {"split": "train", "index": i, "instruction": r["instruction"], "input": r["input"],
                            "output": rl_ground_truth(r["output"])}}
            for i, r in enumerate(sft_records[:30])]
    pd.DataFrame(rows).to_parquet(root / "train/toolrl_rlla_4k/train.parquet")
    out = tmp_path / "out"
    assert curate("--data-dir", root, "--rl-from", "rlla_rl", "--output", out) == 0
    train = read_jsonl(out / "rl_train.jsonl")
    assert [r["id"] for r in train] == [f"rlla_rl_train:{i}" for i in range(30)]
    assert [r["output"] for r in train] == [rl_ground_truth(r["output"]) for r in sft_records[:30]]
    report = json.loads((out / "curation_report.json").read_text())
    assert report["split"] == {"method": "published parquet split"} and report["counts"]["rl_val"] == 80


def test_rebuild_with_hammers_own_masked_file(tmp_path, data_dir):
    root = rebuild_data(tmp_path, data_dir)
    hammer_file = data_dir / "sources/hammer/masking_sft_data_example.json"
    out = tmp_path / "o"
    assert curate("--route", "rebuild", "--data-dir", root, "--output", out, "--no-strict", "--hammer", hammer_file,
                  "--toolace-size", 5, "--hammer-size", 20, "--xlam-size", 20) == 0
    report = json.loads((out / "curation_report.json").read_text())
    assert report["mix"]["xlam"]["taken"] == 3  # all three convertible fixture items
    # 10 Hammer items, 2 of them irrelevance items with no call to learn
    assert report["mix"]["hammer"] == {"available": 8, "requested": 20, "taken": 8, "duplicates_skipped": 0,
                                       "shortfall": 12}
    assert report["dropped"]["by_reason"]["no call and no response text"] == 2 + 1
    assert "masking_sft_data_example.json" in report["inputs"]
