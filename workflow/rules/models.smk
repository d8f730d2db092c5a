# 2. The base model of each configured model: the tiny one built locally, or a hub model saved once.



rule build_model:
    input:
        corpus=rules.curate.output.sft,
    output:
        directory(f"{R}/models/{{model}}/{BASE}"),
    params:
        args=build_model_args,
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../../envs/rest.yaml"
    log:
        f"{R}/logs/models/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/models/{{model}}.tsv"
    shell:
        "python -m rest build-model {params.args} --output {output:q} > {log:q} 2>&1"
