"""Write a sweep's plan record (every point: key, coordinates, estimate) from the config."""

# ruff: noqa: F821 - `snakemake` is injected by Snakemake's `script:` directive

import json
from pathlib import Path

from lyap_workflow import sweep

from lyap_core.io import atomic_file

if __name__ == "__main__":
    name = snakemake.wildcards.sweep
    record = sweep.plan({name: snakemake.config["sweeps"][name]})[name].record()
    for path in (snakemake.output[0], Path(snakemake.output[0]).parent.parent / "plan.json"):
        with atomic_file(path, "w") as fh:
            json.dump(record, fh)
