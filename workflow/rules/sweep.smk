# One job per shard; the points' full parameters are `params:`, so any change of the
# numerics reruns exactly the shards it touches. Execution settings (cores, dask,
# checkpoint interval) are read from the config inside the job: not tracked.
rule shard:
    input:
        coupling_file,
    output:
        directory("results/{sweep}/shards/{shard}.zarr"),
    params:
        points=lambda wildcards: shard_of(wildcards).specs,
    threads: shard_threads
    resources:
        mem_mb=shard_mem_mb,
        runtime=shard_runtime,
    log:
        "results/{sweep}/logs/shards/{shard}.log",
    script:
        "../scripts/run_shard.py"


rule gather:
    input:
        shard_paths,
    output:
        directory("results/{sweep}/spectra.zarr"),
    params:
        config=lambda wildcards: sweep.science_config(config["sweeps"][wildcards.sweep]),
    log:
        "results/{sweep}/logs/gather.log",
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/gather.py"
