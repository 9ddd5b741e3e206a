"""Fault tolerance of sweeps: concurrent Snakemake processes, and a shard that keeps failing."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from test_pipeline import snakemake, workflow_copy

from lyap_workflow.store import open_store

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
TARGET = ["results/ci/spectra.zarr", "--cores", "1", "--configfile", "config/ci.yaml"]


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


def test_failing_shard_is_reported_and_others_complete_with_keep_going(tmp_path):
    cfg = {
        "sweeps": {
            "ci": {
                "phi": "relu",  # unbounded: g = 50 diverges, g = 0.5 decays
                "grid": {"g": [0.5, 50.0], "N": [8], "seed": [0, 1]},
                "numerics": {"t_sim": 10.0, "t_transient": 300.0},
                "execution": {"shard_seconds": 0.001, "cores": 1, "checkpoint_interval": 0},
            }
        }
    }
    cwd = workflow_copy(tmp_path, cfg)
    proc = snakemake(cwd, *TARGET, "--keep-going", check=False)
    assert proc.returncode != 0
    shards = sorted((cwd / "results" / "ci" / "shards").glob("*.zarr"))
    assert len(shards) == 2  # the two g = 0.5 points, each in its own shard
    logs = "".join(p.read_text() for p in (cwd / "results" / "ci" / "logs").rglob("*.log"))
    assert "g=50" in logs.replace(" ", "") or "'g': 50" in logs, logs[-2000:]
    # the divergence error names the time step (in the job's error output)
    assert "non-finite state" in proc.stdout + proc.stderr + logs
    assert "at step" in proc.stdout + proc.stderr + logs
    assert not (cwd / "results" / "ci" / "spectra.zarr").exists()  # never a partial store
