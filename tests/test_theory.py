"""Checks of lyap_core.theory: mean-field theory and random-matrix laws.

Every comparison with a Monte Carlo estimate uses a fixed seed and a tolerance of
4 standard errors estimated inside the test from independent blocks or realisations.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.polynomial import chebyshev as cheb
from scipy import integrate, optimize, special
from scipy.interpolate import CubicSpline
from threadpoolctl import threadpool_limits

import lyap_core as lc
from lyap_core.theory import (
    circular_law_continuous,
    dmft_continuous,
    dmft_discrete,
    free_multiplicative_discrete,
    gaussian_average,
    ginibre_discrete,
    ginibre_product_exact,
)

N_SE = 4.0  # tolerance in standard errors for Monte Carlo comparisons


def sech2(h):
    e = np.exp(-2.0 * np.abs(h))
    return 4.0 * e / (1.0 + e) ** 2


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # Small matrices: threaded BLAS only spins (20-50x slower on a loaded 2-core machine).
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def g2():
    return dmft_continuous(2.0)


# ---------------------------------------------------------------- Gaussian averages


@pytest.mark.parametrize("var", [1e-8, 0.3, 1.0, 50.0, 1815.0])
def test_gaussian_average_moments(var):
    assert gaussian_average(lambda h: h**2, var) == pytest.approx(var, rel=1e-13)
    assert gaussian_average(lambda h: h**4, var) == pytest.approx(3 * var**2, rel=1e-13)


@pytest.mark.parametrize("var", [0.5, 5.0, 1815.0])
def test_gaussian_average_sech2_against_adaptive_quadrature(var):
    # Independent reference: adaptive quadrature over h with the sech^2 peak as breakpoint.
    def dens(h):
        return sech2(h) * np.exp(-0.5 * h * h / var) / np.sqrt(2 * np.pi * var)

    ref = 2 * sum(
        integrate.quad(dens, a, b, epsabs=0, epsrel=1e-13)[0] for a, b in [(0, 1), (1, 5), (5, 40)]
    )
    assert gaussian_average(sech2, var) == pytest.approx(ref, rel=1e-11)


@pytest.mark.parametrize("var", [0.01, 5.0, 1815.0])
@pytest.mark.parametrize(
    "f",
    [sech2, lambda h: sech2(h) ** 2, lambda h: np.tanh(h) ** 2, lambda h: np.log(np.cosh(h)) ** 2],
)
def test_gaussian_average_resolution_doubling(f, var):
    coarse = gaussian_average(f, var, nodes=4)
    assert gaussian_average(f, var, nodes=8) == pytest.approx(coarse, rel=1e-8)


# ---------------------------------------------------------------- DMFT, continuous time


@pytest.mark.parametrize("g", [0.5, 0.9, 1.0])
def test_continuous_below_onset(g):
    s = dmft_continuous(g)
    assert s.delta0 == 0.0
    assert s.lambda_max == pytest.approx(g - 1.0)  # fixed point h = 0: max Re eig(-1 + J)


@pytest.mark.parametrize("g", [1.01, 1.5, 3.0, 10.0])
def test_continuous_above_onset(g):
    s = dmft_continuous(g)
    assert s.delta0 > 0 and s.lambda_max > 0
    # E0 > min V gives lambda_max below the circular-law edge -1 + g sqrt(<phi'^2>).
    assert s.lambda_max < -1 + g * np.sqrt(s.dphi2_mean)


def test_continuous_onset_continuity_and_poschl_teller():
    # Near onset Delta(tau) -> sqrt3 kappa sech(kappa tau) and V -> kappa^2 - 6 kappa^2
    # sech^2(kappa tau) (Poschl-Teller, l = 2): E0 = -3 kappa^2, lambda -> 3 kappa^2 / 2,
    # with kappa^2 = 1 - g^2 <phi'>^2. The relative deviation must shrink like (g - 1).
    devs = []
    for g in (1.03, 1.01):
        s = dmft_continuous(g)
        kappa2 = 1 - g * g * s.dphi_mean**2
        devs.append(abs(s.lambda_max / (1.5 * kappa2) - 1))
        assert abs(s.delta0 / np.sqrt(3 * kappa2) - 1) < 10 * (g - 1)
    assert devs[1] < devs[0] < 0.01
    assert 0 < dmft_continuous(1.01).lambda_max < 1e-3


def test_continuous_lambda_increasing():
    gs = [1.01, 1.1, 1.5, 2.0, 3.0, 5.0, 10.0]
    lam = [dmft_continuous(g).lambda_max for g in gs]
    assert np.all(np.diff(lam) > 0)


@pytest.mark.parametrize("g", [1.5, 3.0, 10.0])
def test_continuous_numerical_convergence(g):
    s = dmft_continuous(g)
    # d Delta / d tau is an exact zero-energy mode.
    assert abs(s.zero_mode_energy) < 1e-8
    for finer in (dmft_continuous(g, nodes=8), dmft_continuous(g, grid=2)):
        assert finer.lambda_max == pytest.approx(s.lambda_max, rel=1e-8)
        assert finer.delta0 == pytest.approx(s.delta0, rel=1e-12)
        assert finer.dphi2_mean == pytest.approx(s.dphi2_mean, rel=1e-12)


def test_continuous_autocorrelation_shape(g2):
    # The orbit integrated back from the saddle must turn at the energy-conservation Delta0.
    assert g2.tau[0] == 0.0
    assert g2.delta[0] == pytest.approx(g2.delta0, rel=1e-10)
    assert np.all(np.diff(g2.delta) < 0) and g2.delta[-1] < 1e-12 * g2.delta0


def _tanh_correlation_gh(delta0, nodes=160):
    """C_tanh(Delta) = <tanh h1 tanh h2> by tensor Gauss-Hermite, as a Chebyshev fit on [0, D0]."""
    x, w = special.roots_hermitenorm(nodes)
    w = w / np.sqrt(2 * np.pi)
    deltas = 0.5 * delta0 * (1 + np.cos(np.pi * (np.arange(41) + 0.5) / 41))
    vals = [
        w @ (np.tanh(np.sqrt(d) * x[:, None] + np.sqrt(delta0 - d) * x[None, :]) @ w) ** 2
        for d in deltas
    ]
    return cheb.Chebyshev.fit(deltas, vals, 40, domain=[0, delta0])


def test_continuous_delta0_by_shooting(g2):
    """Delta0 from Delta'' = Delta - g^2 C_tanh(Delta), shot from rest at Delta0.

    Independent of the energy-conservation route: C_tanh by a 2-D Gauss-Hermite rule
    (not via Price's theorem), and Delta0 found as the start from which the orbit creeps
    into Delta = 0 instead of overshooting (Delta0 too small) or turning back (too large).
    """
    g = 2.0

    def miss(d0):
        c = _tanh_correlation_gh(d0)
        kappa2 = 1 - g * g * c.deriv()(0.0)

        def rhs(_t, y):
            return [y[1], y[0] - g * g * c(y[0])]

        def crossing(_t, y):
            return y[0]

        def turning(_t, y):
            return y[1]

        crossing.terminal = turning.terminal = True
        turning.direction = 1
        sol = integrate.solve_ivp(
            rhs,
            (0, 400),
            [d0, 0.0],
            method="DOP853",
            rtol=1e-11,
            atol=1e-14,
            events=(crossing, turning),
            first_step=1e-3,
        )
        if sol.t_events[0].size:  # crossed zero with speed v: energy surplus v^2 / 2
            return sol.y_events[0][0][1] ** 2
        return -kappa2 * sol.y_events[1][0][0] ** 2  # turned at Delta_t: deficit k^2 D_t^2/2

    d0 = optimize.brentq(miss, 0.98 * g2.delta0, 1.02 * g2.delta0, xtol=1e-11)
    assert d0 == pytest.approx(g2.delta0, rel=1e-7)


def test_continuous_lambda_by_two_time_equation(g2):
    """lambda_max from time-stepping (d_t + 1)(d_s + 1) chi = g^2 q(t - s) chi directly.

    Independent of the eigenvalue route: u = e^{t+s} chi solves u_ts = g^2 q u, marched
    over anti-diagonals of the (t, s) square (trapezoid on each cell, second order);
    chi(t, t) ~ exp(2 lambda t). q(Delta) by 2-D Gauss-Hermite. The extrapolated rate is
    accepted within the estimated error of the un-extrapolated fine-step rate.
    """
    g = 2.0
    x, w = special.roots_hermitenorm(120)
    w = w / np.sqrt(2 * np.pi)
    grid = np.linspace(0, g2.delta0, 300)
    qs = [
        w @ (sech2(np.sqrt(d) * x[:, None] + np.sqrt(g2.delta0 - d) * x[None, :]) @ w) ** 2
        for d in grid
    ]
    q_of_delta = CubicSpline(grid, qs)
    delta_of_lag = CubicSpline(g2.tau, g2.delta)

    def rate(step, horizon=60.0):
        m = int(round(horizon / step))
        lags = np.abs(np.arange(-m, m + 1)) * step
        a = 0.25 * step**2 * g * g * q_of_delta(np.clip(delta_of_lag(lags), 0, g2.delta0))
        older, old = np.ones(1), np.ones(2)  # anti-diagonals d - 2 and d - 1, indexed by i
        log_scale, log_diag = 0.0, [0.0]
        for d in range(2, 2 * m + 1):
            lo1, lo2, lo = max(0, d - 1 - m), max(0, d - 2 - m), max(0, d - m)
            i = np.arange(max(1, d - m), min(d - 1, m) + 1)
            left, down, corner = old[i - lo1], old[i - 1 - lo1], older[i - 1 - lo2]
            c = a[2 * i - d + m]  # cell centre lag (i - j) step, j = d - i
            new = np.full(min(d, m) - lo + 1, np.exp(-log_scale))  # u = 1 on t = 0, s = 0
            new[i - lo] = (left + down - corner + c * (left + down + corner)) / (1 - c)
            top = new.max()
            older, old, log_scale = old / top, new / top, log_scale + np.log(top)
            if d % 2 == 0:
                log_diag.append(np.log(new[d // 2 - lo] / top) + log_scale)
        t = step * np.arange(len(log_diag))
        late = t >= horizon / 2
        return 0.5 * np.polyfit(t[late], np.array(log_diag)[late] - 2 * t[late], 1)[0]

    coarse, fine = rate(0.04), rate(0.02)
    # Second order: the fine estimate is off by ~(fine - coarse)/3, the extrapolation by less.
    extrapolated = (4 * fine - coarse) / 3
    assert abs(extrapolated - g2.lambda_max) < abs(fine - coarse) / 3


@pytest.mark.slow
def test_continuous_network_variance():
    """Finite networks (N = 500, RK4) have <h^2> near the DMFT Delta0."""
    g, n, dt = 2.0, 500, 0.05
    s = dmft_continuous(g)
    variances = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        j = rng.standard_normal((n, n)) * (g / np.sqrt(n))
        h = rng.standard_normal(n)

        def f(h, j=j):
            return -h + j @ np.tanh(h)

        acc = []
        for k in range(int(400 / dt)):
            k1 = f(h)
            k2 = f(h + 0.5 * dt * k1)
            k3 = f(h + 0.5 * dt * k2)
            k4 = f(h + dt * k3)
            h = h + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            if k * dt > 100 and k % 10 == 0:
                acc.append(np.mean(h * h))
        variances.append(np.mean(acc))
    se = np.std(variances, ddof=1) / np.sqrt(len(variances))
    assert abs(np.mean(variances) - s.delta0) < N_SE * se


# ---------------------------------------------------------------- DMFT, discrete time


@pytest.mark.parametrize("g", [0.5, 1.0])
def test_discrete_below_onset(g):
    s = dmft_discrete(g)
    assert s.delta0 == 0.0 and s.lambda_max == pytest.approx(np.log(g))


@pytest.mark.parametrize("g", [1.2, 2.0, 5.0])
def test_discrete_fixed_point_by_iteration(g):
    s = dmft_discrete(g)
    d = 1.0
    for _ in range(2000):  # the variance map is a contraction at its stable fixed point
        d_next = g * g * gaussian_average(lambda h: np.tanh(h) ** 2, d)
        if abs(d_next - d) < 1e-15 * d:
            break
        d = d_next
    assert s.delta0 == pytest.approx(d, rel=1e-12)
    assert s.lambda_max == pytest.approx(0.5 * np.log(g * g * s.dphi2_mean), rel=1e-14)
    assert s.lambda_max > 0


def test_discrete_network_statistics():
    """h_{t+1} = J tanh(h_t), N = 1000: <h^2> and <phi'^2> match DMFT within 4 SE."""
    g, n = 2.0, 1000
    s = dmft_discrete(g)
    var, dphi2 = [], []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        j = rng.standard_normal((n, n)) * (g / np.sqrt(n))
        h = rng.standard_normal(n)
        for _ in range(100):
            h = j @ np.tanh(h)
        hs = np.empty((300, n))
        for k in range(300):
            h = j @ np.tanh(h)
            hs[k] = h
        var.append(np.mean(hs**2))
        dphi2.append(np.mean(sech2(hs) ** 2))
    for measured, theory in ((var, s.delta0), (dphi2, s.dphi2_mean)):
        se = np.std(measured, ddof=1) / np.sqrt(len(measured))
        assert abs(np.mean(measured) - theory) < N_SE * se


# ---------------------------------------------------------------- products of random matrices


def _product_exponents(n, steps, g, draw_d, rng, block=100):
    """Benettin/QR on prod_t J_t diag(d_t): block means of log|R_ii| (blocks x n)."""
    q = np.eye(n)
    logs = np.empty((steps, n))
    for t in range(steps):
        m = rng.standard_normal((n, n)) * (g / np.sqrt(n)) * draw_d(n, rng)[None, :]
        q, r = np.linalg.qr(m @ q)
        logs[t] = np.log(np.abs(np.diag(r)))
    return logs.reshape(-1, block, n).mean(axis=1)


def test_ginibre_product_exact_against_monte_carlo():
    n, g, dphi2 = 20, 1.3, 0.7
    blocks = _product_exponents(
        n, 2000, g, lambda k, _r: np.full(k, np.sqrt(dphi2)), np.random.default_rng(0)
    )
    se = blocks.std(axis=0, ddof=1) / np.sqrt(blocks.shape[0])
    assert np.all(np.abs(blocks.mean(axis=0) - ginibre_product_exact(n, g, dphi2)) < N_SE * se)


def test_ginibre_product_exact_tends_to_triangle_law():
    # psi(z) = ln z - 1/(2z) + O(z^-2) gives exact - asymptotic = -1/(4m) + O(m^-2), m = n-i+1.
    n = 2000
    m = n - np.arange(n)
    diff = ginibre_product_exact(n, 1.7, 0.4) - ginibre_discrete(n, 1.7, 0.4)
    assert np.all(np.abs(diff + 0.25 / m) < 1.0 / m**2)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 300),
    g=st.floats(0.1, 20),
    c=st.floats(1e-6, 1.0),
)
def test_free_convolution_constant_is_ginibre(n, g, c):
    lam = free_multiplicative_discrete(n, g, np.full(50, np.sqrt(c)))
    np.testing.assert_allclose(lam, ginibre_discrete(n, g, c), rtol=1e-12, atol=1e-12)


