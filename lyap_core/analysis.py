"""Analysis of measured Lyapunov spectra for the paper's questions (pure numpy).

Engelken, Wolf & Abbott (arXiv:2006.02427) make claims about whole families of
spectra: size invariance of lambda(i/N), point symmetry, suppression of chaos by
input, and averages over network realisations. The functions here turn measured
spectra with error bars into those statements, each with its own error bar.

Conventions
-----------
Exponents are sorted in descending order. Exponent i = 1..m of a network of N neurons
sits at the rank coordinate x_i = (i - 1/2)/N (:func:`lyap_core.measures.rank_coordinate`).
Standard errors of single runs come from time blocks (``SpectrumResult.stderr``,
``SpectrumResult.block_means``); errors over realisations (seeds) from their spread.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from .measures import point_symmetry, rank_coordinate

__all__ = [
    "FINITE_SIZE_FORMS",
    "Extrapolation",
    "FiniteSizeFits",
    "FormFit",
    "RealisationStats",
    "SizeDeviation",
    "Suppression",
    "VarianceComponents",
    "attractor_dphi_samples",
    "chaos_suppression_sigma",
    "fall_after_peak",
    "finite_size_extrapolation",
    "finite_size_fits",
    "pair_half_sums",
    "rank_binned_deviation",
    "realisation_stats",
    "size_invariance_deviation",
    "spectra_on_common_rank",
    "symmetry_centre",
    "symmetry_deviation",
    "symmetry_vs",
    "variance_components",
]


# -- realisations ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RealisationStats:
    """Realisation (seed) statistics of one quantity, chaotic-only and over all.

    Arrays have the shape of one realisation's value (0-d for a scalar measure);
    ``n_*`` count the realisations that entered each element (finite values only).
    ``mean``/``se`` are over the chaotic realisations, ``mean_all``/``se_all`` over all.
    ``fraction_chaotic_se`` is the binomial standard error sqrt(p (1 - p) / n).
    """

    mean: np.ndarray
    se: np.ndarray
    n_chaotic: np.ndarray
    mean_all: np.ndarray
    se_all: np.ndarray
    n_all: np.ndarray
    fraction_chaotic: np.ndarray
    fraction_chaotic_se: np.ndarray


def _mean_and_error(v: np.ndarray, e: np.ndarray | None, use: np.ndarray) -> tuple:
    """The estimator of :func:`realisation_stats` over the rows where ``use`` is True."""
    ok = use & np.isfinite(v)
    k = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, v, 0.0).sum(axis=0) / k
        spread = np.where(ok, (v - mean) ** 2, 0.0).sum(axis=0) / (k - 1) / k
        spread = np.where(k > 1, spread, np.nan)
        if e is None:
            floor = np.full_like(mean, np.nan)
        else:
            floor = np.where(ok, e * e, 0.0).sum(axis=0) / k**2
            floor = np.where(np.all(np.isfinite(e) | ~ok, axis=0), floor, np.nan)
    var = np.fmax(spread, floor)  # fmax: a NaN term (k = 1, or no block errors) drops out
    mean = np.where(k > 0, mean, np.nan)
    return mean, np.sqrt(np.where(k > 0, var, np.nan)), k


def realisation_stats(
    values: ArrayLike, stderr: ArrayLike | None = None, chaotic: ArrayLike | None = None
) -> RealisationStats:
    """Mean over realisations and its standard error: the one estimator of the project.

    For the k realisations s = 1..k (chaotic ones, or all) with finite values v_s and
    time-block standard errors e_s,

    .. math:: \\bar v = \\frac1k \\sum_s v_s, \\qquad
              \\mathrm{se}^2 = \\max\\!\\left(\\frac{1}{k}\\,\\frac{\\sum_s (v_s -
              \\bar v)^2}{k - 1},\\;\\frac{1}{k^2}\\sum_s e_s^2\\right).

    The first term is the spread over realisations; it already contains each run's time
    noise and the quenched variability of the network. The second is the time noise
    alone, a floor that the spread of a few realisations can fall below by chance. With
    k = 1 the error is that run's own e_1 (NaN without block errors); with k = 0 the
    mean is NaN. Non-finite values (NaN padding of a partial spectrum, a failed point)
    are left out element by element. Chaotic and non-chaotic realisations (fixed points,
    limit cycles) are never averaged silently: both means are returned, with the counts
    and the fraction of chaotic realisations p = k_chaotic / k_all, se sqrt(p (1-p)/k_all).

    Parameters
    ----------
    values : array, shape (k, ...)
        One row per realisation (a scalar measure, a spectrum, binned deviations...).
    stderr : array of the same shape, optional
        Time-block standard errors of the rows.
    chaotic : array of bool, broadcastable to ``values`` (e.g. shape (k,) or (k, 1...)), optional
        Which realisations are chaotic (``SpectrumResult.chaotic``); default: all.

    Returns
    -------
    RealisationStats
    """
    v = np.asarray(values, dtype=float)
    if v.ndim == 0 or v.shape[0] == 0:
        raise ValueError("values: need at least one realisation (rows)")
    e = None
    if stderr is not None:
        e = np.asarray(stderr, dtype=float)
        if e.shape != v.shape:
            raise ValueError(f"stderr: shape {e.shape} differs from values {v.shape}")
    if chaotic is None:
        c = np.ones(v.shape, dtype=bool)
    else:
        c = np.asarray(chaotic, dtype=bool)
        c = c.reshape(c.shape + (1,) * (v.ndim - c.ndim))
        try:
            c = np.broadcast_to(c, v.shape)
        except ValueError:
            raise ValueError(f"chaotic: shape {c.shape} does not fit values {v.shape}") from None
    mean, se, k = _mean_and_error(v, e, c)
    mean_all, se_all, k_all = _mean_and_error(v, e, np.ones_like(c))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / k_all
        p_se = np.sqrt(p * (1.0 - p) / k_all)
    return RealisationStats(mean, se, k, mean_all, se_all, k_all, p, p_se)


@dataclass(frozen=True)
class VarianceComponents:
    """The variance of one run's estimate split by source (arrays of the trailing shape).

    ``time``, ``initial_condition`` and ``network`` are variances in the squared unit of
    the values; ``realisation`` is initial condition + network (the part a single
    trajectory per network measures, where the two are confounded and both are NaN).
    ``n_runs`` and ``n_networks`` count what entered; ``se`` holds the normal-theory
    standard error of each part, in the order time, initial_condition, network,
    realisation (a stacked array, last axis).
    """

    time: np.ndarray
    initial_condition: np.ndarray
    network: np.ndarray
    realisation: np.ndarray
    n_runs: np.ndarray
    n_networks: np.ndarray
    se: np.ndarray


def variance_components(
    values: ArrayLike, stderr: ArrayLike, use: ArrayLike | None = None
) -> VarianceComponents:
    """Nested random-effects (ANOVA) split of one run's variance: time, initial condition, network.

    Model: run t on network s gives v_st = mu + a_s + b_st + c_st, with the network
    effect a_s (variance sigma_net^2, the quenched J), the initial-condition effect b_st
    on the same J (sigma_ic^2) and the time-averaging error c_st of a finite run, whose
    variance is estimated by the run's time-block standard error e_st; all independent.
    Over the runs that enter (``use`` and finite), with K_s runs on network s, network
    means m_s and S networks with K_s >= 1:

    .. math:: \\hat\\sigma^2_{time} = \\langle e_{st}^2 \\rangle_{st}, \\qquad
              W = \\frac{\\sum_{s,t} (v_{st} - m_s)^2}{\\sum_s (K_s - 1)}, \\qquad
              \\hat\\sigma^2_{ic} = \\max(W - \\hat\\sigma^2_{time},\\, 0),

    .. math:: B = \\frac{1}{S-1} \\sum_s (m_s - \\bar m)^2, \\qquad
              \\hat\\sigma^2_{net} = \\max\\!\\big(B - W\\,\\langle 1/K_s\\rangle_s,\\, 0\\big),

    since E[W] = sigma_ic^2 + sigma_time^2 and E[B] = sigma_net^2 + E[W/K_s] (exact for
    a balanced design, K_s = K; an approximation for unequal K_s). The floors at 0 make
    the estimates biased upward when a true part is 0 (a negative raw estimate is
    sampling noise). On an ergodic attractor sigma_ic^2 = 0; a positive initial-condition
    part means several attractors on one network, or block errors that underestimate the
    time noise (correlated blocks). With one run per network (every K_s = 1) W is
    undefined: ``initial_condition`` and ``network`` are NaN and ``realisation`` =
    max(B - sigma_time^2, 0), the two confounded. ``realisation`` is NaN with fewer
    than two networks, everything with no run.

    Standard errors (normal theory, balanced design): Var(W) = 2 W^2 / sum_s (K_s - 1),
    Var(B) = 2 B^2 / (S - 1), Var(sigma_time^2) = var(e^2) / n_runs, combined as the
    estimators combine them (W, B and the e^2 independent): se_ic^2 = Var(W) +
    Var(time), se_net^2 = Var(B) + <1/K>^2 Var(W), se_realisation^2 = (1 - <1/K>)^2 Var(W)
    + Var(B) + Var(time). With S networks the relative error of the network part is
    about sqrt(2 / (S - 1)): 5 networks tell its size to within ~70 %.

    Parameters
    ----------
    values : array, shape (S, T, ...)
        One run's estimate per network s (e.g. the store's ``seed``) and trajectory t.
    stderr : array of the same shape
        Their time-block standard errors (same unit).
    use : array of bool, broadcastable to ``values``, optional
        Runs that enter (e.g. the chaotic ones); default: all. Non-finite values or
        errors never enter.

    Returns
    -------
    VarianceComponents
        Arrays of shape ``values.shape[2:]``.
    """
    v = np.asarray(values, dtype=float)
    e = np.asarray(stderr, dtype=float)
    if v.ndim < 2:
        raise ValueError(f"values: need shape (networks, trajectories, ...), got {v.shape}")
    if e.shape != v.shape:
        raise ValueError(f"stderr: shape {e.shape} differs from values {v.shape}")
    ok = np.isfinite(v) & np.isfinite(e)
    if use is not None:
        ok &= np.broadcast_to(np.asarray(use, dtype=bool), v.shape)
    k_s = ok.sum(axis=1)  # runs per network, shape (S, ...)
    n_runs = k_s.sum(axis=0)
    has = k_s > 0
    n_net = has.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        time = np.where(ok, e * e, 0.0).sum(axis=(0, 1)) / n_runs
        m_s = np.where(ok, v, 0.0).sum(axis=1) / k_s
        ss_within = np.where(ok, (v - m_s[:, None]) ** 2, 0.0).sum(axis=(0, 1))
        df_within = np.where(has, k_s - 1, 0).sum(axis=0)
        w = np.where(df_within > 0, ss_within / df_within, np.nan)
        m_bar = np.where(has, m_s, 0.0).sum(axis=0) / n_net
        b = np.where(has, (m_s - m_bar) ** 2, 0.0).sum(axis=0) / (n_net - 1)
        b = np.where(n_net > 1, b, np.nan)
        inv_k = np.where(has, 1.0 / k_s, 0.0).sum(axis=0) / n_net
        ic = np.where(np.isfinite(w), np.fmax(w - time, 0.0), np.nan)
        network = np.where(np.isfinite(w) & np.isfinite(b), np.fmax(b - w * inv_k, 0.0), np.nan)
        combined = np.where(np.isfinite(b), np.fmax(b - time, 0.0), np.nan)
        e2_var = np.where(ok, (e * e - time) ** 2, 0.0).sum(axis=(0, 1)) / (n_runs - 1)
        var_time = np.where(n_runs > 1, e2_var / n_runs, np.nan)
        var_w = np.where(df_within > 0, 2.0 * w * w / df_within, 0.0)
        var_b = 2.0 * b * b / (n_net - 1)
    realisation = np.where(np.isfinite(w), ic + network, combined)
    time = np.where(n_runs > 0, time, np.nan)
    se = np.sqrt(
        np.stack(
            [
                var_time,
                np.where(np.isfinite(w), var_w + var_time, np.nan),
                np.where(np.isfinite(network), var_b + inv_k**2 * var_w, np.nan),
                (1.0 - inv_k) ** 2 * var_w + var_b + var_time,
            ],
            axis=-1,
        )
    )
    return VarianceComponents(time, ic, network, realisation, n_runs, n_net, se)


# -- size invariance ------------------------------------------------------------------------
def spectra_on_common_rank(
    spectra: Mapping[int, tuple[ArrayLike, ArrayLike]], ranks: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spectra of several sizes N interpolated onto common rank coordinates.

    Exponent i of size N sits at x_i = (i - 1/2)/N; lambda_N(x) and its error are
    linearly interpolated between neighbouring x_i. Interpolating the error linearly
    (rather than in quadrature) is an upper bound when neighbouring exponents have
    positively correlated errors, which they do (they share the trajectory). Ranks
    outside [x_1, x_m] get NaN: no extrapolation. The interpolation error is about
    h^2 |lambda''| / 8 for grid spacing h = 1/N: negligible in the bulk, but not where
    the spectrum is steep (the bottom of discrete-time spectra, lambda ~ ln(1 - x)).

    Parameters
    ----------
    spectra : {N: (exponents, stderr)}
        Descending exponents (the top m <= N, or all) with standard errors.
    ranks : array
        Rank coordinates in (0, 1) to interpolate at.

    Returns
    -------
    sizes : ndarray of int, shape (k,)
        The N, ascending.
    values, errors : ndarray, shape (k, len(ranks))
    """
    x = np.asarray(ranks, dtype=float).ravel()
    sizes = np.array(sorted(spectra), dtype=int)
    values = np.full((sizes.size, x.size), np.nan)
    errors = np.full_like(values, np.nan)
    for row, n in enumerate(sizes):
        lam, se = (np.asarray(a, dtype=float).ravel() for a in spectra[int(n)])
        if lam.shape != se.shape or not 1 <= lam.size <= n:
            raise ValueError(f"spectra[{n}]: need 1..{n} exponents with as many errors")
        if np.any(np.diff(lam) > 0):
            raise ValueError(f"spectra[{n}]: exponents must be sorted in descending order")
        xi = rank_coordinate(lam.size, int(n))
        inside = (x >= xi[0]) & (x <= xi[-1])
        values[row, inside] = np.interp(x[inside], xi, lam)
        errors[row, inside] = np.interp(x[inside], xi, se)
    return sizes, values, errors


