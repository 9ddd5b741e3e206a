"""Coupling matrices J: Gaussian, sparse with fixed in-degree, or user supplied.

Dense matrices are returned in Fortran order (what the BLAS calls in the hot loop
take without copying); sparse ones as CSR.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

Coupling = np.ndarray | sp.csr_matrix


def gaussian_coupling(
    n: int, g: float, rng: np.random.Generator, autapses: bool = False
) -> np.ndarray:
    """J_ij ~ Normal(0, g^2/N) i.i.d.; zero diagonal unless ``autapses``.

    The draw is the same with and without autapses (the diagonal is zeroed after).
    """
    J = rng.standard_normal((n, n)) * (g / np.sqrt(n))
    if not autapses:
        np.fill_diagonal(J, 0.0)
    return np.asfortranarray(J)


def sparse_coupling(
    n: int, k: int, g: float, rng: np.random.Generator, autapses: bool = False
) -> sp.csr_matrix:
    """Sparse J with exactly ``k`` inputs per neuron (row), weights Normal(0, g^2/K).

    Presynaptic partners are drawn uniformly without replacement (excluding the
    neuron itself unless ``autapses``), so the row variance is g^2 as in the dense case.
    """
    pool = n if autapses else n - 1
    if not 1 <= k <= pool:
        raise ValueError(f"k: must be an integer in [1, {pool}], got {k}")
    cols = np.empty((n, k), dtype=np.int64)
    for i in range(n):
        c = rng.choice(pool, size=k, replace=False)
        if not autapses:
            c[c >= i] += 1  # skip the diagonal
        cols[i] = np.sort(c)
    data = rng.standard_normal(n * k) * (g / np.sqrt(k))
    indptr = np.arange(0, n * k + 1, k)
    return sp.csr_matrix((data, cols.ravel(), indptr), shape=(n, n))


def check_coupling(J: Coupling, n: int | None = None) -> Coupling:
    """Validate a user matrix: square, float, finite, matching ``n``; return it ready to use."""
    if sp.issparse(J):
        J = sp.csr_matrix(J, dtype=np.float64)
        values = J.data
    else:
        J = np.asarray(J)
        if J.ndim != 2:
            raise ValueError(f"coupling: must be a 2-D matrix, got shape {J.shape}")
        if not np.issubdtype(J.dtype, np.number) or np.iscomplexobj(J):
            raise ValueError(f"coupling: must hold real numbers, got dtype {J.dtype}")
        J = np.asfortranarray(J, dtype=np.float64)
        values = J
    if J.shape[0] != J.shape[1] or J.shape[0] == 0:
        raise ValueError(f"coupling: must be square and non-empty, got shape {J.shape}")
    if n is not None and J.shape[0] != n:
        raise ValueError(f"coupling: shape {J.shape} does not match n={n}")
    if not np.all(np.isfinite(values)):
        raise ValueError("coupling: contains NaN or infinite entries")
    return J


def load_coupling(path: str | Path, n: int | None = None) -> Coupling:
    """Load J from ``.npy`` (dense), or ``.npz`` (scipy.sparse ``save_npz``, or an array ``J``)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"coupling: file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            J = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if "format" in z.files and "indptr" in z.files:
                    J = sp.load_npz(path)
                elif "J" in z.files:
                    J = z["J"]
                elif len(z.files) == 1:
                    J = z[z.files[0]]
                else:
                    raise ValueError(
                        f"coupling: {path} holds {z.files}; expected a sparse matrix "
                        "or an array 'J'"
                    )
        else:
            raise ValueError(f"coupling: expected a .npy or .npz file, got {path}")
    except (OSError, EOFError) as exc:
        raise ValueError(f"coupling: cannot read {path}: {exc}") from exc
    return check_coupling(J, n)


def coupling_diagonal(J: Coupling) -> np.ndarray:
    """diag(J) as a dense vector (for the sum rule)."""
    return np.asarray(J.diagonal(), dtype=np.float64)
