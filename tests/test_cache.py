"""The point cache: bit-exact round trip, refusal of other versions, locks without flock."""

from __future__ import annotations

import errno
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from lyap_workflow import cache as cache_mod
from lyap_workflow.cache import Cache, CacheError, exclusive, point_key

from lyap_core import run_point
from lyap_core.version import NUMERICS_VERSION

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def result():
    return run_point(
        {"n": 7, "g": 3.0, "m": 4, "t_sim": 10.0, "t_transient": 2.0}, brute_force=True
    )


def test_round_trip_is_bit_exact(result, tmp_path):
    c = Cache(tmp_path)
    c.save("ab" * 12, result, {"wall_time": 1.5})
    got, meta = c.load("ab" * 12)
    assert meta == {"wall_time": 1.5}
    for name in ("exponents", "stderr", "history", "history_time", "block_means"):
        a, b = getattr(result, name), getattr(got, name)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
    for name in ("lambda_max", "kaplan_yorke_dimension", "ks_entropy", "brute_force_lambda_max"):
        assert getattr(got, name) == getattr(result, name), name
    assert got.params == result.params and got.warnings == result.warnings


def test_other_numerics_version_or_damage_is_refused(result, tmp_path, monkeypatch):
    c = Cache(tmp_path)
    key = "cd" * 12
    c.save(key, result, {})
    monkeypatch.setattr(cache_mod, "NUMERICS_VERSION", "999")
    with pytest.raises(CacheError, match=f"numerics version {NUMERICS_VERSION}, this is 999"):
        c.load(key)
    monkeypatch.undo()
    c.path(key).write_bytes(b"not a zip")
    with pytest.raises(CacheError, match="unreadable point file"):
        c.load(key)


def test_coupling_file_content_not_path_is_in_the_key(tmp_path):
    J = np.random.default_rng(0).standard_normal((5, 5))
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(a, J)
    np.save(b, J)
    pa = dict(n=5, connectivity="file", t_sim=5.0)
    from lyap_core import RunParams

    ka = point_key(RunParams(**pa, coupling=str(a)))
    assert ka == point_key(RunParams(**pa, coupling=str(b)))  # same matrix, other path
    time.sleep(0.01)
    np.save(a, 2 * J)
    assert point_key(RunParams(**pa, coupling=str(a))) != ka


def test_unwritable_cache_is_one_clear_line(tmp_path):
    """A results directory that cannot hold the cache (a file in the way: fails even as root)."""
    (tmp_path / "results").write_text("a file, not a directory")
    with pytest.raises(OSError, match=r"results/cache: the point cache is not writable"):
        Cache(tmp_path / "results" / "cache").check_writable()


def test_lock_falls_back_to_an_exclusive_file_without_flock(tmp_path, monkeypatch):
    """Lustre without flock: ENOSYS. The O_EXCL lock file still serialises two holders."""
    import fcntl

    def no_flock(*_):
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    lock = tmp_path / "p.lock"
    events: list[str] = []

    def hold(name: str) -> None:
        with exclusive(lock, log=lambda line: events.append(f"{name}: {line}")):
            events.append(f"{name} in")
            time.sleep(0.3)
            events.append(f"{name} out")

    with pytest.warns(RuntimeWarning, match="no flock on this filesystem"):
        t = threading.Thread(target=hold, args=("a",))
        t.start()
        time.sleep(0.1)
        hold("b")
        t.join()
    inside = [e for e in events if e.endswith((" in", " out"))]
    assert inside in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
    assert any("waiting for another process" in e for e in events)
    assert not (tmp_path / "p.lock.excl").exists()


def test_a_dead_owners_lock_file_is_removed(tmp_path, monkeypatch):
    import fcntl

    monkeypatch.setattr(fcntl, "flock", lambda *_: (_ for _ in ()).throw(OSError(errno.ENOSYS, "")))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    pid = int(dead.stdout)
    import socket

    (tmp_path / "p.lock.excl").write_text(f"{socket.gethostname()} {pid}\n")
    logged: list[str] = []
    with pytest.warns(RuntimeWarning), exclusive(tmp_path / "p.lock", log=logged.append):
        pass
    assert any("dead process" in line for line in logged)
