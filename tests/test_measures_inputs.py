"""Measures (Kaplan–Yorke, KS entropy, symmetry, PCA) and input processes."""

import numpy as np
import pytest

import lyap_core as lc
from lyap_core.inputs import GaussianStepInput, InputProcess, OUInput, WhiteInput, make_input
from lyap_core.measures import participation_ratio, pca_dimension, point_symmetry


def test_kaplan_yorke_closed_forms():
    assert lc.kaplan_yorke_dimension([0.5, 0.0, -1.0]) == pytest.approx(2.5)
    assert lc.kaplan_yorke_dimension([-1.0, 0.5, 0.0]) == pytest.approx(2.5)  # order-free
    assert lc.kaplan_yorke_dimension([-0.1, -1.0]) == 0.0
    assert lc.kaplan_yorke_dimension([1.0, 0.5]) == 2.0  # complete: never negative -> N
    assert np.isnan(lc.kaplan_yorke_dimension([1.0, 0.5], complete=False))
    assert np.isnan(lc.kaplan_yorke_dimension([1.0, np.nan, -3.0]))
    # Lorenz: 2 + 0.9056 / 14.5723
    assert lc.kaplan_yorke_dimension([0.9056, 0.0, -14.5723]) == pytest.approx(2.06214, abs=1e-5)


def test_ks_entropy_sums_positive_exponents():
    assert lc.ks_entropy([0.3, 0.2, -0.1, -2.0]) == pytest.approx(0.5)
    assert lc.ks_entropy([-0.3]) == 0.0


def test_point_symmetry():
    lam = np.array([0.5, 0.1, -1.0, -2.1, -2.5])
    s = point_symmetry(lam)
    assert s["centre"] == pytest.approx(-1.0)
    assert s["max_deviation"] == pytest.approx(0.0, abs=1e-15)
    s2 = point_symmetry(lam + np.array([0, 0.1, 0, 0, 0]))
    # pair (2, 4) moves by 0.05, the centre by 0.02: max deviation 0.03
    assert s2["max_deviation"] == pytest.approx(0.03)


def test_participation_ratio_and_pca_dimension():
    assert participation_ratio(np.ones(10)) == pytest.approx(10)
    assert participation_ratio(np.eye(10)[0]) == pytest.approx(1)
    assert pca_dimension(np.eye(7)) == pytest.approx(7)
    assert pca_dimension(np.diag([1.0, 0, 0])) == pytest.approx(1)


def test_network_pca_dimension_against_an_independent_covariance(chaotic):
    """The engine's streamed PCA dimension equals (tr C)^2 / tr C^2 of np.cov of the same
    states (one per t_ons, sampled here by stepping the state alone) and of their rates.

    From an attractor state over T = 30 the two state paths differ only by the rounding
    of the fused product, amplified ~e^(0.24 * 30) ~ 1e3: agreement to 1e-8 relative.
    """
    c = chaotic("continuous")
    p = c.params.replace(t_sim=30.0, t_transient=0.0, t_transient_tangent=0.0)
    r = lc.run_point(p, x0=c.x)
    net, x = lc.build_network(p), c.x.copy()
    per = p.steps()["per_ons"]
    samples = []
    for _ in range(p.steps()["n_ons"]):
        for _ in range(per):
            net.step_state(x)
        samples.append(x.copy())
    H = np.array(samples)

    def pr(Z: np.ndarray) -> float:
        C = np.cov(Z, rowvar=False, bias=True)
        return np.trace(C) ** 2 / np.trace(C @ C)

    assert r.pca_dimension_h == pytest.approx(pr(H), rel=1e-8)
    assert r.pca_dimension_rates == pytest.approx(pr(np.tanh(H)), rel=1e-8)
    assert r.pca_dimension_h != pytest.approx(r.pca_dimension_rates, rel=1e-3)


def test_ou_input_stationary_std_and_correlation():
    rng = np.random.default_rng(0)
    dt, tau, std = 0.1, 2.0, 0.7
    ou = OUInput(2000, std, tau, dt, n_points=3, rng=rng)
    xs = []
    for _ in range(400):
        vals = ou.stage_values()
        assert len(vals) == 3
        xs.append(vals[0])
    x = np.array(xs)
    assert x.std() == pytest.approx(std, rel=0.02)
    lag = 10  # 10 steps of dt = 1 tau
    c = np.mean(x[:-lag] * x[lag:]) / x.var()
    assert c == pytest.approx(np.exp(-lag * dt / tau), abs=0.02)


def test_white_and_discrete_inputs():
    w = WhiteInput(5000, 0.5, 0.04, np.random.default_rng(1))
    assert w.increment().std() == pytest.approx(0.5 * 0.2, rel=0.05)
    d = GaussianStepInput(5000, 0.3, np.random.default_rng(2))
    assert d.increment().std() == pytest.approx(0.3, rel=0.05)
    assert isinstance(
        make_input(3, 0.0, 1.0, continuous=True, dt=0.1, n_points=3, rng=np.random.default_rng()),
        InputProcess,
    )


def test_input_state_round_trip():
    a = OUInput(10, 1.0, 1.0, 0.1, 3, np.random.default_rng(5))
    a.stage_values()
    st = a.get_state()
    x1 = a.stage_values()
    b = OUInput(10, 1.0, 1.0, 0.1, 3, np.random.default_rng(99))
    b.set_state(st)
    x2 = b.stage_values()
    for u, v in zip(x1, x2, strict=True):
        assert u.tobytes() == v.tobytes()


def test_kaplan_yorke_divides_by_the_first_exponent_with_negative_partial_sum():
    """D = k + S_k / |lambda_{k+1}| where lambda_{k+1} is neither lambda_k nor the last one."""
    # S = (1, 0.5, -0.5, -3.5): k = 2, D = 2 + 0.5 / 1.0 (lambda_k: 3.0; last: 2.1667)
    assert lc.kaplan_yorke_dimension([1.0, -0.5, -1.0, -3.0]) == pytest.approx(2.5)


def test_kaplan_yorke_of_a_chaotic_spectrum_is_the_zero_of_the_partial_sums(chaotic):
    """Independent reference: D_KY is where the piecewise-linear interpolation of the
    partial sums S(j), S(0) = 0, crosses zero (Kaplan & Yorke's definition)."""
    r = chaotic("continuous").result
    S = np.concatenate([[0.0], np.cumsum(r.exponents)])
    j = int(np.nonzero((S[:-1] >= 0) & (S[1:] < 0))[0][-1])
    expect = j + S[j] / (S[j] - S[j + 1])
    assert r.kaplan_yorke_dimension > 3  # several exponents enter
    assert r.kaplan_yorke_dimension == pytest.approx(expect, rel=1e-12)
    assert r.ks_entropy == pytest.approx(r.exponents[r.exponents > 0].sum(), rel=1e-12)


def test_ks_entropy_keeps_small_positive_exponents():
    assert lc.ks_entropy([0.005, 1e-4, -1.0]) == pytest.approx(0.0051)


def test_lyapunov_vector_participation_ratio_is_that_of_the_leading_vector(chaotic):
    """The PR stored with a full spectrum is that of the first (leading) vector: the m = 1
    run, whose single column aligns with the same backward Lyapunov vector, agrees
    (measured 28.8426 vs 28.8413 of N = 80)."""
    c = chaotic("continuous")
    one = lc.run_point(c.params.replace(m=1))
    assert 1 < one.pr_lyapunov_vector < c.params.n
    assert c.result.pr_lyapunov_vector == pytest.approx(one.pr_lyapunov_vector, rel=1e-3)