def test_free_convolution_pooling_and_zeros():
    rng = np.random.default_rng(3)
    d = sech2(2.5 * rng.standard_normal(3000))
    n, g = 40, 2.0
    lam = free_multiplicative_discrete(n, g, d)
    # Reference without pooling: brentq in ln u on the raw samples for each rank.
    a = d**2
    x = (np.arange(n) + 0.5) / n
    log_u = [
        optimize.brentq(
            lambda s, xi=xi: np.mean(special.expit(s + np.log(a))) - xi, -50, 150, xtol=1e-13
        )
        for xi in x
    ]
    np.testing.assert_allclose(lam, 0.5 * np.log(g * g * x) - 0.5 * np.array(log_u), atol=1e-5)
    assert lam[0] < 0.5 * np.log(g * g * np.mean(a))  # lambda(x) < lambda(0)
    assert np.all(np.diff(lam) < 0)
    # A quarter of phi' = 0: the lowest quarter of the exponents is -inf, the rest finite.
    with_zeros = free_multiplicative_discrete(n, g, np.concatenate([d, np.zeros(1000)]))
    assert np.all(np.isneginf(with_zeros[30:])) and np.all(np.isfinite(with_zeros[:30]))


_BINS = [(0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8)]


def _deviation_from_free_law(n, steps, g, seed):
    """Per bulk rank bin: mean (Monte Carlo - free law) and its standard error."""

    def draw(k, r):
        return sech2(2.0 * r.standard_normal(k))  # phi' of h ~ N(0, 4): spans decades

    # The law is a functional of the distribution of phi': give it 2e5 exact quantiles.
    quantiles = sech2(2.0 * special.ndtri((np.arange(200_000) + 0.5) / 200_000))
    theory = free_multiplicative_discrete(n, g, quantiles)
    blocks = _product_exponents(n, steps, g, draw, np.random.default_rng(seed)) - theory
    x = (np.arange(n) + 0.5) / n
    out = []
    for lo, hi in _BINS:
        per_block = blocks[:, (x >= lo) & (x < hi)].mean(axis=1)
        out.append((per_block.mean(), per_block.std(ddof=1) / np.sqrt(per_block.size)))
    return np.array(out), blocks + theory, theory, quantiles


