"""Grid expansion, sharding and running points on dask (lyap_workflow.sweep)."""

from __future__ import annotations

import copy
import os
import threading
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
import psutil
import pytest
import yaml
from snakemake.utils import validate

from lyap_core import RunParams, run_point
from lyap_workflow.sweep import (
    BLAS_ENV,
    ConfigError,
    Point,
    PointError,
    expand_grid,
    plan,
    run_points,
    single_threaded_blas_env,
    slurm_cluster,
)

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def resolved(sweep: dict) -> dict:
    """A sweep with the schema's defaults filled in (as the Snakefile does)."""
    cfg = {"sweeps": {"s": copy.deepcopy(sweep)}}
    validate(cfg, str(SCHEMA))
    return cfg["sweeps"]["s"]


def tiny(**changes) -> dict:
    sweep = {
        "grid": {"g": [2.0, 4.0], "N": [8, 16], "input_std": [0.0, 0.5], "seed": [0, 1]},
        "numerics": {"t_sim": 10.0, "t_transient": 5.0},
        "execution": {"shard_seconds": 0.5},
    }
    sweep.update(changes)
    return resolved(sweep)


def test_schema_defaults_match_run_params():
    """Every numerics default of the config equals RunParams' own default."""
    defaults = resolved({"grid": {"g": [1.0], "N": [4]}})
    numerics = defaults["numerics"]
    params = {f.name: f.default for f in fields(RunParams)}
    for key, value in numerics.items():
        if key == "brute_force":
            continue
        assert params[key] == (None if value == "full" else value), key
    for key in ("model", "phi", "connectivity", "k", "coupling", "autapses"):
        assert params[key] == defaults[key], key
    pinned = {"n", "g", "input_std", "input_tau", "seed"}
    pinned |= {f"seed_{s}" for s in ("network", "init", "onb", "input")}
    assert set(params) - pinned - set(numerics) - set(defaults) == set()


def test_grid_order_and_types():
    pts = expand_grid("s", tiny(grid={"g": [4, 2], "N": [16, 8], "seed": [1, 0]}))
    assert len(pts) == 8
    assert [p.index for p in pts] == list(range(8))
    first, last = pts[0].params, pts[-1].params
    assert (first.g, first.n, first.seed) == (2.0, 8, 0)
    assert (last.g, last.n, last.seed) == (4.0, 16, 1)
    assert isinstance(first.g, float) and isinstance(first.input_std, float)


def test_overrides_apply_in_order():
    sweep = tiny(
        overrides=[
            {"match": {"g": [4.0]}, "numerics": {"dt": 0.05}},
            {"match": {"g": [4.0], "N": [16]}, "numerics": {"dt": 0.025}},
        ]
    )
    dt = {(p.params.g, p.params.n): p.params.step for p in expand_grid("s", sweep)}
    assert dt == {(2.0, 8): 0.1, (2.0, 16): 0.1, (4.0, 8): 0.05, (4.0, 16): 0.025}


JOBQUEUE = {"cores": 1, "memory": "1GB", "jobs": 1}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"numerics": {"m": 12}}, "sweeps.s.numerics.m"),  # m > min N
        ({"numerics": {"t_ons": 0.15}}, "sweeps.s.numerics.t_ons"),  # not a multiple of dt
        ({"numerics": {"dt": 0.2, "t_ons": 0.1}}, "sweeps.s.numerics.t_ons"),  # t_ons < dt
        ({"numerics": {"t_sim": 10.5}}, "sweeps.s.numerics.t_sim"),  # not a multiple of t_ons
        ({"connectivity": "sparse"}, "sweeps.s.k"),  # sparse needs k
        ({"connectivity": "sparse", "k": 8}, "sweeps.s.k"),  # k > N - 1 at N = 8
        ({"k": 3}, "sweeps.s.k"),  # k without sparse
        ({"connectivity": "file"}, "sweeps.s.coupling"),  # file needs a path
        ({"coupling": "missing.npy", "connectivity": "file"}, "sweeps.s.coupling"),
        ({"model": "discrete", "numerics": {"dt": 0.1}}, "sweeps.s.numerics.dt"),
        (
            {"overrides": [{"match": {"g": [3.0]}, "numerics": {"dt": 0.05}}]},
            "sweeps.s.overrides[0].match.g",
        ),
        (
            {"overrides": [{"match": {"N": [16]}, "numerics": {"t_ons": 0.07}}]},
            "sweeps.s.overrides[0].numerics.t_ons",
        ),
        (
            {"execution": {"cores": 1, "dask": {"n_workers": 2}}},
            "sweeps.s.execution.dask.n_workers",
        ),
        (
            {"execution": {"dask": {"scheduler_address": "tcp://x:1", "jobqueue": JOBQUEUE}}},
            "sweeps.s.execution.dask",
        ),
    ],
)
def test_invalid_points_are_rejected_naming_the_field(changes, field):
    sweep = {
        "grid": {"g": [2.0, 4.0], "N": [8, 16]},
        "numerics": {"t_sim": 10.0, "t_transient": 5.0},
    }
    for key, value in changes.items():
        if isinstance(value, dict) and key in sweep:
            sweep[key] = {**sweep[key], **value}
        else:
            sweep[key] = value
    with pytest.raises(ConfigError) as err:
        plan({"s": resolved(sweep)})
    assert str(err.value).startswith(field + ":"), str(err.value)


def names(sweep: dict) -> list[str]:
    return list(plan({"s": sweep})["s"])


