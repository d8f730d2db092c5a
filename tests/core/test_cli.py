"""The `reward` and `regions` commands, run as users run them."""

import json
import re
import subprocess
import sys

import pytest


def rest(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "rest", *args], capture_output=True, text=True, input=stdin)


GT = '<think> x </think>\n<tool_call>\n{"name": "f", "parameters": {"a": 1, "b": 2}}\n</tool_call>'


def test_help_lists_commands():
    out = rest("--help")
    assert out.returncode == 0
    for name in ("reward", "regions", "train", "eval", "curate", "report"):
        assert name in out.stdout


def test_reward_command_in_order(tmp_path):
    rows = [
        {"completion": GT, "ground_truth": GT, "step": 0, "dynamic": True},
        {"completion": GT.replace('"b": 2', '"b": 3'), "ground_truth": GT, "step": 0, "dynamic": False},
        {"completion": "<think> y </think>\n<response> r </response>", "ground_truth": GT, "step": 75, "dynamic": True},
    ]
    f = tmp_path / "in.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = rest("reward", str(f))
    assert out.returncode == 0, out.stderr
    got = [json.loads(line) for line in out.stdout.splitlines()]
    assert got[0] == {"format": 2.0, "correctness": 2.0, "total": 4.0}
    # static: 1 + 6 * (1 + 1 + 1) / 4 - 3 = 1.5
    assert got[1] == pytest.approx({"format": 1.0, "correctness": 1.5, "total": 2.5})
    assert got[2] == pytest.approx({"format": -1.0, "correctness": -2.5, "total": -3.5})


def test_reward_horizon_option(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"completion": GT, "ground_truth": GT, "step": 10, "dynamic": True}) + "\n")
    got = json.loads(rest("reward", str(f), "--horizon", "10").stdout)
    assert got == {"format": 1.0, "correctness": 3.0, "total": 4.0}


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"completion": "a", "ground_truth": "b"}\n{oops\n', "in.jsonl:2: invalid JSON"),
        ('{"completion": "a"}\n', "in.jsonl:1: missing key 'ground_truth'"),
        ('{"completion": "a", "ground_truth": "b", "step": "3"}\n', "in.jsonl:1: key 'step' must be an integer"),
    ],
)
def test_reward_bad_input_names_the_line(tmp_path, content, message):
    f = tmp_path / "in.jsonl"
    f.write_text(content)
    out = rest("reward", str(f))
    assert out.returncode == 2 and message in out.stderr and out.stdout == ""


def test_reward_missing_file():
    out = rest("reward", "does-not-exist.jsonl")
    assert out.returncode == 2 and "does-not-exist.jsonl: file not found" in out.stderr


def test_regions_command_plain_and_coloured(tiny_model_dir):
    text = '<think> hm </think>\n<tool_call>\n{"name": "f", "parameters": {"x": 1}}\n</tool_call>'
    out = rest("regions", "--tokenizer", str(tiny_model_dir), "--profile", "released", text)
    assert out.returncode == 0, out.stderr
    lines = [line.split("\t") for line in out.stdout.splitlines()]
    by_token = {eval(tok): (region, float(w)) for _, tok, region, w in lines}
    assert by_token["<think>"][0] == "FORMAT" and by_token["f"][0] == "NAME"
    assert by_token["\n"] == ("OTHER", 0.0)
    weights = [float(w) for *_, w in lines if float(w) > 0]
    assert sum(weights) / len(weights) == pytest.approx(1.0, abs=1e-3)
    coloured = rest("regions", "--tokenizer", str(tiny_model_dir), "--profile", "released", "--color", "always",
                    text)
    assert "\033[" in coloured.stdout and "NAME" in coloured.stdout
    # colour mode shows each token's weight too, the same as the plain lines
    shown = [float(w) for w in re.findall(r"\033\[2m\[([0-9.]+)\]", coloured.stdout)]
    assert shown == pytest.approx([round(float(w), 2) for *_, w in lines], abs=1e-9)


