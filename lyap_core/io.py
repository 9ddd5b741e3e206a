"""The one I/O helper module: JSON-ready values, fingerprints, atomic writes, provenance.

Everything that leaves a run — checkpoints, the CLI's JSON, stores written by the
workflow package — goes through these functions, so that NaN handling, hashing and
crash safety are defined once.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import json
import math
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import numpy as np

PACKAGES = ("lyapunov-sweep", "lyap-workflow", "numpy", "scipy", "xarray", "zarr", "dask")


def jsonable(v: Any) -> Any:
    """``v`` with arrays as lists, numpy scalars as Python scalars and non-finite floats as None."""
    if isinstance(v, np.ndarray):
        return [jsonable(x) for x in v.tolist()]
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def canonical_json(obj: Any) -> str:
    """Key-sorted JSON text of ``obj`` (non-JSON values by ``str``): the input of fingerprints."""
    return json.dumps(obj, sort_keys=True, default=str)


def fingerprint(obj: Any, length: int = 16) -> str:
    """SHA-256 hex digest (first ``length`` characters) of :func:`canonical_json` of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:length]


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path``; on success fsync it and rename it over ``path``.

    A kill at any moment leaves either the old file or the complete new one, never a
    partial file; on an exception the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@functools.cache
def code_version() -> str:
    """git commit of the checkout holding this package (``+dirty`` if modified), or 'unknown'."""
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "lyap_core"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@functools.cache
def package_versions() -> dict[str, str]:
    """Installed versions of the packages that can change a result (metadata only: no imports)."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance() -> dict[str, str]:
    """Versions, git commit, Python and platform, and the UTC date."""
    return {
        **{f"version_{k}": v for k, v in package_versions().items()},
        "code_version": code_version(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
