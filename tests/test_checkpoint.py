"""Checkpoint/restart: a run interrupted anywhere and resumed gives the same bits."""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

import lyap_core as lc
from lyap_core.qr import Orthonormalizer

pytestmark = pytest.mark.filterwarnings("ignore::lyap_core.NumericsWarning")

PARAMS = lc.RunParams(n=40, g=3.0, t_sim=30.0, t_transient=10.0, seed=4, input_std=0.3)


class Interrupt(Exception):
    pass


def _interrupted_run(path, stop_at: int, params=PARAMS) -> list[int]:
    """Run with a checkpoint at every ONS boundary; 'crash' at boundary number stop_at.

    The engine reports progress before it saves, so the crash at boundary k leaves the
    checkpoint of boundary k - 1. Returns the done-step counts reported at boundaries.
    """
    done_at: list[int] = []

    def progress(done, total):
        done_at.append(done)
        if len(done_at) == stop_at:
            raise Interrupt

    with pytest.raises(Interrupt):
        lc.run_point(params, checkpoint=path, checkpoint_interval=0, progress=progress)
    return done_at


@pytest.fixture
def work_counter(monkeypatch):
    """Counts integrator steps (RateNetwork.advance) and QRs (Orthonormalizer calls)."""
    count = {"steps": 0, "qr": 0}
    advance, call = lc.RateNetwork.advance, Orthonormalizer.__call__

    def counted_advance(self, *args, **kwargs):
        count["steps"] += 1
        return advance(self, *args, **kwargs)

    def counted_call(self, *args, **kwargs):
        count["qr"] += 1
        return call(self, *args, **kwargs)

    monkeypatch.setattr(lc.RateNetwork, "advance", counted_advance)
    monkeypatch.setattr(Orthonormalizer, "__call__", counted_call)
    return count


def _total_steps(params) -> int:
    s = params.steps()
    return s["transient"] + s["tangent_transient"] + s["per_ons"] * s["n_ons"]


