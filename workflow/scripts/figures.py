"""Draw a sweep's figures from its gathered store alone (lyap_core.figures.make_figures)."""

# ruff: noqa: F821 - `snakemake` is injected by Snakemake's `script:` directive

from contextlib import redirect_stderr
from pathlib import Path

from lyap_workflow import figures, quality, store

if __name__ == "__main__":
    with open(snakemake.log[0], "w") as log, redirect_stderr(log):
        ds = store.open_store(snakemake.input[0])
        log.write(f"{snakemake.input[0]}: {dict(ds.sizes)}; {ds.attrs.get('points', '')}\n")
        figures.make_figures(ds, Path(snakemake.output[0]).parent)
        html = figures.flagged_points_html(
            quality.check_store(snakemake.input[0]), snakemake.wildcards.sweep
        )
        Path(snakemake.output[-1]).write_text(html)
        for path in snakemake.output:
            log.write(f"wrote {path}\n")
