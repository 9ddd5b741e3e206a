"""Rate networks: exact identities, integrator order, seeds, size invariance, errors."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import lyap_core as lc
from lyap_core.coupling import gaussian_coupling
from lyap_core.inputs import InputProcess, WhiteInput, make_input
from lyap_core.nonlinearities import get_nonlinearity
from lyap_core.point import brute_force_lambda_max

pytestmark = pytest.mark.filterwarnings("ignore::lyap_core.NumericsWarning")


def _p(**kw) -> lc.RunParams:
    base = dict(n=50, g=3.0, t_sim=50.0, t_transient=20.0, seed=1)
    base.update(kw)
    return lc.RunParams(**base)


def test_discrete_sum_rule_to_1e10_relative():
    r = lc.run_point(_p(model="discrete", t_sim=500, t_transient=50))
    assert np.isfinite(r.sum_rule_target)
    assert abs(r.sum_rule_residual) < 1e-10 * abs(r.sum_rule_target)


@pytest.mark.parametrize(("phi", "g"), [("softplus", 0.9), ("sigmoid", 6.0)])
def test_discrete_sum_rule_other_nonlinearities(phi, g):
    # (softplus is unbounded: g > 1 makes the discrete map explode)
    r = lc.run_point(_p(model="discrete", phi=phi, g=g, t_sim=300))
    assert abs(r.sum_rule_residual) < 1e-10 * abs(r.sum_rule_target)


def test_continuous_zero_diagonal_mean_exponent_is_minus_one():
    r = lc.run_point(_p())
    assert r.sum_rule_target == -50.0
    assert r.exponents.mean() == pytest.approx(-1.0, abs=1e-5)  # RK4 at dt = 0.1


def _decaying_autapse_run(dt: float) -> lc.SpectrumResult:
    """tr D = -N + sum_i J_ii phi'(h_i) sweeps from ~-N to -N + tr J along a smooth decay."""
    n = 20
    J = gaussian_coupling(n, 0.5, np.random.default_rng(0), autapses=True) + 0.4 * np.eye(n)
    p = lc.RunParams(
        n=n, g=0.5, autapses=True, dt=dt, t_sim=10.0, t_transient=0.0, t_transient_tangent=0.0
    )
    return lc.run_point(p, J=J, x0=np.full(n, 4.0))


def test_autapse_sum_rule_target_is_a_trapezoid_quadrature():
    """The RK4 target integrates tr D with the trapezoid rule, not a left-point sum.

    The left-point sum is off by (dt/2T)(tr D(end) - tr D(start)) ~ 0.039 here, first
    order in dt (measured before the fix: 3.87e-2, 1.93e-2 at dt = 0.1, 0.05). The
    trapezoid rule leaves the Euler–Maclaurin term dt^2/(12 T) * (change of d/dt tr D),
    measured 8.8e-6 and 1.3e-6: the bound 1e-4 is 400x below the left-point error.
    """
    coarse, fine = (_decaying_autapse_run(dt) for dt in (0.1, 0.05))
    assert coarse.sum_rule_target != -20.0  # the diagonal moves the target
    assert abs(fine.sum_rule_residual) < 1e-4, fine.sum_rule_residual
    # second order at least (the left-point sum halves: ratio 2.0)
    assert abs(coarse.sum_rule_residual / fine.sum_rule_residual) > 3.5


def test_euler_sum_rule_target_is_the_euler_maps_log_det():
    """Euler exponents sum to <log|det((1 - dt) I + dt J diag phi')|>/dt to round-off.

    (Before the fix the target was the flow's trace -N: residual -2.20 at dt = 0.1.)
    """
    r = lc.run_point(_p(g=5.0, seed=0, scheme="euler", dt=0.1))
    assert r.sum_rule_target < -50.5  # not the flow's -N
    assert abs(r.sum_rule_residual) < 1e-11 * abs(r.sum_rule_target), r.sum_rule_residual
    # a partial spectrum skips the N x N determinant per step: no target at all
    part = lc.run_point(_p(g=5.0, seed=0, scheme="euler", dt=0.1, m=5))
    assert np.isnan(part.sum_rule_target) and np.isnan(part.sum_rule_residual)


