"""Time to answer: accuracy targets, m = "auto", mixed precision, threads, adaptive t_ONS.

Consistency checks run on a network the fixture proves chaotic (CHAOTIC, lambda_max
> 0 by many standard errors); references are independent runs (full spectrum,
float64, fixed t_ONS) or closed forms.
"""

import json

import numpy as np
import pytest

import lyap_core as lc
from lyap_core import coverage, stopping
from lyap_core.cli import main
from lyap_core.mixed import SplitPrecisionNetwork
from lyap_core.point import build_network, rng_for

pytestmark = pytest.mark.filterwarnings("ignore::lyap_core.NumericsWarning")

CHAOTIC = dict(n=100, g=5.0, seed=1, t_transient=50.0)  # lambda_max ~ 0.28/tau


@pytest.fixture(scope="module")
def chaotic_full():
    r = lc.run_point(lc.RunParams(**CHAOTIC, t_sim=200.0))
    assert r.chaotic and r.lambda_max > 5 * r.lambda_max_stderr
    return r


# -- adaptive t_ONS: the two defects of the issue ---------------------------------------------
def test_adaptive_ons_leaves_no_time_block_empty():
    # was: t_ONS = t_sim / 20 blocks... chosen larger, blocks without data, stderr NaN
    r = lc.run_point(lc.RunParams(n=50, g=3.0, t_sim=30.0, t_transient=20.0, adaptive_ons=True))
    assert r.block_means.shape[0] == 20
    assert np.all(np.isfinite(r.block_means)) and np.all(np.isfinite(r.stderr))
    assert r.time == 30.0


def test_adaptive_ons_with_one_exponent_bounds_the_vector_growth():
    # m = 1: cond(Q) is always 1; the norm growth (max |log R_ii|) must bound t_ONS, or a
    # single QR over t_sim = 3000 overflows (was a DivergenceError)
    base = dict(n=60, g=8.0, m=1, t_sim=3000.0, t_transient=20.0)
    adaptive = lc.run_point(lc.RunParams(**base, adaptive_ons=True))
    fixed = lc.run_point(lc.RunParams(**base))
    assert adaptive.steps_per_ons * adaptive.dt * adaptive.lambda_max < np.log(1e3) * 2
    se = np.hypot(adaptive.lambda_max_stderr, fixed.lambda_max_stderr)
    assert abs(adaptive.lambda_max - fixed.lambda_max) < 3 * se


# -- maps: QR interval from the observed condition number -------------------------------------
MAP = dict(model="discrete", n=60, g=1.3, seed=1, t_sim=1000, t_transient=100)


def _qr_count(params):
    """Result and number of QRs in the accumulation (progress is called after each)."""
    s = params.steps()
    start = s["transient"] + s["tangent_transient"]
    calls = []
    res = lc.run_point(params, progress=lambda done, total: calls.append(done))
    return res, sum(d > start for d in calls)


def test_map_qr_interval_follows_the_condition_number():
    fixed, n_fixed = _qr_count(lc.RunParams(**MAP))
    adaptive, n_adaptive = _qr_count(lc.RunParams(**MAP, adaptive_ons=True))
    assert n_fixed == 1000 and n_adaptive < n_fixed / 2  # one step per QR before
    # same trajectory; where the QRs cut the product does not change the exponents while
    # cond(Q) < 1e7 (CholeskyQR2 exact to u cond): the t_ons-independence bound of E3
    assert adaptive.max_condition_number < 1e7
    assert np.max(np.abs(adaptive.exponents - fixed.exponents)) < 1e-8
    assert abs(adaptive.sum_rule_residual) < 1e-10 * abs(adaptive.sum_rule_target)
    assert np.all(np.isfinite(adaptive.stderr)) and adaptive.block_means.shape[0] == 20


def test_map_qr_interval_resume_is_bit_identical(tmp_path):
    p = lc.RunParams(**MAP, adaptive_ons=True)
    ref = lc.run_point(p)
    path = tmp_path / "ck.npz"
    calls = {"n": 0}

    class Interrupt(Exception):
        pass

    def progress(done, total):
        calls["n"] += 1
        if calls["n"] == 200:
            raise Interrupt

    with pytest.raises(Interrupt):
        lc.run_point(p, checkpoint=path, checkpoint_interval=0, progress=progress)
    res = lc.run_point(p, checkpoint=path, checkpoint_interval=0)
    assert res.exponents.tobytes() == ref.exponents.tobytes()
    assert res.stderr.tobytes() == ref.stderr.tobytes()


