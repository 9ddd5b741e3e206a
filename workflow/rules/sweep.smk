# plan -> shards -> gather. Points are cached by key (results/cache): a shard job computes
# only the points missing from the cache, so repacking (shard_seconds, cores, laptop <->
# cluster) recomputes nothing. Each shard's `params:` are its points' specs (keys and
# full parameters); execution settings (workers, scheduler, checkpoint interval) are
# read inside the job and not tracked.


# The plan (every point, its key and estimate; from the config alone) for gather and
# `lyap status`, also copied to results/<sweep>/plan.json (the name `lyap status` reads).
# No `run:` blocks here: Snakemake re-parses the Snakefile to execute one, and the
# re-parsed plan would see the cache as this run has changed it.
rule plan:
    output:
        "results/{sweep}/plans/{digest}.json",
    localrule: True
    script:
        "../scripts/plan.py"


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


# The store is gathered into results/<sweep>/.gather/spectra.zarr (kept between runs: it
# is updated incrementally) with a summary named by the hash of the points' keys; rule
# `store` publishes it as results/<sweep>/spectra.zarr. The hashed name makes a changed
# set of points regather even without Snakemake's metadata (results moved between
# machines), where a missing intermediate file would not trigger anything.
rule gather:
    input:
        plan=plan_file,
        shards=shard_manifests,
    output:
        "results/{sweep}/gathered/{digest}.json",
    log:
        "results/{sweep}/logs/gather-{digest}.log",
    benchmark:
        "results/{sweep}/benchmarks/gather-{digest}.tsv"
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/gather.py"


rule store:
    input:
        gathered_file,
    output:
        directory("results/{sweep}/spectra.zarr"),
    localrule: True
    script:
        "../scripts/publish.py"


rule check:
    input:
        "results/{sweep}/spectra.zarr",
    output:
        "results/{sweep}/check.json",
    log:
        "results/{sweep}/logs/check.log",
    localrule: True
    script:
        "../scripts/check.py"
