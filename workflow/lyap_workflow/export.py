"""``lyap export STORE``: a tidy per-point table (one row per grid point) as CSV and netCDF4.

Columns: the grid coordinates (g, N, input_std, input_tau, seed), ``status``, every
per-point scalar of the store (lambda_max and its stderr, D_KY, H, ..., wall_time),
and ``params`` (the point's full parameters, JSON). Spectra (dimension ``i``) and
running estimates stay in the zarr store; ``--spectra`` adds the exponents as a long
table (one row per point and exponent index, NaN padding dropped).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr

from .store import GRID_DIMS, open_store


def point_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per grid point: coordinates, status and every per-point scalar variable."""
    names = [n for n, v in ds.data_vars.items() if set(v.dims) == set(GRID_DIMS)]
    return ds[names].to_dataframe().reset_index()


def spectra_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per point and exponent: coordinates, ``i``, ``exponents``, ``exponents_stderr``."""
    df = ds[["exponents", "exponents_stderr"]].to_dataframe().reset_index()
    return df.dropna(subset=["exponents"])[[*GRID_DIMS, "i", "exponents", "exponents_stderr"]]


def export(store: str | Path, csv: str | Path | None, netcdf: str | Path | None) -> pd.DataFrame:
    """Write the point table of a gathered store to CSV and/or netCDF4; return it."""
    ds = open_store(store).load()
    table = point_table(ds)
    if csv is not None:
        table.to_csv(csv, index=False)
    if netcdf is not None:
        out = xr.Dataset.from_dataframe(table.set_index(list(GRID_DIMS)))
        for name in out.data_vars:
            if out[name].dtype == object:
                out[name] = out[name].astype(str)
        out.attrs = {k: str(v) for k, v in ds.attrs.items()}
        out.to_netcdf(netcdf, engine="h5netcdf", format="NETCDF4", invalid_netcdf=False)
    return table