def test_shards_pack_cheap_points_and_isolate_costly_ones():
    sweep = tiny()
    shards = plan({"s": sweep})["s"].values()
    assert sum(len(s.points) for s in shards) == 16
    assert all(len({p.params.n for p in s.points}) == 1 for s in shards)
    big = tiny(execution={"shard_seconds": 1e-6})
    assert all(len(s.points) == 1 for s in plan({"s": big})["s"].values())
    one = tiny(execution={"shard_seconds": 1e6})
    assert len(plan({"s": one})["s"]) == 2  # one per N


def test_changing_numerics_renames_exactly_the_affected_shards():
    base = tiny()
    before = names(base)
    touched = tiny(overrides=[{"match": {"g": [4.0], "N": [16]}, "numerics": {"t_sim": 20.0}}])
    after = names(touched)
    shards = plan({"s": touched})["s"]
    changed = set(after) - set(before)
    assert changed
    for name in changed:  # every renamed shard holds a touched point
        assert any(p.params.g == 4.0 and p.params.n == 16 for p in shards[name].points)
    for name in set(after) & set(before):
        assert not any(p.params.g == 4.0 and p.params.n == 16 for p in shards[name].points)
    assert names(tiny()) == before  # reverting finds the old shards again
    globally = names(tiny(numerics={"t_sim": 20.0, "t_transient": 5.0}))
    assert not set(globally) & set(before)


def test_execution_settings_do_not_rename_shards():
    before = names(tiny())
    ex = {"shard_seconds": 0.5, "cores": 7, "checkpoint_interval": 1.0}
    ex["dask"] = {"scheduler_address": "tcp://elsewhere:8786"}
    assert names(tiny(execution=ex)) == before


def test_blas_env_is_single_threaded_and_restored(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    with single_threaded_blas_env():
        assert all(os.environ[k] == "1" for k in BLAS_ENV)
    assert os.environ["OMP_NUM_THREADS"] == "2"
    assert "MKL_NUM_THREADS" not in os.environ


def specs_of(*params: dict) -> list[dict]:
    return [Point(0, RunParams(**p)).spec() for p in params]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_points_are_bit_identical_with_one_or_two_workers(tmp_path):
    points = [
        {"n": 10, "g": 3.0, "t_sim": 10.0, "t_transient": 5.0, "seed": s, "input_std": x}
        for s in (0, 1)
        for x in (0.0, 0.5)
    ]
    direct = [run_point(p) for p in points]
    specs = specs_of(*points)
    for workers in (1, 2):
        got = run_points(specs, cores=2, n_workers=workers, checkpoint_dir=tmp_path / str(workers))
        for a, b in zip(direct, got, strict=True):
            assert np.array_equal(a.exponents, b.exponents)
            assert a.kaplan_yorke_dimension == b.kaplan_yorke_dimension


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_failing_point_is_reported_with_its_parameters(tmp_path):
    good = {"n": 6, "g": 2.0, "t_sim": 5.0, "t_transient": 1.0}
    bad = {**good, "connectivity": "file", "coupling": str(tmp_path / "nowhere.npy"), "seed": 7}
    logged = []
    with pytest.raises(PointError) as err:
        run_points(specs_of(good, bad), cores=2, log=logged.append)
    msg = str(err.value)
    assert "1 of 2 points failed" in msg
    assert "seed=7" in msg and "nowhere.npy" in msg and "coupling" in msg
    assert any("FAILED" in line and "seed=7" in line for line in logged)
    assert sum("lambda_max" in line for line in logged) == 1  # the good point still ran


def _kill_a_worker_when_checkpointed(ckpt_dir: Path, killed: list[int]) -> None:
    """SIGKILL the dask worker process (its nanny lives in this process) mid-point."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(ckpt_dir.glob("point*.npz")):
        time.sleep(0.05)
    for child in psutil.Process().children():
        if "spawn_main" in " ".join(child.cmdline()):
            child.kill()
            killed.append(child.pid)
            return


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_killed_worker_resumes_from_its_checkpoint_bit_identically(tmp_path):
    p = {"n": 40, "g": 3.0, "t_sim": 150.0, "t_transient": 20.0}
    direct = run_point(p)
    killed: list[int] = []
    ckpt = tmp_path / "ckpt"
    killer = threading.Thread(target=_kill_a_worker_when_checkpointed, args=(ckpt, killed))
    killer.start()
    (got,) = run_points(specs_of(p), cores=1, checkpoint_dir=ckpt, checkpoint_interval=0.0)
    killer.join()
    assert killed, "no worker was killed: the test did not exercise a resume"
    assert np.array_equal(got.exponents, direct.exponents)
    assert got.ks_entropy == direct.ks_entropy


def test_ci_config_plans():
    cfg = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())
    validate(cfg, str(SCHEMA))
    shards = plan(cfg["sweeps"])["ci"]
    assert sum(len(s.points) for s in shards.values()) == 16


@pytest.mark.filterwarnings("ignore:Port .* is already in use")
def test_slurm_cluster_job_script_pins_blas_threads():
    spec = {"jobs": 3, "cores": 4, "memory": "8GB", "walltime": "01:00:00", "queue": "short"}
    with slurm_cluster(spec) as cluster:
        script = cluster.job_script()
    assert "#SBATCH --cpus-per-task=4" in script and "#SBATCH -p short" in script
    assert "--nworkers 4" in script and "--nthreads 1" in script
    assert all(f"export {k}=1" in script for k in BLAS_ENV)
