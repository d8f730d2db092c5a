# The tool-call testbed study (docs/method.md §8): generated tasks -> its own tiny model ->
# per-seed SFT warm-up -> GRPO, ResT and ResT (entropy rule) from that warm-up -> held-out
# evaluation with static-range rewards -> its report section. Everything sits under
# {R}/testbed/ and {R}/report/testbed/; the study never touches API-Bank or BFCL.


rule testbed_data:
    output:
        **{s: f"{TB_R}/data/{s}.jsonl" for s in ("train", "val", "test")},
        spec=f"{TB_R}/data/testbed.json",
    params:
        out=lambda wc, output: parent(output.spec),
        flags=lambda wc: cli_flags({"seed": TB["seed"], **TB["sizes"], **TB["knobs"]}),
    conda:
        "../../envs/rest.yaml"
    log:
        f"{R}/logs/testbed/data.log",
    benchmark:
        f"{R}/benchmarks/testbed/data.tsv"
    shell:
        "python -m rest testbed data --output {params.out:q} {params.flags} > {log:q} 2>&1"


rule testbed_model:
    input:
        corpus=rules.testbed_data.output.train,
    output:
        directory(f"{TB_R}/models/base"),
    params:
        arch=lambda wc: overrides(TB["model"]["arch"]),
        vocab=lambda wc: TB["model"]["vocab_size"],
        seed=lambda wc: TB["seed"],
    conda:
        "../../envs/rest.yaml"
    log:
        f"{R}/logs/testbed/model.log",
    benchmark:
        f"{R}/benchmarks/testbed/model.tsv"
    shell:
        "python -m rest build-model tiny --corpus {input.corpus:q} --seed {params.seed:q}"
        " --vocab-size {params.vocab:q} --arch {params.arch} --output {output:q} > {log:q} 2>&1"


rule testbed_train:
    input:
        data=rules.testbed_data.output.train,
        init=tb_init,
        recipe=lambda wc: TB["recipe"],
    output:
        summary=f"{TB_R}/runs/{{method}}/seed{{seed}}/summary.json",
        model=directory(f"{TB_R}/runs/{{method}}/seed{{seed}}/model"),
    params:
        run_dir=lambda wc, output: parent(output.summary),
        run_id=tb_run_id,
    threads: 1
    conda:
        "../../envs/rest.yaml"
    log:
        f"{R}/logs/testbed/train/{{method}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/testbed/train/{{method}}/seed{{seed}}.tsv"
    shell:
        "python -m rest train --config {input.recipe:q} --method {wildcards.method:q} --model {input.init:q}"
        " --data {input.data:q} --output {params.run_dir:q} --run-id {params.run_id:q} seed={wildcards.seed:q}"
        " > {log:q} 2>&1"


rule testbed_eval:
    input:
        run=f"{TB_R}/runs/{{method}}/seed{{seed}}/summary.json",
        model=f"{TB_R}/runs/{{method}}/seed{{seed}}/model",
        test=rules.testbed_data.output.test,
        val=rules.testbed_data.output.val,
    output:
        scores=f"{TB_R}/eval/{{method}}/seed{{seed}}/scores.json",
    params:
        out=lambda wc, output: parent(output.scores),
        run_id=tb_run_id,
        # the warm-up's final model is rollout 0 of every curve; RL runs add their checkpoints
        curve=lambda wc, input: "" if wc.method == TB["warmup"] else shell_words("--run", parent(input.run)),
        flags=lambda wc: cli_flags(TB["eval"]),
    threads: 1
    conda:
        "../../envs/rest.yaml"
    log:
        f"{R}/logs/testbed/eval/{{method}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/testbed/eval/{{method}}/seed{{seed}}.tsv"
    shell:
        "python -m rest eval testbed --model {input.model:q} --data {input.test:q} --curve-data {input.val:q}"
        " {params.curve} --output {params.out:q} {params.flags}"
        " --run-id {params.run_id:q} > {log:q} 2>&1"


rule testbed_variance:
    # Theorems 1-2 measured on seed `variance.seed`'s GRPO run: the warm-up (rollout 0), the
    # middle checkpoint and the final model, on the held-out tasks.
    input:
        warmup=lambda wc: tb_model(TB["warmup"], TB["variance"]["seed"]),
        run=lambda wc: tb_model("grpo", TB["variance"]["seed"]),
        data=rules.testbed_data.output.test,
    output:
        f"{TB_REPORT}/variance.json",
    params:
        checkpoints=lambda wc, input: [input.warmup, f"{parent(input.run)}/checkpoints/checkpoint-{TB_MID}",
                                       input.run],
        rollouts=lambda wc: [0, TB_MID, TB_END],
        flags=lambda wc: cli_flags({**{k: v for k, v in TB["variance"].items() if k != "enabled"},
                                    "max_new_tokens": TB["eval"]["max_new_tokens"]}),
    conda:
        "../../envs/rest.yaml"
    log:
        f"{R}/logs/testbed/variance.log",
    benchmark:
        f"{R}/benchmarks/testbed/variance.tsv"
    shell:
        "python -m rest variance --checkpoints {params.checkpoints:q} --rollouts {params.rollouts:q}"
        " --data {input.data:q} --output {output:q} {params.flags} > {log:q} 2>&1"
