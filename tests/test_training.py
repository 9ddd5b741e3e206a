"""Trained rate networks: FORCE and BPTT training, saved couplings, spectra of the closed loop.

Thresholds (see docs/training.md for the measured numbers):

* Test NMSE < 0.05 (RMS error 22 % of the target's standard deviation). A network that
  failed gives NMSE >= ~0.5: an output stuck at the mean gives 1, an uncorrelated one of
  equal variance 2, a cycle of the right shape whose period is off by 1 % drifts half a
  period out of phase within the 20-period FORCE test window. Successful FORCE runs at
  N = 300 reach 1e-3..1e-2, BPTT flip-flops 1e-3..1e-2 after 150 iterations.
* Exponents are compared within 3 standard errors (batch means over 20 time blocks) plus
  the systematic bias of the estimate: RK4 at dt = 0.1 ~1e-4, and for the phase exponent
  of a limit cycle a bounded term log(|v(T)|/|v(0)|)/T, already inside the block spread.
"""

from __future__ import annotations

import numpy as np
import pytest

from lyap_core import RunParams, load_coupling, run_point
from lyap_core.training import (
    FlipFlopTask,
    PeriodicTask,
    flipflop_trials,
    load_trained,
    loss_and_grad,
    nmse,
    periodic_target,
    perturbation_recovery,
    rls_step,
    save_trained,
    train_bptt,
    train_force,
    trained_spectrum,
)

NMSE_OK = 0.05
FORCE_SEED = 8  # J0 chaotic (lambda_max 0.035 +- 0.004); outcomes of other seeds: docs


@pytest.fixture(scope="module")
def force_net():
    return train_force(300, 1.5, seed=FORCE_SEED, n_train_periods=40)


@pytest.fixture(scope="module")
def flipflop_net():
    return train_bptt(64, 1.5, task=FlipFlopTask(n_bits=2), t_trial=20.0, batch=16, n_iter=150)


def test_force_reproduces_target_and_trained_loop_is_a_limit_cycle(force_net):
    tn = force_net
    assert tn.algorithm == "force" and tn.task == "periodic"
    assert tn.test_error < NMSE_OK, tn.test_error
    res = trained_spectrum(tn, m=2, t_sim=1000.0)
    (l1, l2), (s1, s2) = res.exponents, res.stderr
    assert abs(l1) < 3 * s1 + 1e-3, (l1, s1)  # the phase: exactly neutral
    assert l2 + 3 * s2 < 0, (l2, s2)  # every other direction contracts
    # D_KY = 1 + lambda_1/|lambda_2| jumps to 0 when the estimate of lambda_1 = 0 dips below 0
    assert res.kaplan_yorke_dimension in (0.0, pytest.approx(1.0, abs=(3 * s1 + 1e-3) / -l2))
    assert res.ks_entropy < 3 * s1 + 1e-3
    assert res.params["connectivity"] == "file"


def test_force_untrained_network_is_chaotic(force_net):
    res = trained_spectrum(force_net, untrained=True, m=1, t_sim=600.0, t_transient_tangent=50.0)
    assert res.chaotic, (res.exponents, res.stderr)


def test_force_test_error_detects_failed_training():
    # the same network trained for one period only: the threshold must reject it
    tn = train_force(300, 1.5, seed=FORCE_SEED, n_train_periods=1, n_test_periods=10)
    assert tn.test_error > NMSE_OK


def test_trained_network_saves_as_user_coupling(force_net, tmp_path):
    path = save_trained(force_net, tmp_path / "force.npz")
    np.testing.assert_array_equal(load_coupling(path, force_net.n), force_net.J)
    back = load_trained(path)
    for name in ("J", "J0", "w_out", "b_out", "w_in", "w_fb", "h0", "loss_history"):
        np.testing.assert_array_equal(getattr(back, name), getattr(force_net, name))
    assert back.hyperparameters == force_net.hyperparameters
    assert (back.seed, back.scheme, back.test_error) == (FORCE_SEED, "rk4", force_net.test_error)
    # the file runs as connectivity="file" through the ordinary entry point
    p = RunParams(n=force_net.n, connectivity="file", coupling=str(path), m=1, t_sim=5.0,
                  t_transient=0.0)  # fmt: skip
    assert np.isfinite(run_point(p).lambda_max)
    with pytest.raises(ValueError, match="npz"):
        save_trained(force_net, tmp_path / "force.npy")