# -- accuracy targets -------------------------------------------------------------------------
def test_target_stops_with_the_errors_it_promises(chaotic_full):
    x = 0.1
    r = lc.run_point(lc.RunParams(**CHAOTIC, target_rel_stderr=x, t_max=2000.0))
    assert r.stopped_by == "target" and r.time < 2000.0
    p = lc.RunParams(**CHAOTIC, target_rel_stderr=x, t_max=2000.0)
    assert r.time >= p.t_min
    for v, se in [
        (r.lambda_max, r.lambda_max_stderr),
        (r.kaplan_yorke_dimension, r.kaplan_yorke_dimension_stderr),
        (r.ks_entropy, r.ks_entropy_stderr),
    ]:
        assert se <= x * abs(v)
    # batch means over B..2B-1 blocks of equal length
    assert 20 <= r.block_means.shape[0] < 40
    assert r.time == pytest.approx(r.block_means.shape[0] * (r.time / r.block_means.shape[0]))
    # the same numbers as a fixed-length run of the time it stopped at (same trajectory)
    fixed = lc.run_point(lc.RunParams(**CHAOTIC, t_sim=r.time))
    assert fixed.exponents.tobytes() == r.exponents.tobytes()


def test_target_not_reached_stops_at_t_max():
    r = lc.run_point(lc.RunParams(**CHAOTIC, target_rel_stderr=1e-4, t_max=150.0))
    assert r.stopped_by == "t_max"
    # the last complete block ends within one block length of t_max
    assert 150.0 * (1 - 1 / 20) <= r.time <= 150.0


def test_target_on_a_fixed_point_stops_as_not_chaotic():
    # g < 1: h -> 0, lambda_max = max Re(-1 + mu(J)) < 0; no relative accuracy to reach
    r = lc.run_point(lc.RunParams(n=50, g=0.5, seed=1, t_transient=20.0, target_rel_stderr=0.01))
    assert r.stopped_by == "not_chaotic" and r.lambda_max < 0
    assert r.time <= 21 * 5.0  # B blocks of 5 t_ons, plus the second check


def test_running_errors_match_the_final_summary(chaotic_full):
    r = chaotic_full
    # block_means are per-block exponents; rebuild block sums from them
    bt = np.full(r.block_means.shape[0], r.time / r.block_means.shape[0] / r.dt)
    e = stopping.running_errors(r.block_means * (bt * r.dt)[:, None], bt, r.dt, True)
    assert e.lambda_max == pytest.approx(r.lambda_max, rel=1e-12)
    assert e.lambda_max_stderr == pytest.approx(r.lambda_max_stderr, rel=1e-12)
    assert e.kaplan_yorke_stderr == pytest.approx(r.kaplan_yorke_dimension_stderr, rel=1e-9)
    assert e.ks_stderr == pytest.approx(r.ks_entropy_stderr, rel=1e-9)


def test_merge_pairs_keeps_the_sums():
    rng = np.random.default_rng(0)
    sums, steps = rng.standard_normal((8, 3)), np.full(8, 10)
    total = sums.sum(axis=0)
    stopping.merge_pairs(sums, steps)
    assert np.allclose(sums[:4].sum(axis=0), total) and np.all(steps[:4] == 20)
    assert not sums[4:].any() and not steps[4:].any()


@pytest.mark.parametrize("kw", [dict(m="auto"), dict(precision="mixed")])
def test_target_resume_is_bit_identical(tmp_path, kw):
    p = lc.RunParams(n=40, g=6.0, seed=3, t_transient=10.0, target_rel_stderr=0.5, **kw)
    ref = lc.run_point(p)
    count = {"n": 0}

    class Interrupt(Exception):
        pass

    def progress(done, total):
        count["n"] += 1
        if count["n"] == stop:
            raise Interrupt

    # boundaries: 10 transient, 5 tangent transient (14: in its second half, where
    # m = "auto" sums its estimate), then the accumulation
    for stop in (8, 14, 30, 100):
        count["n"] = 0
        path = tmp_path / f"ck{stop}.npz"
        with pytest.raises(Interrupt):
            lc.run_point(p, checkpoint=path, checkpoint_interval=0, progress=progress)
        res = lc.run_point(p, checkpoint=path, checkpoint_interval=0)
        assert res.exponents.tobytes() == ref.exponents.tobytes(), stop
        assert res.stderr.tobytes() == ref.stderr.tobytes()
        assert (res.time, res.stopped_by, res.m) == (ref.time, ref.stopped_by, ref.m)


