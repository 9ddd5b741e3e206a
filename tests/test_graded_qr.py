"""The graded QR of strongly saturated maps against an extended-precision reference.

At strong coupling phi' = sech^2(h) spans tens of decades across neurons in one step of
the discrete-time network, and one float64 QR of J diag(phi') Q loses the lower spectrum
(whole units). The reference repeats the engine's own trajectory (the states it
recorded) in mpmath with enough digits to resolve every step outright.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from lyap_core.coupling import gaussian_coupling
from lyap_core.engine import EngineConfig, finish, initial_state, run_state
from lyap_core.models import RateNetwork
from lyap_core.point import run_point
from lyap_core.qr import GradedQR


def _engine_run(n: int, g: float, steps: int, seed: int, graded: bool):
    """Full spectrum of a map over ``steps`` steps; also the states and initial frame used."""
    rng = np.random.default_rng(seed)
    net = RateNetwork(gaussian_coupling(n, g, rng, False), continuous=False)
    x0 = rng.standard_normal(n)
    for _ in range(100):  # onto the attractor
        net.step_state(x0)
    cfg = EngineConfig(m=n, steps_per_ons=1, n_ons=steps, n_blocks=4, graded_qr=graded)
    state = initial_state(net, x0, cfg, rng)
    q0, states = state.X[:, 1:].copy(), [x0.copy()]

    def record(s):
        states.append(s.X[:, 0].copy())

    state = run_state(net, cfg, state, on_boundary=record)
    res = finish(net, cfg, state, {})
    return net, res, q0, np.array(states[:steps])


def _mp_reference(J: np.ndarray, dphi: np.ndarray, q0: np.ndarray, dps: int) -> np.ndarray:
    """Exponents of prod_t J diag(dphi_t) from q0: Gram-Schmidt (twice) at ``dps`` digits."""
    mp = mpmath.mp
    with mpmath.workdps(dps):
        rows = [[mp.mpf(float(x)) for x in r] for r in J]
        cols = [[mp.mpf(float(x)) for x in c] for c in q0.T]
        logs = [mp.mpf(0)] * len(cols)
        for d in dphi:
            dm = [mp.mpf(float(x)) for x in d]
            ys = []
            for c in cols:
                v = [a * b for a, b in zip(dm, c, strict=True)]
                ys.append([mp.fdot(r, v) for r in rows])
            cols = []
            for j, v in enumerate(ys):
                for _ in range(2):
                    for q in cols:
                        c = mp.fdot(q, v)
                        v = [a - c * b for a, b in zip(v, q, strict=True)]
                r = mp.sqrt(mp.fdot(v, v))
                logs[j] += mp.log(r)
                cols.append([a / r for a in v])
        lam = np.array([float(s / len(dphi)) for s in logs])
    return np.sort(lam)[::-1]


def _digits_needed(dphi: np.ndarray) -> int:
    """60 digits beyond the widest spread of phi' in one step (each step resolved outright)."""
    spread = np.max(np.log10(dphi.max(axis=1) / dphi.min(axis=1)))
    return 60 + math.ceil(spread)


def _compare(n: int, g: float, steps: int, seed: int) -> None:
    net, res, q0, states = _engine_run(n, g, steps, seed, graded=True)
    dphi = net.nl.dphi(states)
    assert np.min(dphi) > 0
    ref = _mp_reference(net.J, dphi, q0, _digits_needed(dphi))
    assert res.graded_qr_steps > 0
    np.testing.assert_allclose(res.exponents, ref, rtol=0, atol=1e-9)
    # negative control: today's single QR of J diag(phi') Q on the same network
    _, single, _, states_single = _engine_run(n, g, steps, seed, graded=False)
    np.testing.assert_array_equal(states_single, states)  # the same trajectory
    assert single.graded_qr_steps == 0
    assert np.max(np.abs(single.exponents - ref)) > 0.5


def test_graded_qr_matches_extended_precision_where_single_qr_is_off_by_units():
    """N = 16, g = 10, 100 steps: phi' spans up to ~1e24 per step."""
    _compare(16, 10.0, 100, seed=3)


@pytest.mark.slow
def test_graded_qr_matches_extended_precision_at_g50():
    """N = 30, g = 50, 300 steps: phi' spans > 1e100 per step (reference at ~200 digits)."""
    _compare(30, 50.0, 300, seed=4)