def test_methods_json_shows_what_each_method_trains_with():
    out = rest("methods", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    keys = ["name", "display", "trainer", "weighting", "dynamic_reward", "cot_gradients", "curriculum", "init_from"]
    assert all(list(r) == keys for r in rows.values())
    assert rows["rest"]["weighting"] == "released" and rows["rest_entropy"]["weighting"] == "paper"
    assert rows["rest_no_dynamic_reward"]["dynamic_reward"] is False
    assert rows["grpo"]["dynamic_reward"] is False and rows["sft_grpo"]["dynamic_reward"] is False
    assert rows["sft"]["weighting"] is None and rows["grpo"]["curriculum"] is None
    assert rows["rest_no_curriculum"]["curriculum"] is False and rows["sft_grpo"]["init_from"] == "sft"


def test_weights_command_gives_the_released_functions_weights(tiny_model_dir, tmp_path):
    from pathlib import Path

    fixture = Path(__file__).parent / "fixtures" / "released_weights.json"
    cases = json.loads(fixture.read_text())["cases"]
    f = tmp_path / "cases.jsonl"
    f.write_text("".join(json.dumps({"completion": c["completion"], "step": c["step"]}) + "\n" for c in cases))
    out = rest("weights", "--tokenizer", str(tiny_model_dir), "--profile", "released", str(f))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line)["weights"] for line in out.stdout.splitlines()]
    assert len(rows) == len(cases)
    for got, case in zip(rows, cases):
        assert got == pytest.approx(case["weights"], abs=1e-5)


def test_weights_command_paper_profile(tiny_model_dir, tmp_path):
    text = '<think> hm </think>\n<tool_call>\n{"name": "f", "parameters": {"x": 1}}\n</tool_call>'
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"completion": text, "step": 1}) + "\n" + json.dumps({"completion": text, "step": 5}) + "\n")
    table = tmp_path / "table.json"
    table.write_text(json.dumps({"FORMAT": 0.5, "NAME": 0.25, "PARAMS": 1.0, "THINK": 2.0}))
    out = rest("weights", "--tokenizer", str(tiny_model_dir), "--profile", "paper", "--total-rollouts", "10",
               "--entropy-table", str(table), str(f))
    assert out.returncode == 0, out.stderr
    first, later = (json.loads(line)["weights"] for line in out.stdout.splitlines())
    assert set(round(w, 6) for w in first) == {0.0, 1.0}  # rollout 1 collects the entropies: all regions 1
    # rollout 5 of 10: Eq. 9 (1/H scaled to mean 1: 2, 4, 1, 0.5 over 1.875) moved by δ·p = 0.15
    w0 = {"FORMAT": 2 / 1.875, "NAME": 4 / 1.875, "PARAMS": 1 / 1.875}
    expected = {w0["NAME"], w0["FORMAT"] - 0.15, w0["PARAMS"] + 0.15}  # THINK takes PARAMS' value (< 1)
    positive = [w for w in later if w > 0]
    ratios = sorted({round(w / min(positive), 3) for w in positive})
    assert ratios == pytest.approx(sorted(v / min(expected) for v in expected), abs=2e-3)


@pytest.mark.parametrize("args, message", [
    (["--profile", "paper"], "--profile paper needs --total-rollouts"),
    (["--profile", "released", "--entropy-table", "missing.json"], "missing.json: file not found"),
])
def test_weights_command_bad_options(tiny_model_dir, tmp_path, args, message):
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"completion": "x", "step": 1}) + "\n")
    out = rest("weights", "--tokenizer", str(tiny_model_dir), *args, str(f))
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_weights_command_names_a_bad_line(tiny_model_dir, tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"completion": "x", "step": 1}) + "\n" + json.dumps({"completion": "x"}) + "\n")
    out = rest("weights", "--tokenizer", str(tiny_model_dir), str(f))
    assert out.returncode == 2 and "in.jsonl:2" in out.stderr and "'step'" in out.stderr
