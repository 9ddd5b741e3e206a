"""The labelled zarr store: point/shard datasets, atomic writes, gathering, opening."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from lyap_workflow.store import (
    ATTRS,
    LOG_DPHI_CENTRES,
    StoreError,
    gather,
    open_store,
    point_dataset,
    shard_dataset,
    write_zarr_atomic,
)

from lyap_core import run_point

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # short runs: NumericsWarning


@pytest.fixture(scope="module")
def results():
    """Ragged sizes (N = 5, 9), two g, two seeds, one partial spectrum (m = 3 at N = 9)."""
    out = {}
    for n in (5, 9):
        for g in (2.0, 4.0):
            for seed in (0, 1):
                m = 3 if (n, g, seed) == (9, 4.0, 1) else None
                p = {"n": n, "g": g, "seed": seed, "m": m, "t_sim": 8.0, "t_transient": 2.0}
                out[(g, n, seed)] = run_point(p)
    return out


@pytest.fixture(scope="module")
def shards(results, tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    keys = sorted(results)
    paths = []
    for j, part in enumerate((keys[:3], keys[3:])):
        path = root / f"{j}.zarr"
        write_zarr_atomic(shard_dataset([results[k] for k in part]), path)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def gathered(shards, tmp_path_factory):
    out = tmp_path_factory.mktemp("gathered") / "spectra.zarr"
    gather(shards[::-1], out, sweep="t", config={"model": "continuous"})
    return out


def test_point_dataset(results):
    r = results[(2.0, 5, 0)]
    ds = point_dataset(r)
    assert ds["exponents"].dims == ("i",) and ds.sizes["i"] == 5
    assert np.array_equal(ds["exponents"].values, r.exponents)
    assert ds["mean_dphi2"].item() == r.diagnostics["mean_dphi2"]
    assert ds["history"].dims == ("snapshot", "history_rank")
    assert ds["history"].values[-1, 0] == r.history[-1, 0]
    assert json.loads(ds["params"].item())["n"] == 5
    assert ds["lambda_max"].attrs["units"] == "1/tau"
    for name in ds.variables:
        assert name in ATTRS, f"{name} has no long_name/units"


def test_shard_pads_ragged_spectra(results):
    ds = shard_dataset([results[(2.0, 5, 0)], results[(4.0, 9, 1)], results[(2.0, 9, 0)]])
    assert ds.sizes["i"] == 9 and ds.sizes["point"] == 3
    assert ds["lambda_max"].dims == ("point",)  # not broadcast over i
    assert ds["exponents"].dims == ("point", "i")
    assert np.isnan(ds["exponents"].values[0, 5:]).all()
    assert np.isnan(ds["exponents"].values[1, 3:]).all()  # m = 3
    assert list(ds["N"].values) == [5, 9, 9]


def test_gathered_store_layout_and_values(results, gathered):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no consolidated-metadata or zarr warnings
        ds = xr.open_zarr(gathered).load()
    assert dict(ds.sizes) == {
        "g": 2,
        "N": 2,
        "input_std": 1,
        "seed": 2,
        "i": 9,
        "snapshot": ds.sizes["snapshot"],
        "history_rank": 5,
        "block": ds.sizes["block"],
        "log_dphi": LOG_DPHI_CENTRES.size,
        "variance_component": 4,  # time, initial_condition, network, realisation
    }
    assert ds["exponents"].dims == ("g", "N", "input_std", "seed", "i")
    assert ds["lambda_max"].dims == ("g", "N", "input_std", "seed")
    assert "input_tau" in ds.coords and ds["input_tau"].ndim == 0
    for (g, n, seed), r in results.items():
        at = ds.sel(g=g, N=n, seed=seed).isel(input_std=0)
        assert np.array_equal(at["exponents"].values[: r.m], r.exponents)
        assert np.isnan(at["exponents"].values[r.m :]).all()
        assert at["kaplan_yorke_dimension"].item() == r.kaplan_yorke_dimension
        assert bool(at["chaotic"]) == r.chaotic
        # what the hot loop computes is stored: PCA dimensions, PR, blocks, ln phi' histogram
        assert at["pca_dimension_h"].item() == r.pca_dimension_h
        assert at["pca_dimension_rates"].item() == r.pca_dimension_rates
        assert at["pr_lyapunov_vector"].item() == r.pr_lyapunov_vector
        assert at["sum_rule_target"].item() == r.sum_rule_target
        assert np.array_equal(at["exponents_blocks"].values[:, : r.m], r.block_means)
        assert np.array_equal(at["log_dphi_counts"].values, r.log_dphi_hist[0])
        assert at["log_dphi_counts"].sum() == r.n * r.time  # one sample per unit t_ons = 1
    x = ds["i_over_n"].sel(N=5).values  # was "rank", which shadowed Dataset.rank
    assert np.allclose(x[:5], (np.arange(5) + 0.5) / 5) and np.isnan(x[5:]).all()
    assert "rank" not in ds.variables
    assert ds["ks_entropy_per_n"].attrs["long_name"] == "H / N"
    assert json.loads(ds.attrs["config"]) == {"model": "continuous"}
    assert ds.attrs["code_version"] and ds.attrs["version_numpy"]


def test_swept_input_tau_stays_a_dimension(tmp_path):
    rs = [
        run_point({"n": 4, "g": 2.0, "input_std": 0.5, "input_tau": tau, "t_sim": 4.0})
        for tau in (0.5, 2.0)
    ]
    write_zarr_atomic(shard_dataset(rs), tmp_path / "s.zarr")
    ds = gather([tmp_path / "s.zarr"], tmp_path / "out.zarr")
    assert ds["exponents"].dims == ("g", "N", "input_std", "input_tau", "seed", "i")


def test_gather_rejects_duplicates_and_holes(results, shards, tmp_path):
    with pytest.raises(StoreError, match="appears twice"):
        gather([shards[0], shards[0], shards[1]], tmp_path / "dup.zarr")
    with pytest.raises(StoreError, match="do not fill"):
        gather([shards[1]], tmp_path / "hole.zarr")
    assert not (tmp_path / "dup.zarr").exists() and not (tmp_path / "hole.zarr").exists()


def test_atomic_write_replaces_and_never_leaves_half_a_store(results, tmp_path, monkeypatch):
    ds = point_dataset(results[(2.0, 5, 0)])
    path = tmp_path / "p.zarr"
    write_zarr_atomic(ds, path)
    write_zarr_atomic(ds.assign(lambda_max=ds["lambda_max"] + 1), path)
    assert xr.open_zarr(path)["lambda_max"].item() == ds["lambda_max"].item() + 1

    def crash(self, store, **kw):
        Path(store).mkdir()
        (Path(store) / "zarr.json").write_text("{")  # a partial write, then the kill
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_zarr", crash)
    with pytest.raises(KeyboardInterrupt):
        write_zarr_atomic(ds, tmp_path / "new.zarr")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.zarr"]


def test_open_store_explains_what_is_wrong(gathered, shards, tmp_path):
    assert open_store(gathered)["exponents"].chunks  # lazy (dask-backed)
    cases = {}
    cases["no such store"] = tmp_path / "missing.zarr"
    foreign = tmp_path / "foreign.zarr"
    xr.Dataset({"x": ("a", [1.0])}).to_zarr(foreign, zarr_format=3, consolidated=False)
    cases["not a lyapunov-sweep spectra store"] = foreign
    garbage = shutil.copytree(gathered, tmp_path / "garbage.zarr")
    (garbage / "zarr.json").write_text("{ not json")
    (garbage / "zarr.json").with_name("zarr.json").touch()
    cases["not a readable zarr store"] = garbage
    lost = shutil.copytree(gathered, tmp_path / "lost.zarr")
    for chunk in (lost / "lambda_max" / "c").rglob("*"):
        if chunk.is_file():
            chunk.unlink()
    cases["lambda_max missing"] = lost
    for why, path in cases.items():
        with pytest.raises(StoreError) as err:
            open_store(path)
        assert str(path) in str(err.value) and why in str(err.value), str(err.value)
    with pytest.raises(StoreError, match="not a lyapunov-sweep spectra store"):
        open_store(shards[0])
    assert open_store(shards[0], kind="shard").sizes["point"] == 3


def test_point_records_what_the_run_chose():
    """A target-stopped m = auto run: the store says how long it ran, why it stopped, its m."""
    r = run_point(
        dict(n=40, g=4.0, m="auto", t_sim=100.0, t_transient=50.0, target_rel_stderr=0.5),
        blas_threads=1,
    )
    ds = point_dataset(r)
    assert ds["stopped_by"].item() == r.stopped_by != ""
    assert ds["accumulated_time"].item() == r.time
    assert ds["n_exponents"].item() == r.m == r.exponents.size
    assert ds["accumulated_time"].attrs["units"] == "tau"
