"""Gather a sweep's store from the point cache (lyap_workflow.assemble.gather_sweep)."""

# ruff: noqa: F821 - `snakemake` is injected by Snakemake's `script:` directive

import json
from pathlib import Path

from lyap_workflow import assemble, execute
from lyap_workflow.cache import Cache

if __name__ == "__main__":
    log = execute.log_to(snakemake.log[0], prefix=f"[{snakemake.wildcards.sweep}/gather] ")
    computed = []
    for path in snakemake.input.shards:
        outcomes = json.loads(Path(path).read_text())["outcomes"]
        computed += [o["key"] for o in outcomes if o["status"] == "ok"]
    summary = assemble.gather_sweep(
        json.loads(Path(snakemake.input.plan).read_text()),
        Cache("results/cache"),
        f"results/{snakemake.wildcards.sweep}/spectra.zarr",
        computed=computed,
        publish=False,  # rule `store` publishes it
        log=log,
    )
    summary["inputs"] = list(snakemake.input.shards)  # the next no-op run's inputs (common.smk)
    assemble.write_summary(summary, snakemake.output[0])
    assemble.write_summary(summary, f"results/{snakemake.wildcards.sweep}/gather.json")
