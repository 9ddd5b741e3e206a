"""Gathering a sweep's store from the point cache: partial, live, incremental.

The gathered store ``<results>/<sweep>/spectra.zarr`` always has every grid dimension
(``g, N, input_std, input_tau, seed, trajectory``, none squeezed away) and a per-point ``status``:
``ok``, ``failed: <reason>`` (the point's last failure) or ``missing`` (not computed
yet). Points that are not ``ok`` hold NaN (False for booleans; their planned
parameters in ``params``), so figures, the report and ``lyap check`` work
mid-campaign. Per (g, N, input_std, input_tau) it carries the variance split of one
run of lambda_max, D/N and H/N into time averaging, initial condition and network
(:func:`lyap_workflow.ensemble.variance_split`, recomputed from the store's values at
every gather). Each point also records its cache key (``point_key``) and the
``code_version`` and ``numerics_version`` it was computed with; a store of another
numerics version is never updated, it is rebuilt.

Incremental: the previous gather's store is kept in ``<sweep>/.gather/spectra.zarr``
(Snakemake deletes a job's outputs before it runs) and only points whose key or status
changed are read from the cache. One process writes, and it rewrites the whole store
atomically, so no chunk is ever shared between writers.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from lyap_core.io import atomic_file, canonical_json, provenance
from lyap_core.version import NUMERICS_VERSION

from . import store
from .cache import Cache
from .ensemble import variance_split
from .store import GRID_DIMS, StoreError

Log = Callable[[str], None]
POINT_VARS = ("status", "point_key", "numerics_version", "code_version")
_FILL = {"f": np.nan, "b": False, "i": -1, "u": 0}


def summary_line(total: int, computed: int, reused: int, failed: int) -> str:
    """The one line every sweep ends with."""
    return f"points: {total} total, {computed} computed, {reused} reused, {failed} failed"


def _desired_status(cache: Cache, key: str) -> str:
    if cache.has(key):
        return "ok"
    rec = cache.failure(key)
    return f"failed: {rec.get('reason', 'unknown')}" if rec else "missing"


def _previous(work: Path, grid: Mapping[str, list], log: Log) -> xr.Dataset | None:
    """The last gather's store, if it can be updated in place (same grid and versions)."""
    if not work.exists():
        return None
    try:
        ds = xr.open_zarr(work, consolidated=False).load().drop_encoding()
    except Exception as exc:  # damaged: rebuild
        log(f"previous store {work} unreadable ({type(exc).__name__}); rebuilding")
        return None
    if ds.attrs.get("numerics_version") != NUMERICS_VERSION:
        log(
            f"previous store has numerics version {ds.attrs.get('numerics_version')!r}, "
            f"this is {NUMERICS_VERSION!r}: rebuilding (no store mixes versions)"
        )
        return None
    if ds.attrs.get("lyap_store_version") != store.FORMAT_VERSION:
        return None
    if any(list(ds[d].values) != list(grid[d]) for d in GRID_DIMS):
        return None
    return ds


def _extra_coords(parts: Sequence[xr.Dataset], base: xr.Dataset | None) -> dict[str, np.ndarray]:
    """Coordinates of the non-grid dimensions: the longest of each (others must be prefixes)."""
    out: dict[str, np.ndarray] = {}
    sources = ([base] if base is not None else []) + list(parts)
    for ds in sources:
        for d, size in ds.sizes.items():
            if d in GRID_DIMS:
                continue
            c = ds[d].values if d in ds.coords else np.arange(size)
            have = out.get(d)
            if have is None or c.size > have.size:
                if have is not None and not np.array_equal(c[: have.size], have):
                    raise StoreError(f"dimension {d}: points disagree on its coordinate")
                out[d] = c
            elif not np.array_equal(have[: c.size], c):
                raise StoreError(f"dimension {d}: points disagree on its coordinate")
    return out


def _load(cache: Cache, key: str) -> tuple[xr.Dataset, dict[str, Any]]:
    result, meta = cache.load(key)
    return store.point_dataset(result), meta