def test_rls_step_is_exact_regularised_least_squares():
    # from P = I/alpha, w = 0: P = (alpha I + sum r r^T)^-1 and w = P sum f r (ridge solution)
    rng = np.random.default_rng(3)
    n, alpha = 6, 0.5
    P = np.asfortranarray(np.eye(n) / alpha)
    w = np.zeros(n)
    R, f = rng.standard_normal((20, n)), rng.standard_normal(20)
    for r, target in zip(R, f, strict=True):
        w = rls_step(P, w, r, w @ r - target)
    A = alpha * np.eye(n) + R.T @ R
    np.testing.assert_allclose(P, np.linalg.inv(A), atol=1e-12)
    np.testing.assert_allclose(w, np.linalg.solve(A, R.T @ f), atol=1e-12)


def test_force_feedback_is_folded_into_the_coupling(force_net):
    """The trained RateNetwork (folded J) is the explicit feedback loop it was trained as.

    Reference: dh/dt = -h + J0 tanh(h) + w_fb (z - b_out), z the readout, integrated by a
    separate RK4 here for 20 tau from h0; the loop is a stable limit cycle, so the two
    agree to round-off (measured ~1e-13). A wrong fold (e.g. the transpose) is O(1) off.
    """
    tn = force_net

    def loop(h: np.ndarray) -> np.ndarray:
        return -h + tn.J0 @ np.tanh(h) + tn.w_fb @ (tn.readout(h) - tn.b_out)

    h_ref, h_net = tn.h0.copy(), tn.h0.copy()
    net = tn.network()
    dt = tn.dt
    for _ in range(round(20.0 / dt)):
        k1 = loop(h_ref)
        k2 = loop(h_ref + 0.5 * dt * k1)
        k3 = loop(h_ref + 0.5 * dt * k2)
        k4 = loop(h_ref + dt * k3)
        h_ref = h_ref + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        net.step_state(h_net)
    assert np.max(np.abs(h_net - h_ref)) < 1e-9 * np.max(np.abs(h_ref))
    assert np.max(np.abs(h_ref - tn.h0)) > 0.1  # it moved: not a fixed point


def test_force_perturbations_keep_their_phase_and_decay_transversally(force_net):
    rec = perturbation_recovery(force_net, 1e-6, t_max=150.0, n_dirs=4)
    # lambda_1 = 0: the distance neither grows nor decays (a phase shift persists) ...
    assert abs(rec.growth_rate) < 0.01
    assert 0.05 < rec.distance[-1] / rec.distance[0] < 1
    # ... while the transverse part decays at about lambda_2 (-0.034 for this network)
    assert -0.06 < rec.transverse_rate < -0.02


# -- BPTT --------------------------------------------------------------------------------------


def _params(rng: np.random.Generator, n: int, n_bits: int) -> dict[str, np.ndarray]:
    return {
        "J": rng.standard_normal((n, n)) * 1.5 / np.sqrt(n),
        "w_in": rng.standard_normal((n, n_bits)),
        "w_out": rng.standard_normal((n_bits, n)),
        "b_out": rng.standard_normal(n_bits),
    }


@pytest.mark.parametrize("name", ["J", "w_in", "w_out", "b_out"])
def test_bptt_gradient_matches_finite_differences(name):
    rng = np.random.default_rng(1)
    u, target, mask = flipflop_trials(3, 40, n_bits=2, pulse_rate=0.3, rng=rng)
    params = _params(rng, 8, 2)
    _, grads = loss_and_grad(params, u, target, mask, 0.1)
    for _ in range(3):
        d = rng.standard_normal(params[name].shape)
        h = 1e-6

        def loss_at(s: float, d=d) -> float:
            shifted = {**params, name: params[name] + s * d}
            return loss_and_grad(shifted, u, target, mask, 0.1)[0]

        fd = (loss_at(h) - loss_at(-h)) / (2 * h)  # central difference: O(h^2) + O(eps/h)
        assert np.sum(grads[name] * d) == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_flipflop_trials_hold_the_last_pulse():
    u, target, mask = flipflop_trials(
        5, 400, n_bits=3, dt=0.1, pulse_len=1.0, rng=np.random.default_rng(0)
    )
    assert np.all(u[0] != 0) and np.all(mask[:10] == 0)  # a pulse on every bit at t = 0
    assert set(np.unique(u)) <= {-1.0, 0.0, 1.0}
    np.testing.assert_array_equal(mask == 0, u != 0)  # scored exactly outside pulses
    for b in range(5):
        for k in range(3):
            last = 0.0
            for t in range(400):
                last = u[t, b, k] if u[t, b, k] != 0 else last
                assert target[t, b, k] == last
    assert nmse(target, target, mask) == 0.0


