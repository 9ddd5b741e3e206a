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

from .thresholds import CHOLQR2_MAX_COND


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
