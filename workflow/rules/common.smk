# Job matrix and path helpers shared by the rules. The method list, the paper's labels and
# which run a method starts from come from the training registry, never copied here. Each
# job passes its run's identity (--run-id) to the command, which records it in its outputs.
import json
import os

from rest.identity import BASE, DEFAULT_STUDY, RunIdentity
from rest.train.registry import METHODS

R = config["results"]

for _key, _names in (("methods", config["methods"]), ("ablations.methods", config["ablations"]["methods"])):
    for _name in _names:
        if _name not in METHODS:
            raise ValueError(f"config {_key}: unknown method {_name!r}; expected one of {', '.join(METHODS)}")
for _name in config["ablations"]["models"]:
    if _name not in config["models"]:
        raise ValueError(f"config ablations.models: {_name!r} is not a key of config models")

wildcard_constraints:
    model=r"[^/]+",
    method=r"[^/]+",
    seed=r"\d+",


def trained_runs():
    """(model, method, seed) for every training job: the main matrix plus the ablations."""
    runs = [(m, meth, s) for m in config["models"] for meth in config["methods"] if meth != BASE
            for s in config["seeds"]]
    runs += [(m, meth, s) for m in config["ablations"]["models"] for meth in config["ablations"]["methods"]
             for s in config["seeds"]]
    return list(dict.fromkeys(runs))


def run_dir(model, method, seed):
    return f"{R}/runs/{model}/{method}/seed{seed}"


def run_summary(model, method, seed):
    return os.path.join(run_dir(model, method, seed), "summary.json")


def run_model_dir(model, method, seed):
    return os.path.join(run_dir(model, method, seed), "model")


def base_model_dir(model):
    return f"{R}/models/{model}/{BASE}"


def run_id(wildcards, study=DEFAULT_STUDY):
    """The job's run identity as `--run-id` takes it (Base: no seed)."""
    method = wildcards.get("method", BASE)
    seed = None if method == BASE else int(wildcards.seed)
    return RunIdentity(study, wildcards.model, method, seed).as_arg()


def benchmarks():
    return [b for b in ("apibank", "bfcl") if config["eval"][b]["enabled"]]


def all_scores():
    """Every scores.json: Base once per model, then each run, for each enabled benchmark."""
    dirs = [f"{R}/eval/{m}/{BASE}" for m in config["models"] if BASE in config["methods"]]
    dirs += [f"{R}/eval/{m}/{meth}/seed{s}" for m, meth, s in trained_runs()]
    return [os.path.join(d, b, "scores.json") for d in dirs for b in benchmarks()]


def all_runs():
    return [run_summary(m, meth, s) for m, meth, s in trained_runs()]


def train_data(wildcards):
    """SFT methods learn from the SFT set, RL methods from the RL training set."""
    kind = "sft" if METHODS[wildcards.method].trainer == "sft" else "rl_train"
    return f"{R}/data/curated/{kind}.jsonl"


def train_init(wildcards):
    """The model a run starts from (the registry's init_from)."""
    if METHODS[wildcards.method].init_from == "sft":
        return run_model_dir(wildcards.model, "sft", wildcards.seed)
    return base_model_dir(wildcards.model)


def parent(path):
    return os.path.dirname(path)


def cli_flags(options):
    """`--key value` flags for the set options of a config section (True: bare flag)."""
    flags = []
    for key, value in options.items():
        if key == "enabled" or value is None or value is False:
            continue
        flag = f"--{key.replace('_', '-')}"
        if value is True:
            flags.append(flag)
        elif isinstance(value, list):
            flags.append(f"{flag} {' '.join(map(str, value))}")
        else:
            flags.append(f"{flag} {value}")
    return " ".join(flags)


def overrides(options):
    return " ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in options.items())


def data_dir_flag():
    return f"--data-dir {config['data_dir']}" if config.get("data_dir") else ""


def build_model_args(wildcards, input):
    spec = config["models"][wildcards.model]
    if spec["source"] == "tiny":
        return f"tiny --corpus {input.corpus} --seed {spec.get('seed', 0)}"
    return f"hub --name {spec['hub_name']}"


def eval_flags(bench):
    data = f"--data-dir {R}/data/raw" if bench == "apibank" else ""
    return f"{data} --backend {config['eval']['backend']} {cli_flags(config['eval'][bench])}"
