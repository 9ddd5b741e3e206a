"""Paths and job sizes of the planned shards (``PLAN``, from lyap_workflow.sweep.plan)."""

import math

import jsonschema


wildcard_constraints:
    sweep=r"[A-Za-z][A-Za-z0-9_]*",
    shard=r"\d+_[0-9a-f]+",


RUNTIME_SAFETY = 3  # SLURM runtime = 3x the cost model's estimate (+5 min)


def schema_error(exc):
    """The schema violation of a failed validate(), as 'invalid config: <field>: <why>'."""
    if not isinstance(exc.__context__, jsonschema.ValidationError):
        return str(exc)
    err = jsonschema.exceptions.best_match([exc.__context__])
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
    return f"invalid config: {path.lstrip('.') or '(top level)'}: {err.message}"


def shard_of(wildcards):
    return PLAN[wildcards.sweep][wildcards.shard]


def execution(wildcards):
    return config["sweeps"][wildcards.sweep]["execution"]


def shard_paths(wildcards):
    return [f"results/{wildcards.sweep}/shards/{name}.zarr" for name in PLAN[wildcards.sweep]]


def coupling_file(wildcards):
    """A coupling matrix read from a file is an input: editing it reruns the sweep."""
    path = config["sweeps"][wildcards.sweep]["coupling"]
    return [path] if path else []


def shard_threads(wildcards):
    return min(execution(wildcards)["cores"], len(shard_of(wildcards).points))


def shard_runtime(wildcards):
    """Minutes, for cluster schedulers."""
    seconds = shard_of(wildcards).seconds / shard_threads(wildcards)
    return math.ceil(RUNTIME_SAFETY * seconds / 60) + 5


def shard_mem_mb(wildcards):
    """Per worker: ~250 MB of libraries plus J, Q and the PCA moments (~5 N^2 doubles)."""
    n = shard_of(wildcards).points[0].params.n
    return 500 + shard_threads(wildcards) * (250 + math.ceil(40 * n * n / 1e6))


def sweep_outputs(name):
    return [f"results/{name}/spectra.zarr"] + [
        f"results/{name}/figures/{fig}.{ext}" for fig in figures.FIGURES for ext in ("png", "pdf")
    ]
