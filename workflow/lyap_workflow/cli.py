"""The ``lyap`` command: ``spectrum`` from :mod:`lyap_core.cli`, plus the sweep commands.

``lyap spectrum ...``  one Lyapunov spectrum (``--out run.zarr`` writes a store)
``lyap check STORE``   list the points of a sweep store that fail the quality checks

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
    return p


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


COMMANDS = {"check": cmd_check}


def main(argv: Sequence[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    if a.command == "spectrum":
        return core_cli.cmd_spectrum(a, write_zarr)
    return COMMANDS[a.command](a)


if __name__ == "__main__":
    raise SystemExit(main())
