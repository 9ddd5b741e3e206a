"""Fault tolerance of sweeps: concurrent Snakemake processes, and a point that fails."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest
from lyap_workflow.store import open_store
from test_pipeline import snakemake, workflow_copy

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
TARGET = ["results/ci/spectra.zarr", "--cores", "1", "--configfile", "config/ci.yaml"]
# Unbounded relu: of these 8 points only the network of seed 3 at g = 3 diverges.
ONE_FAILING_POINT = {
    "sweeps": {
        "ci": {
            "phi": "relu",
            "grid": {"g": [0.5, 3.0], "N": [8], "seed": [0, 1, 2, 3]},
            "numerics": {"t_sim": 10.0, "t_transient": 300.0},
            "execution": {"shard_seconds": 0.5, "cores": 2, "checkpoint_interval": 0},
        }
    }
}


def test_second_snakemake_on_the_same_results_is_refused(tmp_path):
    """While one run holds the directory, a second one stops at Snakemake's lock."""
    cwd = workflow_copy(tmp_path)
    first = subprocess.Popen(
        [sys.executable, "-m", "snakemake", *TARGET],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    locks = cwd / ".snakemake" / "locks"
    deadline = time.monotonic() + 120
    while not (locks.exists() and any(locks.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, "the first run ended before the second could start"
    second = snakemake(cwd, *TARGET, check=False)
    assert second.returncode != 0
    assert "cannot be locked" in second.stdout + second.stderr
    out, _ = first.communicate(timeout=600)
    assert first.returncode == 0, out
    ds = open_store(cwd / "results" / "ci" / "spectra.zarr").load()
    assert np.all(np.isfinite(ds.lambda_max.values))  # complete, uncorrupted


def test_a_failing_point_still_yields_store_figures_and_check_and_fails_the_run(tmp_path):
    """One diverging point: NaN with its status in the store, figures and `lyap check` work,
    and Snakemake exits non-zero naming the point (the failure is retried by a rerun)."""
    cwd = workflow_copy(tmp_path, ONE_FAILING_POINT)
    proc = snakemake(cwd, "--cores", "2", "--configfile", "config/ci.yaml", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "sweep ci: points: 8 total, 7 computed, 0 reused, 1 failed" in out
    assert "ci: g=3 N=8 input_std=0 input_tau=1 seed=3: failed: DivergenceError" in out
    assert "at step" in out  # the divergence names the time step
    ds = open_store(cwd / "results" / "ci" / "spectra.zarr").load()
    bad = ds.sel(g=3.0, seed=3).squeeze()
    assert str(bad["status"].values).startswith("failed: DivergenceError")
    assert np.isnan(bad["lambda_max"]) and int((ds["status"] == "ok").sum()) == 7
    figures = cwd / "results" / "ci" / "figures"
    assert len(list(figures.glob("*.png"))) >= 5
    check = json.loads((cwd / "results" / "ci" / "check.json").read_text())
    assert any(f["reasons"][0].startswith("status: failed: DivergenceError") for f in check)
    logs = "".join(p.read_text() for p in (cwd / "results" / "ci" / "logs").rglob("*.log"))
    assert "Traceback" in logs and "seed=3: FAILED DivergenceError" in logs
