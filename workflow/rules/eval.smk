# 4. API-Bank and BFCL for every run, and for each base model once (greedy decoding is
#    seed-free, so Base has no seed folder).



EVAL_SHELL = ("python -m rest eval {params.bench:q} --model {params.model:q} --output {params.out:q}"
              " {params.flags} > {log:q} 2>&1")

for bench in ("apibank", "bfcl"):

    rule:
        name:
            f"eval_{bench}"
        input:
            run=rules.train.output.summary,
            raw=rules.fetch_data.output,
        output:
            scores=f"{R}/eval/{{model}}/{{method}}/seed{{seed}}/{bench}/scores.json",
        params:
            bench=bench,
            model=lambda wc, input: model_path(input.run),
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
            model=f"{R}/models/{{model}}/base",
            raw=rules.fetch_data.output,
        output:
            scores=f"{R}/eval/{{model}}/base/{bench}/scores.json",
        params:
            bench=bench,
            model=lambda wc, input: input.model,
            out=lambda wc, output: parent(output.scores),
            flags=eval_flags(bench),
        resources:
            **resources_of("eval"),
        conda:
            "../../envs/rest-gpu.yaml"
        log:
            f"{R}/logs/eval/{{model}}/base/{bench}.log",
        benchmark:
            f"{R}/benchmarks/eval/{{model}}/base/{bench}.tsv"
        shell:
            EVAL_SHELL