def test_bptt_flipflop_holds_memory_in_stable_fixed_points(flipflop_net):
    tn = flipflop_net
    assert tn.algorithm == "bptt" and tn.scheme == "euler"
    assert tn.test_error < NMSE_OK, tn.test_error
    assert tn.loss_history[-10:].mean() < 0.1 * tn.loss_history[:10].mean()
    h = tn.h0  # T_SETTLE with the input off after the test trials: at a memory state
    assert np.linalg.norm(-h + tn.J @ np.tanh(h)) < 1e-4 * np.linalg.norm(h)
    assert np.all(np.abs(np.abs(tn.readout(h)) - 1) < 0.2)  # holds +-1 on both bits
    res = trained_spectrum(tn, t_sim=300.0, t_transient=0.0, t_transient_tangent=100.0)
    # a fixed point of the Euler map: exponents = log|eig((1 - dt) I + dt J diag(phi'))| / dt
    M = (1 - tn.dt) * np.eye(tn.n) + tn.dt * tn.J * (1 / np.cosh(h) ** 2)
    exact = np.sort(np.log(np.abs(np.linalg.eigvals(M))) / tn.dt)[::-1]
    assert res.exponents[0] == pytest.approx(exact[0], abs=3 * res.stderr[0] + 1e-3)
    np.testing.assert_allclose(res.exponents, exact, atol=0.01)  # bulk: 1/T for near-ties
    assert res.lambda_max < 0 and res.kaplan_yorke_dimension == 0 and res.ks_entropy == 0
    # perturbations of the memory decay at lambda_1
    rec = perturbation_recovery(tn, 1e-3, t_max=60.0, n_dirs=4)
    assert rec.growth_rate == pytest.approx(res.lambda_max, rel=0.1)


@pytest.mark.slow
def test_bptt_flipflop_well_trained():
    tn = train_bptt(seed=1)  # the documented default: 600 iterations of 32 trials of 30 tau
    assert tn.test_error < 0.01, tn.test_error
    res = trained_spectrum(tn, m=4, t_sim=300.0)
    assert res.lambda_max + 3 * res.lambda_max_stderr < 0


@pytest.mark.slow
def test_force_full_spectrum_of_trained_and_untrained(force_net):
    trained = trained_spectrum(force_net, t_sim=1000.0)
    assert trained.kaplan_yorke_dimension in (0.0, pytest.approx(1.0, abs=0.1))
    assert trained.ks_entropy < 3 * trained.stderr[0] + 1e-3
    assert int(np.sum(trained.exponents + 3 * trained.stderr > 0)) == 1
    # sum rule (tr D includes the diagonal w_f w_out adds): RK4's step map matches exp(int tr D)
    # only to O(dt^4); measured relative residual 1e-6
    assert abs(trained.sum_rule_residual) < 1e-5 * abs(trained.sum_rule_target)
    untrained = trained_spectrum(force_net, untrained=True, t_sim=1000.0)
    assert untrained.chaotic and untrained.kaplan_yorke_dimension > 2
    assert untrained.ks_entropy > 0
    rec = perturbation_recovery(force_net, 1e-8, untrained=True, t_max=300.0)
    assert rec.growth_rate == pytest.approx(untrained.lambda_max, abs=0.015)


# -- the other two (algorithm, task) combinations ----------------------------------------------


def test_periodic_task_trials_are_the_target_after_a_trigger():
    u, target, mask = PeriodicTask(period=12.0, trigger_len=1.0).trials(
        2, 50, 0.1, np.random.default_rng(0)
    )
    assert u.shape == target.shape == mask.shape == (50, 2, 1)
    np.testing.assert_array_equal(u[:10], 1.0)
    np.testing.assert_array_equal(u[10:], 0.0)
    np.testing.assert_array_equal(mask, 1.0 - u)
    want = periodic_target(np.arange(1, 51) * 0.1, 12.0)  # target[k] scores h_{k+1}
    np.testing.assert_allclose(target[:, 1, 0], want, rtol=0, atol=0)


