"""Measures computed from a Lyapunov spectrum or a trajectory.

All functions take exponents in natural-log units per unit time (1/tau, or 1/step).
"""

from __future__ import annotations

import numpy as np


def _sorted_desc(exponents: np.ndarray) -> np.ndarray:
    lam = np.asarray(exponents, dtype=np.float64)
    if lam.ndim != 1:
        raise ValueError(f"exponents: must be 1-D, got shape {lam.shape}")
    return np.sort(lam)[::-1]


def kaplan_yorke_dimension(exponents: np.ndarray, complete: bool = True) -> float:
    """Kaplan–Yorke (Lyapunov) dimension.

    D = k + (sum_{i<=k} lambda_i) / |lambda_{k+1}|, k the largest index with a
    non-negative partial sum of the exponents sorted in descending order.

    Parameters
    ----------
    exponents : array
        Lyapunov exponents (any order); NaN entries make the result NaN.
    complete : bool
        Whether ``exponents`` is the full spectrum. If the partial sums never turn
        negative, a complete spectrum gives D = len(exponents) while a partial
        (top-m) spectrum gives NaN: the dimension then exceeds m and is unknown.
    """
    lam = _sorted_desc(exponents)
    if lam.size == 0 or np.any(np.isnan(lam)):
        return float("nan")
    cs = np.cumsum(lam)
    nonneg = np.nonzero(cs >= 0)[0]
    if nonneg.size == 0:
        return 0.0
    k = int(nonneg[-1]) + 1  # number of exponents with non-negative partial sum
    if k == lam.size:
        return float(k) if complete else float("nan")
    return k + cs[k - 1] / abs(lam[k])


def ks_entropy(exponents: np.ndarray) -> float:
    """Kolmogorov–Sinai entropy rate by Pesin's identity: H = sum of positive exponents.

    Units: nats per tau (continuous time) or per step (discrete time).
    """
    lam = np.asarray(exponents, dtype=np.float64)
    if np.any(np.isnan(lam)):
        return float("nan")
    return float(np.sum(lam[lam > 0]))


def point_symmetry(exponents: np.ndarray, centre: float | None = None) -> dict[str, float]:
    """Point symmetry of a full spectrum: lambda_i + lambda_{N+1-i} = 2c for all i.

    Returns the centre c (the mean of the pair sums over 2, i.e. the mean
    exponent, unless ``centre`` is given), and the largest and RMS deviation of
    (lambda_i + lambda_{N+1-i})/2 from c, also relative to the half-width
    (lambda_1 - lambda_N)/2.
    """
    lam = _sorted_desc(exponents)
    half = 0.5 * (lam + lam[::-1])
    c = float(np.mean(half)) if centre is None else float(centre)
    dev = half - c
    width = 0.5 * float(lam[0] - lam[-1])
    max_dev = float(np.max(np.abs(dev)))
    rms_dev = float(np.sqrt(np.mean(dev**2)))
    rel = width if width > 0 else float("nan")
    return {
        "centre": c,
        "max_deviation": max_dev,
        "rms_deviation": rms_dev,
        "max_relative_deviation": max_dev / rel,
        "half_width": width,
    }


def participation_ratio(v: np.ndarray) -> float:
    """Participation ratio (sum v_i^2)^2 / sum v_i^4 of a vector (1 .. len(v))."""
    v2 = np.asarray(v, dtype=np.float64) ** 2
    return float(v2.sum() ** 2 / np.sum(v2 * v2))


def pca_dimension(cov: np.ndarray) -> float:
    """PCA participation-ratio dimension (tr C)^2 / tr(C^2) of a covariance matrix."""
    C = np.asarray(cov, dtype=np.float64)
    tr = np.trace(C)
    tr2 = np.sum(C * C)  # tr(C^2) for symmetric C
    return float(tr * tr / tr2) if tr2 > 0 else float("nan")


def rank_coordinate(m: int, n: int) -> np.ndarray:
    """The rank coordinate (i - 1/2)/N, i = 1..m, for comparing sizes on one axis."""
    return (np.arange(1, m + 1) - 0.5) / n