# -- m = "auto" -------------------------------------------------------------------------------
def test_coverage_rule_on_closed_form_spectra():
    lam = np.array([0.3, 0.2, 0.1, -0.1, -0.4, -0.5, -0.6, -0.7])  # S = .3 .5 .6 .5 .1 -.4
    assert coverage.ky_index(lam) == 5
    assert lc.kaplan_yorke_dimension(lam) == pytest.approx(5 + 0.1 / 0.5)
    assert coverage.needed(5, 100) == 13  # ceil(1.5 * 6) + 4
    assert coverage.choose(lam, 8, 100) == 13
    assert coverage.choose(np.array([0.3, 0.2]), 2, 100) == 4  # never negative: double
    assert coverage.enlarge_to(lam, 13, 100) is None
    assert coverage.enlarge_to(lam, 7, 100) == 13  # k + 1 + SPARE = 8 > 7
    assert coverage.enlarge_to(lam, 8, 8) is None  # full spectrum
    assert coverage.enlarge_to(lam, 13, 100, jackknife_defined=False) == 16  # m + SPARE + 1


def test_m_auto_agrees_with_the_full_spectrum(chaotic_full):
    full = chaotic_full
    auto = lc.run_point(lc.RunParams(**CHAOTIC, t_sim=200.0, m="auto"))
    assert auto.m < full.n
    k = coverage.ky_index(full.exponents)
    assert auto.m >= k + 1 + coverage.SPARE
    for a, f in [
        ("kaplan_yorke_dimension", "kaplan_yorke_dimension_stderr"),
        ("ks_entropy", "ks_entropy_stderr"),
        ("lambda_max", "lambda_max_stderr"),
    ]:
        se = np.hypot(getattr(auto, f), getattr(full, f))
        assert abs(getattr(auto, a) - getattr(full, a)) < 3 * se, a


def test_m_auto_enlarges_when_the_running_spectrum_needs_it(monkeypatch, chaotic_full):
    # a rule without margin (m = k + 1) must be caught by the running spectrum
    monkeypatch.setattr(coverage, "needed", lambda k, n: min(n, k + 1))
    r = lc.run_point(lc.RunParams(**CHAOTIC, m="auto", target_rel_stderr=0.2, t_max=400.0))
    k = coverage.ky_index(r.exponents)
    assert k is not None and r.m >= k + 1 + coverage.SPARE
    assert np.isfinite(r.kaplan_yorke_dimension_stderr)


# -- mixed precision --------------------------------------------------------------------------
def _pair(params):
    """Exponents with float32 and float64 tangents on the same float64 state trajectory."""
    out = []
    for dtype in (np.float32, np.float64):
        net = SplitPrecisionNetwork(build_network(params), dtype)
        x0 = rng_for(params, "init").standard_normal(params.n)
        r = lc.lyapunov_spectrum(
            net,
            x0,
            t_ons=1.0,
            t_sim=params.t_sim,
            t_transient=params.t_transient,
            t_transient_tangent=25.0,
            rng_onb=0,
        )
        out.append(r)
    return out


def test_mixed_precision_bias_is_at_float32_rounding_level():
    # float32 tangents: relative error ~N u per step (u = 6e-8, N-term dot products), so
    # |bias| <= N u / dt per unit time = 6e-5 at N = 100, dt = 0.1; wrong stage
    # arithmetic would be O(dt^2) ~ 1e-2
    p = lc.RunParams(**CHAOTIC, t_sim=100.0)
    low, ref = _pair(p)
    assert ref.chaotic
    assert np.max(np.abs(low.exponents - ref.exponents)) < p.n * 6e-8 / 0.1


