"""Checkpoint/restart: a run interrupted anywhere and resumed gives the same bits."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest

import lyap_core as lc

pytestmark = pytest.mark.filterwarnings("ignore::lyap_core.NumericsWarning")

PARAMS = lc.RunParams(n=40, g=3.0, t_sim=30.0, t_transient=10.0, seed=4, input_std=0.3)


class Interrupt(Exception):
    pass


def _interrupted_run(path, stop_at: int, params=PARAMS):
    """Run with a checkpoint at every ONS boundary; 'crash' at boundary number stop_at."""
    count = {"n": 0}

    def progress(done, total):
        count["n"] += 1
        if count["n"] == stop_at:
            raise Interrupt

    with pytest.raises(Interrupt):
        lc.run_point(params, checkpoint=path, checkpoint_interval=0, progress=progress)


@pytest.mark.parametrize("scheme", ["rk4", "euler"])
def test_resume_is_bit_identical_at_random_points(tmp_path, scheme):
    params = PARAMS.replace(scheme=scheme, dt=0.05 if scheme == "euler" else None)
    ref = lc.run_point(params)
    n_boundaries = 10 + 5 + 30  # transient, tangent transient, accumulation (t_ons = 1)
    stops = np.random.default_rng(0).choice(np.arange(2, n_boundaries), size=3, replace=False)
    for k in stops:
        path = tmp_path / f"ck{scheme}{k}.npz"
        _interrupted_run(path, int(k), params)
        assert path.exists()
        res = lc.run_point(params, checkpoint=path, checkpoint_interval=0)
        assert res.exponents.tobytes() == ref.exponents.tobytes(), k
        assert res.stderr.tobytes() == ref.stderr.tobytes()
        assert res.history.tobytes() == ref.history.tobytes()
        assert res.sum_rule_target == ref.sum_rule_target
        assert res.diagnostics == ref.diagnostics
        assert res.pca_dimension_h == ref.pca_dimension_h


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


def test_cli_sigkill_and_resume_bit_identical(tmp_path):
    """Kill `lyap spectrum --checkpoint` with SIGKILL mid-run; the rerun finishes identically."""
    args = [
        sys.executable,
        "-m",
        "lyap_core.cli",
        "spectrum",
        "--n",
        "60",
        "--g",
        "3",
        "--t-sim",
        "60",
        "--t-transient",
        "20",
        "--json",
        "--quiet",
    ]
    ref = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    ck = tmp_path / "run.ck.npz"
    full = [*args, "--checkpoint", str(ck), "--checkpoint-interval", "0"]
    proc = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    while _phase(ck) != "accumulate" and time.monotonic() - t0 < 120:
        time.sleep(0.02)
    proc.kill()  # SIGKILL in the middle of the accumulation
    proc.wait()
    assert _phase(ck) == "accumulate"
    out = subprocess.run(full, capture_output=True, text=True, check=True).stdout
    a, b = json.loads(ref), json.loads(out)
    assert a["exponents"] == b["exponents"] and a["stderr"] == b["stderr"]


def _phase(path) -> str | None:
    try:
        with np.load(path) as z:
            return json.loads(str(z["__header__"]))["scalars"]["phase"]
    except (OSError, KeyError, ValueError):
        return None
