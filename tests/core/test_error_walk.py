"""Every command, given a missing file, a folder for a file, non-UTF-8 bytes or a malformed
input, reports one line naming the file (and line) or key, with exit status 2 and no traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rest.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad-inputs")
    paths = {
        "missing": d / "missing.jsonl",
        "folder": d / "a-folder",
        "not_utf8": d / "latin1.jsonl",
        "not_utf8_first": d / "latin1-first.jsonl",
        "malformed": d / "malformed.jsonl",
        "deep": d / "deep.jsonl",
        "huge_step": d / "huge_step.jsonl",
        "bad_yaml": d / "bad.yaml",
        "latin_yaml": d / "latin1.yaml",
        "file": d / "a-file.txt",
        "empty_dir": d / "empty",
        "string_steps": d / "runs" / "tiny" / "sft" / "seed0" / "metrics.jsonl",
        "latin_metrics": d / "runs" / "tiny" / "grpo" / "seed0" / "metrics.jsonl",
        "scores_missing": d / "eval" / "tiny" / "sft" / "seed0" / "apibank" / "scores.json",
    }
    paths["string_summary"] = paths["string_steps"].parent / "summary.json"
    paths["latin_summary"] = paths["latin_metrics"].parent / "summary.json"
    paths["folder"].mkdir()
    paths["empty_dir"].mkdir()
    ok = {"completion": "<think>a</think>", "ground_truth": "<think>b</think>"}
    paths["not_utf8"].write_bytes(json.dumps(ok).encode() + b"\n" + b'{"completion": "caf\xe9"}\n')
    paths["not_utf8_first"].write_bytes(b'{"completion": "caf\xe9"}\n')
    paths["malformed"].write_text('{"completion": "x"\n')
    paths["deep"].write_text("[" * 100_000 + "]" * 100_000 + "\n")
    paths["huge_step"].write_text(json.dumps({**ok, "step": int("9" * 4000)}) + "\n")
    paths["bad_yaml"].write_text("max_steps: [1\n")
    paths["latin_yaml"].write_bytes(b"run_name: caf\xe9\n")
    paths["file"].write_text("x")
    for key, method, body in (("string_steps", "sft", b'{"step": "one", "loss": 1.0}\n'),
                              ("latin_metrics", "grpo", b'{"step": 1, "loss": 1.0}\n{"step": 2, "note": "caf\xe9"}\n')):
        run = {"study": "paper", "model": "tiny", "method": method, "seed": 0}
        paths[key].parent.mkdir(parents=True)
        paths[key].write_bytes(json.dumps({"run": run, "config": {}}).encode() + b"\n" + body)
        (paths[key].parent / "summary.json").write_text(json.dumps({"run": run, "files": {"metrics": "metrics.jsonl"}}))
    return paths


def run_cli(capsys, argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def assert_clean(code: int, err: str, *names: str) -> None:
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2, err[-2000:]
    assert len(lines) == 1, err[-2000:]
    assert "Traceback" not in err
    for name in names:
        assert name in lines[0], (name, lines[0])


def train(*overrides, config="{recipe}", model="{model}", data="{records}", output="{out}"):
    return ["train", "--config", config, "--method", "sft", "--model", model, "--data", data, "--output", output,
            *overrides]


CASES = {
    # command: [(argv with {placeholders}, strings the error line must name)]
    "reward": [
        (["reward", "{missing}"], ["missing.jsonl", "not found"]),
        (["reward", "{folder}"], ["a-folder", "folder"]),
        (["reward", "{not_utf8}"], ["latin1.jsonl:2", "UTF-8"]),
        (["reward", "{malformed}"], ["malformed.jsonl:1", "invalid JSON"]),
        (["reward", "{deep}"], ["deep.jsonl:1", "nested"]),
        (["reward", "{huge_step}"], ["huge_step.jsonl:1", "step"]),
    ],
    "regions": [
        (["regions", "--tokenizer", "{missing}", "text"], ["missing.jsonl"]),
        (["regions", "--tokenizer", "{empty_dir}", "text"], ["empty"]),
        (["regions", "--tokenizer", "{tok}", "--jsonl", "{not_utf8}"], ["latin1.jsonl:2"]),
        (["regions", "--tokenizer", "{tok}", "--jsonl", "{folder}"], ["a-folder"]),
        (["regions", "--tokenizer", "{tok}", "--jsonl", "{malformed}"], ["malformed.jsonl:1"]),
    ],
    "data": [
        (["data", "fetch", "--manifest", "{missing}", "--output", "{out}"], ["missing.jsonl"]),
        (["data", "fetch", "--manifest", "{bad_yaml}", "--output", "{out}"], ["bad.yaml"]),
        (["data", "fetch", "--manifest", "{latin_yaml}", "--output", "{out}"], ["latin1.yaml"]),
        (["data", "verify", "--output", "{missing}"], ["missing.jsonl"]),
        (["data", "fetch", "--data-dir", "{data}", "--output", "{file}"], ["a-file.txt"]),
        (["data", "fetch", "--data-dir", "{missing}", "--output", "{out}"], ["missing.jsonl"]),
    ],
    "curate": [
        (["curate", "--data-dir", "{missing}", "--output", "{out}"], ["missing.jsonl"]),
        (["curate", "--data-dir", "{data}", "--output", "{file}"], ["a-file.txt"]),
        (["curate", "--data-dir", "{empty_dir}", "--output", "{out}"], ["empty"]),
        (["curate", "--data-dir", "{latin_data}", "--output", "{out}"], ["rlla_sft.json:1", "UTF-8"]),
        (["curate", "--data-dir", "{data}", "--rl-from", "rlla_rl", "--rl-file", "{folder}", "--output", "{out}"],
         ["a-folder"]),
    ],
    "build-model": [
        (["build-model", "tiny", "--corpus", "{missing}", "--output", "{out}"], ["missing.jsonl"]),
        (["build-model", "tiny", "--corpus", "{folder}", "--output", "{out}"], ["a-folder"]),
        (["build-model", "tiny", "--corpus", "{not_utf8}", "--output", "{out}"], ["latin1.jsonl:2"]),
        (["build-model", "tiny", "--corpus", "{malformed}", "--output", "{out}"], ["malformed.jsonl:1"]),
        (["build-model", "hub", "--name", "{empty_dir}", "--output", "{out}"], ["empty"]),
        (["build-model", "hub", "--name", "{truncated}", "--output", "{out}"], ["model.safetensors"]),
        (["build-model", "hub", "--name", "{model}", "--output", "{file}"], ["a-file.txt"]),
    ],
    "train": [
        (train(config="{missing}"), ["missing.jsonl"]),
        (train(config="{folder}"), ["a-folder"]),
        (train(config="{bad_yaml}"), ["bad.yaml", "YAML"]),
        (train(config="{latin_yaml}"), ["latin1.yaml", "UTF-8"]),
        (train(data="{not_utf8}"), ["latin1.jsonl:2"]),
        (train(data="{malformed}"), ["malformed.jsonl:1"]),
        (train(data="{folder}"), ["a-folder"]),
        (train(output="{file}"), ["a-file.txt"]),
        (train(model="{missing}"), ["missing.jsonl"]),
        (train(model="{no_tokenizer}"), ["no-tokenizer"]),
        (train(model="{truncated}"), ["truncated", "model.safetensors"]),
        (train("max_steps=abc"), ["max_steps"]),
        (train("max_steps=[1"), ["max_steps"]),
    ],
    "eval": [
        (["eval", "apibank", "--predictions", "{missing}"], ["missing.jsonl"]),
        (["eval", "apibank", "--predictions", "{folder}"], ["a-folder"]),
        (["eval", "apibank", "--predictions", "{not_utf8_first}"], ["latin1-first.jsonl:1", "UTF-8"]),
        (["eval", "apibank", "--predictions", "{malformed}"], ["malformed.jsonl:1"]),
        (["eval", "bfcl", "--predictions", "{missing}"], ["missing.jsonl"]),
        (["eval", "bfcl", "--predictions", "{not_utf8_first}"], ["latin1-first.jsonl:1", "UTF-8"]),
        (["eval", "bfcl", "--predictions", "{malformed}"], ["malformed.jsonl:1"]),
        (["eval", "apibank", "--model", "{missing}", "--output", "{out}"], ["missing.jsonl"]),
        (["eval", "apibank", "--model", "{model}", "--output", "{out}", "--data-dir", "{latin_data}"],
         ["level-1-api_processed.json:1", "UTF-8"]),
    ],
    "report": [
        (["report", "--scores", "{scores_missing}", "--output", "{out}"], ["scores.json", "not found"]),
        (["report", "--results", "{file}"], ["a-file.txt"]),
        (["report", "--runs", "{latin_summary}", "--output", "{out}"], ["metrics.jsonl:3", "UTF-8"]),
        (["report", "--runs", "{string_summary}", "--output", "{out}"], ["metrics.jsonl:2", "step"]),
        (["report", "--results", "{empty_dir}"], ["empty", "no scores.json"]),
        (["report", "--runs", "{missing}", "--output", "{out}"], ["missing.jsonl"]),
        (["report", "--run-config", "{latin_yaml}", "--runs", "{string_summary}", "--output", "{out}"],
         ["latin1.yaml"]),
    ],
}


@pytest.fixture(scope="module")
def places(files, tiny_model_dir, data_dir, tmp_path_factory) -> dict[str, str]:
    from pathlib import Path as P

    d = tmp_path_factory.mktemp("bad-models")
    no_tok = d / "no-tokenizer"
    no_tok.mkdir()
    shutil.copy(tiny_model_dir / "config.json", no_tok / "config.json")
    shutil.copy(tiny_model_dir / "model.safetensors", no_tok / "model.safetensors")
    truncated = d / "truncated"
    shutil.copytree(tiny_model_dir, truncated)
    weights = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    latin = d / "latin-data"
    for rel in ("train/toolrl_rlla_4k_raw/rlla_sft.json", "apibank/toolrl_processed/level-1-api_processed.json"):
        (latin / rel).parent.mkdir(parents=True, exist_ok=True)
        (latin / rel).write_bytes(b"caf\xe9\n")
    records = d / "records.jsonl"
    records.write_text(json.dumps({"instruction": "i", "input": "u", "output": "<think>t</think>"}) + "\n")
    repo = P(__file__).resolve().parents[2]
    return {**{k: str(v) for k, v in files.items()}, "tok": str(tiny_model_dir), "model": str(tiny_model_dir),
            "no_tokenizer": str(no_tok), "truncated": str(truncated), "latin_data": str(latin),
            "data": str(data_dir), "records": str(records), "recipe": str(repo / "config/recipes/tiny.yaml"),
            "out": str(d / "out")}


@pytest.mark.parametrize("command", list(CASES))
def test_every_command_reports_bad_input_in_one_line(command, places, capsys):
    for argv, names in CASES[command]:
        filled = [a.format(**places) for a in argv]
        try:
            code, err = run_cli(capsys, filled)
        except BaseException as e:  # noqa: BLE001 - the defect this test looks for
            pytest.fail(f"rest {' '.join(filled)}: raised {type(e).__name__}: {e}"[:2000])
        assert_clean(code, err, *names)


def test_regions_takes_a_lone_surrogate(places, capsys):
    code = main(["regions", "--tokenizer", places["tok"], "--color", "never", "<think>\ud83d</think>"])
    out = capsys.readouterr().out
    assert code == 0 and "THINK" in out


def test_the_process_exits_2_without_a_traceback(files):
    proc = subprocess.run([sys.executable, "-m", "rest", "reward", str(files["not_utf8"])],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("error: ") and "latin1.jsonl:2" in proc.stderr


@pytest.mark.parametrize("bench", ["bench_core", "bench_eval", "bench_step"])
def test_benchmarks_without_a_data_directory_say_so_in_one_line(bench, tmp_path):
    repo = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "REST_DATA_DIR"}
    proc = subprocess.run([sys.executable, str(repo / "benchmarks" / f"{bench}.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().startswith("error: no data directory") and "Traceback" not in proc.stderr