@dataclass(frozen=True)
class SizeDeviation:
    """Largest difference between the spectra of two sizes on a common rank grid.

    ``max_abs`` = |lambda_a(x) - lambda_b(x)| maximised over pairs of sizes (a, b) and
    ranks x, with ``max_abs_error`` = sqrt(e_a(x)^2 + e_b(x)^2) at that point; ``max_z``
    the largest |difference|/error anywhere (the most significant one, at ``max_z_sizes``
    and ``max_z_rank``).
    """

    max_abs: float
    max_abs_error: float
    max_abs_sizes: tuple[int, int]
    max_abs_rank: float
    max_z: float
    max_z_sizes: tuple[int, int]
    max_z_rank: float


def size_invariance_deviation(
    spectra: Mapping[int, tuple[ArrayLike, ArrayLike]], ranks: ArrayLike | None = None
) -> SizeDeviation:
    """How far spectra of different sizes differ as functions of the rank i/N.

    Size invariance (extensive chaos) means lambda_N(x) is the same function for all N;
    the difference between sizes a, b at rank x is

    .. math:: \\delta_{ab}(x) = \\lambda_a(x) - \\lambda_b(x), \\qquad
              \\sigma_{ab}(x) = \\sqrt{e_a(x)^2 + e_b(x)^2},

    with lambda and e from :func:`spectra_on_common_rank` (use errors that contain the
    realisation spread, e.g. from :func:`realisation_stats`).

    Parameters
    ----------
    spectra : {N: (exponents, stderr)}
        At least two sizes.
    ranks : array, optional
        Default: the rank coordinates of the smallest size (its full spectrum), which
        lie inside the range of every larger full spectrum.
    """
    if len(spectra) < 2:
        raise ValueError("spectra: need at least two sizes")
    if ranks is None:
        n0 = min(spectra)
        ranks = rank_coordinate(np.asarray(spectra[n0][0]).size, n0)
    x = np.asarray(ranks, dtype=float).ravel()
    sizes, vals, errs = spectra_on_common_rank(spectra, x)
    pairs = list(combinations(range(sizes.size), 2))
    d = np.array([np.abs(vals[a] - vals[b]) for a, b in pairs])
    e = np.array([np.hypot(errs[a], errs[b]) for a, b in pairs])
    if not np.any(np.isfinite(d)):
        raise ValueError("spectra: the sizes share no rank on the grid")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(e > 0, d / e, np.where(d > 0, np.inf, 0.0))
    z[~np.isfinite(d)] = np.nan
    pa, ra = np.unravel_index(np.nanargmax(d), d.shape)
    pz, rz = np.unravel_index(np.nanargmax(z), z.shape)

    def sizes_of(p: int) -> tuple[int, int]:
        return int(sizes[pairs[p][0]]), int(sizes[pairs[p][1]])

    return SizeDeviation(
        max_abs=float(d[pa, ra]),
        max_abs_error=float(e[pa, ra]),
        max_abs_sizes=sizes_of(pa),
        max_abs_rank=float(x[ra]),
        max_z=float(z[pz, rz]),
        max_z_sizes=sizes_of(pz),
        max_z_rank=float(x[rz]),
    )


