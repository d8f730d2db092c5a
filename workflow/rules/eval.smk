# 4. API-Bank and BFCL for every run, and for each base model once (greedy decoding is
#    seed-free, so Base has no seed folder).



EVAL_SHELL = ("python -m rest eval {params.bench:q} --model {input.model:q} --output {params.out:q}"
              " --run-id {params.run_id:q} {params.flags} > {log:q} 2>&1")

for bench in ("apibank", "bfcl"):

    rule:
        name:
            f"eval_{bench}"
        input:
            model=rules.train.output.model,
            raw=rules.fetch_data.output,
        output:
            scores=f"{R}/eval/{{model}}/{{method}}/seed{{seed}}/{bench}/scores.json",
        params:
            bench=bench,
            run_id=run_id,
            out=lambda wc, output: parent(output.scores),
            flags=eval_flags(bench),
        resources:
            **resources_of("eval"),
        conda:
            "../../envs/rest-gpu.yaml"
        log:
            f"{R}/logs/eval/{{model}}/{{method}}/seed{{seed}}/{bench}.log",
        benchmark:
            f"{R}/benchmarks/eval/{{model}}/{{method}}/seed{{seed}}/{bench}.tsv"
        shell:
            EVAL_SHELL

    rule:
        name:
            f"eval_{bench}_base"
        input:
            model=rules.build_model.output,
            raw=rules.fetch_data.output,
        output:
            scores=f"{R}/eval/{{model}}/{BASE}/{bench}/scores.json",
        params:
            bench=bench,
            run_id=run_id,
            out=lambda wc, output: parent(output.scores),
            flags=eval_flags(bench),
        resources:
            **resources_of("eval"),
        conda:
            "../../envs/rest-gpu.yaml"
        log:
            f"{R}/logs/eval/{{model}}/{BASE}/{bench}.log",
        benchmark:
            f"{R}/benchmarks/eval/{{model}}/{BASE}/{bench}.tsv"
        shell:
            EVAL_SHELL
