"""The labelled store of a sweep: xarray Datasets written atomically to zarr.

Layout of a gathered store (``results/<sweep>/spectra.zarr``):

* grid dimensions ``g, N, input_std, input_tau, seed, trajectory``, each ascending
  (``trajectory``: runs on the same network ``seed`` from other initial conditions,
  :func:`lyap_core.params.trajectory_seeds`; size 1, ``[0]``, unless the sweep sets
  ``grid.trajectory``; the gathered store of :mod:`lyap_workflow.assemble` squeezes
  no dimension away; :func:`gather` of shard stores squeezes ``input_tau`` and
  ``trajectory`` of size 1 to scalar coordinates);
* ``variance_component`` (time, initial_condition, network, realisation): the split of
  a single run's variance of lambda_max, D/N and H/N per (g, N, input_std, input_tau)
  (``<measure>_variance``, :func:`lyap_workflow.ensemble.variance_split`);
* ``i`` = 1..max m, the exponent index (exponents NaN beyond a point's m), with the
  2-D coordinate ``i_over_n(N, i) = (i - 1/2)/N`` (NaN for i > N; called ``rank`` in
  stores before version 2, renamed because it shadowed ``Dataset.rank``);
* ``block`` (time blocks: ``exponents_blocks``, the per-block exponents that error bars
  of derived quantities such as half-sums need) and ``log_dphi`` (bin centres of the
  histogram of ln phi' on the attractor: ``log_dphi_counts``, ``log_dphi_mean``);
* ``snapshot`` and ``history_rank`` for the running estimates (convergence);
* per point: the summary measures with standard errors, quality checks, and the full
  parameters, warnings and provenance as JSON strings;
* attributes: the sweep's resolved config and the provenance of the gather.

A shard store holds the same variables along one ``point`` dimension. Stores are
zarr format 3 with consolidated metadata (so ``xr.open_zarr(path)`` is quiet).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from lyap_core.io import canonical_json, provenance
from lyap_core.measures import kaplan_yorke_dimension, ks_entropy
from lyap_core.models import LOG_DPHI_EDGES
from lyap_core.result import SpectrumResult

from .ensemble import variance_split

# The grid dimensions of every gathered store, in order (the store layout owns them).
GRID_DIMS = ("g", "N", "input_std", "input_tau", "seed", "trajectory")

# 2: coordinate rank -> i_over_n; blocks, ln phi' histogram, PCA, PR;
# 3: dimension trajectory, variance split per grid point
FORMAT_VERSION = 4  # 4: accumulated_time, stopped_by, n_exponents per point
HISTORY_RANKS = (
    0.0,
    0.25,
    0.5,
    0.75,
    1.0,
)  # (i - 1)/(m - 1) of the exponents whose history is kept

LOG_DPHI_CENTRES = 0.5 * (LOG_DPHI_EDGES[1:] + LOG_DPHI_EDGES[:-1])

# name: (long_name, units); "{t}" is the time unit (tau or step).
ATTRS = {
    "g": ("coupling gain", "1"),
    "N": ("network size", "1"),
    "input_std": ("input standard deviation", "1"),
    "input_tau": ("input correlation time", "{t}"),
    "seed": ("network seed (and the trajectory seed of trajectory 0)", "1"),
    "trajectory": ("trajectory on the network: 0 = the seed's own, t > 0 re-seeded", "1"),
    "variance_component": ("source of a single run's variance", ""),
    "lambda_max_variance": ("variance of one run's lambda_max by source", "1/{t}^2"),
    "kaplan_yorke_per_n_variance": ("variance of one run's D_KY / N by source", "1"),
    "ks_entropy_per_n_variance": ("variance of one run's H / N by source", "(nats/{t})^2"),
    "lambda_max_variance_se": ("standard error of lambda_max_variance", "1/{t}^2"),
    "kaplan_yorke_per_n_variance_se": ("standard error of kaplan_yorke_per_n_variance", "1"),
    "ks_entropy_per_n_variance_se": ("standard error of ks_entropy_per_n_variance", "(nats/{t})^2"),
    "variance_runs": ("chaotic runs entering the variance split", "1"),
    "variance_networks": ("networks (seeds) with a chaotic run in the variance split", "1"),
    "variance_mixed_networks": ("networks with chaotic and non-chaotic trajectories", "1"),
    "i": ("exponent index (1 = largest)", "1"),
    "i_over_n": ("rank coordinate (i - 1/2)/N", "1"),
    "block": ("time block of the accumulation", "1"),
    "log_dphi": ("bin centre of ln phi'(h) (bins of lyap_core.models.LOG_DPHI_EDGES)", "1"),
    "snapshot": ("index of the running estimate", "1"),
    "history_rank": ("(i - 1)/(m - 1) of the exponent followed in history", "1"),
    "exponents": ("Lyapunov exponents, descending", "1/{t}"),
    "exponents_stderr": ("standard error of each exponent (time blocks)", "1/{t}"),
    "exponents_blocks": ("exponents from each time block alone", "1/{t}"),
    "lambda_max": ("largest Lyapunov exponent", "1/{t}"),
    "lambda_max_stderr": ("standard error of lambda_max", "1/{t}"),
    "kaplan_yorke_dimension": ("Kaplan-Yorke dimension D_KY", "1"),
    "kaplan_yorke_dimension_stderr": ("standard error of D_KY (jackknife over blocks)", "1"),
    "kaplan_yorke_per_n": ("D_KY / N", "1"),
    "ks_entropy": ("Kolmogorov-Sinai entropy rate H (sum of positive exponents)", "nats/{t}"),
    "ks_entropy_stderr": ("standard error of H (jackknife over blocks)", "nats/{t}"),
    "ks_entropy_per_n": ("H / N", "nats/{t}"),
    "sum_rule_residual": ("sum of exponents minus time-averaged divergence", "1/{t}"),
    "sum_rule_target": ("time-averaged divergence (the exact sum of the exponents)", "1/{t}"),
    "mean_dphi": ("<phi'(h)> on the attractor", "1"),
    "mean_dphi2": ("<phi'(h)^2> on the attractor", "1"),
    "log_dphi_counts": ("histogram of ln phi'(h) on the attractor (neurons x QR times)", "1"),
    "log_dphi_mean": ("mean of ln phi'(h) within each histogram bin", "1"),
    "pr_lyapunov_vector": ("participation ratio of the first Lyapunov vector (time mean)", "1"),
    "pca_dimension_h": ("PCA (participation-ratio) dimension of h on the attractor", "1"),
    "pca_dimension_rates": ("PCA (participation-ratio) dimension of phi(h)", "1"),
    "wall_time": ("wall time of the point's computation", "s"),
    "chaotic": ("lambda_max > max(3 stderr, 2e-3)", "1"),
    "converged": ("lambda_max and D_KY stable over the second half of the run", "1"),
    "max_condition_number": ("largest condition number of Q before a QR", "1"),
    "brute_force_lambda_max": ("lambda_max from two nearby trajectories (NaN: not run)", "1/{t}"),
    "history_time": ("accumulation time of the running estimate", "{t}"),
    "history": ("running estimate of the exponents at history_rank", "1/{t}"),
    "history_kaplan_yorke": ("running estimate of D_KY", "1"),
    "history_ks_entropy": ("running estimate of H", "nats/{t}"),
    "accumulated_time": (
        "accumulation time actually run (< t_sim when a target stopped it)",
        "{t}",
    ),
    "stopped_by": ("what ended the accumulation: t_sim, target, t_max or not_chaotic", ""),
    "n_exponents": ("number of exponents computed (chosen by the run when m = auto)", "1"),
    "params": ("full parameters of the point (JSON)", ""),
    "warnings": ("numerics warnings of the point (JSON list)", ""),
    "point_provenance": ("versions, code version and date of the point's run (JSON)", ""),
    "status": ("ok, failed: <reason>, or missing (not computed yet; values NaN)", ""),
    "point_key": ("cache key of the point (hash of its parameters and numerics version)", ""),
    "numerics_version": ("lyap_core.version.NUMERICS_VERSION the point was computed with", ""),
    "code_version": ("git commit of the code the point was computed with", ""),
}
# Variables that legitimately differ between two runs of the same sweep.
RUN_DEPENDENT = ("wall_time", "point_provenance")
_REQUIRED = ("exponents", "lambda_max", "kaplan_yorke_dimension", "ks_entropy", "params")


class StoreError(ValueError):
    """A store that is missing, unreadable, incomplete or not ours; names the path."""


def _json(obj: Any) -> np.ndarray:
    """A 0-d object array holding JSON text (zarr 3 variable-length string)."""
    return np.array(canonical_json(obj), dtype=object)


def _annotate(ds: xr.Dataset) -> xr.Dataset:
    t = ds.attrs["time_unit"]
    for name, var in ds.variables.items():
        if name in ATTRS:
            long_name, units = ATTRS[name]
            var.attrs.update(long_name=long_name, units=units.format(t=t))
    return ds


def _log_dphi_histogram(result: SpectrumResult) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin means of ln phi' (NaN where a bin is empty or nothing was recorded)."""
    hist = result.log_dphi_hist
    if hist is None:
        return np.zeros(LOG_DPHI_CENTRES.size), np.full(LOG_DPHI_CENTRES.size, np.nan)
    counts, sums = np.asarray(hist, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts, np.where(counts > 0, sums / counts, np.nan)


def point_dataset(result: SpectrumResult, trajectory: int = 0) -> xr.Dataset:
    """A rate-network point (a ``run_point`` result) as a Dataset.

    Dimensions ``i`` and ``snapshot`` (and ``history_rank``); the grid values g, N,
    input_std, input_tau and seed (from ``result.params``) and ``trajectory`` (not a
    parameter: its seeds are) as scalar coordinates.
    """
    p, m, n = result.params, result.m, result.n
    hist = np.asarray(result.history, dtype=np.float64).reshape(-1, m)
    complete = m == n
    followed = [round(q * (m - 1)) for q in HISTORY_RANKS]
    counts, log_mean = _log_dphi_histogram(result)
    scalars = {
        "lambda_max": result.lambda_max,
        "lambda_max_stderr": result.lambda_max_stderr,
        "kaplan_yorke_dimension": result.kaplan_yorke_dimension,
        "kaplan_yorke_dimension_stderr": result.kaplan_yorke_dimension_stderr,
        "kaplan_yorke_per_n": result.kaplan_yorke_per_n,
        "ks_entropy": result.ks_entropy,
        "ks_entropy_stderr": result.ks_entropy_stderr,
        "ks_entropy_per_n": result.ks_entropy_per_n,
        "sum_rule_residual": result.sum_rule_residual,
        "sum_rule_target": result.sum_rule_target,
        "accumulated_time": result.time,
        "mean_dphi": result.diagnostics.get("mean_dphi", math.nan),
        "mean_dphi2": result.diagnostics.get("mean_dphi2", math.nan),
        "pr_lyapunov_vector": result.pr_lyapunov_vector,
        "pca_dimension_h": result.pca_dimension_h,
        "pca_dimension_rates": result.pca_dimension_rates,
        "wall_time": result.wall_time.get("total", math.nan),
        "max_condition_number": result.max_condition_number,
        "brute_force_lambda_max": result.brute_force_lambda_max,
    }
    data = {k: ((), np.float64(v)) for k, v in scalars.items()}
    data |= {
        "chaotic": ((), np.bool_(result.chaotic)),
        "n_exponents": ((), np.int64(m)),
        "stopped_by": ((), np.array(result.stopped_by, dtype=object)),
        "converged": ((), np.bool_(result.converged)),
        "exponents": ("i", np.asarray(result.exponents, dtype=np.float64)),
        "exponents_stderr": ("i", np.asarray(result.stderr, dtype=np.float64)),
        "exponents_blocks": (("block", "i"), np.asarray(result.block_means, dtype=np.float64)),
        "log_dphi_counts": ("log_dphi", counts),
        "log_dphi_mean": ("log_dphi", log_mean),
        "history_time": ("snapshot", np.asarray(result.history_time, dtype=np.float64)),
        "history": (("snapshot", "history_rank"), hist[:, followed]),
        "history_kaplan_yorke": (
            "snapshot",
            np.array([kaplan_yorke_dimension(row, complete) for row in hist]),
        ),
        "history_ks_entropy": ("snapshot", np.array([ks_entropy(row) for row in hist])),
        "params": ((), _json(p)),
        "warnings": ((), _json(result.warnings)),
        "point_provenance": ((), _json(result.provenance)),
    }
    coords = {
        "g": float(p["g"]),
        "N": int(n),
        "input_std": float(p["input_std"]),
        "input_tau": float(p["input_tau"]),
        "seed": int(p["seed"]),
        "trajectory": int(trajectory),
        "i": np.arange(1, m + 1),
        "snapshot": np.arange(hist.shape[0]),
        "history_rank": np.array(HISTORY_RANKS),
        "block": np.arange(np.asarray(result.block_means).shape[0]),
        "log_dphi": LOG_DPHI_CENTRES,
    }
    attrs = {"time_unit": "tau" if result.continuous else "step"}
    return _annotate(xr.Dataset(data, coords=coords, attrs=attrs))


def _concat_points(parts: list[xr.Dataset]) -> xr.Dataset:
    """Concatenate along ``point``, first padding ``i`` and ``snapshot`` with NaN.

    Padding first matters: combining ragged spectra directly would concatenate along
    ``i`` too and broadcast every other variable over it.
    """
    pad = {
        "i": np.arange(1, max(p.sizes["i"] for p in parts) + 1),
        "snapshot": np.arange(max(p.sizes["snapshot"] for p in parts)),
        "block": np.arange(max(p.sizes["block"] for p in parts)),
    }
    padded = [p.reindex(pad) for p in parts]
    if "point" not in parts[0].dims:
        padded = [p.expand_dims("point") for p in padded]
        padded = [p.set_coords(list(GRID_DIMS)) for p in padded]
    ds = xr.concat(
        padded, dim="point", data_vars="all", coords="all", compat="equals", join="exact"
    )
    for name, var in ds.data_vars.items():
        if "point" not in var.dims:
            raise StoreError(f"combining points: variable {name} lost its point dimension")
    return ds


def shard_dataset(results: list[SpectrumResult]) -> xr.Dataset:
    """The points of one shard along a ``point`` dimension."""
    ds = _concat_points([point_dataset(r) for r in results])
    ds.attrs.update(lyap_store="shard", lyap_store_version=FORMAT_VERSION)
    return _annotate(ds)


def _encoding(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    """Chunks for reading: one (g, N) slab per chunk for the big variables, else whole."""
    enc = {}
    for name, var in ds.data_vars.items():
        big = bool({"i", "snapshot", "block", "log_dphi"} & set(var.dims))
        enc[name] = {
            "chunks": tuple(1 if big and d in ("g", "N") else s for d, s in var.sizes.items())
        }
    return enc


@contextlib.contextmanager
def staged_store(path: str | Path) -> Iterator[Path]:
    """A temporary sibling of the store ``path``, renamed over it when the block succeeds.

    A reader (or a rerun after a kill) sees either no store or a complete one; an
    existing store is replaced; on an exception the temporary copy is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        if path.exists():
            old = tmp.with_name(tmp.name.replace(".tmp-", ".old-"))
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_zarr_atomic(ds: xr.Dataset, path: str | Path) -> None:
    """Write ``ds`` to the zarr store ``path`` atomically (:func:`staged_store`)."""
    with staged_store(path) as tmp, warnings.catch_warnings():
        # Consolidated metadata is outside the zarr 3 spec; the per-array metadata is
        # written too, and the consolidated copy spares readers a fallback warning.
        warnings.filterwarnings("ignore", message="Consolidated metadata")
        ds.drop_encoding().to_zarr(
            tmp, mode="w-", zarr_format=3, consolidated=True, encoding=_encoding(ds)
        )


def copy_store_atomic(src: str | Path, dst: str | Path) -> None:
    """Copy the store ``src`` to ``dst`` atomically (:func:`staged_store`)."""
    with staged_store(dst) as tmp:
        shutil.copytree(src, tmp)


def open_store(path: str | Path, kind: str = "spectra") -> xr.Dataset:
    """Open a gathered (``kind="spectra"``) or shard store lazily, after checking it.

    Raises
    ------
    StoreError
        Naming the path, if the store is missing, unreadable, not a lyapunov-sweep
        store of that kind, or lacks variables or points.
    """
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}: no such store")
    try:
        ds = xr.open_zarr(path, consolidated=True)
    except Exception:  # zarr raises many types for damaged metadata
        try:  # not ours (no consolidated metadata), or damaged: diagnose below
            ds = xr.open_zarr(path, consolidated=False)
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"
            raise StoreError(f"{path}: not a readable zarr store ({why})") from None
    found = ds.attrs.get("lyap_store")
    if found != kind:
        raise StoreError(
            f"{path}: not a lyapunov-sweep {kind} store (attribute lyap_store = {found!r})"
        )
    missing = [v for v in _REQUIRED if v not in ds.variables]
    if missing:
        raise StoreError(f"{path}: corrupted: missing variable(s) {', '.join(missing)}")
    try:
        lam = ds["lambda_max"].values  # reads one chunk: catches damaged chunks early
    except Exception as exc:  # decompression or I/O errors of any kind
        raise StoreError(f"{path}: corrupted: cannot read lambda_max ({exc})") from None
    # A partial store (lyap_workflow.assemble) marks its NaN points with a status
    # other than "ok"; NaN at an "ok" point is damage.
    ok = ds["status"].values == "ok" if "status" in ds.variables else True
    lost = int(np.sum(~np.isfinite(lam) & ok))
    if lost:
        raise StoreError(f"{path}: corrupted or incomplete: lambda_max missing at {lost} points")
    return ds


def gather(
    shard_paths: Iterable[str | Path],
    out: str | Path,
    *,
    sweep: str = "",
    config: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Combine shard stores into the sweep's gridded store, written atomically to ``out``.

    Parameters
    ----------
    sweep : str
        The sweep's name (stored as an attribute).
    config : mapping, optional
        The sweep's resolved configuration (stored as JSON in the ``config`` attribute).

    Raises
    ------
    StoreError
        If a shard is unusable, a point appears twice, or the grid has holes.
    """
    shards = [open_store(p, kind="shard").load().drop_encoding() for p in shard_paths]
    if not shards:
        raise StoreError(f"{out}: no shards to gather")
    ds = _concat_points(shards)
    index = ds.set_index(point=list(GRID_DIMS)).indexes["point"]
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise StoreError(f"{out}: point {dict(zip(GRID_DIMS, dup, strict=True))} appears twice")
    ds = ds.set_index(point=list(GRID_DIMS)).unstack("point")
    expected = math.prod(ds.sizes[d] for d in GRID_DIMS)
    if expected != index.size:
        raise StoreError(f"{out}: {index.size} points do not fill the {expected}-point grid")
    ds = ds[[v for v in ATTRS if v in ds.data_vars]].transpose(*GRID_DIMS, ...)
    ds = ds.merge(variance_split(ds))
    for d in ("input_tau", "trajectory"):  # this shard path keeps the old squeezed shape
        if ds.sizes[d] == 1:
            ds = ds.squeeze(d)
    i, n = ds["i"].values, ds["N"].values
    x = np.where(i[None, :] <= n[:, None], (i[None, :] - 0.5) / n[:, None], np.nan)
    ds = ds.assign_coords(i_over_n=(("N", "i"), x))
    ds.attrs = {
        "lyap_store": "spectra",
        "lyap_store_version": FORMAT_VERSION,
        "sweep": sweep,
        "time_unit": shards[0].attrs["time_unit"],
        "config": canonical_json(config or {}),
        **provenance(),
    }
    ds = _annotate(ds)
    write_zarr_atomic(ds, out)
    return ds