def test_mixed_precision_float64_reference_is_the_engine_at_a_fixed_point():
    # below onset the state converges, so the separate GEMV state path and the fused one
    # give the same exponents (those of the RK4 map of -1 + J) to round-off
    p = lc.RunParams(n=40, g=0.5, seed=2, t_sim=50.0, t_transient=20.0)
    mixed = lc.run_point(p.replace(precision="mixed"))
    ref = lc.run_point(p)
    assert np.max(np.abs(mixed.exponents - ref.exponents)) < 40 * 6e-8 / 0.1


# -- threads and the command line -------------------------------------------------------------
def test_threads_change_at_most_the_last_bits():
    # OpenBLAS may split a GEMM's sums differently with 2 threads (it does at N >= 300 here):
    # over a run short against 1/lambda_max that stays at round-off
    p = lc.RunParams(n=300, g=4.0, seed=1, t_sim=3.0, t_transient=1.0, t_transient_tangent=1.0)
    one = lc.run_point(p, blas_threads=1)
    two = lc.run_point(p, blas_threads=2)
    assert np.max(np.abs(one.exponents - two.exponents)) < 1e-12
    with pytest.raises(ValueError, match="threads"):
        lc.run_point(p, blas_threads=0)


SMALL = ["spectrum", "--n", "30", "--g", "5", "--t-transient", "10", "--quiet"]


def test_cli_target_json(capsys):
    args = [*SMALL, "--m", "auto", "--target-rel-stderr", "0.5", "--t-max", "300", "--json"]
    assert main([*args, "--threads", "1", "--precision", "mixed"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stopped_by"] in ("target", "t_max", "not_chaotic")
    assert out["time"] <= 300 and len(out["exponents"]) == out["m"]
    assert out["params"]["m"] == "auto" and out["params"]["precision"] == "mixed"


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--target-rel-stderr", "0"], "--target-rel-stderr"),
        (["--target-rel-stderr", "-0.1"], "--target-rel-stderr"),
        (["--target-rel-stderr", "0.1", "--t-max", "50"], "--t-max"),
        (["--t-max", "500"], "--t-max"),
        (["--precision", "mixed", "--model", "discrete"], "--precision"),
        (["--precision", "half"], "--precision"),
        (["--threads", "0"], "--threads"),
        (["--m", "most"], "--m"),
    ],
)
def test_cli_bad_values_one_line_naming_the_flag(capsys, args, flag):
    with pytest.raises(SystemExit) as exc:  # argparse exits itself; RunParams errors return 2
        raise SystemExit(main([*SMALL, *args]))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and flag in err, err


# -- honest errors ----------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    "point", [dict(n=100, g=5.0, seed_network=1), dict(n=80, g=8.0, seed_network=2)]
)
def test_errors_of_target_stopped_runs_cover_the_spread_of_independent_runs(point):
    """Stopping on a target must not bias the reported errors low.

    12 runs of one network (other initial-condition and frame seeds), each stopped by
    the target: if the reported s.e. are right, (n - 1) s^2 / <se^2> ~ chi^2_{n-1} for
    the sample variance s^2 of the estimates. One-sided test (errors too small) at
    1 % / 6 (two points x three measures, Bonferroni).
    """
    from scipy.stats import chi2

    runs = []
    for k in range(12):
        p = lc.RunParams(
            **point,
            seed_init=100 + k,
            seed_onb=200 + k,
            t_transient=50.0,
            m="auto",
            target_rel_stderr=0.1,
            t_max=3000.0,
        )
        runs.append(lc.run_point(p))
    assert all(r.stopped_by == "target" for r in runs), [r.stopped_by for r in runs]
    assert all(r.chaotic for r in runs)
    n = len(runs)
    limit = chi2.ppf(1 - 0.01 / 6, n - 1) / (n - 1)
    for v, e in [
        ("lambda_max", "lambda_max_stderr"),
        ("kaplan_yorke_dimension", "kaplan_yorke_dimension_stderr"),
        ("ks_entropy", "ks_entropy_stderr"),
    ]:
        x = np.array([getattr(r, v) for r in runs])
        se = np.array([getattr(r, e) for r in runs])
        ratio = np.var(x, ddof=1) / np.mean(se**2)
        assert ratio < limit, (v, ratio, limit)
