"""The content-addressed point cache: one file per computed point, keyed by what fixes its bits.

A point's key is a hash of everything that determines its numbers: all its
:class:`~lyap_core.params.RunParams` fields with the resolved seeds (``to_dict``), the
content of a coupling file (not its path), whether the brute-force cross-check runs,
the BLAS threads it runs with (multi-threaded GEMM changes the last bits: measured
2e-15 at N = 300) and :data:`lyap_core.version.NUMERICS_VERSION`. Shards, jobs,
cores, workers and schedulers are not in it: they only decide where a point runs.

Layout under the cache root (``results/cache`` for Snakemake, ``DIR/cache`` for
``lyap sweep --results DIR``)::

    <key[:2]>/<key>.npz           the point's SpectrumResult (arrays + a JSON header)
    <key[:2]>/<key>.failed.json   the last failure of a point not in the cache (retried)
    .checkpoints/<key>.npz        the checkpoint of a running or paused point
    .checkpoints/<key>.lock       held while a process computes the point

Writes are atomic (temporary sibling + rename), so a reader or a rerun after a kill
sees either no point or a complete one; two processes computing the same point
(an orphaned job and its rerun) serialise on the lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import hashlib
import io
import json
import os
import socket
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lyap_core.io import atomic_file, canonical_json, fingerprint
from lyap_core.params import RunParams
from lyap_core.result import SpectrumResult
from lyap_core.version import NUMERICS_VERSION

FORMAT = "lyap-point-1"
KEY_LENGTH = 24  # hex digits of SHA-256: collisions are out of reach for any campaign


class CacheError(ValueError):
    """A cache file that cannot be used (damaged, another format or numerics version)."""


def _file_digest(path: str) -> str:
    """SHA-256 of a file's content (memoised per path, modification time and size)."""
    st = os.stat(path)
    return _digest(path, st.st_mtime_ns, st.st_size)


