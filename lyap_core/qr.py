"""Re-orthonormalisation of the tangent vectors: Q R = Y, in place, returning log|R_ii|.

CholeskyQR2 (Fukaya et al. 2014) does the work in BLAS-3 (SYRK, TRSM), far faster
on a tall-skinny N x m block than LAPACK's Householder QR, and is accurate to
machine precision while cond(Y) < ~1e7 (u^-1/2 with margin). Beyond that, or if the
Cholesky factorisation fails, it falls back to Householder (GEQRF + ORGQR).
All calls go through scipy's BLAS/LAPACK so one OpenBLAS serves the whole loop.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas, lapack

from .thresholds import CHOLQR2_MAX_COND, GRADED_QR_SPREAD

_SPLIT_LOG = 600.0  # ln-range of one diagonal factor when phi' < e^-600 (float64 ends at e^-745)
_MAX_FACTORS = 8  # beyond an ln-range of 4800 (e.g. an unbounded phi diverging) no factoring


def householder_qr(Y: np.ndarray) -> np.ndarray:
    """Householder QR in place (Y becomes Q); returns log|R_ii| (length m)."""
    qr, tau, _, info = lapack.dgeqrf(Y, overwrite_a=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"dgeqrf failed (info={info})")
    with np.errstate(divide="ignore"):
        logr = np.log(np.abs(np.diag(qr)[: Y.shape[1]]))
    q, _, info = lapack.dorgqr(qr, tau, overwrite_a=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"dorgqr failed (info={info})")
    if q is not Y:
        Y[...] = q
    return logr


class GradedQR:
    r"""First factor of a map step's QR when its row scaling spans many decades.

    One step of a map multiplies the frame by J diag(d), d = phi'(h) > 0. A single QR of
    Y = J diag(d) Q has a normwise backward error ~u ||Y|| (u = 2^-53), which swamps
    every direction growing by less than ~u d_max/d_min: at strong coupling phi' spans
    tens of decades and the lower spectrum is lost. The step is factored instead,

    .. math:: J\,\mathrm{diag}(d)\,Q = J\,Q_1 R_1 = Q_2 R_2 R_1, \qquad
              \ln|R_{ii}| = \ln|(R_1)_{ii}| + \ln|(R_2)_{ii}|,

    (R2 R1 is upper triangular). diag(d) Q is row-graded: Householder QR with its rows
    sorted by decreasing infinity norm is rowwise backward stable (Powell & Reid 1969;
    Cox & Higham 1998), i.e. exact for diag(d) (Q + E) with |E_i| <= c u |Q_i|, a
    relative O(u) perturbation of the step however widely d spreads. J Q1 then has the
    condition number of J (Q1 orthonormal), which the engine's own QR resolves.

    This object does the first QR (in place on A = diag(d) Q, A becomes Q1); the caller
    multiplies by J and does the second. It acts only on steps with
    d_max > ``spread_limit`` * d_min > 0 and returns None otherwise: below the limit one
    QR of Y is accurate (docs/NUMERICS.md, "graded QR"), and a zero d (e.g. relu below
    threshold) makes the map singular, which no QR can resolve. d is given as ln d, so
    that phi' beyond float64's range (g >~ 80) is still factored exactly.

    Attributes
    ----------
    calls : int
        Steps factored so far.
    """

    def __init__(self, spread_limit: float = GRADED_QR_SPREAD):
        self.spread_limit = spread_limit
        self.calls = 0
        self._W: np.ndarray | None = None

    def __call__(self, A: np.ndarray, Q: np.ndarray, log_d: np.ndarray) -> np.ndarray | None:
        """A = diag(d) Q (N x m) := Q1 in place; log|(R1)_ii|, or None (A untouched).

        ``log_d`` = ln phi' decides (spread ln d_max - ln d_min > ln ``spread_limit``) and
        serves where phi' is below e^-600, near or past float64 underflow (|h| > ~300 for
        tanh, g >~ 80): diag(phi') is then split into factors whose entries each stay
        above e^-600, applied to Q one after another, each with its own graded QR
        (diag(phi') = D_K ... D_1, all diagonal, so R1 = R1_K ... R1_1). ln phi' = -inf
        (phi' = 0, e.g. relu below threshold) is a singular map: None. So is an ln-range
        beyond 4800 (a diverging state, e.g. softplus at large g): the sum rule shows it.
        """
        lo, hi = float(np.min(log_d)), float(np.max(log_d))
        if not np.isfinite(lo) or hi - lo <= np.log(self.spread_limit):
            return None
        if hi - lo > _MAX_FACTORS * _SPLIT_LOG:
            return None
        logr = self._factor(A) if lo > -_SPLIT_LOG else self._factor_split(A, Q, log_d)
        self.calls += 1
        return logr

    def _factor(self, A: np.ndarray) -> np.ndarray:
        """Householder QR of A with its rows sorted by decreasing max-norm; A := Q1."""
        if self._W is None or self._W.shape != A.shape:
            self._W = np.empty(A.shape, order="F")
        order = np.argsort(-np.max(np.abs(A), axis=1), kind="stable")
        np.take(A, order, axis=0, out=self._W, mode="clip")
        logr = householder_qr(self._W)
        A[order] = self._W
        return logr

    def _factor_split(self, A: np.ndarray, Q: np.ndarray, log_d: np.ndarray) -> np.ndarray:
        """A := Q1 of diag(exp(log_d)) Q, one graded QR per factor of ln-range 600."""
        rest = log_d - np.max(log_d)
        piece = np.maximum(rest, -_SPLIT_LOG)
        np.multiply(Q, np.exp(np.max(log_d) + piece)[:, None], out=A)
        logr = self._factor(A)
        rest = rest - piece
        while np.min(rest) < 0:
            piece = np.maximum(rest, -_SPLIT_LOG)
            A *= np.exp(piece)[:, None]
            logr += self._factor(A)
            rest = rest - piece
        return logr


class Orthonormalizer:
    """Reusable QR of an N x m Fortran array, in place.

    Parameters
    ----------
    m : int
        Number of columns.
    method : {"cholqr2", "householder"}
    Attributes
    ----------
    fallbacks : int
        How many CholeskyQR2 calls fell back to Householder.
    """

    def __init__(self, m: int, method: str = "cholqr2"):
        if method not in ("cholqr2", "householder"):
            raise ValueError(f"qr: must be 'cholqr2' or 'householder', got {method!r}")
        self.method = method
        self.G = np.empty((m, m), order="F")
        self.fallbacks = 0

    def _chol_pass(self, Y: np.ndarray) -> np.ndarray | None:
        """One CholeskyQR pass: G = Y^T Y = R^T R, Y := Y R^-1; log diag R or None."""
        G = blas.dsyrk(1.0, Y, beta=0.0, c=self.G, trans=1, lower=0, overwrite_c=1)
        R, info = lapack.dpotrf(G, lower=0, clean=0, overwrite_a=1)
        if info != 0:
            return None
        blas.dtrsm(1.0, R, Y, side=1, lower=0, overwrite_b=1)
        return np.log(np.diag(R))

    def __call__(self, Y: np.ndarray) -> np.ndarray:
        """Orthonormalise Y in place; return log|R_ii| of Y = Q R.

        Sets ``last_log_cond`` to log(max R_ii / min R_ii), the observed condition
        number of Y before the QR (the quantity t_ONS must keep moderate).
        Any memory layout is accepted; a non-Fortran Y is worked on in a Fortran
        copy and written back (BLAS would otherwise update a hidden f2py copy).
        """
        work = Y if Y.flags.f_contiguous else np.asfortranarray(Y)
        if self.method == "householder":
            logr = householder_qr(work)
        else:
            logr = self._cholqr2(work)
        if work is not Y:
            Y[...] = work
        self.last_log_cond = float(np.max(logr) - np.min(logr))
        return logr

    def _cholqr2(self, Y: np.ndarray) -> np.ndarray:
        # R = R2 R1 (both upper triangular), so log|R_ii| = log R1_ii + log R2_ii.
        logr = self._chol_pass(Y)
        if logr is None or np.max(logr) - np.min(logr) > np.log(CHOLQR2_MAX_COND):
            # Too ill-conditioned for Cholesky: Householder on what we have.
            self.fallbacks += 1
            return householder_qr(Y) if logr is None else logr + householder_qr(Y)
        second = self._chol_pass(Y)
        if second is None or np.max(np.abs(second)) > 0.1:
            # Y R1^-1 still far from orthonormal: finish with Householder.
            self.fallbacks += 1
            return logr + (householder_qr(Y) if second is None else second + householder_qr(Y))
        return logr + second