def test_discrete_full_spectrum_does_not_ask_to_shorten_one_step_t_ons():
    """One step between QRs cannot be shortened: no t_ons warning, though cond(Q) is huge.

    (Before the fix: 't_ons: Q reached condition number 5.34e+08 ... shorten t_ons'.)
    Negative control: five steps per QR on the same map still warns.
    """
    p = lc.RunParams(model="discrete", n=100, g=3.0, t_sim=300.0, t_transient=100.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = lc.run_point(p)
    assert r.max_condition_number > 1e5 and r.steps_per_ons == 1
    assert not [w for w in caught if "t_ons" in str(w.message)]
    assert abs(r.sum_rule_residual) < 1e-10 * abs(r.sum_rule_target)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lc.run_point(p.replace(t_ons=5.0))
    assert [w for w in caught if "shorten t_ons" in str(w.message)]


def test_discrete_relu_singular_map_is_reported():
    """phi' = 0 makes the map singular: the user is told, instead of a silent -inf/NaN."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = lc.run_point(_p(model="discrete", phi="relu", g=2.0, t_sim=50, t_transient=10))
    assert r.sum_rule_target == -np.inf and np.isnan(r.sum_rule_residual)
    assert any("phi'(h) = 0" in str(w.message) and "-inf" in str(w.message) for w in caught)
    assert not [w for w in caught if "t_ons" in str(w.message)]
    # a smooth phi on the same network: no such message
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lc.run_point(_p(model="discrete", phi="tanh", g=2.0, t_sim=50, t_transient=10))
    assert not [w for w in caught if "phi'(h) = 0" in str(w.message)]


@pytest.mark.parametrize(("scheme", "order"), [("rk4", 4), ("euler", 1)])
def test_integrator_order_of_the_exponents_on_a_chaotic_network(chaotic, scheme, order):
    """Finite-time exponents from one attractor state and frame converge at the scheme's order.

    Over T = 4 (chaos amplifies the dt^p trajectory error only by ~e^(lambda T) ~ 2.6) the
    full spectrum at dt and dt/2 differs by C dt^p: the ratio of successive differences
    estimates 2^p. Measured log2 ratios at the finest pair: 4.06 (RK4), 1.32 (Euler);
    the check allows the order +- 0.5 (a third- or fifth-order RK4 bug fails it).
    """
    c = chaotic("continuous")
    lam = {}
    for dt in (0.05, 0.025, 0.0125):
        q = c.params.replace(
            dt=dt, scheme=scheme, t_sim=4.0, t_ons=0.5, t_transient=0.0, t_transient_tangent=0.0
        )
        lam[dt] = lc.run_point(q, x0=c.x).exponents
    coarse = np.max(np.abs(lam[0.05] - lam[0.025]))
    fine = np.max(np.abs(lam[0.025] - lam[0.0125]))
    assert abs(np.log2(coarse / fine) - order) < 0.5, (coarse, fine)


def test_fixed_point_spectrum_is_that_of_the_numerical_map():
    """Below onset h -> 0, D = -1 + J: exponents are log|R(dt mu)|/dt of the RK4 map.

    A complex pair's two exponents split by O(1/T) at finite T (the pair rotates), but
    the pair's sum is exact: compare partial sums at the boundaries between eigenvalue
    moduli.
    """
    p = _p(g=0.5, n=12, t_sim=400, t_transient=60, t_transient_tangent=1000)
    r = lc.run_point(p)
    mu = np.linalg.eigvals(lc.build_coupling(p)) - 1.0
    z = p.step * mu
    amp = 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24
    expect = np.sort(np.log(np.abs(amp)) / p.step)[::-1]
    # cut only at gaps wide enough to align Q to ~exp(-0.04 * 1000) in the tangent transient
    cut = np.nonzero(np.abs(np.diff(expect)) > 0.04)[0]
    assert cut.size >= 3
    np.testing.assert_allclose(
        np.cumsum(r.exponents)[cut], np.cumsum(expect)[cut], rtol=0, atol=1e-8
    )
    # ... and the RK4 map differs from the flow's spectrum Re(mu) only at O(dt^4)
    assert np.max(np.abs(expect - np.sort(mu.real)[::-1])) < 1e-4


def test_t_ons_independence(chaotic):
    """The accumulated product does not depend on where the QRs fall (chaotic network).

    The state path is the same bits for any t_ons, and the frame converges to the same
    backward Lyapunov vectors: measured max difference 7e-13 at T = 200, 1e4 below the
    time noise (s.e. ~0.02); a t_ons-dependent bug (a lost or doubled log R) is O(0.1).
    """
    c = chaotic("continuous")
    a = lc.run_point(c.params.replace(t_ons=0.5))
    b = lc.run_point(c.params.replace(t_ons=2.0))
    np.testing.assert_allclose(a.exponents, b.exponents, rtol=0, atol=1e-9)
    assert a.exponents.tobytes() != c.result.exponents.tobytes()  # not one cached run


@pytest.mark.parametrize("kind", ["continuous", "discrete"])
def test_same_seeds_identical_bits_and_streams_are_independent(chaotic, kind):
    """On a chaotic network any nondeterminism would be amplified ~e^(lambda T) ~ e^70."""
    c = chaotic(kind)
    a = lc.run_point(c.params)
    assert a.exponents.tobytes() == c.result.exponents.tobytes()
    assert a.stderr.tobytes() == c.result.stderr.tobytes()
    assert a.kaplan_yorke_dimension == c.result.kaplan_yorke_dimension
    # pinning the network seed keeps J while the trajectory changes
    p2 = c.params.replace(seed=c.params.seed + 1, seed_network=c.params.seed)
    np.testing.assert_array_equal(lc.build_coupling(c.params), lc.build_coupling(p2))
    b = lc.run_point(p2)
    assert np.all(b.exponents != a.exponents)
    # ... and only the init stream moves it: a pinned init and onb seed gives the same bits
    p3 = p2.replace(seed_init=c.params.seed, seed_onb=c.params.seed)
    assert lc.run_point(p3).exponents.tobytes() == a.exponents.tobytes()


def test_partial_spectrum_matches_top_of_full(chaotic):
    """Top m of a chaotic network's spectrum: same state path, frames that converge.

    The two runs start from different random frames, so the leading exponents differ by
    the frames' O(1/T) transient, not by time noise (measured: at most 0.4 s.e.).
    """
    c = chaotic("continuous")
    full = c.result
    part = lc.run_point(c.params.replace(m=10))
    assert part.exponents.shape == (10,) and part.m == 10
    assert np.all(np.abs(part.exponents - full.exponents[:10]) < 2 * full.stderr[:10])
    assert part.kaplan_yorke_dimension == pytest.approx(full.kaplan_yorke_dimension, abs=0.3)
    assert np.isnan(part.sum_rule_residual)
    # D_KY beyond m is unknown for a partial spectrum that never turns negative
    top2 = lc.run_point(c.params.replace(m=2))
    assert np.all(np.cumsum(top2.exponents) >= 0) and np.isnan(top2.kaplan_yorke_dimension)


def test_size_invariance_on_rank_axis():
    """Spectra of N = 100 and N = 200 agree on the i/N axis within error bars over seeds."""
    ranks = np.linspace(0.1, 0.9, 9)
    curves = {}
    for n in (100, 200):
        spectra = []
        for seed in range(3):
            r = lc.run_point(lc.RunParams(n=n, g=3.0, t_sim=100.0, t_transient=50.0, seed=seed))
            spectra.append(np.interp(ranks, lc.rank_coordinate(n, n), r.exponents[::-1][::-1]))
        s = np.array(spectra)
        curves[n] = (s.mean(0), s.std(0, ddof=1) / np.sqrt(len(s)))
    (m1, e1), (m2, e2) = curves[100], curves[200]
    assert np.all(np.abs(m1 - m2) < 3 * np.hypot(e1, e2) + 0.01), (m1, m2, e1, e2)


def test_sparse_network_runs_and_obeys_sum_rule(chaotic):
    """A chaotic sparse network (fixed in-degree 20, zero diagonal): mean exponent -1."""
    c = chaotic("sparse")
    J = c.J
    assert sp.issparse(J) and np.all(np.diff(J.indptr) == 20)
    assert np.all(J.diagonal() == 0)
    assert c.result.sum_rule_target == -c.params.n
    assert c.result.exponents.mean() == pytest.approx(-1.0, abs=1e-5)


def test_sparse_and_dense_same_matrix_same_exponents(chaotic):
    """Same J as CSR and dense, from one attractor state, over T = 40.

    The two products round differently; chaos amplifies that by ~e^(0.19 * 50) ~ 1e4, so
    1e-9 still holds (measured 3e-14); a wrong sparse product is off by O(0.1).
    """
    c = chaotic("sparse")
    J = c.J
    assert sp.issparse(J) and np.all(np.diff(J.indptr) == 20)
    q = c.params.replace(t_sim=40.0, t_transient=0.0)
    a = lc.run_point(q, J=J, x0=c.x)
    b = lc.run_point(q, J=J.toarray(), x0=c.x)
    np.testing.assert_allclose(a.exponents, b.exponents, rtol=0, atol=1e-9)


def test_user_coupling_file(tmp_path):
    J = gaussian_coupling(40, 2.5, np.random.default_rng(0))
    np.save(tmp_path / "J.npy", J)
    p = _p(n=40, connectivity="file", coupling=str(tmp_path / "J.npy"))
    a = lc.run_point(p)
    b = lc.run_point(_p(n=40), J=J)
    assert a.exponents.tobytes() == b.exponents.tobytes()


def test_input_reduces_nothing_in_jacobian_but_changes_trajectory():
    a = lc.run_point(_p())
    b = lc.run_point(_p(input_std=0.5, input_tau=1.0))
    assert b.exponents.mean() == pytest.approx(-1.0, abs=1e-5)  # sum rule holds with input
    assert a.exponents.tobytes() != b.exponents.tobytes()
    # white noise of intensity 0.5 (explicit: RunParams refuses input_tau = 0)
    p = _p()
    white = WhiteInput(p.n, 0.5, p.step, np.random.default_rng(3))
    net = lc.RateNetwork(lc.build_coupling(p), dt=p.step, inputs=white)
    w = lc.lyapunov_spectrum(
        net, np.random.default_rng(1).standard_normal(p.n), t_ons=1.0, t_sim=50.0, t_transient=20.0
    )
    assert w.exponents.mean() == pytest.approx(-1.0, abs=1e-5)


def test_white_noise_input_std_is_refused_with_one_line():
    """input_std is a stationary std; white noise (input_tau = 0) has none: refused by name."""
    with pytest.raises(lc.ParamError, match=r"^input_tau: must be > 0 when input_std > 0"):
        _p(input_std=0.5, input_tau=0.0)
    _p(input_std=0.0, input_tau=0.0)  # no input: nothing to mean
    _p(model="discrete", input_std=0.5, input_tau=0.0)  # i.i.d. steps: tau unused
    with pytest.raises(ValueError, match="input_tau"):
        make_input(3, 0.5, 0.0, continuous=True, dt=0.1, n_points=3, rng=None)


def test_diverging_run_names_the_step():
    with pytest.raises(lc.DivergenceError, match=r"step \d+ \(t = "):
        lc.run_point(_p(phi="relu", g=50.0, dt=0.1, t_transient=500))


BAD = [
    (dict(n=0), "n"),
    (dict(n=-3), "n"),
    (dict(g=-1.0), "g"),
    (dict(g=float("nan")), "g"),
    (dict(dt=0.0), "dt"),
    (dict(dt=-0.1), "dt"),
    (dict(dt=0.5, t_ons=0.2), "t_ons"),
    (dict(m=51), "m"),
    (dict(phi="cosh"), "phi"),
    (dict(scheme="rk45"), "scheme"),
    (dict(model="spiking"), "model"),
    (dict(t_sim=0.0), "t_sim"),
    (dict(input_std=-1.0), "input_std"),
    (dict(connectivity="sparse"), "k"),
    (dict(connectivity="file"), "coupling"),
    (dict(model="discrete", dt=0.1), "dt"),
    (dict(seed=-1), "seed"),
]


@pytest.mark.parametrize(("kw", "field"), BAD)
def test_invalid_parameters_name_the_field(kw, field):
    with pytest.raises(lc.ParamError, match=rf"^{field}: "):
        _p(**kw)


@pytest.mark.parametrize(
    ("J", "msg"),
    [
        (np.zeros((3, 4)), "square"),
        (np.full((3, 3), np.nan), "NaN"),
        (np.eye(3)[None], "2-D"),
        (np.ones((40, 40)), "does not match n"),
    ],
)
def test_invalid_coupling_matrices(J, msg):
    with pytest.raises(ValueError, match=msg):
        lc.run_point(_p(n=3 if J.shape[-1] != 40 else 50), J=J)


def test_unknown_nonlinearity_object():
    with pytest.raises(ValueError, match="phi: unknown"):
        get_nonlinearity("cosh")


def test_numerics_warnings_are_emitted():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lc.run_point(_p(scheme="euler", dt=0.1, t_sim=10))
    assert any("Euler" in str(w.message) for w in caught)


def test_bootstrap_errors_agree_with_batch_means():
    a = lc.run_point(_p(t_sim=100))
    b = lc.run_point(_p(t_sim=100, bootstrap=400))
    assert a.exponents.tobytes() == b.exponents.tobytes()  # errors only
    ratio = b.stderr / a.stderr
    assert 0.6 < np.median(ratio) < 1.4, np.median(ratio)
    assert np.isfinite(b.kaplan_yorke_dimension_stderr)


def test_adaptive_ons_keeps_condition_number_moderate():
    # t_ons = 10 at g = 6 lets cond(Q) grow to ~exp((l_1 - l_N) * 10) before a QR
    fixed = lc.run_point(_p(g=6.0, t_ons=10.0, t_sim=100.0, t_transient_tangent=20.0))
    adaptive = lc.run_point(
        _p(g=6.0, t_ons=10.0, t_sim=100.0, t_transient_tangent=20.0, adaptive_ons=True)
    )
    assert fixed.max_condition_number > 1e6
    assert adaptive.steps_per_ons < fixed.steps_per_ons
    assert adaptive.max_condition_number < 1e5
    assert np.all(np.abs(adaptive.exponents - fixed.exponents) < 3 * fixed.stderr + 1e-3)
    assert adaptive.time == fixed.time  # t_sim is kept exactly


def test_brute_force_lambda_max_agrees_with_qr_on_the_same_segment(chaotic):
    """Two-trajectory lambda_max vs the QR one, same attractor state, same time window.

    Both estimate the same finite-time exponent (common time noise), so after the
    alignment transient they differ only by residual misalignment and the eps-sized
    nonlinearity: measured 2.5e-4 and 3e-5 (two separation seeds). Without alignment
    the random start biases it by up to 0.031 here: the check would see it.
    """
    c = chaotic("continuous")
    T, t_align = 100.0, 50.0
    qr = lc.lyapunov_spectrum(
        lc.build_network(c.params),
        c.x.copy(),
        m=1,
        t_ons=1.0,
        t_sim=T,
        t_transient_tangent=t_align,
        rng_onb=5,
    )
    per = round(1.0 / c.params.step)
    aligned, unaligned = [], []
    for seed in (3, 4):
        for t_a, out in ((t_align, aligned), (0.0, unaligned)):
            net = lc.build_network(c.params)
            out.append(brute_force_lambda_max(net, c.x.copy(), T, per, t_align=t_a, seed=seed))
    assert np.all(np.abs(np.array(aligned) - qr.lambda_max) < 2e-3), (aligned, qr.lambda_max)
    assert np.max(np.abs(np.array(unaligned) - qr.lambda_max)) > 1e-2  # the bias it removes


def test_run_point_brute_force_within_errors(chaotic):
    """In run_point the brute force runs on the segment after the QR run: agreement within
    3 combined standard errors of two independent segments (3 sqrt(2) s.e.)."""
    c = chaotic("continuous")
    r = lc.run_point(c.params, brute_force=True)
    assert r.lambda_max == c.result.lambda_max  # the QR run itself is unchanged
    assert abs(r.brute_force_lambda_max - r.lambda_max) < 3 * np.sqrt(2) * r.lambda_max_stderr


class _SineInput(InputProcess):
    """Deterministic I(t) = sin t on RK4's grid (t, t + dt/2, t + dt)."""

    def __init__(self, n: int, dt: float):
        self.n, self.dt, self.t = n, dt, 0.0

    def stage_values(self) -> list[np.ndarray]:
        vals = [np.full(self.n, np.sin(self.t + j * self.dt / 2)) for j in range(3)]
        self.t += self.dt
        return vals


def test_rk4_samples_a_time_dependent_input_at_its_stage_times():
    """J = 0: dh/dt = -h + sin t, h(0) = 0, exactly h = (sin t - cos t + e^-t) / 2.

    RK4 with the input at t, t + dt/2, t + dt is fourth order (measured error ratio 16.0
    from dt = 0.1 to 0.05 at t = 5); a stage sampled at the wrong time drops the order.
    """
    errors = []
    for dt in (0.1, 0.05):
        net = lc.RateNetwork(np.zeros((2, 2)), dt=dt, inputs=_SineInput(2, dt))
        h = np.zeros(2)
        steps = round(5.0 / dt)
        for _ in range(steps):
            net.step_state(h)
        t = steps * dt
        errors.append(abs(h[0] - (np.sin(t) - np.cos(t) + np.exp(-t)) / 2))
    assert abs(np.log2(errors[0] / errors[1]) - 4) < 0.5, errors


def test_chaotic_flag_needs_lambda_max_beyond_its_errors(chaotic):
    """N = 100, g = 3, seed 3 has a zero top exponent (lambda_max = 0.0006 +- 0.0065 at
    T = 200): positive but not chaotic. The fixture network is."""
    r = lc.run_point(lc.RunParams(n=100, g=3.0, m=2, t_sim=200.0, t_transient=100.0, seed=3))
    assert 0 < r.lambda_max < 3 * r.lambda_max_stderr and not r.chaotic
    assert chaotic("continuous").result.chaotic


def test_converged_flag_compares_the_running_estimate_at_t_and_t_half():
    """The rule on a synthetic history: lambda(T) - lambda(T/2) = 4 s.e. fails, 2 s.e. passes."""
    from lyap_core.result import _converged

    t = np.arange(1.0, 101.0)
    for shift, expect in ((4.0, False), (2.0, True)):
        hist = np.where(t[:, None] > 50, 0.1 + shift * 0.01, 0.1)  # s.e. 0.01
        assert bool(_converged(t, hist, lambda x: x[0], 0.01)) == expect


def test_time_blocks_are_contiguous_stretches_of_the_run(chaotic):
    """Batch means need contiguous blocks: with two blocks, the first is exactly the
    spectrum of the same run stopped at half time (same state path and frame)."""
    c = chaotic("continuous")
    full = lc.run_point(c.params.replace(t_sim=40.0, n_blocks=2))
    half = lc.run_point(c.params.replace(t_sim=20.0, n_blocks=2))
    first = np.sort(full.block_means[0])[::-1]
    np.testing.assert_allclose(first, half.exponents, rtol=0, atol=1e-12)
    assert np.max(np.abs(full.block_means[1] - full.block_means[0])) > 1e-3
