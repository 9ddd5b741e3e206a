"""The histogram of ln phi' on the attractor, recorded by the engine for the free law."""

import numpy as np

from lyap_core import RunParams, build_network, run_point
from lyap_core.models import LOG_DPHI_EDGES
from lyap_core.theory import free_multiplicative_discrete


def test_histogram_of_one_state_matches_numpy_histogram():
    net = build_network(RunParams(model="discrete", n=400, g=5.0, seed=3))
    h = 30.0 * np.random.default_rng(0).standard_normal(400)  # phi' from 1 down to ~e^-200
    counts, sums = net.log_dphi_histogram(h)
    log_dphi = np.log(4.0) - 2.0 * np.abs(h) - 2.0 * np.log1p(np.exp(-2.0 * np.abs(h)))
    clipped = np.clip(log_dphi, LOG_DPHI_EDGES[0], LOG_DPHI_EDGES[-1])
    ref, _ = np.histogram(clipped, LOG_DPHI_EDGES)
    np.testing.assert_array_equal(counts, ref)
    ref_sums, _ = np.histogram(clipped, LOG_DPHI_EDGES, weights=clipped)
    np.testing.assert_allclose(sums, ref_sums, rtol=1e-12, atol=1e-9)


def test_free_law_from_histogram_equals_law_from_raw_samples():
    """Bin means keep the law within 1e-3 /step of the one from the raw samples."""
    rng = np.random.default_rng(1)
    dphi = np.exp(-rng.gamma(0.7, 4.0, size=20000))  # spread over many decades
    lo, hi, nb = LOG_DPHI_EDGES[0], LOG_DPHI_EDGES[-1], LOG_DPHI_EDGES.size - 1
    ld = np.log(dphi)
    k = np.minimum(((ld - lo) * (nb / (hi - lo))).astype(int), nb - 1)
    counts, sums = np.bincount(k, minlength=nb), np.bincount(k, ld, minlength=nb)
    ok = counts > 0
    law_hist = free_multiplicative_discrete(200, 3.0, np.exp(sums[ok] / counts[ok]), counts[ok])
    law_raw = free_multiplicative_discrete(200, 3.0, dphi)
    assert np.max(np.abs(law_hist - law_raw)) < 1e-3
    # bin centres alone (no bin means) are visibly worse: the means matter
    centres = np.exp(0.5 * (LOG_DPHI_EDGES[1:] + LOG_DPHI_EDGES[:-1]))[ok]
    law_centres = free_multiplicative_discrete(200, 3.0, centres, counts[ok])
    assert np.max(np.abs(law_centres - law_raw)) > np.max(np.abs(law_hist - law_raw))


def test_run_records_one_sample_per_neuron_and_qr():
    r = run_point(RunParams(model="discrete", n=30, g=3.0, t_sim=50.0, t_transient=20.0))
    assert r.log_dphi_hist.shape == (2, LOG_DPHI_EDGES.size - 1)
    assert r.log_dphi_hist[0].sum() == 30 * 50  # t_ons = 1 step: 50 QRs x 30 neurons
    # <phi'^2> from the histogram agrees with the engine's per-step diagnostic
    counts, sums = r.log_dphi_hist
    ok = counts > 0
    approx = np.sum(counts[ok] * np.exp(2 * sums[ok] / counts[ok])) / counts.sum()
    assert abs(approx - r.diagnostics["mean_dphi2"]) < 0.02 * r.diagnostics["mean_dphi2"]
