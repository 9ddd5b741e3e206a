"""Realisation statistics of store variables: :func:`lyap_core.analysis.realisation_stats`
applied along the ``seed`` dimension of a gathered Dataset, and the per-grid-point
variance split over its ``seed`` and ``trajectory`` dimensions
(:func:`lyap_core.analysis.variance_components`).

Every figure and every claim averages over seeds through :func:`seed_stats`, so all of
them use the one estimator documented there (chaotic-only and all-realisation means,
errors combining the spread over seeds with the time-block errors, counts, fraction).
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import xarray as xr

from lyap_core.analysis import RealisationStats, realisation_stats, variance_components

# The per-point standard error that goes with each measure of the store.
_STDERR = {
    "lambda_max": lambda ds: ds["lambda_max_stderr"],
    "kaplan_yorke_dimension": lambda ds: ds["kaplan_yorke_dimension_stderr"],
    "kaplan_yorke_per_n": lambda ds: ds["kaplan_yorke_dimension_stderr"] / ds["N"],
    "ks_entropy": lambda ds: ds["ks_entropy_stderr"],
    "ks_entropy_per_n": lambda ds: ds["ks_entropy_stderr"] / ds["N"],
    "exponents": lambda ds: ds["exponents_stderr"],
}
STAT_FIELDS = tuple(f.name for f in fields(RealisationStats))
VARIANCE_MEASURES = ("lambda_max", "kaplan_yorke_per_n", "ks_entropy_per_n")
VARIANCE_COMPONENTS = ("time", "initial_condition", "network", "realisation")
REALISATION_DIMS = ("seed", "trajectory")  # the runs at one grid point


def seed_stats(x: xr.DataArray, stderr: xr.DataArray | None, chaotic: xr.DataArray) -> xr.Dataset:
    """:func:`~lyap_core.analysis.realisation_stats` of ``x`` over its ``seed`` dimension.

    Parameters
    ----------
    x : DataArray with a ``seed`` dimension
        Any per-point quantity (scalar measure, spectrum, binned deviation ...).
    stderr : DataArray broadcastable to ``x``, optional
        Its time-block standard errors.
    chaotic : DataArray of bool
        The points' ``chaotic`` flags (dimensions a subset of ``x``'s).

    Returns
    -------
    Dataset with the fields of :class:`~lyap_core.analysis.RealisationStats` (``mean``,
    ``se``, ``n_chaotic``, ``mean_all``, ``se_all``, ``n_all``, ``fraction_chaotic``,
    ``fraction_chaotic_se``) over the other dimensions of ``x``.
    """
    other = [d for d in x.dims if d != "seed"]
    x = x.transpose("seed", *other)
    c = chaotic.astype(bool).broadcast_like(x).transpose("seed", *other)
    e = None if stderr is None else stderr.broadcast_like(x).transpose("seed", *other).values
    s = realisation_stats(x.values, e, c.values)
    coords = {k: v for k, v in x.coords.items() if "seed" not in v.dims and k != "seed"}
    data = {f: (other, np.asarray(getattr(s, f), dtype=float)) for f in STAT_FIELDS}
    return xr.Dataset(data, coords=coords)


def measure_stats(ds: xr.Dataset, name: str) -> xr.Dataset:
    """:func:`seed_stats` of a store measure with its own standard error (if it has one)."""
    se = _STDERR[name](ds) if name in _STDERR else None
    return seed_stats(ds[name], se, ds["chaotic"])


def one_run_per_network(ds: xr.Dataset) -> xr.Dataset:
    """The store as figures and claims read it: one run (the first trajectory) per network.

    Runs on one network are not independent realisations, and :func:`seed_stats`
    (like :func:`~lyap_core.analysis.realisation_stats`) treats its rows as independent;
    so means over realisations use trajectory 0, the seed's own run, of every network
    (``trajectory`` becomes a scalar coordinate), and the other trajectories enter
    through the variance split (``<measure>_variance``, no trajectory dimension: kept).
    """
    return ds.isel(trajectory=0) if "trajectory" in ds.dims else ds


def variance_split(ds: xr.Dataset) -> xr.Dataset:
    """Per grid point, the variance of one run of each of :data:`VARIANCE_MEASURES` by source.

    :func:`~lyap_core.analysis.variance_components` over the store's runs (``seed`` =
    network, ``trajectory`` = initial condition on it) at each (g, N, input_std,
    input_tau), computed from the store's own values and time-block errors (no
    recompute). Only chaotic runs enter: a fixed point or limit cycle has lambda_max
    <= 0 by a different mechanism, not by noise, and would count as variance (the
    fraction of chaotic runs is :func:`seed_stats`'s ``fraction_chaotic``). Points not
    computed yet (NaN) drop out.

    Returns
    -------
    Dataset with ``<measure>_variance`` (dims: the grid dims but seed and trajectory,
    then ``variance_component`` = :data:`VARIANCE_COMPONENTS`) and its normal-theory
    standard error ``<measure>_variance_se``, the counts
    ``variance_runs`` and ``variance_networks`` (of lambda_max), and
    ``variance_mixed_networks``: networks with chaotic and non-chaotic trajectories
    (there the initial condition, not J, decides the kind of attractor).
    """
    other = [d for d in ds["lambda_max"].dims if d not in REALISATION_DIMS]
    order = [*REALISATION_DIMS, *other]
    chaotic = ds["chaotic"].astype(bool).transpose(*order).values
    out = {}
    for name in VARIANCE_MEASURES:
        x = ds[name].transpose(*order)
        e = _STDERR[name](ds).broadcast_like(x).transpose(*order)
        vc = variance_components(x.values, e.values, chaotic)
        parts = [getattr(vc, c) for c in VARIANCE_COMPONENTS]
        out[f"{name}_variance"] = ((*other, "variance_component"), np.stack(parts, axis=-1))
        out[f"{name}_variance_se"] = ((*other, "variance_component"), vc.se)
        if name == "lambda_max":
            out["variance_runs"] = (other, vc.n_runs.astype(np.int64))
            out["variance_networks"] = (other, vc.n_networks.astype(np.int64))
    done = np.isfinite(ds["lambda_max"].transpose(*order).values)
    kinds = [np.any(done & chaotic, axis=1), np.any(done & ~chaotic, axis=1)]
    out["variance_mixed_networks"] = (other, np.sum(kinds[0] & kinds[1], axis=0))
    coords = {d: ds[d].values for d in other}
    coords["variance_component"] = np.array(VARIANCE_COMPONENTS, dtype=object)
    return xr.Dataset(out, coords=coords)
