# 3. One training run per (model, method, seed). summary.json is written last and atomically,
#    so a killed run leaves no output taken for complete; its checkpoints let the rerun resume.


rule train:
    input:
        data=train_data,
        init=train_init,
        recipe=config["recipe"],
    output:
        summary=f"{R}/runs/{{model}}/{{method}}/seed{{seed}}/summary.json",
        model=directory(f"{R}/runs/{{model}}/{{method}}/seed{{seed}}/model"),
    params:
        run_dir=lambda wc, output: parent(output.summary),
        run_id=run_id,
        overrides=overrides(config["train_overrides"]),
    resources:
        # the tiny run's needs; profiles/slurm sets GPUs and per-model sizes
        mem_mb=4000,
        runtime=60,
    conda:
        "../../envs/rest.yaml"
    log:
        f"{R}/logs/train/{{model}}/{{method}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{model}}/{{method}}/seed{{seed}}.tsv"
    shell:
        "python -m rest train --config {input.recipe} --method {wildcards.method} --model {input.init}"
        " --data {input.data} --output {params.run_dir} --run-id {params.run_id} seed={wildcards.seed}"
        " {params.overrides}"
        " > {log} 2>&1"
