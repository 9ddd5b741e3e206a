"""The engine on systems with closed-form or published spectra."""

import numpy as np
import pytest

import lyap_core as lc


def _run(system, x0, **kw):
    kw.setdefault("rng_onb", 0)
    return lc.lyapunov_spectrum(system, np.asarray(x0, dtype=float), **kw)


def _rk4_amplification(z: complex) -> complex:
    return 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24


def _map_exponents(mu: np.ndarray, dt: float, scheme: str) -> np.ndarray:
    """Exponents of the numerical one-step map of dx/dt = A x (eigenvalues mu of A)."""
    amp = _rk4_amplification(dt * mu) if scheme == "rk4" else 1 + dt * mu
    return np.sort(np.log(np.abs(amp)) / dt)[::-1]


@pytest.mark.parametrize("scheme", ["rk4", "euler"])
def test_diagonal_linear_flow_is_exact_for_the_numerical_map(scheme):
    mu = np.array([0.3, -0.1, -0.5, -2.0])
    dt = 0.05
    r = _run(
        lc.linear_flow(np.diag(mu), dt=dt, scheme=scheme),
        np.ones(4),
        t_ons=0.5,
        t_sim=20,
        t_transient_tangent=200,
    )  # aligns Q with the axes to ~exp(-0.4 * 200)
    np.testing.assert_allclose(r.exponents, _map_exponents(mu, dt, scheme), rtol=1e-10, atol=1e-12)
    # ... which differ from the flow's by the scheme's local error: Euler at first order
    # (|log(1 + dt mu)/dt - mu| ~ dt mu^2 / 2), RK4 at fourth (~ dt^4 |mu|^5 / 120).
    err = np.max(np.abs(r.exponents - np.sort(mu)[::-1]))
    bound = dt * np.max(mu**2) if scheme == "euler" else dt**4 * np.max(np.abs(mu) ** 5) / 60
    assert 0 < err < bound


def test_non_normal_linear_flow_real_parts():
    # Strongly non-normal (large off-diagonal) with a complex pair: exponents = Re(eig).
    A = np.array([[-0.2, 50.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -0.5]])
    A[2, 0], A[0, 2] = 0.0, 0.0
    B = np.array([[0.1, -2.0], [2.0, 0.1]])  # eigenvalues 0.1 ± 2i
    M = np.zeros((5, 5))
    M[:3, :3], M[3:, 3:] = A, B
    r = _run(lc.linear_flow(M, dt=0.01), np.ones(5), t_ons=0.2, t_sim=400, t_transient_tangent=20)
    expect = np.sort(np.linalg.eigvals(M).real)[::-1]
    # Non-normal transients decay like 1/T in the time average.
    np.testing.assert_allclose(r.exponents, expect, atol=0.02)


@pytest.mark.parametrize("m", [1, 2, 4])
def test_constant_map_and_partial_spectra(m):
    rng = np.random.default_rng(3)
    M = rng.standard_normal((4, 4))
    M *= 0.9 / np.max(np.abs(np.linalg.eigvals(M)))  # keep the state finite over 4000 steps
    expect = np.sort(np.log(np.abs(np.linalg.eigvals(M))))[::-1]
    r = _run(lc.linear_map(M), np.ones(4), m=m, t_ons=1, t_sim=4000, t_transient_tangent=50)
    assert r.exponents.shape == (m,)
    np.testing.assert_allclose(r.exponents, expect[:m], atol=2e-3)
    if m < 4:
        assert np.isnan(r.sum_rule_residual)  # the sum rule needs the full spectrum
    else:
        assert abs(r.sum_rule_residual) < 1e-10 * abs(r.sum_rule_target) + 1e-12


def test_lorenz63_published_spectrum_and_sum_rule():
    sigma, beta = 10.0, 8.0 / 3.0
    r = _run(
        lc.lorenz63(dt=0.01),
        [1.0, 1.0, 1.0],
        t_ons=0.1,
        t_sim=400,
        t_transient=10,
        t_transient_tangent=10,
    )
    published = np.array([0.9056, 0.0, -14.5723])
    tol = 4 * r.stderr + 0.01  # statistical error + the slowly converging zero exponent
    assert np.all(np.abs(r.exponents - published) < tol), (r.exponents, tol)
    # sum rule: tr D = -(sigma + 1 + beta) exactly, RK4 reproduces it to integrator accuracy
    assert r.sum_rule_target == pytest.approx(-(sigma + 1 + beta), rel=1e-12)
    assert abs(r.sum_rule_residual) < 1e-3


def test_lorenz63_partial_spectrum_top_one():
    r = _run(lc.lorenz63(dt=0.01), [1.0, 1.0, 1.0], m=1, t_ons=0.1, t_sim=400, t_transient=10)
    assert r.exponents.shape == (1,)
    assert abs(r.exponents[0] - 0.9056) < 4 * r.stderr[0] + 0.01


def test_henon_published_spectrum_and_exact_sum_rule():
    r = _run(
        lc.henon(), [0.1, 0.1], t_ons=1, t_sim=50_000, t_transient=100, t_transient_tangent=100
    )
    np.testing.assert_allclose(r.exponents, [0.4192, -1.6232], atol=4 * r.stderr.max() + 2e-3)
    assert r.sum_rule_target == pytest.approx(np.log(0.3), rel=1e-12)
    assert abs(r.sum_rule_residual) < 1e-10