@functools.cache
def _digest(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def key_fields(params: RunParams, brute_force: bool, threads: int) -> dict[str, Any]:
    """Everything that determines a point's numbers (the input of :func:`point_key`)."""
    p = params.to_dict()
    if p.get("coupling"):
        p["coupling"] = "sha256:" + _file_digest(p["coupling"])
    return {
        "numerics_version": NUMERICS_VERSION,
        "params": p,
        "brute_force": bool(brute_force),
        "blas_threads": int(threads),
    }


def point_key(params: RunParams, brute_force: bool = False, threads: int = 1) -> str:
    """The cache key of a point (hex digits)."""
    return fingerprint(key_fields(params, brute_force, threads), KEY_LENGTH)


class Cache:
    """A point cache rooted at a directory (created on first write)."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def failure_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.failed.json"

    def checkpoint(self, key: str) -> Path:
        return self.root / ".checkpoints" / f"{key}.npz"

    def has(self, key: str) -> bool:
        return self.path(key).exists()

    def check_writable(self) -> None:
        """Raise ``OSError`` with one clear line unless points can be written here."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with atomic_file(self.root / ".writable", "w") as fh:
                fh.write("ok\n")
        except OSError as exc:
            raise OSError(
                f"{self.root}: the point cache is not writable ({exc.strerror})"
            ) from None

    # -- points -----------------------------------------------------------------------
    def save(self, key: str, result: SpectrumResult, meta: Mapping[str, Any]) -> None:
        """Store one point's result atomically (arrays bit for bit), clearing its failure.

        The result, not its store layout, is cached: a new store layout (more variables
        from the same result) reuses every cached point.
        """
        header = {"format": FORMAT, "key": key, "numerics_version": NUMERICS_VERSION}
        header |= {"meta": dict(meta), "fields": {}}
        arrays = {}
        for f in dataclasses.fields(result):
            v = getattr(result, f.name)
            if isinstance(v, np.ndarray):
                arrays[f.name] = v
            else:
                header["fields"][f.name] = v
        buf = io.BytesIO()
        np.savez(buf, __header__=np.array(canonical_json(header)), **arrays)
        with atomic_file(self.path(key)) as fh:
            fh.write(buf.getvalue())
        self.failure_path(key).unlink(missing_ok=True)

    def load(self, key: str) -> tuple[SpectrumResult, dict[str, Any]]:
        """The point's result and its metadata (wall time, code version, ...).

        Raises
        ------
        CacheError
            Naming the file, if it is damaged, not a point file, or of another
            numerics version or key.
        """
        path = self.path(key)
        try:
            with np.load(path, allow_pickle=False) as z:
                header = json.loads(str(z["__header__"]))
                arrays = {k: z[k] for k in z.files if k != "__header__"}
        except (OSError, ValueError, KeyError) as exc:
            raise CacheError(f"{path}: unreadable point file ({exc})") from None
        if header.get("format") != FORMAT or header.get("key") != key:
            raise CacheError(f"{path}: not the point file of key {key}")
        if header["numerics_version"] != NUMERICS_VERSION:
            raise CacheError(
                f"{path}: written by numerics version {header['numerics_version']}, this is "
                f"{NUMERICS_VERSION} (a key includes the version: the file was renamed or copied)"
            )
        known = {f.name for f in dataclasses.fields(SpectrumResult)}
        values = {k: v for k, v in (header["fields"] | arrays).items() if k in known}
        return SpectrumResult(**values), header["meta"]

    # -- failures ---------------------------------------------------------------------
    def record_failure(self, key: str, info: Mapping[str, Any]) -> None:
        """Record why a point did not complete (``attempts`` counts the records)."""
        old = self.failure(key)
        record = {**info, "attempts": (old or {}).get("attempts", 0) + 1, "time": time.time()}
        with atomic_file(self.failure_path(key), "w") as fh:
            fh.write(json.dumps(record, indent=1, sort_keys=True, default=str))

    def failure(self, key: str) -> dict[str, Any] | None:
        """The last failure record of a point, or None."""
        try:
            return json.loads(self.failure_path(key).read_text())
        except (OSError, ValueError):
            return None


# -- locks --------------------------------------------------------------------------------
_NO_FLOCK = (errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOLCK, errno.EINVAL)


@contextlib.contextmanager
def exclusive(lock: str | Path, log: Callable[[str], None] = print) -> Iterator[None]:
    """Hold an exclusive lock on the file ``lock`` (waits while another process holds it).

    ``fcntl.flock``, or, on a filesystem without flock support (Lustre mounted without
    it: ENOSYS), a lock file created with ``O_EXCL`` next to it, with a warning.
    """
    import fcntl

    lock = Path(lock)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another process computing this point ({lock})")
            fcntl.flock(fh, fcntl.LOCK_EX)
        except OSError as exc:
            if exc.errno not in _NO_FLOCK:
                raise
            msg = f"{lock}: no flock on this filesystem ({exc.strerror}); using an O_EXCL lock file"
            warnings.warn(msg, RuntimeWarning, stacklevel=3)
            log(msg)
            with _excl_lock(lock.with_name(lock.name + ".excl"), log):
                yield
            return
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _owner_alive(text: str) -> bool:
    """Whether the ``host pid`` written in a lock file names a live process (other hosts: yes)."""
    host, _, pid = text.partition(" ")
    if host != socket.gethostname() or not pid.strip().isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _excl_lock(path: Path, log: Callable[[str], None], poll: float = 1.0) -> Iterator[None]:
    """A lock file created atomically with O_EXCL; a dead owner's file (same host) is removed."""
    waiting = False
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                owner = path.read_text()
            except OSError:
                owner = ""
            if owner and not _owner_alive(owner):
                log(f"{path}: removing the lock of a dead process ({owner.strip()})")
                path.unlink(missing_ok=True)
                continue
            if not waiting:
                log(f"waiting for another process computing this point ({path})")
                waiting = True
            time.sleep(poll)
    try:
        os.write(fd, f"{socket.gethostname()} {os.getpid()}\n".encode())
        os.close(fd)
        yield
    finally:
        path.unlink(missing_ok=True)
