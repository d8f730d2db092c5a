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
        overrides=lambda wc: overrides(train_overrides(config, wc.model, wc.method)),
        launch=lambda wc: launcher(job_resources(config, wc.model, "train")),
    resources:
        **resources_of("train"),
    conda:
        "../../envs/rest-gpu.yaml"
    log:
        f"{R}/logs/train/{{model}}/{{method}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{model}}/{{method}}/seed{{seed}}.tsv"
    shell:
        "{params.launch} -m rest train --config {input.recipe:q} --method {wildcards.method:q}"
        " --model {input.init:q} --data {input.data:q} --output {params.run_dir:q}"
        " --run-id {params.run_id:q} seed={wildcards.seed:q} {params.overrides} > {log:q} 2>&1"
