"""The Snakemake workflow, run in temporary copies of the repository's workflow files."""

from __future__ import annotations

import contextlib
import copy
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import xarray as xr
import yaml
from lyap_workflow.cli import main as lyap
from lyap_workflow.config import resolve
from lyap_workflow.figures import FIGURES
from lyap_workflow.store import RUN_DEPENDENT, open_store
from lyap_workflow.sweep import job_minutes, plan
from snakemake.utils import validate

from lyap_core import run_point

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
CI = ROOT / "config" / "ci.yaml"

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # CI runs are short


def workflow_copy(dest: Path, config: dict | None = None) -> Path:
    """The workflow files in ``dest`` (results land there), optionally with config/ci.yaml."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "workflow", "config", "profiles"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / name)
    if config is not None:
        (dest / "config" / "ci.yaml").write_text(yaml.safe_dump(config))
    return dest


def snakemake(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def ci_config(**execution) -> dict:
    cfg = yaml.safe_load(CI.read_text())
    cfg["sweeps"]["ci"]["execution"].update(execution)
    return cfg


def resolved(cfg: dict) -> dict:
    return resolve(copy.deepcopy(cfg))


def job_counts(output: str) -> dict[str, int]:
    table = output.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


# -- dry runs -----------------------------------------------------------------------------
@pytest.mark.parametrize("config", ["config/config.yaml", "config/paper.yaml", "config/ci.yaml"])
def test_dry_run_dag(config, tmp_path):
    cwd = workflow_copy(tmp_path)
    args = ["-n", "--cores", "2"] + (
        [] if config == "config/config.yaml" else ["--configfile", config]
    )
    out = snakemake(cwd, *args).stdout
    sweeps = resolved(yaml.safe_load((ROOT / config).read_text()))["sweeps"]
    shards = sum(len(s.shards) for s in plan(sweeps).values())
    n = len(sweeps)
    assert job_counts(out) == {
        "plan": n,
        "shard": shards,
        "gather": n,
        "store": n,
        "check": n,
        "figures": n,
        "all": 1,
    }
    assert not (cwd / "results").exists()


def test_slurm_profile_dry_run_requests_no_job_above_the_maximum(tmp_path):
    cwd = workflow_copy(tmp_path)
    profile = ["--workflow-profile", "profiles/slurm", "--configfile", "config/paper.yaml"]
    # A dry run caps threads at --cores (default 1 there); a submission does not.
    out = snakemake(cwd, *profile, "-n", "--cores", "8").stdout
    assert "slurm_partition=compute" in out
    assert re.search(r"rule shard:(.|\n)*?threads: 8(.|\n)*?runtime=\d+", out)
    assert re.search(r"rule gather:(.|\n)*?mem_mb=16000", out)
    runtimes = [int(m) for m in re.findall(r"runtime=(\d+)", out)]
    sweeps = resolved(yaml.safe_load((ROOT / "config" / "paper.yaml").read_text()))["sweeps"]
    limit = {s["execution"]["max_job_minutes"] for s in sweeps.values()}
    assert limit == {1440} and runtimes and max(runtimes) <= 1440
    plans = plan(sweeps)
    longest = max(
        job_minutes(s, sweeps[name]["execution"])
        for name, p in plans.items()
        for s in p.shards.values()
    )
    assert longest == max(runtimes)  # the dry run shows the plan's requests
    big = [s for p in plans.values() for s in p.shards.values() if s.points[0].params.n >= 1000]
    assert big and all(s.threads % 4 == 0 for s in big)  # 4 BLAS threads per big point


# -- configuration errors ------------------------------------------------------------------
BAD = [
    ({"sweep": {}}, "", "sweep"),
    ({"gird": {}}, "sweeps.x", "gird"),
    ({"numerics": {"tsim": 10}}, "sweeps.x.numerics", "tsim"),
    ({"numerics": {"dt": -0.1}}, "sweeps.x.numerics.dt", "minimum"),
    ({"numerics": {"scheme": "rk5"}}, "sweeps.x.numerics.scheme", "rk5"),
    ({"numerics": {"m": "fulll"}}, "sweeps.x.numerics.m", "fulll"),
    ({"grid": {"g": ["2.0"], "N": [10]}}, "sweeps.x.grid.g.0", "not of type"),
    ({"grid": {"g": [2.0], "N": [10.5]}}, "sweeps.x.grid.N.0", "not of type"),
    ({"grid": {"g": [2.0], "N": [10], "seed": [-1]}}, "sweeps.x.grid.seed.0", "minimum"),
    ({"grid": {"g": [], "N": [10]}}, "sweeps.x.grid.g", "should be non-empty"),
    ({"grid": {"g": [2, 2.0], "N": [10]}}, "sweeps.x.grid.g", "non-unique"),
    ({"grid": {"g": [2.0]}}, "sweeps.x.grid", "'N' is a required"),
    ({"model": "continous"}, "sweeps.x.model", "continous"),
    ({"execution": {"cores": 0}}, "sweeps.x.execution.cores", "minimum"),
    ({"execution": {"dask": {"workers": 2}}}, "sweeps.x.execution.dask", "workers"),
    ({"overrides": [{"match": {"g": [2.0]}, "numerics": {}}]}, "sweeps.x.overrides.0.numerics", ""),
]


@pytest.mark.parametrize(("change", "path", "why"), BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_schema_rejects_naming_the_field(change, path, why):
    cfg = {"sweeps": {"x": {"grid": {"g": [2.0], "N": [10]}}}}
    if "sweep" in change:
        cfg |= change
    else:
        cfg["sweeps"]["x"] |= change
    with pytest.raises(Exception) as err:
        validate(cfg, str(SCHEMA))
    e = jsonschema.exceptions.best_match([err.value.__context__])
    assert ".".join(map(str, e.absolute_path)) == path
    assert why in e.message


def test_bad_sweep_names_are_rejected():
    cfg = {"sweeps": {"my-sweep": {"grid": {"g": [2.0], "N": [10]}}}}
    with pytest.raises(Exception, match="does not match"):
        validate(cfg, str(SCHEMA))


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        (
            {"grid": {"g": [2.0], "N": [10]}, "numerics": {"tsim": 5}},
            "invalid config: sweeps.x.numerics: Additional properties are not allowed "
            "('tsim' was unexpected)",
        ),
        (
            {"grid": {"g": [2.0], "N": [10, 20]}, "numerics": {"m": 15}},
            "invalid config: sweeps.x.numerics.m: must be an integer in [1, 10]",
        ),
    ],
)
def test_snakemake_stops_before_running_anything(sweep, message, tmp_path):
    cwd = workflow_copy(tmp_path, {"sweeps": {"x": sweep}})
    proc = snakemake(cwd, "--cores", "1", "--configfile", "config/ci.yaml", check=False)
    assert proc.returncode != 0
    assert message in proc.stderr + proc.stdout
    assert not (cwd / "results").exists()


# -- end to end ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ci_run(tmp_path_factory) -> Path:
    """The CI sweep, uninterrupted, with 2 dask workers per shard."""
    cwd = workflow_copy(tmp_path_factory.mktemp("ci"))
    snakemake(cwd, "--cores", "2", "--configfile", "config/ci.yaml")
    return cwd


def assert_same_numbers(a: xr.Dataset, b: xr.Dataset) -> None:
    """Equal bit for bit (NaN = NaN) in everything but wall times, dates and code versions."""
    drop = [*RUN_DEPENDENT, "code_version"]
    xr.testing.assert_equal(a.drop_vars(drop), b.drop_vars(drop))


def test_ci_store_equals_direct_run_point_calls(ci_run):
    ds = open_store(ci_run / "results" / "ci" / "spectra.zarr").load()
    sweeps = resolved(yaml.safe_load(CI.read_text()))["sweeps"]
    points = plan(sweeps)["ci"].points
    assert ds["lambda_max"].size == len(points) == 16
    assert ds["lambda_max"].dims == ("g", "N", "input_std", "input_tau", "seed", "trajectory")
    assert ds.attrs["points"] == "points: 16 total, 16 computed, 0 reused, 0 failed"
    for p in points:
        r = run_point(p.params, brute_force=p.brute_force)
        q = p.params
        grid = dict(g=q.g, N=q.n, input_std=q.input_std, input_tau=q.input_tau, seed=q.seed)
        at = ds.sel(**grid, trajectory=p.trajectory)
        assert np.array_equal(at["exponents"].values[: r.m], r.exponents)
        assert np.array_equal(at["exponents_stderr"].values[: r.m], r.stderr)
        for name in ("lambda_max", "kaplan_yorke_dimension", "ks_entropy", "sum_rule_residual"):
            assert at[name].item() == getattr(r, name), name
        assert at["brute_force_lambda_max"].item() == r.brute_force_lambda_max
        assert at["history_time"].values[-1] == r.history_time[-1]
        assert at["point_key"].item() == p.key and at["status"].item() == "ok"


def test_lyap_sweep_equals_the_snakemake_run(ci_run, tmp_path):
    """Without Snakemake, one worker: the same numbers, bit for bit."""
    assert lyap(["sweep", str(CI), "--results", str(tmp_path), "--workers", "1"]) == 0
    assert_same_numbers(
        open_store(tmp_path / "ci" / "spectra.zarr").load(),
        open_store(ci_run / "results" / "ci" / "spectra.zarr").load(),
    )


def test_logs_hold_what_happened(ci_run):
    logs = ci_run / "results" / "ci" / "logs"
    shard = "".join(p.read_text() for p in (logs / "shards").glob("*.log"))
    assert shard.count("lambda_max = ") == 16  # one summary per point
    assert "warning: " in shard  # the short CI runs warn (NumericsWarning text)
    (gather_log,) = logs.glob("gather-*.log")  # one per set of points (its hash)
    gather = gather_log.read_text()
    assert "points: 16 total, 16 computed, 0 reused, 0 failed" in gather
    assert "cost model:" in gather and "measured" in gather
    assert "wrote results/ci/figures/" in (logs / "figures.log").read_text()
    bench = ci_run / "results" / "ci" / "benchmarks"
    assert next(bench.glob("gather-*.tsv")).read_text().startswith("s\t")
    assert len(list((bench / "shards").glob("*.tsv"))) == len(list((logs / "shards").glob("*")))


def test_touching_the_scripts_reruns_nothing(ci_run):
    cache = ci_run / "results" / "cache"
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*.npz")}
    for script in (ci_run / "workflow" / "scripts").iterdir():
        script.touch()
    out = snakemake(ci_run, "--cores", "2", "--configfile", "config/ci.yaml")
    assert "Nothing to be done" in out.stdout + out.stderr
    assert "sweep ci: plan: 16 points, 16 in the cache, 0 to compute in 0 job(s)" in out.stderr
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*.npz")} == before


@pytest.mark.slow
def test_snakemake_extension_by_one_seed_computes_exactly_the_new_points(ci_run, tmp_path):
    cwd = workflow_copy(tmp_path)
    shutil.copytree(ci_run / "results", cwd / "results")
    cfg = yaml.safe_load(CI.read_text())
    cfg["sweeps"]["ci"]["grid"]["seed"].append(2)
    (cwd / "config" / "ci.yaml").write_text(yaml.safe_dump(cfg))
    out = snakemake(cwd, "--cores", "2", "--configfile", "config/ci.yaml")
    assert "sweep ci: points: 24 total, 8 computed, 16 reused, 0 failed" in out.stdout
    new = open_store(cwd / "results" / "ci" / "spectra.zarr").load()
    old = open_store(ci_run / "results" / "ci" / "spectra.zarr").load()
    assert_same_numbers(new.sel(seed=[0, 1]).drop_attrs(), old.drop_attrs())


def test_figures_and_report(ci_run):
    figures = ci_run / "results" / "ci" / "figures"
    for name in FIGURES:
        png, pdf = figures / f"{name}.png", figures / f"{name}.pdf"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000
    snakemake(ci_run, "--configfile", "config/ci.yaml", "--report", "report.html")
    html = (ci_run / "report.html").read_text(errors="replace")
    assert "spectra_vs_rank.png" in html and "Size invariance" in html


def test_resume_after_killing_snakemake(ci_run, tmp_path):
    """SIGKILL Snakemake after its first shard: its running job lives on as an orphan.

    The documented recovery (--unlock, --rerun-incomplete) computes only what is
    missing (cached points are never rewritten), a rerun job waits for the orphan on a
    point's lock instead of racing it, and the store is the same.
    """
    cwd = workflow_copy(tmp_path)
    cache = cwd / "results" / "cache"
    args = ["results/ci/spectra.zarr", "--cores", "2", "--configfile", "config/ci.yaml"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the orphans can be cleaned up below
    )
    try:
        # The second shard's log appears once Snakemake has recorded the first as done.
        logs = cwd / "results" / "ci" / "logs" / "shards"
        deadline = time.monotonic() + 300
        while len(list(logs.glob("*.log"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        done = {p: p.stat().st_mtime_ns for p in cache.rglob("*.npz")}
        assert 0 < len(done) < 16, "the kill did not land half-way"
        assert not (cwd / "results" / "ci" / "spectra.zarr").exists()

        snakemake(cwd, "--unlock", "--configfile", "config/ci.yaml")
        snakemake(cwd, *args, "--rerun-incomplete")
        for path, mtime in done.items():  # cached points were not recomputed
            assert path.stat().st_mtime_ns == mtime
        assert not list((cwd / "results").rglob(".*.tmp-*"))
        assert_same_numbers(
            open_store(cwd / "results" / "ci" / "spectra.zarr").load(),
            open_store(ci_run / "results" / "ci" / "spectra.zarr").load(),
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