def test_rls_step_shares_p_across_outputs():
    """Two outputs updated together equal each output trained alone (same P sequence)."""
    rng = np.random.default_rng(3)
    n = 6
    R = rng.standard_normal((20, n))
    F = rng.standard_normal((20, 2))
    P2 = np.asfortranarray(np.eye(n))
    w2 = np.zeros((2, n))
    alone = []
    for r, f in zip(R, F, strict=True):
        w2 = rls_step(P2, w2, r, w2 @ r - f)
    for k in range(2):
        P = np.asfortranarray(np.eye(n))
        w = np.zeros(n)
        for r, f in zip(R, F[:, k], strict=True):
            w = rls_step(P, w, r, w @ r - f)
        alone.append(w)
    np.testing.assert_allclose(w2, np.array(alone), atol=1e-12)
    np.testing.assert_allclose(w2, np.linalg.solve(np.eye(n) + R.T @ R, R.T @ F).T, atol=1e-12)


def test_force_flipflop_holds_bits_at_a_stable_fixed_point():
    """FORCE with the readout fed back learns the 2-bit flip-flop (N = 200, ~2 s).

    Closed form: at a fixed point of the flow dh/dt = -h + J tanh(h) the exponents are the
    real parts of eig(-I + J diag(phi'(h))); the RK4 estimate matches them.
    """
    tn = train_force(200, 1.5, task=FlipFlopTask(), seed=1, n_train_periods=300, n_test_periods=30)
    assert tn.algorithm == "force" and tn.task == "flipflop" and tn.w_fb.shape == (200, 2)
    assert tn.bit_accuracy > 0.95 and tn.test_error < NMSE_OK, (tn.bit_accuracy, tn.test_error)
    h = tn.h0.copy()
    net = tn.network()
    for _ in range(3000):  # 300 tau more: within ~1e-10 of the fixed point h0 approaches
        net.step_state(h)
    assert np.linalg.norm(-h + tn.J @ np.tanh(h)) < 1e-6 * np.linalg.norm(h)
    assert np.all(np.abs(np.abs(tn.readout(h)) - 1) < 0.2)
    exact = np.sort(np.linalg.eigvals(-np.eye(tn.n) + tn.J / np.cosh(h) ** 2).real)[::-1]
    res = trained_spectrum(tn, m=2, t_sim=200.0, t_transient=0.0, t_transient_tangent=100.0)
    np.testing.assert_allclose(res.exponents, exact[:2], atol=3 * res.stderr.max() + 2e-3)
    rec = perturbation_recovery(tn, 0.01, t_max=100.0, n_dirs=4)
    assert rec.recovered_fraction(0.1) == 1.0


def test_bptt_periodic_generates_a_stable_limit_cycle():
    """BPTT through a 3-period trial learns to generate the cycle after a trigger (N = 32,
    ~2 s); the autonomous loop is a limit cycle: one zero exponent, the next negative."""
    tn = train_bptt(32, 1.5, task=PeriodicTask(), batch=1, n_iter=800, t_trial=36.0, n_test=1)
    assert tn.task == "periodic" and tn.w_in.shape == (32, 1)
    assert tn.test_error < NMSE_OK, tn.test_error  # over 120 tau: beyond the trial length
    assert np.isnan(tn.bit_accuracy)
    res = trained_spectrum(tn, m=2, t_sim=300.0)
    (l1, l2), (s1, s2) = res.exponents, res.stderr
    assert abs(l1) < 3 * s1 + 1e-3 and l2 + 3 * s2 < 0, (res.exponents, res.stderr)


def test_recovered_fraction_separates_chaos_from_the_trained_cycle(force_net):
    """Negative control: the same readout on the chaotic J0 (lambda_1 ~ 0.03) never recovers
    from 0.01 within 500 tau (e^(0.03 * 500) ~ 3e6: saturated)."""
    assert perturbation_recovery(force_net, 0.01, t_max=200.0).recovered_fraction(0.1) == 1.0
    chaos = perturbation_recovery(force_net, 0.01, t_max=500.0, untrained=True)
    assert chaos.recovered_fraction(0.1) == 0.0
    np.testing.assert_allclose(
        chaos.output_error, np.sqrt(np.mean(chaos.output_error_dirs**2, axis=1)), rtol=1e-12
    )
