"""``lyap sweep``/``status``/``export``: a campaign without Snakemake on one dask cluster."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
from lyap_workflow import execute
from lyap_workflow.cli import main
from lyap_workflow.store import GRID_DIMS, RUN_DEPENDENT, open_store
from test_faults import ONE_FAILING_POINT

from lyap_core.version import NUMERICS_VERSION

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "config" / "ci.yaml"
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def same_numbers(a: xr.Dataset, b: xr.Dataset) -> None:
    """Equal bit for bit (NaN = NaN) in everything but wall times, dates and code versions."""
    drop = [*RUN_DEPENDENT, "code_version"]
    xr.testing.assert_equal(a.drop_vars(drop), b.drop_vars(drop))


@pytest.fixture(scope="module")
def ci(tmp_path_factory) -> Path:
    """``lyap sweep config/ci.yaml`` into a fresh results directory, 2 workers."""
    results = tmp_path_factory.mktemp("campaign") / "results"
    assert main(["sweep", str(CI), "--results", str(results), "--workers", "2"]) == 0
    return results


def test_summary_store_and_layout(ci, capsys):
    s = json.loads((ci / "ci" / "gather.json").read_text())
    assert s["summary"] == "points: 16 total, 16 computed, 0 reused, 0 failed"
    ds = open_store(ci / "ci" / "spectra.zarr").load()
    assert ds.attrs["points"] == s["summary"]
    assert ds["lambda_max"].dims == GRID_DIMS  # input_tau kept although it has one value
    assert (ds["status"] == "ok").all() and (ds["numerics_version"] == NUMERICS_VERSION).all()
    assert len(set(ds["point_key"].values.ravel())) == 16
    assert json.loads((ci / "ci" / "check.json").read_text()) is not None


def test_extending_by_one_seed_computes_exactly_the_new_points(ci, tmp_path):
    results = tmp_path / "results"
    import shutil

    shutil.copytree(ci, results)
    cfg = yaml.safe_load(CI.read_text())
    cfg["sweeps"]["ci"]["grid"]["seed"].append(2)
    path = tmp_path / "ci3.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["sweep", str(path), "--results", str(results), "--workers", "2"]) == 0
    s = json.loads((results / "ci" / "gather.json").read_text())
    assert s["summary"] == "points: 24 total, 8 computed, 16 reused, 0 failed"
    new = open_store(results / "ci" / "spectra.zarr").load()
    old = open_store(ci / "ci" / "spectra.zarr").load()
    same_numbers(new.sel(seed=[0, 1]).drop_attrs(), old.drop_attrs())
    # and rerunning computes nothing
    assert main(["sweep", str(path), "--results", str(results)]) == 0
    s = json.loads((results / "ci" / "gather.json").read_text())
    assert s["summary"] == "points: 24 total, 0 computed, 24 reused, 0 failed"
    assert s["updated_points"] == 0  # incremental: no point re-read from the cache


def test_a_store_of_another_numerics_version_is_rebuilt_not_updated(ci, tmp_path):
    import shutil

    import zarr

    results = shutil.copytree(ci, tmp_path / "results")
    work = results / "ci" / ".gather" / "spectra.zarr"
    group = zarr.open_group(work, mode="r+")
    group.attrs["numerics_version"] = "0"
    logged: list[str] = []
    from lyap_workflow.campaign import run_campaign

    (s,) = run_campaign(CI, results=results, log=logged.append)
    assert s["updated_points"] == 16  # every point re-read from the cache: a new store
    assert any("numerics version '0'" in line and "rebuilding" in line for line in logged)
    assert open_store(results / "ci" / "spectra.zarr").attrs["numerics_version"] == NUMERICS_VERSION


def test_jobqueue_is_refused_in_a_shard_job(tmp_path):
    """Not one SLURMCluster per shard: a clear line pointing to lyap sweep / scheduler_address."""
    from lyap_workflow.config import resolve

    ex = resolve({"sweeps": {"s": {"grid": {"g": [1.0], "N": [4]}}}})["sweeps"]["s"]["execution"]
    ex["dask"]["jobqueue"] = {"cores": 1, "memory": "1GB", "jobs": 1}
    with pytest.raises(execute.ExecutionError, match="one cluster per campaign"):
        execute.run_shard([], tmp_path / "m.json", tmp_path / "cache", ex)


def test_an_existing_scheduler_gives_the_same_numbers(ci, tmp_path):
    """A LocalCluster stands in for a campaign's scheduler (e.g. a SLURM head job's)."""
    from distributed import LocalCluster

    with (
        execute.single_threaded_blas_env(),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
    ):
        args = [
            "sweep",
            str(CI),
            "--results",
            str(tmp_path),
            "--scheduler",
            cluster.scheduler_address,
        ]
        assert main(args) == 0
    same_numbers(
        open_store(tmp_path / "ci" / "spectra.zarr").load().drop_attrs(),
        open_store(ci / "ci" / "spectra.zarr").load().drop_attrs(),
    )


def test_faults_are_one_clear_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(execute, "CONNECT_TIMEOUT", 2.0)
    args = ["sweep", str(CI), "--results", str(tmp_path / "r")]
    assert main([*args, "--scheduler", "tcp://127.0.0.1:9"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[0]] and "tcp://127.0.0.1:9 unreachable" in err[0]
    assert main([*args, "--workers", "999"]) == 1
    assert "--workers: 999 single-threaded workers need <=" in capsys.readouterr().err
    assert main([*args, "--sweep", "nope"]) == 2
    assert "--sweep: 'nope' is not a sweep" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main(["sweep", str(CI), "--results", str(tmp_path / "file")]) == 1
    assert "the point cache is not writable" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump({"sweeps": {"x": {"grid": {"g": [1.0], "N": [4]}, "numerics": {"m": 9}}}})
    )
    assert main(["sweep", str(bad), "--results", str(tmp_path / "r")]) == 2
    assert (
        "invalid config: sweeps.x.numerics.m: must be an integer in [1, 4]"
        in capsys.readouterr().err
    )


def test_a_failing_point_gives_a_partial_store_and_a_nonzero_exit(tmp_path, capsys):
    path = tmp_path / "fail.yaml"
    path.write_text(yaml.safe_dump(ONE_FAILING_POINT))
    assert main(["sweep", str(path), "--results", str(tmp_path), "--workers", "2"]) == 1
    out = capsys.readouterr()
    assert "points: 8 total, 7 computed, 0 reused, 1 failed" in out.out
    assert "g=3 N=8 input_std=0 input_tau=1 seed=3: failed: DivergenceError" in out.err
    ds = open_store(tmp_path / "ci" / "spectra.zarr").load()
    bad = ds.sel(g=3.0, seed=3).squeeze()
    assert str(bad["status"].values).startswith("failed: DivergenceError")
    assert np.isnan(bad["lambda_max"]) and np.isnan(bad["exponents"]).all()
    assert json.loads(str(bad["params"].values))["seed"] == 3  # its planned parameters
    assert int((ds["status"] == "ok").sum()) == 7
    check = json.loads((tmp_path / "ci" / "check.json").read_text())
    assert any(f["reasons"] == [f"status: {bad['status'].values}"] for f in check)
    assert main(["status", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("ci: 7/8 done, 1 failed")


def test_status_and_export(ci, tmp_path, capsys):
    assert main(["status", str(ci)]) == 0
    assert capsys.readouterr().out == "ci: 16/16 done, 0 failed, done\n"
    csv, nc = tmp_path / "t.csv", tmp_path / "t.nc"
    store = str(ci / "ci" / "spectra.zarr")
    assert main(["export", store, "--csv", str(csv), "--netcdf", str(nc)]) == 0
    import pandas as pd

    table = pd.read_csv(csv)
    ds = open_store(store).load()
    assert len(table) == 16 and list(table.columns[: len(GRID_DIMS)]) == list(GRID_DIMS)
    row = table[(table.g == 4.0) & (table.N == 16) & (table.input_std == 0.5) & (table.seed == 1)]
    assert (
        row["lambda_max"].item() == ds["lambda_max"].sel(g=4.0, N=16, input_std=0.5, seed=1).item()
    )
    assert nc.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"  # netCDF4 is HDF5, not netCDF3
    back = xr.open_dataset(nc, engine="h5netcdf").load()
    assert np.array_equal(back["lambda_max"].values, ds["lambda_max"].values)
    assert set(back["status"].values.ravel()) == {"ok"}


def test_plan_record_is_json_and_complete(ci):
    rec = json.loads((ci / "ci" / "plan.json").read_text())
    assert len(rec["points"]) == 16 and rec["numerics_version"] == NUMERICS_VERSION
    cfg = copy.deepcopy(yaml.safe_load(CI.read_text()))
    assert rec["grid"]["g"] == sorted(cfg["sweeps"]["ci"]["grid"]["g"])
