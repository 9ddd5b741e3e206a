"""`lyap check` of a sweep's store: the flagged points to the log and to check.json."""

# ruff: noqa: F821 - `snakemake` is injected by Snakemake's `script:` directive

import json

from lyap_workflow.quality import check_store

from lyap_core.io import atomic_file

if __name__ == "__main__":
    failures = check_store(snakemake.input[0])
    with open(snakemake.log[0], "w") as log:
        for f in failures:
            log.write(f"{f['point']}: {'; '.join(f['reasons'])}\n")
        log.write(f"{len(failures)} point(s) fail the quality checks\n")
    with atomic_file(snakemake.output[0], "w") as fh:
        json.dump(failures, fh, indent=1)
