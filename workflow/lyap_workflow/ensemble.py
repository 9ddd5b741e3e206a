"""Realisation statistics of store variables: :func:`lyap_core.analysis.realisation_stats`
applied along the ``seed`` dimension of a gathered Dataset.

Every figure and every claim averages over seeds through :func:`seed_stats`, so all of
them use the one estimator documented there (chaotic-only and all-realisation means,
errors combining the spread over seeds with the time-block errors, counts, fraction).
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import xarray as xr

from lyap_core.analysis import RealisationStats, realisation_stats

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