def test_free_convolution_against_monte_carlo():
    """N = 50 and 100, 3000 steps: the deviation from the N = inf law shrinks like 1/N.

    Accept if |dev(100)| <= |dev(50) - dev(100)| (the 1/N prediction for dev(100)) + 4 SE
    per bin; the Ginibre law with the same <phi'^2> must be rejected by the same data.
    """
    g = 2.5
    dev50, _, _, _ = _deviation_from_free_law(50, 3000, g, 50)
    dev100, blocks, _, quantiles = _deviation_from_free_law(100, 3000, g, 100)
    se = np.hypot(dev50[:, 1], dev100[:, 1])
    assert np.all(np.abs(dev100[:, 0]) <= np.abs(dev50[:, 0] - dev100[:, 0]) + N_SE * se)
    ginibre = ginibre_discrete(100, g, np.mean(quantiles**2))
    x = (np.arange(100) + 0.5) / 100
    bulk = (x >= 0.2) & (x < 0.8)
    gin_dev = (blocks[:, bulk] - ginibre[bulk]).mean(axis=1)
    assert abs(gin_dev.mean()) > 10 * N_SE * gin_dev.std(ddof=1) / np.sqrt(gin_dev.size)


@pytest.mark.slow
def test_free_convolution_extrapolated_monte_carlo():
    """N = 100 and 200: the 1/N-extrapolated deviation 2 dev(200) - dev(100) vanishes (4 SE)."""
    g = 2.5
    dev100, *_ = _deviation_from_free_law(100, 4000, g, 1)
    dev200, *_ = _deviation_from_free_law(200, 3000, g, 2)
    extrapolated = 2 * dev200[:, 0] - dev100[:, 0]
    se = np.hypot(2 * dev200[:, 1], dev100[:, 1])
    assert np.all(np.abs(extrapolated) < N_SE * se)


