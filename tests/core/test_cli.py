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
    out = rest("regions", "--tokenizer", str(tiny_model_dir), "--weighting", "released", text)
    assert out.returncode == 0, out.stderr
    lines = [line.split("\t") for line in out.stdout.splitlines()]
    by_token = {eval(tok): (region, float(w)) for _, tok, region, w in lines}
    assert by_token["<think>"][0] == "FORMAT" and by_token["f"][0] == "NAME"
    assert by_token["\n"] == ("OTHER", 0.0)
    weights = [float(w) for *_, w in lines if float(w) > 0]
    assert sum(weights) / len(weights) == pytest.approx(1.0, abs=1e-3)
    coloured = rest("regions", "--tokenizer", str(tiny_model_dir), "--weighting", "released", "--color", "always",
                    text)
    assert "\033[" in coloured.stdout and "NAME" in coloured.stdout
    # colour mode shows each token's weight too, the same as the plain lines
    shown = [float(w) for w in re.findall(r"\033\[2m\[([0-9.]+)\]", coloured.stdout)]
    assert shown == pytest.approx([round(float(w), 2) for *_, w in lines], abs=1e-9)
