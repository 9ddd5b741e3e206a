# plan -> shards -> gather. Points are cached by key (results/cache): a shard job computes
# only the points missing from the cache, so repacking (shard_seconds, cores, laptop <->
# cluster) recomputes nothing. Each shard's `params:` are its points' specs (keys and
# full parameters); execution settings (workers, scheduler, checkpoint interval) are
# read inside the job and not tracked.


rule plan:
    output:
        "results/{sweep}/plan.json",
    params:
        points=plan_digest,
    localrule: True
    run:
        from lyap_core.io import atomic_file

        with atomic_file(output[0], "w") as fh:
            json.dump(PLAN[wildcards.sweep].record(), fh)


rule shard:
    input:
        shard_inputs,
    output:
        "results/{sweep}/shards/{shard}.json",
    params:
        points=lambda wildcards: shard_of(wildcards).specs,
        final_segment=lambda wildcards: shard_of(wildcards).segment == shard_of(wildcards).segments,
    threads: shard_threads
    resources:
        mem_mb=shard_mem_mb,
        runtime=shard_runtime,
    log:
        "results/{sweep}/logs/shards/{shard}.log",
    benchmark:
        "results/{sweep}/benchmarks/shards/{shard}.tsv"
    script:
        "../scripts/run_shard.py"


rule gather:
    input:
        plan="results/{sweep}/plan.json",
        shards=shard_manifests,
    output:
        store=directory("results/{sweep}/spectra.zarr"),
        summary="results/{sweep}/gather.json",
    log:
        "results/{sweep}/logs/gather.log",
    benchmark:
        "results/{sweep}/benchmarks/gather.tsv"
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/gather.py"


rule check:
    input:
        "results/{sweep}/spectra.zarr",
    output:
        "results/{sweep}/check.json",
    log:
        "results/{sweep}/logs/check.log",
    localrule: True
    run:
        from lyap_workflow.quality import check_store

        failures = check_store(input[0])
        with open(log[0], "w") as fh:
            for f in failures:
                fh.write(f"{f['point']}: {'; '.join(f['reasons'])}\n")
            fh.write(f"{len(failures)} point(s) fail the quality checks\n")
        with open(output[0], "w") as fh:
            json.dump(failures, fh, indent=1)