def _template(part: xr.Dataset) -> dict[str, tuple[tuple[str, ...], np.dtype]]:
    """Per-point variables: their non-grid dimensions and dtype (from a point or a store).

    A store's per-grid-point summaries (the variance split: no seed or trajectory) are
    not per-point variables; they are recomputed.
    """
    at_point = set(GRID_DIMS) if set(GRID_DIMS) & set(part.dims) else set()
    return {
        n: (tuple(d for d in v.dims if d not in GRID_DIMS), v.dtype)
        for n, v in part.data_vars.items()
        if n not in POINT_VARS and at_point <= set(v.dims)
    }


def gather_sweep(
    record: Mapping[str, Any],
    cache: Cache,
    out: str | Path,
    *,
    computed: Sequence[str] = (),
    publish: bool = True,
    log: Log = print,
) -> dict[str, Any]:
    """Write the sweep's gridded store ``out`` from the cache; return its summary.

    The store is first written to the working copy ``<out's dir>/.gather/<name>`` (the
    next gather's starting point); ``publish=False`` leaves the copy to ``out`` to the
    caller (Snakemake's rule ``store``: :func:`store.copy_store_atomic`).

    Parameters
    ----------
    record : mapping
        The sweep's plan record (:meth:`lyap_workflow.sweep.SweepPlan.record`).
    computed : keys
        Points computed by this run (for the summary line; the others are reused).

    Raises
    ------
    StoreError
        If no point of the sweep has been computed yet, naming the failures.
    """
    out = Path(out)
    work = out.parent / ".gather" / out.name
    grid = record["grid"]
    shape = tuple(len(grid[d]) for d in GRID_DIMS)
    index = {d: {v: j for j, v in enumerate(grid[d])} for d in GRID_DIMS}
    points = record["points"]
    pos = [tuple(index[d][c] for d, c in zip(GRID_DIMS, p["coords"], strict=True)) for p in points]
    status = [_desired_status(cache, p["key"]) for p in points]
    ok = [j for j, s in enumerate(status) if s == "ok"]
    if not ok:
        failed = [f"{points[j]['label']}: {status[j]}" for j in range(len(points))][:5]
        raise StoreError(f"{out}: no point of the sweep is computed yet ({'; '.join(failed)})")

    prev = _previous(work, grid, log)
    if prev is not None:
        old_key = prev["point_key"].values
        old_status = prev["status"].values
        todo = [
            j
            for j, p in enumerate(points)
            if (old_key[pos[j]], old_status[pos[j]]) != (p["key"], status[j])
        ]
    else:
        todo = list(range(len(points)))
    loaded = {j: _load(cache, points[j]["key"]) for j in todo if status[j] == "ok"}
    if prev is None and not loaded:
        loaded = {ok[0]: _load(cache, points[ok[0]]["key"])}
    parts = [ds for ds, _ in loaded.values()]
    extra = _extra_coords(parts, prev)
    if prev is not None and any(prev.sizes[d] != extra[d].size for d in extra if d in prev.dims):
        log("a new point has a longer exponent or history axis: rebuilding the store")
        prev, todo = None, list(range(len(points)))
        loaded = {j: _load(cache, points[j]["key"]) for j in ok}
        parts = [ds for ds, _ in loaded.values()]
        extra = _extra_coords(parts, None)
    tmpl = _template(parts[0] if parts else prev)

    data: dict[str, np.ndarray] = {}
    for name, (dims, dtype) in tmpl.items():
        if prev is not None and name in prev:
            data[name] = np.array(prev[name].values)
        else:
            full = shape + tuple(extra[d].size for d in dims)
            fill = _FILL.get(dtype.kind, "")
            data[name] = np.full(full, fill, dtype=object if dtype.kind == "O" else dtype)
    for name in POINT_VARS:
        data[name] = np.array(prev[name].values) if prev is not None else np.full(shape, "", object)

    for j in todo:
        at = pos[j]
        if j in loaded:
            ds, meta = loaded[j]
            for name, (_, dtype) in tmpl.items():
                v = ds[name].values
                if v.ndim == 0:
                    data[name][at] = v.item()
                    continue
                data[name][at] = _FILL.get(dtype.kind, "")  # padding beyond its m or history
                data[name][at + tuple(slice(0, s) for s in v.shape)] = v
            data["code_version"][at] = meta.get("code_version", "unknown")
            data["numerics_version"][at] = meta.get("numerics_version", NUMERICS_VERSION)
        else:
            for name, (_, dtype) in tmpl.items():
                data[name][at] = _FILL.get(dtype.kind, "")
            data["params"][at] = canonical_json(points[j]["params"])
            data["code_version"][at] = ""
            data["numerics_version"][at] = ""
        data["status"][at] = status[j]
        data["point_key"][at] = points[j]["key"]

    dims_of = {n: GRID_DIMS + tuple(d) for n, (d, _) in tmpl.items()}
    dims_of |= dict.fromkeys(POINT_VARS, GRID_DIMS)
    coords: dict[str, Any] = {d: np.asarray(grid[d]) for d in GRID_DIMS}
    coords |= extra
    i, n = np.asarray(extra["i"]), np.asarray(grid["N"])
    coords["i_over_n"] = (
        ("N", "i"),
        np.where(i[None, :] <= n[:, None], (i[None, :] - 0.5) / n[:, None], np.nan),
    )
    ds = xr.Dataset({k: (dims_of[k], v) for k, v in data.items()}, coords=coords)
    order = [v for v in store.ATTRS if v in ds.data_vars] + [
        v for v in ds.data_vars if v not in store.ATTRS
    ]
    ds = ds[order].merge(variance_split(ds))

    # -- summary ------------------------------------------------------------------------
    n_failed = sum(s.startswith("failed") for s in status)
    n_missing = sum(s == "missing" for s in status)
    done = set(computed)
    k = sum(1 for j in ok if points[j]["key"] in done)
    line = summary_line(len(points), k, len(ok) - k, n_failed)
    est = np.array([points[j]["estimate"] or math.nan for j in ok])
    meas = np.array([data["wall_time"][pos[j]] for j in ok])
    good = np.isfinite(est) & np.isfinite(meas) & (est > 0)
    ratio = statistics.median((meas[good] / est[good]).tolist()) if good.any() else math.nan
    cost = (
        f"cost model: {est[good].sum():.1f} s estimated, {meas[good].sum():.1f} s measured over "
        f"{int(good.sum())} points (median measured/estimate {ratio:.2f})"
    )
    summary = {
        "sweep": record["sweep"],
        "summary": line,
        "total": len(points),
        "computed": k,
        "reused": len(ok) - k,
        "failed": n_failed,
        "missing": n_missing,
        "failures": [
            {"point": points[j]["label"], "key": points[j]["key"], "status": status[j]}
            for j in range(len(points))
            if status[j].startswith("failed")
        ],
        "cost_model": cost,
        "estimated_seconds": float(est[good].sum()),
        "measured_seconds": float(meas[good].sum()),
        "median_ratio": ratio,
        "updated_points": len(todo),
    }
    ds.attrs = {
        "lyap_store": "spectra",
        "lyap_store_version": store.FORMAT_VERSION,
        "sweep": record["sweep"],
        "time_unit": record["time_unit"],
        "config": canonical_json(record.get("config", {})),
        "numerics_version": NUMERICS_VERSION,
        "points": line,
        "points_missing": n_missing,
        "cost_model": cost,
        **provenance(),
    }
    ds = store._annotate(ds)
    store.write_zarr_atomic(ds, work)
    if publish:
        store.copy_store_atomic(work, out)
    log(f"gathered {out}: {len(todo)} of {len(points)} point(s) updated from the cache")
    log(cost)
    for f in summary["failures"]:
        log(f"FAILED {f['point']}: {f['status']}")
    if n_missing:
        log(f"{n_missing} point(s) not computed yet (status 'missing')")
    log(line)
    return summary


def write_summary(summary: Mapping[str, Any], path: str | Path) -> None:
    with atomic_file(path, "w") as fh:
        fh.write(json.dumps(summary, indent=1, default=str) + "\n")