@dataclass(frozen=True)
class Extrapolation:
    """Weighted fit v(N) = intercept + slope / N.

    ``intercept`` estimates the N -> infinity limit. Errors are from the weighted
    least-squares covariance, multiplied by the Birge ratio sqrt(chi2/dof) when that
    exceeds 1 (the scatter about the line is then larger than the error bars claim).
    """

    intercept: float
    intercept_err: float
    slope: float
    slope_err: float
    chi2: float
    dof: int
    birge: float


def _linear_fit(
    X: np.ndarray, v: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted least squares v ~ X coef: coefficients, covariance (X^T W X)^-1, chi2."""
    w = 1.0 / e**2
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    coef = cov @ (X.T @ (w * v))
    return coef, cov, float(np.sum(w * (v - X @ coef) ** 2))


def _check_sizes(Ns: ArrayLike, values: ArrayLike, errors: ArrayLike, k: int) -> tuple:
    """Sizes, values and errors as float arrays; at least ``k`` distinct sizes."""
    n = np.asarray(Ns, dtype=float).ravel()
    v = np.asarray(values, dtype=float).ravel()
    e = np.asarray(errors, dtype=float).ravel()
    if not n.size == v.size == e.size:
        raise ValueError("Ns, values, errors: need equal lengths")
    if np.unique(n).size < k or np.any(n <= 0):
        raise ValueError(f"Ns: need at least {k} distinct positive sizes")
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(e)) and np.all(e > 0)):
        raise ValueError("values/errors: need finite values and positive finite errors")
    return n, v, e


def finite_size_extrapolation(Ns: ArrayLike, values: ArrayLike, errors: ArrayLike) -> Extrapolation:
    """Extrapolate a measure to N -> infinity by a weighted linear fit in 1/N.

    .. math:: v(N) = a + b/N, \\qquad
              \\min_{a,b} \\chi^2 = \\sum_k \\frac{(v_k - a - b/N_k)^2}{e_k^2},

    with covariance C = (X^T W X)^{-1}, X = [1, 1/N], W = diag(1/e^2), and
    C -> C chi2/dof when chi2/dof > 1. The leading finite-size correction of an
    extensive quantity per neuron (D/N, H/N) is O(1/N); whether another form fits
    better is :func:`finite_size_fits`'s question.

    Parameters
    ----------
    Ns : array of int
        At least two distinct sizes.
    values, errors : array
        Measured values and their (positive, finite) standard errors.
    """
    n, v, e = _check_sizes(Ns, values, errors, 2)
    f = _form_fit((1.0,), n, v, e)
    return Extrapolation(
        intercept=float(f.coef[0]),
        intercept_err=float(math.sqrt(f.cov[0, 0])),
        slope=float(f.coef[1]),
        slope_err=float(math.sqrt(f.cov[1, 1])),
        chi2=f.chi2,
        dof=f.dof,
        birge=math.sqrt(f.chi2 / f.dof) if f.dof > 0 else math.nan,
    )


# Candidate finite-size forms v(N) = a + sum_j b_j N^(-p_j): the powers p_j, or None for
# the free exponent a + b N^-c (c fitted in FREE_EXPONENT_RANGE).
FINITE_SIZE_FORMS: dict[str, tuple[float, ...] | None] = {
    "a + b/N": (1.0,),
    "a + b/sqrt(N)": (0.5,),
    "a + b/N + c/N^2": (1.0, 2.0),
    "a + b N^-c": None,
}
FREE_EXPONENT_RANGE = (0.05, 4.0)
FORM_P_MIN = 0.05  # a form is rejected when P(chi2 >= observed) is below this ...
FORM_LOO_Z_MAX = 2.0  # ... or when it mispredicts the largest N by more than this many s.e.


@dataclass(frozen=True)
class FormFit:
    """One finite-size form fitted to v(N): its N -> infinity limit and how well it fits.

    ``coef`` = (a, b, ...) with ``coef_err`` (for ``a + b N^-c`` the last is c);
    ``limit`` = a with ``limit_err``, Birge-inflated like :class:`Extrapolation`.
    ``p_value`` = P(chi2_dof >= chi2) (NaN for dof = 0). ``aicc`` = chi2 + 2k +
    2k(k+1)/(n-k-1) for k parameters and n sizes (inf when n <= k + 1). ``loo_z`` =
    (v(N_max) - prediction of the fit without N_max) / sqrt(e(N_max)^2 + var prediction)
    (NaN when too few sizes remain). ``accepted``: dof > 0, p >= FORM_P_MIN and
    |loo_z| <= FORM_LOO_Z_MAX (where defined).
    """

    form: str
    limit: float
    limit_err: float
    coef: tuple[float, ...]
    coef_err: tuple[float, ...]
    chi2: float
    dof: int
    p_value: float
    aicc: float
    loo_z: float
    accepted: bool


@dataclass(frozen=True)
class FiniteSizeFits:
    """Every form of :data:`FINITE_SIZE_FORMS` fitted to one v(N), and the one chosen.

    ``best`` is the accepted form with the smallest AICc (the smallest AICc overall when
    none is accepted; then ``accepted`` is empty); ``spread`` = the largest |limit -
    best limit| over the accepted forms, the part of the extrapolation's uncertainty
    that the data cannot settle by choosing a form.
    """

    fits: dict[str, FormFit]
    best: str
    accepted: tuple[str, ...]
    spread: float


@dataclass(frozen=True)
class _Fitted:
    """A weighted fit of one form: coefficients, Birge-inflated covariance, chi2, dof."""

    coef: np.ndarray
    cov: np.ndarray
    chi2: float
    dof: int
    free: bool
    powers: tuple[float, ...]

    def value_and_var(self, x: float) -> tuple[float, float]:
        """v(x) and its variance g^T C g, g = d v(x) / d coef."""
        a, b, *rest = self.coef
        if self.free:
            c = rest[0]
            g = np.array([1.0, x**-c, -b * math.log(x) * x**-c])
            return a + b * x**-c, float(g @ self.cov @ g)
        g = np.array([1.0] + [x**-p for p in self.powers])
        return float(g @ self.coef), float(g @ self.cov @ g)


def _form_fit(
    powers: tuple[float, ...] | None, n: np.ndarray, v: np.ndarray, e: np.ndarray
) -> _Fitted:
    """Weighted fit of a + sum_j b_j N^-p_j (``powers``), or of a + b N^-c (None)."""
    if powers is not None:
        X = np.column_stack([np.ones_like(n)] + [n**-p for p in powers])
        coef, cov, chi2 = _linear_fit(X, v, e)
    else:

        def profile(c: float) -> float:
            return _linear_fit(np.column_stack([np.ones_like(n), n**-c]), v, e)[2]

        # a coarse grid first: chi2(c) can have several minima; then refine around the best
        grid = np.geomspace(*FREE_EXPONENT_RANGE, 80)
        j = int(np.argmin([profile(c) for c in grid]))
        bounds = (grid[max(j - 1, 0)], grid[min(j + 1, grid.size - 1)])
        c = float(
            optimize.minimize_scalar(
                profile, bounds=bounds, method="bounded", options={"xatol": 1e-10}
            ).x
        )
        (a, b), _, chi2 = _linear_fit(np.column_stack([np.ones_like(n), n**-c]), v, e)
        coef = np.array([a, b, c])
        J = np.column_stack([np.ones_like(n), n**-c, -b * np.log(n) * n**-c])
        cov = np.linalg.pinv(J.T @ (J / e[:, None] ** 2))  # pinv: b ~ 0 leaves c undetermined
    dof = n.size - coef.size
    if dof > 0 and chi2 > dof:
        cov = cov * (chi2 / dof)  # Birge inflation, as in finite_size_extrapolation
    return _Fitted(coef, cov, float(chi2), dof, powers is None, powers or ())


def finite_size_fits(Ns: ArrayLike, values: ArrayLike, errors: ArrayLike) -> FiniteSizeFits:
    """Fit competing finite-size forms to v(N) and say which the data justify.

    Each form of :data:`FINITE_SIZE_FORMS`,

    .. math:: a + \\frac{b}{N},\\quad a + \\frac{b}{\\sqrt N},\\quad
              a + \\frac{b}{N} + \\frac{c}{N^2},\\quad a + b N^{-c},

    is fitted by weighted least squares (the free exponent by profiling chi2 over c,
    its covariance from the Jacobian [1, N^-c, -b ln N N^-c]); a = v(N -> infinity).
    They are compared three ways: the goodness of fit (chi2/dof and its p-value), the
    small-sample Akaike criterion AICc = chi2 + 2k + 2k(k+1)/(n-k-1), which charges
    the 3-parameter forms for their freedom, and the prediction of the largest size
    from the others (leave-one-out): a form that fits the small N but misses the
    largest is extrapolating wrongly. See :class:`FormFit`, :class:`FiniteSizeFits`.

    Parameters
    ----------
    Ns : array of int
        Sizes (at least 4 distinct: the 3-parameter forms need one degree of freedom).
    values, errors : array
        Measured values (e.g. realisation means, :func:`realisation_stats`) and their
        positive, finite standard errors.

    Returns
    -------
    FiniteSizeFits
    """
    n, v, e = _check_sizes(Ns, values, errors, 4)
    big = n == n.max()
    # the largest size as one number (repeated sizes: their weighted mean)
    w = 1.0 / e[big] ** 2
    v_big, e_big = float(np.sum(w * v[big]) / np.sum(w)), float(np.sum(w) ** -0.5)
    fits = {}
    for form, powers in FINITE_SIZE_FORMS.items():
        f = _form_fit(powers, n, v, e)
        k = f.coef.size
        loo_z = math.nan
        if np.unique(n[~big]).size >= k:
            pred, var = _form_fit(powers, n[~big], v[~big], e[~big]).value_and_var(n.max())
            loo_z = (v_big - pred) / math.sqrt(e_big**2 + var)
        p = float(stats.chi2.sf(f.chi2, f.dof)) if f.dof > 0 else math.nan
        aicc = f.chi2 + 2 * k + (2 * k * (k + 1) / (n.size - k - 1) if n.size > k + 1 else math.inf)
        fits[form] = FormFit(
            form=form,
            limit=float(f.coef[0]),
            limit_err=float(math.sqrt(f.cov[0, 0])),
            coef=tuple(float(x) for x in f.coef),
            coef_err=tuple(float(math.sqrt(max(x, 0.0))) for x in np.diag(f.cov)),
            chi2=f.chi2,
            dof=f.dof,
            p_value=p,
            aicc=float(aicc),
            loo_z=float(loo_z),
            accepted=bool(f.dof > 0 and p >= FORM_P_MIN and not abs(loo_z) > FORM_LOO_Z_MAX),
        )
    accepted = tuple(f for f in fits if fits[f].accepted)
    best = min(accepted or fits, key=lambda f: fits[f].aicc)
    spread = max((abs(fits[f].limit - fits[best].limit) for f in accepted), default=math.nan)
    return FiniteSizeFits(fits, best, accepted, float(spread))


# -- deviations from a reference, binned in rank ---------------------------------------------
def _bin_index(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("edges: need an increasing sequence of at least two bin edges")
    return np.searchsorted(edges, x, side="right") - 1


def _binned(
    total: np.ndarray, per_block: np.ndarray, x: np.ndarray, edges: np.ndarray
) -> dict[str, np.ndarray]:
    """Bin means of a per-exponent quantity and their block standard errors.

    The bin mean of the per-block values is formed first, then its spread over blocks
    gives the error: correlations between exponents in a bin are kept.
    """
    idx = _bin_index(x, edges)
    nb = edges.size - 1
    mean = np.full(nb, np.nan)
    se = np.full(nb, np.nan)
    count = np.zeros(nb, dtype=int)
    blocks = per_block.shape[0]
    for k in range(nb):
        sel = idx == k
        count[k] = int(sel.sum())
        if count[k] == 0:
            continue
        mean[k] = float(np.mean(total[sel]))
        if blocks > 1:
            se[k] = float(np.std(per_block[:, sel].mean(axis=1), ddof=1) / math.sqrt(blocks))
    return {"edges": edges, "mean": mean, "stderr": se, "count": count}


def rank_binned_deviation(
    exponents: ArrayLike,
    block_means: ArrayLike,
    reference: ArrayLike,
    edges: ArrayLike = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
) -> dict[str, np.ndarray]:
    """Measured minus predicted exponents, averaged over rank bins, with block errors.

    For bin B of ranks x_i = (i - 1/2)/N,

    .. math:: \\bar\\delta_B = \\frac{1}{|B|}\\sum_{i\\in B} (\\lambda_i - \\lambda^{th}_i),

    and its standard error is the spread over time blocks b of the same bin average of
    the block means lambda_{b,i}, divided by sqrt(#blocks). The prediction is taken as
    exact (theory has no statistical error).

    Parameters
    ----------
    exponents : array, shape (N,)
        Full measured spectrum, descending.
    block_means : array, shape (blocks, N)
        ``SpectrumResult.block_means`` (columns in the order of ``exponents``).
    reference : array, shape (N,)
        Predicted exponents at the same ranks.
    edges : array
        Bin edges in the rank coordinate.

    Returns
    -------
    dict with ``edges``, ``mean``, ``stderr`` and ``count`` (exponents per bin).
    """
    lam = np.asarray(exponents, dtype=float).ravel()
    blocks = np.atleast_2d(np.asarray(block_means, dtype=float))
    ref = np.asarray(reference, dtype=float).ravel()
    if not lam.size == ref.size == blocks.shape[1]:
        raise ValueError("exponents, block_means columns and reference: need equal lengths")
    x = rank_coordinate(lam.size, lam.size)
    return _binned(lam - ref, blocks - ref, x, np.asarray(edges, dtype=float))


def attractor_dphi_samples(
    network: Any, h0: ArrayLike, *, transient: int, steps: int
) -> np.ndarray:
    """phi'(h_t) of every neuron along a trajectory, after a transient (state only).

    The input of :func:`lyap_core.theory.free_multiplicative_discrete`, which needs the
    distribution of phi' on the attractor and not only its moments (``run_point``
    records <phi'> and <phi'^2> alone).

    Parameters
    ----------
    network : RateNetwork
        Anything with ``step_state(h)`` (in place) and ``nl.dphi``; it is advanced.
    h0 : array, shape (N,)
        Initial state (copied).
    transient, steps : int
        Steps discarded, then steps sampled.

    Returns
    -------
    ndarray, shape (steps, N)
    """
    h = np.array(h0, dtype=float)
    for _ in range(transient):
        network.step_state(h)
    out = np.empty((steps, h.size))
    for t in range(steps):
        network.step_state(h)
        out[t] = network.nl.dphi(h)
    return out


# -- point symmetry -------------------------------------------------------------------------
def symmetry_centre(sum_rule_target: float, n: int) -> float:
    """Centre of a point-symmetric spectrum: the mean exponent from the sum rule.

    If lambda_i + lambda_{N+1-i} = 2c for all i, then c is the mean exponent, which the
    sum rule gives exactly: c = <tr D>/N = -1 + <sum_i J_ii phi'(h_i)>/N for the flow
    (-1 for zero diagonal; autapses move it).
    """
    return float(sum_rule_target) / n


def _half_sums(exponents: ArrayLike, block_means: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Half-sums of the pairs (i, N+1-i), i = 1..ceil(N/2): overall and per block."""
    lam = np.asarray(exponents, dtype=float).ravel()
    blocks = np.atleast_2d(np.asarray(block_means, dtype=float))
    if blocks.shape[1] != lam.size:
        raise ValueError("block_means: need one column per exponent")
    half = (lam.size + 1) // 2
    return 0.5 * (lam + lam[::-1])[:half], 0.5 * (blocks + blocks[:, ::-1])[:, :half]


def pair_half_sums(exponents: ArrayLike, block_means: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(lambda_i + lambda_{N+1-i})/2 for i = 1..ceil(N/2) with block standard errors.

    The error of each half-sum is taken from its spread over time blocks, which keeps
    the correlation between lambda_i and lambda_{N+1-i} (they share the trajectory).
    """
    s, sb = _half_sums(exponents, block_means)
    nb = sb.shape[0]
    se = sb.std(axis=0, ddof=1) / math.sqrt(nb) if nb > 1 else np.full(s.size, np.nan)
    return s, se


def symmetry_deviation(
    exponents: ArrayLike,
    block_means: ArrayLike,
    centre: float,
    n_bins: int = 5,
) -> dict[str, Any]:
    """Deviation of a full spectrum from point symmetry about ``centre``, with errors.

    Point symmetry: lambda_i + lambda_{N+1-i} = 2c. The half-sums minus c are averaged
    in ``n_bins`` bins of the pair rank x = (i - 1/2)/N in [0, 1/2] (the top and bottom
    of the spectrum are in the first bin), each with a block standard error (as in
    :func:`rank_binned_deviation`). Binning averages the noise of single pairs; a wrong
    centre shows in every bin, a tilt of the half-sums along the spectrum in the outer ones.

    Returns
    -------
    dict with
        ``centre``, ``half_width`` (lambda_1 - lambda_N)/2, ``bins`` (the binned
        deviation dict), ``max_z`` = max |mean|/stderr over bins, ``max_relative``
        = max |mean|/half_width over bins, and ``pairwise`` = the unbinned
        :func:`lyap_core.measures.point_symmetry` statistics about ``centre``.
    """
    lam = np.asarray(exponents, dtype=float).ravel()
    s, sb = _half_sums(lam, block_means)
    x = rank_coordinate(s.size, lam.size)
    edges = np.linspace(0.0, 0.5, n_bins + 1)
    bins = _binned(s - centre, sb - centre, x, edges)
    width = 0.5 * float(lam[0] - lam[-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(bins["mean"]) / bins["stderr"]
    return {
        "centre": float(centre),
        "half_width": width,
        "bins": bins,
        "max_z": float(np.nanmax(z)),
        "max_relative": float(np.nanmax(np.abs(bins["mean"])) / width),
        "pairwise": point_symmetry(lam, centre=centre),
    }


def symmetry_vs(
    values: ArrayLike,
    spectra: Sequence[tuple[ArrayLike, ArrayLike, float]],
    n_bins: int = 5,
) -> dict[str, np.ndarray]:
    """Point-symmetry statistics along a parameter (g, N, input strength, ...).

    Parameters
    ----------
    values : array, shape (k,)
        The parameter of each spectrum.
    spectra : sequence of (exponents, block_means, centre)
        One full spectrum per value; centre e.g. from :func:`symmetry_centre`.

    Returns
    -------
    dict of arrays, shape (k,): ``value``, ``centre``, ``half_width``, ``max_z``,
    ``max_relative`` (binned, :func:`symmetry_deviation`) and ``rms_relative`` (the
    RMS deviation of single pairs over the half-width).
    """
    v = np.asarray(values, dtype=float).ravel()
    if v.size != len(spectra):
        raise ValueError("values: need one value per spectrum")
    rows = [symmetry_deviation(lam, b, c, n_bins) for lam, b, c in spectra]
    return {
        "value": v,
        "centre": np.array([r["centre"] for r in rows]),
        "half_width": np.array([r["half_width"] for r in rows]),
        "max_z": np.array([r["max_z"] for r in rows]),
        "max_relative": np.array([r["max_relative"] for r in rows]),
        "rms_relative": np.array([r["pairwise"]["rms_deviation"] / r["half_width"] for r in rows]),
    }


# -- input-driven chaos, peaks ----------------------------------------------------------------
@dataclass(frozen=True)
class Suppression:
    """Input strength at which chaos ends (lambda_max crosses 0 for the last time).

    ``sign_changes`` counts the sign changes of lambda_max along sigma; more than one
    means lambda_max is not monotone there (or noisy) and sigma_c is the last crossing.
    """

    sigma: float
    error: float
    sign_changes: int


def chaos_suppression_sigma(
    sigmas: ArrayLike, lambda_max: ArrayLike, stderr: ArrayLike
) -> Suppression:
    """The sigma where lambda_max(sigma) falls through zero, by linear interpolation.

    With k the last point where lambda_max > 0 (so all larger sigma are non-chaotic),
    a = (sigma_k, lambda_k), b = (sigma_{k+1}, lambda_{k+1}):

    .. math:: \\sigma_c = \\sigma_a + (\\sigma_b - \\sigma_a)
              \\frac{\\lambda_a}{\\lambda_a - \\lambda_b},

    .. math:: \\delta\\sigma_c = \\frac{\\sigma_b - \\sigma_a}{(\\lambda_a - \\lambda_b)^2}
              \\sqrt{\\lambda_b^2 e_a^2 + \\lambda_a^2 e_b^2}

    (linear error propagation with independent errors e). The error does not include
    the interpolation error of a coarse sigma grid. NaN when lambda_max is never
    positive or still positive at the largest sigma.

    Parameters
    ----------
    sigmas : array
        Input strengths (any order; sorted here).
    lambda_max, stderr : array
        Largest exponent at each sigma and its standard error.
    """
    s = np.asarray(sigmas, dtype=float).ravel()
    lam = np.asarray(lambda_max, dtype=float).ravel()
    e = np.asarray(stderr, dtype=float).ravel()
    if not s.size == lam.size == e.size or s.size < 2:
        raise ValueError("sigmas, lambda_max, stderr: need equal lengths >= 2")
    order = np.argsort(s, kind="stable")
    s, lam, e = s[order], lam[order], e[order]
    positive = lam > 0
    changes = int(np.count_nonzero(positive[1:] != positive[:-1]))
    if not positive.any() or positive[-1]:
        return Suppression(math.nan, math.nan, changes)
    k = int(np.nonzero(positive)[0][-1])
    sa, sb, la, lb, ea, eb = s[k], s[k + 1], lam[k], lam[k + 1], e[k], e[k + 1]
    drop = la - lb
    sigma = sa + (sb - sa) * la / drop
    err = (sb - sa) / drop**2 * math.hypot(lb * ea, la * eb)
    return Suppression(float(sigma), float(err), changes)


def fall_after_peak(xs: ArrayLike, values: ArrayLike, errors: ArrayLike) -> dict[str, float]:
    """Where a measure peaks along a parameter, and how significantly it falls after.

    Returns the peak position and value, and the drop from the peak to the last point
    (largest x), ``drop`` = v_peak - v_last with error sqrt(e_peak^2 + e_last^2) and
    z = drop/error. A peak at the last point gives drop 0: no fall seen in the range.
    """
    x = np.asarray(xs, dtype=float).ravel()
    v = np.asarray(values, dtype=float).ravel()
    e = np.asarray(errors, dtype=float).ravel()
    if not x.size == v.size == e.size or x.size == 0:
        raise ValueError("xs, values, errors: need equal non-zero lengths")
    order = np.argsort(x, kind="stable")
    x, v, e = x[order], v[order], e[order]
    k = int(np.nanargmax(v))
    if k == x.size - 1:
        return {
            "x_peak": float(x[k]),
            "peak": float(v[k]),
            "drop": 0.0,
            "drop_error": math.nan,
            "z": 0.0,
        }
    drop = float(v[k] - v[-1])
    err = float(math.hypot(e[k], e[-1]))
    return {
        "x_peak": float(x[k]),
        "peak": float(v[k]),
        "drop": drop,
        "drop_error": err,
        "z": drop / err if err > 0 else math.inf,
    }