def _stop_in(params, phase: str) -> int:
    """A crash point whose surviving checkpoint lies in the middle of ``phase``.

    Found from the boundaries of an uninterrupted run (the engine's own chunking, adapted
    t_ons included): boundary j (1-based) is saved in phase P when its done-step count is
    in P's range; crashing at boundary j + 1 leaves it.
    """
    done_at: list[int] = []
    lc.run_point(params, progress=lambda done, total: done_at.append(done))
    s = params.steps()
    edges = {
        "transient": (0, s["transient"]),
        "tangent": (s["transient"], s["transient"] + s["tangent_transient"]),
        "accumulate": (s["transient"] + s["tangent_transient"], _total_steps(params) - 1),
    }
    lo, hi = edges[phase]
    inside = [j for j, d in enumerate(done_at, start=1) if lo < d <= hi]
    assert len(inside) >= 2, (phase, done_at)
    return inside[len(inside) // 2] + 1


@pytest.mark.parametrize("phase", ["transient", "tangent", "accumulate"])
@pytest.mark.parametrize("scheme", ["rk4", "euler"])
def test_resume_does_only_the_remaining_work_and_gives_the_same_bits(
    tmp_path, work_counter, chaotic, scheme, phase
):
    """Interrupt deterministically in each phase; the resume must do exactly the rest.

    A resume that ignored its checkpoint (a silent restart) gives the same bits here
    too (the run is deterministic), but does all the steps again: the count catches it.
    """
    params = chaotic("continuous").params.replace(
        t_sim=30.0,
        t_transient=10.0,
        input_std=0.3,
        scheme=scheme,
        dt=0.05 if scheme == "euler" else None,
    )
    ref = lc.run_point(params)
    path = tmp_path / "ck.npz"
    done_at = _interrupted_run(path, _stop_in(params, phase), params)
    assert _phase(path) == phase
    saved = done_at[-2]  # steps done at the boundary whose checkpoint survived
    work_counter.update(steps=0, qr=0)
    res = lc.run_point(params, checkpoint=path, checkpoint_interval=0)
    assert work_counter["steps"] == _total_steps(params) - saved > 0
    per = params.steps()["per_ons"]
    s = params.steps()
    qr_boundaries = (s["tangent_transient"] + s["per_ons"] * s["n_ons"]) // per
    assert work_counter["qr"] == qr_boundaries - max(0, saved - s["transient"]) // per
    assert res.exponents.tobytes() == ref.exponents.tobytes()
    assert res.stderr.tobytes() == ref.stderr.tobytes()
    assert res.history.tobytes() == ref.history.tobytes()
    assert res.sum_rule_target == ref.sum_rule_target
    assert res.diagnostics == ref.diagnostics
    assert res.pca_dimension_h == ref.pca_dimension_h


@pytest.mark.parametrize("phase", ["tangent", "accumulate"])
def test_resume_with_adaptive_t_ons_keeps_the_adapted_interval(
    tmp_path, work_counter, chaotic, phase
):
    """Adaptive t_ons (chosen in the tangent transient) survives the checkpoint.

    t_ons = 10 on the chaotic fixture network adapts to fewer steps per QR; the resumed
    run must keep the saved choice and do only the remaining steps.
    """
    c = chaotic("continuous")
    params = c.params.replace(
        t_ons=10.0, t_sim=100.0, t_transient=20.0, t_transient_tangent=30.0, adaptive_ons=True
    )
    ref = lc.run_point(params)
    assert ref.steps_per_ons < 100  # the interval was adapted ...
    # ... to the longest one near the 1e3 target: divisors of the 1000 accumulation steps up
    # to the cap 50 are at most 2x apart, so cond(Q) reaches ~sqrt(1e3) or more (measured
    # 55 at 10 steps; fixed t_ons = 10: 2.8e12). One step per QR would give ~1.5.
    assert 10 < ref.max_condition_number < 1e5
    path = tmp_path / "ck.npz"
    done_at = _interrupted_run(path, _stop_in(params, phase), params)
    assert _phase(path) == phase
    work_counter.update(steps=0, qr=0)
    res = lc.run_point(params, checkpoint=path, checkpoint_interval=0)
    assert work_counter["steps"] == _total_steps(params) - done_at[-2]
    assert res.steps_per_ons == ref.steps_per_ons
    assert res.exponents.tobytes() == ref.exponents.tobytes()


def test_checkpoint_refuses_other_parameters(tmp_path):
    path = tmp_path / "ck.npz"
    _interrupted_run(path, 12)
    with pytest.raises(lc.CheckpointError, match="different parameters"):
        lc.run_point(PARAMS.replace(g=3.1), checkpoint=path)


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "ck.npz"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(lc.CheckpointError, match="cannot read"):
        lc.run_point(PARAMS, checkpoint=path)


# Runs the real CLI in a child process that SIGKILLs itself at boundary KILL_AT: a kill at
# a known point of the accumulation, with no sleep racing the process.
_KILLING_CLI = """
import os, signal, sys
import lyap_core.cli as cli
KILL_AT = int(sys.argv[1])
run_point = cli.run_point

def killing_run_point(*args, progress=None, **kwargs):
    calls = []
    def cb(done, total):
        calls.append(done)
        if len(calls) == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)
        if progress is not None:
            progress(done, total)
    return run_point(*args, progress=cb, **kwargs)

cli.run_point = killing_run_point
sys.exit(cli.main(sys.argv[2:]))
"""


def test_cli_sigkill_and_resume_bit_identical(tmp_path):
    """SIGKILL `lyap spectrum --checkpoint` at boundary 40 (accumulation); the rerun matches."""
    args = [
        "spectrum",
        "--n",
        "80",
        "--g",
        "5",
        "--t-sim",
        "60",
        "--t-transient",
        "20",
        "--json",
        "--quiet",
    ]
    cmd = [sys.executable, "-m", "lyap_core.cli", *args]
    ref = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    ck = tmp_path / "run.ck.npz"
    ck_args = [*args, "--checkpoint", str(ck), "--checkpoint-interval", "0"]
    killed = subprocess.run(
        [sys.executable, "-c", _KILLING_CLI, "40", *ck_args], capture_output=True, text=True
    )
    assert killed.returncode == -signal.SIGKILL
    assert _phase(ck) == "accumulate"  # boundaries: 20 transient, 10 tangent, then 60
    out = subprocess.run([*cmd[:3], *ck_args], capture_output=True, text=True, check=True).stdout
    a, b = json.loads(ref), json.loads(out)
    assert a["exponents"] == b["exponents"] and a["stderr"] == b["stderr"]


def _phase(path) -> str | None:
    try:
        with np.load(path) as z:
            return json.loads(str(z["__header__"]))["scalars"]["phase"]
    except (OSError, KeyError, ValueError):
        return None
