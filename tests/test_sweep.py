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
from lyap_workflow.cache import Cache, point_key
from lyap_workflow.campaign import slurm_cluster
from lyap_workflow.config import resolve
from lyap_workflow.execute import BLAS_ENV, run_points, single_threaded_blas_env
from lyap_workflow.sweep import (
    RUNTIME_SAFETY,
    ConfigError,
    Point,
    expand_grid,
    job_minutes,
    plan,
)

from lyap_core import RunParams, run_point

ROOT = Path(__file__).resolve().parent.parent


def resolved(sweep: dict) -> dict:
    """A sweep with the schema's defaults filled in (as the Snakefile and lyap sweep do)."""
    return resolve({"sweeps": {"s": copy.deepcopy(sweep)}})["sweeps"]["s"]


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
        (
            {"execution": {"max_job_minutes": 4}},
            "invalid config: sweeps.s.execution.max_job_minutes",
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


def keys(sweep: dict) -> set[str]:
    return {p.key for p in plan({"s": sweep})["s"].points}


def test_plan_applies_schema_defaults_to_a_raw_config():
    """No KeyError on a raw config: plan() fills the schema defaults itself."""
    raw = {"s": {"grid": {"g": [2.0], "N": [8]}, "numerics": {"t_sim": 10.0}}}
    (p,) = plan(raw)["s"].points
    assert p.params.t_transient == 100.0 and p.threads == 1


def test_shards_pack_cheap_points_and_isolate_costly_ones():
    sweep = tiny()
    shards = plan({"s": sweep})["s"].shards.values()
    assert sorted(q.index for s in shards for q in s.points) == list(range(16))
    assert all(s.threads <= 2 for s in shards)
    big = tiny(execution={"shard_seconds": 1e-6, "cores": 1})
    assert all(len(s.points) == 1 for s in plan({"s": big})["s"].shards.values())
    one = tiny(execution={"shard_seconds": 1e6, "cores": 2})
    (only,) = plan({"s": one})["s"].shards.values()  # 2 lanes, all 16 points
    assert len(only.points) == 16 and only.threads == 2


def test_keys_change_exactly_with_the_points_numbers():
    before = keys(tiny())
    touched = tiny(overrides=[{"match": {"g": [4.0], "N": [16]}, "numerics": {"t_sim": 20.0}}])
    pts = plan({"s": touched})["s"].points
    changed = {p.key for p in pts} - before
    assert changed == {p.key for p in pts if p.params.g == 4.0 and p.params.n == 16}
    assert len(changed) == 4
    assert keys(tiny()) == before  # reverting finds the old points again
    assert not keys(tiny(numerics={"t_sim": 20.0, "t_transient": 5.0})) & before


def test_extending_a_grid_adds_exactly_the_new_keys():
    before = keys(tiny())
    more = tiny(
        grid={"g": [2.0, 3.0, 4.0], "N": [8, 16], "input_std": [0.0, 0.5], "seed": [0, 1, 2]}
    )
    assert before < keys(more) and len(keys(more)) == 36


def test_execution_settings_do_not_change_keys():
    before = keys(tiny())
    ex = {"shard_seconds": 7.0, "cores": 7, "checkpoint_interval": 1.0, "max_job_minutes": 60}
    ex["dask"] = {"scheduler_address": "tcp://elsewhere:8786"}
    assert keys(tiny(execution=ex)) == before


def test_blas_threads_are_in_the_key():
    """Multi-threaded BLAS changes the last bits, so a big point's threads are in its key."""
    ex = {"big_point_n": 16, "big_point_threads": 2}
    pts = plan({"s": tiny(execution=ex)})["s"].points
    assert {p.threads for p in pts if p.params.n == 16} == {2}
    assert {p.threads for p in pts if p.params.n == 8} == {1}
    same = {p.key for p in pts if p.params.n == 8}
    assert same <= keys(tiny()) and not {p.key for p in pts if p.params.n == 16} & keys(tiny())


def test_numerics_version_is_in_the_key(monkeypatch):
    p = RunParams(n=8, t_sim=10.0)
    before = point_key(p)
    monkeypatch.setattr("lyap_workflow.cache.NUMERICS_VERSION", "other")
    assert point_key(p) != before


def test_only_points_missing_from_the_cache_are_planned(tmp_path):
    sweep = tiny()
    cache = Cache(tmp_path)
    pts = plan({"s": sweep}, cache)["s"].points
    for p in pts[:5]:
        cache.path(p.key).parent.mkdir(parents=True, exist_ok=True)
        cache.path(p.key).touch()
    missing = plan({"s": sweep}, cache)["s"].missing
    assert {p.key for p in missing} == {p.key for p in pts[5:]}
    cache.record_failure(pts[7].key, {"reason": "test"})
    again = plan({"s": sweep}, cache)["s"]
    assert {p.key for p in again.missing} == {p.key for p in missing}
    before = set(plan({"s": sweep}, Cache(tmp_path / "other"))["s"].shards)
    assert set(again.shards) != before  # a failed point's shard is renamed: it reruns


def test_no_job_exceeds_the_maximum_and_long_points_chain():
    """A 30-min cap: a point estimated at ~1 h becomes a chain of jobs, each within the cap."""
    sweep = tiny(
        grid={"g": [2.0], "N": [8, 200]},
        numerics={"t_sim": 100000.0, "t_transient": 5.0},
        execution={"max_job_minutes": 30, "shard_seconds": 60, "cores": 2},
    )
    sp = plan({"s": sweep})["s"]
    long = max(sp.points, key=lambda p: p.seconds)
    assert RUNTIME_SAFETY * long.seconds > 30 * 60  # the test needs a point too long for a job
    ex = sp.sweep["execution"]
    minutes = {name: job_minutes(s, ex) for name, s in sp.shards.items()}
    assert max(minutes.values()) <= 30
    chain = sorted((s for s in sp.shards.values() if s.points == (long,)), key=lambda s: s.segment)
    assert len(chain) >= 2 and chain[-1].segment == chain[-1].segments == len(chain)
    assert [s.previous for s in chain] == [None] + [s.name for s in chain[:-1]]


def test_blas_env_is_single_threaded_and_restored(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    with single_threaded_blas_env():
        assert all(os.environ[k] == "1" for k in BLAS_ENV)
    assert os.environ["OMP_NUM_THREADS"] == "2"
    assert "MKL_NUM_THREADS" not in os.environ


def specs_of(*params: dict) -> list[dict]:
    return [Point(0, RunParams(**p)).spec() for p in params]


def results_of(cache: Cache, specs: list[dict]) -> list:
    return [cache.load(s["key"])[0] for s in specs]


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
        cache = Cache(tmp_path / str(workers))
        outcomes = run_points(specs, cache.root, cores=2, n_workers=workers)
        assert [o["status"] for o in outcomes] == ["ok"] * 4
        for a, b in zip(direct, results_of(cache, specs), strict=True):
            assert np.array_equal(a.exponents, b.exponents)
            assert np.array_equal(a.history, b.history)
            assert a.kaplan_yorke_dimension == b.kaplan_yorke_dimension
    again = run_points(specs, tmp_path / "1", cores=1)
    assert [o["status"] for o in again] == ["cached"] * 4  # nothing recomputed


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_failing_point_is_recorded_with_its_reason_and_traceback(tmp_path):
    good = {"n": 8, "g": 3.0, "phi": "relu", "t_sim": 10.0, "t_transient": 300.0}
    bad = {**good, "seed": 3}  # unbounded relu: this network diverges
    logged = []
    specs = specs_of(good, bad)
    outcomes = run_points(specs, tmp_path / "cache", cores=2, log=logged.append)
    assert [o["status"] for o in outcomes] == ["ok", "failed"]
    assert "DivergenceError" in outcomes[1]["reason"] and "at step" in outcomes[1]["reason"]
    assert "Traceback" in outcomes[1]["traceback"]
    assert any("FAILED" in line and "seed=3" in line for line in logged)
    assert any(line.startswith("    | Traceback") for line in logged)  # traceback in the log
    assert sum("lambda_max" in line for line in logged) == 1  # the good point still ran
    rec = Cache(tmp_path / "cache").failure(specs[1]["key"])
    assert rec["attempts"] == 1 and "DivergenceError" in rec["reason"]


def _kill_a_worker_when_checkpointed(ckpt_dir: Path, killed: list[int]) -> None:
    """SIGKILL the dask worker process (its nanny lives in this process) mid-point."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(ckpt_dir.glob("*.npz")):
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
    cache = Cache(tmp_path)
    ckpt = cache.checkpoint("x").parent
    killer = threading.Thread(target=_kill_a_worker_when_checkpointed, args=(ckpt, killed))
    killer.start()
    specs = specs_of(p)
    (out,) = run_points(specs, cache.root, cores=1, checkpoint_interval=0.0)
    killer.join()
    assert killed, "no worker was killed: the test did not exercise a resume"
    assert out["status"] == "ok"
    (got,) = results_of(cache, specs)
    assert np.array_equal(got.exponents, direct.exponents)
    assert got.ks_entropy == direct.ks_entropy


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_point_pauses_at_its_deadline_and_resumes_bit_identically(tmp_path):
    """A job near its time limit pauses (checkpoint kept); the next job finishes the point."""
    p = {"n": 30, "g": 3.0, "t_sim": 100.0, "t_transient": 10.0}
    specs = specs_of(p)
    cache = Cache(tmp_path)
    (first,) = run_points(specs, cache.root, checkpoint_interval=0.0, deadline=time.time())
    assert first["status"] == "paused" and cache.checkpoint(specs[0]["key"]).exists()
    (second,) = run_points(specs, cache.root, checkpoint_interval=0.0)
    assert second["status"] == "ok"
    assert np.array_equal(results_of(cache, specs)[0].exponents, run_point(p).exponents)


def test_ci_config_plans():
    cfg = yaml.safe_load((ROOT / "config" / "ci.yaml").read_text())
    sp = plan(cfg["sweeps"])["ci"]
    assert len(sp.points) == 16 and len(sp.shards) >= 2


@pytest.mark.filterwarnings("ignore:Port .* is already in use")
def test_slurm_cluster_job_script_pins_blas_threads_and_retires_workers():
    spec = {"jobs": 3, "cores": 4, "memory": "8GB", "walltime": "01:00:00", "queue": "short"}
    with slurm_cluster(spec) as cluster:
        script = cluster.job_script()
    assert "#SBATCH --cpus-per-task=4" in script and "#SBATCH -p short" in script
    assert "#SBATCH -t 01:00:00" in script
    assert "--nworkers 4" in script and "--nthreads 1" in script
    assert all(f"export {k}=1" in script for k in BLAS_ENV)
    # workers retire 10 % (>= 5 min) before the walltime, staggered, and are replaced
    assert "--lifetime 3240s" in script  # 1 h minus 6 min and "--lifetime-stagger" in script
    assert "--lifetime-restart" in script
    with slurm_cluster({"jobs": 1, "cores": 1, "memory": "1GB"}) as cluster:
        assert "#SBATCH -t 24:00:00" in cluster.job_script()  # not dask-jobqueue's 30 min


def test_time_limit_is_enforced_only_inside_a_batch_job(monkeypatch):
    """A local run never pauses points at the cost-model runtime; a SLURM job does."""
    from lyap_workflow.execute import BATCH_JOB_VARS, enforced_time_limit

    for var in BATCH_JOB_VARS:
        monkeypatch.delenv(var, raising=False)
    assert enforced_time_limit(30) is None
    monkeypatch.setenv("SLURM_JOB_ID", "12345")
    assert enforced_time_limit(30) == 1800.0
