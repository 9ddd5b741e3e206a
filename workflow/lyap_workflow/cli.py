"""The ``lyap`` command: ``spectrum`` from :mod:`lyap_core.cli`, plus the sweep commands.

``lyap spectrum ...``  one Lyapunov spectrum (``--out run.zarr`` writes a store)
``lyap check STORE``   list the points of a sweep store that fail the quality checks
``lyap sweep CONFIG``  run a config's sweeps without Snakemake (same cache and stores)
``lyap status [DIR]``  per sweep: points done / total / failed and an ETA
``lyap export STORE``  the per-point table as CSV (``--csv``) and netCDF4 (``--netcdf``)

Bad arguments exit with status 2 and one line naming the argument and the allowed
range, before any compute. The pipeline stack (xarray, zarr) is imported only by the
commands that need it, so ``lyap spectrum --json`` starts as fast as the core.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from lyap_core import cli as core_cli
from lyap_core.result import SpectrumResult

PROG = core_cli.PROG


def build_parser() -> argparse.ArgumentParser:
    p, sub = core_cli.top_parser()
    core_cli.add_spectrum(sub)
    c = sub.add_parser("check", help="list points of a sweep store failing quality checks")
    c.add_argument("store", help="path to a spectra.zarr store")
    c.add_argument("--json", action="store_true", help="JSON list on stdout")
    w = sub.add_parser("sweep", help="run a config's sweeps without Snakemake (one dask cluster)")
    w.add_argument("config", help="config YAML (schema: workflow/schemas/config.schema.yaml)")
    w.add_argument("--sweep", action="append", metavar="NAME", help="only this sweep (repeatable)")
    w.add_argument("--results", default="results", metavar="DIR", help="results directory")
    w.add_argument("--scheduler", metavar="ADDRESS", help="a running dask scheduler (tcp://...)")
    w.add_argument("--workers", type=_positive, metavar="K", help="LocalCluster workers")
    t = sub.add_parser("status", help="per sweep: points done / total / failed and an ETA")
    t.add_argument("results", nargs="?", default="results", help="results directory")
    e = sub.add_parser("export", help="a sweep store's per-point table as CSV and/or netCDF4")
    e.add_argument("store", help="path to a spectra.zarr store")
    e.add_argument("--csv", metavar="PATH", help="write the table as CSV")
    e.add_argument("--netcdf", metavar="PATH", help="write the table as netCDF4 (HDF5)")
    return p


def _positive(text: str) -> int:
    try:
        k = int(text)
    except ValueError:
        k = 0
    if k < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return k


def _fail(err: BaseException, status: int = 2) -> int:
    sys.stderr.write(f"{PROG}: error: {err}\n")
    return status


def write_zarr(result: SpectrumResult, path: str) -> None:
    """``--out``: one point as a zarr store (the layout of :func:`store.point_dataset`)."""
    from .store import point_dataset, write_zarr_atomic

    write_zarr_atomic(point_dataset(result), path)


def cmd_check(a: argparse.Namespace) -> int:
    from .quality import check_store
    from .store import StoreError

    try:
        failures = check_store(a.store)
    except StoreError as err:
        sys.stderr.write(f"{PROG}: error: {err}\n")
        return 2
    if a.json:
        sys.stdout.write(json.dumps(failures) + "\n")
    else:
        for f in failures:
            sys.stdout.write(f"{f['point']}: {'; '.join(f['reasons'])}\n")
        sys.stdout.write(f"{len(failures)} point(s) fail the quality checks\n")
    return 1 if failures else 0


def cmd_sweep(a: argparse.Namespace) -> int:
    from .campaign import run_campaign
    from .config import ConfigError
    from .execute import ExecutionError
    from .store import StoreError

    try:
        summaries = run_campaign(
            a.config, sweeps=a.sweep, results=a.results, scheduler=a.scheduler, workers=a.workers
        )
    except ConfigError as err:
        return _fail(err.line)
    except (ExecutionError, StoreError, OSError) as err:
        return _fail(err, 1)
    failed = [
        f"{s['sweep']}: {f['point']}: {f['status']}" for s in summaries for f in s["failures"]
    ]
    for s in summaries:
        sys.stdout.write(f"sweep {s['sweep']}: {s['summary']}\n")
    if failed:
        sys.stderr.write(f"{PROG}: {len(failed)} point(s) failed:\n  " + "\n  ".join(failed) + "\n")
        return 1
    return 0


def cmd_status(a: argparse.Namespace) -> int:
    from .status import format_status, results_status

    found = results_status(a.results)
    if not found:
        return _fail(f"{a.results}: no sweep (no */plan.json) under this directory")
    for s in found:
        sys.stdout.write(format_status(s) + "\n")
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    from .export import export
    from .store import StoreError

    if not (a.csv or a.netcdf):
        return _fail("export: give --csv PATH and/or --netcdf PATH")
    try:
        table = export(a.store, a.csv, a.netcdf)
    except StoreError as err:
        return _fail(err)
    sys.stdout.write(f"{len(table)} points x {table.shape[1]} columns\n")
    return 0


COMMANDS = {"check": cmd_check, "sweep": cmd_sweep, "status": cmd_status, "export": cmd_export}


def main(argv: Sequence[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    if a.command == "spectrum":
        return core_cli.cmd_spectrum(a, write_zarr)
    return COMMANDS[a.command](a)


if __name__ == "__main__":
    raise SystemExit(main())
