"""Compute the missing points of one shard into the point cache (execute.run_shard)."""

# ruff: noqa: F821 - `snakemake` is injected by Snakemake's `script:` directive

import sys
import warnings
from pathlib import Path

from lyap_workflow import execute

# dask's worker processes re-import this module without Snakemake's `snakemake` object.
if __name__ == "__main__":
    out = Path(snakemake.output[0])
    log = execute.log_to(snakemake.log[0], prefix=f"[{snakemake.wildcards.sweep}/{out.stem}] ")
    with warnings.catch_warnings():
        warnings.showwarning = lambda msg, cat, *a, **k: log(f"warning: {cat.__name__}: {msg}")
        try:
            execute.run_shard(
                snakemake.params.points,
                out,
                cache_root="results/cache",
                execution=snakemake.config["sweeps"][snakemake.wildcards.sweep]["execution"],
                cores=snakemake.threads,
                time_limit=execute.enforced_time_limit(snakemake.resources.runtime),
                final_segment=snakemake.params.final_segment,
                log=log,
            )
        except (execute.ExecutionError, OSError) as exc:
            log(f"error: {exc}")
            sys.exit(1)
