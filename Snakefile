"""Lyapunov-spectrum sweeps: shards -> gathered zarr store -> figures -> report.

    snakemake --cores 2                              # the default sweeps (config/config.yaml)
    snakemake --cores 2 --configfile config/ci.yaml  # replaces the default config
    snakemake --workflow-profile profiles/slurm --configfile config/paper.yaml

See docs/pipeline.md.
"""

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

from lyap_workflow import figures, sweep

min_version("9.0")


# A --configfile replaces the default sweep (Snakemake would otherwise merge both).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


try:
    validate(config, "workflow/schemas/config.schema.yaml")
except WorkflowError as exc:
    raise WorkflowError(schema_error(exc)) from None
# Every grid point is checked by lyap_core.RunParams here, before any job runs.
try:
    PLAN = sweep.plan(config["sweeps"])
except sweep.ConfigError as exc:
    raise WorkflowError(f"invalid config: {exc}") from None


report: "workflow/report/workflow.rst"


include: "workflow/rules/sweep.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        [sweep_outputs(name) for name in config["sweeps"]],


onsuccess:
    for name in config["sweeps"]:
        print(f"sweep {name!r}: store results/{name}/spectra.zarr, figures results/{name}/figures/")
