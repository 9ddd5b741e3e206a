"""``m = "auto"``: how many exponents a run needs for lambda_max, D_KY and H_KS.

D_KY = k + S_k / |lambda_{k+1}| needs the exponents 1..k+1, k the Kaplan–Yorke index
(the number of leading exponents with a non-negative partial sum S_k); H_KS needs
every positive exponent, and there are at most k of them. Exponent i of a run with m
columns does not depend on the columns after i (Gram–Schmidt), so the top m of a
partial run are those of the full spectrum.

Rule (evidence in docs/NUMERICS.md, "m auto"):

- start the tangent transient with ``initial_m(N)`` = max(32, N/4) columns (at most N);
- at its end, from the exponents estimated over its second half, take
  m = ``needed(k)`` = min(N, ceil(1.5 (k + 1)) + 4); if the partial sums never turn
  negative within the columns there are, double m and repeat the tangent transient;
- during the accumulation, at every check, enlarge (and restart the tangent
  transient and accumulation) if the running spectrum leaves fewer than ``SPARE``
  exponents beyond k + 1, or D_KY is undefined, to ``needed(k)`` (or 2 m).
"""

from __future__ import annotations

import math

import numpy as np

SPARE = 2  # exponents beyond k + 1 below which the running spectrum triggers an enlargement


def initial_m(n: int) -> int:
    """Columns of the first tangent transient: a quarter of the network, at least 32.

    Enough without a restart while ceil(1.5 (k + 1)) + 4 <= N / 4, i.e. D_KY/N <~ 0.15:
    tanh networks measured here stay below 0.11 up to g = 10 (docs/NUMERICS.md).
    """
    return min(n, max(32, math.ceil(n / 4)))


def ky_index(lam: np.ndarray) -> int | None:
    """Number k of leading exponents (descending) with S_k >= 0; None if all partial sums are."""
    cs = np.cumsum(np.sort(np.asarray(lam, dtype=np.float64))[::-1])
    neg = np.nonzero(cs < 0)[0]
    return int(neg[0]) if neg.size else None


def needed(k: int, n: int) -> int:
    """m for a Kaplan–Yorke index k: min(N, ceil(1.5 (k + 1)) + 4)."""
    return min(n, math.ceil(1.5 * (k + 1)) + 4)


def choose(lam: np.ndarray, m: int, n: int) -> int:
    """m after the tangent transient, from its estimated exponents (may shrink or grow)."""
    k = ky_index(lam)
    if k is None:
        return min(n, 2 * m)
    return needed(k, n)


def enlarge_to(lam: np.ndarray, m: int, n: int, jackknife_defined: bool = True) -> int | None:
    """A larger m when the running spectrum shows the margin is too small, else None.

    Too small: fewer than ``SPARE`` exponents beyond k + 1, or D_KY undefined, or
    (``jackknife_defined`` False) a leave-one-block-out D_KY beyond the m columns.
    """
    if m >= n:
        return None
    k = ky_index(lam)
    if k is None:
        return min(n, 2 * m)
    if k + 1 + SPARE > m or not jackknife_defined:
        return max(needed(k, n), min(n, m + SPARE + 1))
    return None