@pytest.mark.parametrize("g", [10.0, 50.0, 100.0])
def test_sum_rule_of_strongly_saturated_map(g):
    """Sum rule (exact: log|det J| + <sum log phi'>) to 1e-8 per neuron; single QR misses."""
    n = 100
    _, res, _, _ = _engine_run(n, g, 300, seed=5, graded=True)
    assert abs(res.sum_rule_residual) <= 1e-8 * n
    assert res.max_condition_number < 1e5  # what the unfactored QR had to resolve: cond(J Q1)
    assert not any(w.startswith("sum rule") for w in res.warnings)
    _, single, _, _ = _engine_run(n, g, 300, seed=5, graded=False)
    assert abs(single.sum_rule_residual) > 1.0
    assert any(w.startswith("sum rule") for w in single.warnings)  # and it says so


def test_near_onset_the_graded_path_is_off_and_changes_no_bit():
    """g = 1.5: phi' spreads < GRADED_QR_SPREAD, so every step takes the single QR."""
    _, res, _, _ = _engine_run(100, 1.5, 200, seed=6, graded=True)
    _, off, _, _ = _engine_run(100, 1.5, 200, seed=6, graded=False)
    assert res.graded_qr_steps == 0
    np.testing.assert_array_equal(res.exponents, off.exponents)


def test_graded_factor_is_a_qr_of_the_row_scaled_frame():
    """Q1 orthonormal and Q1^T A upper triangular with |diag| = exp(returned logs)."""
    rng = np.random.default_rng(0)
    n = 40
    q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    d = np.exp(-rng.uniform(0, 60, n))  # spread ~1e26
    a = np.asfortranarray(d[:, None] * q)
    a0 = a.copy()
    logr = GradedQR()(a, q, np.log(d))
    assert logr is not None
    np.testing.assert_allclose(a.T @ a, np.eye(n), atol=1e-13)
    r = a.T @ a0
    np.testing.assert_allclose(np.tril(r, -1), 0, atol=1e-14 * np.abs(r).max())
    # the determinant is exact: sum of logs = sum log d (|det Q| = 1)
    assert abs(logr.sum() - np.log(d).sum()) < 1e-10 * abs(np.log(d).sum())
    small = np.full(n, 0.5)
    b = np.asfortranarray(small[:, None] * q)
    assert GradedQR()(b, q, np.log(small)) is None  # no spread: the caller's QR suffices
    np.testing.assert_array_equal(b, small[:, None] * q)


def test_graded_factor_where_phi_prime_underflows():
    """ln phi' down to -1500 (phi' = 0 in float64): split factors keep the determinant."""
    rng = np.random.default_rng(1)
    n = 30
    q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    log_d = -rng.uniform(0, 1500, n)
    d = np.exp(log_d)
    assert np.sum(d == 0) > 5
    a = np.asfortranarray(d[:, None] * q)
    logr = GradedQR()(a, q, log_d)
    np.testing.assert_allclose(a.T @ a, np.eye(n), atol=1e-13)
    assert abs(logr.sum() - log_d.sum()) < 1e-10 * abs(log_d.sum())
    relu = np.where(log_d < -700, 0.0, 1.0)  # a true zero (ln = -inf): singular, no factor
    with np.errstate(divide="ignore"):
        assert GradedQR()(a, q, np.log(relu)) is None


@pytest.mark.filterwarnings("ignore::lyap_core.NumericsWarning")
def test_resume_with_graded_steps_is_bit_identical(tmp_path):
    """A run killed mid-accumulation and resumed from its checkpoint gives the same bits."""
    params = dict(model="discrete", n=60, g=10.0, t_sim=120, t_transient=20, seed=2)
    whole = run_point(params)
    ckpt = tmp_path / "run.ckpt"

    class Crash(Exception):
        pass

    def crash(done: int, total: int) -> None:
        if done == 100:
            raise Crash

    with pytest.raises(Crash):
        run_point(params, checkpoint=ckpt, checkpoint_interval=0.0, progress=crash)
    resumed = run_point(params, checkpoint=ckpt, checkpoint_interval=0.0)
    assert whole.graded_qr_steps > 0
    assert resumed.graded_qr_steps == whole.graded_qr_steps
    np.testing.assert_array_equal(resumed.exponents, whole.exponents)
