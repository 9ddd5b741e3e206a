"""Tiny gathered stores for figure and claim tests (seconds to build)."""

from __future__ import annotations

import warnings
from pathlib import Path

from lyap_workflow.store import gather, open_store, shard_dataset, write_zarr_atomic
from threadpoolctl import threadpool_limits

from lyap_core import run_point


def build_store(tmp: Path, name: str, points: list[dict]) -> object:
    """Run the points, write one shard and gather it into ``tmp/<name>/spectra.zarr``."""
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        results = [run_point(p) for p in points]
    shard = tmp / f"{name}_shard.zarr"
    write_zarr_atomic(shard_dataset(results), shard)
    out = tmp / name / "spectra.zarr"
    gather([shard], out, sweep=name, config={})
    return open_store(out).compute()


def discrete_points() -> list[dict]:
    """N = 12, 24; g = 2, 4; 3 seeds; full spectra (mostly chaotic)."""
    return [
        dict(model="discrete", n=n, g=g, seed=s, t_sim=120, t_transient=40)
        for g in (2.0, 4.0)
        for n in (12, 24)
        for s in (0, 1, 2)
    ]


def continuous_points() -> list[dict]:
    """N = 40, 80; g = 5, 8; 2 seeds; full spectra (5 of the 8 networks chaotic)."""
    return [
        dict(n=n, g=g, seed=s, t_sim=150.0, t_transient=50.0, dt=0.05 if g < 6 else 0.025)
        for g in (5.0, 8.0)
        for n in (40, 80)
        for s in (0, 1)
    ]


def input_points() -> list[dict]:
    """N = 10; g = 3, 6; sigma = 0, 1, 2; tau_in = 0.5, 1; 2 seeds (a layout, not chaos)."""
    return [
        dict(n=10, g=g, seed=s, t_sim=20.0, t_transient=10.0, input_std=sig, input_tau=tau)
        for g in (3.0, 6.0)
        for sig in (0.0, 1.0, 2.0)
        for tau in (0.5, 1.0)
        for s in (0, 1)
    ]