# ---------------------------------------------------------------- circular law, continuous time


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 500), g=st.floats(0.1, 50), dphi2=st.floats(1e-4, 1.0))
def test_circular_law_properties(n, g, dphi2):
    lam = circular_law_continuous(n, g, dphi2)
    r = g * np.sqrt(dphi2)
    assert lam.shape == (n,)
    np.testing.assert_allclose(lam + lam[::-1], -2.0, rtol=0, atol=1e-13 * (1 + r))
    assert abs(lam.mean() + 1.0) < 1e-13 * (1 + r)
    assert np.all(np.diff(lam) <= 0) and np.all(np.abs(lam + 1) < r)
    x = (lam + 1) / r
    cdf = 0.5 + (x * np.sqrt(1 - x * x) + np.arcsin(x)) / np.pi
    np.testing.assert_allclose(cdf, 1 - (np.arange(n) + 0.5) / n, atol=1e-13)


def test_circular_law_matches_the_network_spectrum_below_onset():
    """g = 0.8, N = 150: the fixed point's exponents are Re eig(-1 + J) (phi'(0) = 1), so
    lyap_core's spectrum should follow circular_law_continuous(n, g, 1) within the 99.9 %
    KS band (eigenvalues are more rigid than i.i.d. draws: conservative). Measured KS
    distance 0.035 against the band 0.159; the law with radius 1 instead of g is rejected.
    """
    n, g = 150, 0.8
    r = lc.run_point(lc.RunParams(n=n, g=g, t_sim=50.0, t_transient=50.0, seed=0))

    def ks(radius: float) -> float:
        x = np.clip((np.sort(r.exponents) + 1.0) / radius, -1, 1)
        cdf = 0.5 + (x * np.sqrt(1 - x * x) + np.arcsin(x)) / np.pi
        return float(np.max(np.maximum(np.arange(1, n + 1) / n - cdf, cdf - np.arange(n) / n)))

    band = 1.95 / np.sqrt(n)
    assert ks(g) < band
    law = circular_law_continuous(n, g, 1.0)
    assert np.sqrt(np.mean((r.exponents - law) ** 2)) < 0.03 * (law[0] - law[-1])
    assert ks(1.0) > ks(g) + 0.05
