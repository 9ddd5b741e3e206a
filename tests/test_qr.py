"""Re-orthonormalisation: CholeskyQR2 agrees with Householder and falls back when needed."""

import numpy as np
import pytest

import lyap_core as lc
from lyap_core.qr import Orthonormalizer, householder_qr


def _graded(n, m, cond, seed=0):
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((n, m)))
    V, _ = np.linalg.qr(rng.standard_normal((m, m)))
    s = np.logspace(0, -np.log10(cond), m)
    return np.asfortranarray(U * s @ V.T)


@pytest.mark.parametrize("cond", [1e1, 1e4, 1e6])
def test_cholqr2_matches_householder(cond):
    Y = _graded(200, 50, cond)
    ref = np.linalg.qr(Y, mode="r")
    expect = np.log(np.abs(np.diag(ref)))
    q = Y.copy(order="F")
    ortho = Orthonormalizer(50, "cholqr2")
    logr = ortho(q)
    assert ortho.fallbacks == 0
    np.testing.assert_allclose(logr, expect, atol=1e-12 * cond)
    np.testing.assert_allclose(q.T @ q, np.eye(50), atol=1e-13)


@pytest.mark.parametrize("cond", [1e9, 1e13])
def test_cholqr2_falls_back_when_ill_conditioned(cond):
    Y = _graded(200, 50, cond, seed=1)
    expect = np.log(np.abs(np.diag(np.linalg.qr(Y, mode="r"))))
    q = Y.copy(order="F")
    ortho = Orthonormalizer(50, "cholqr2")
    logr = ortho(q)
    assert ortho.fallbacks == 1
    np.testing.assert_allclose(q.T @ q, np.eye(50), atol=1e-12)
    # large R_ii are exact to roundoff; the smallest carry u * cond relative error
    np.testing.assert_allclose(logr, expect, atol=1e-15 * cond * 10)
    # max R_ii / min R_ii is a lower bound of cond(Y), here within a few e-folds
    assert np.log(cond) / 2 < ortho.last_log_cond <= np.log(cond) + 1e-6


def test_householder_qr_in_place():
    Y = _graded(30, 30, 1e3)
    q = Y.copy(order="F")
    logr = householder_qr(q)
    np.testing.assert_allclose(q.T @ q, np.eye(30), atol=1e-13)
    np.testing.assert_allclose(logr.sum(), np.linalg.slogdet(Y)[1], rtol=1e-12)


def test_unknown_method():
    with pytest.raises(ValueError, match="qr: must be"):
        Orthonormalizer(3, "gram-schmidt")


def test_exponents_do_not_depend_on_qr_method(chaotic):
    """CholeskyQR2 and Householder on a chaotic network: the same spectrum to round-off."""
    c = chaotic("continuous")
    b = lc.run_point(c.params.replace(qr="householder"))
    np.testing.assert_allclose(c.result.exponents, b.exponents, rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", ["cholqr2", "householder"])
@pytest.mark.parametrize("layout", ["C", "strided"])
def test_any_memory_layout_gives_the_householder_r(method, layout):
    """C-ordered or strided input: same log|R_ii| as numpy's QR, and Q written back in place.

    (Before the fix a C-ordered Y lost the TRSM update inside an f2py copy: log|R_ii|
    off by 13.2 in this 50 x 8 example.)
    """
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((50, 8)) * np.logspace(0, 2, 8)
    expect = np.log(np.abs(np.diag(np.linalg.qr(Y, mode="r"))))
    if layout == "C":
        q = np.array(Y, order="C")
    else:
        big = np.zeros((100, 8), order="F")
        big[::2] = Y
        q = big[::2]
    logr = Orthonormalizer(8, method)(q)
    np.testing.assert_allclose(logr, expect, atol=1e-12)
    np.testing.assert_allclose(q.T @ q, np.eye(8), atol=1e-13)
    # Q R reproduces Y (R = Q^T Y): the columns of q are the ones of *this* Y's Q
    np.testing.assert_allclose(q @ np.triu(q.T @ Y), Y, atol=1e-10 * np.abs(Y).max())


def test_second_pass_check_catches_a_frame_whose_diagonal_hides_its_condition():
    """Y = Q0 (I + 300 T), T strictly upper: R's diagonal ratio is only ~e^1.5, so the
    first-pass check passes, but cond(Y) = 7.7e18; the first CholeskyQR pass leaves Y far
    from orthonormal and the second-pass check must finish with Householder (without it:
    max |Q^T Q - I| = 0.58)."""
    rng = np.random.default_rng(0)
    Q0, _ = np.linalg.qr(rng.standard_normal((60, 8)))
    Y = np.asfortranarray(Q0 @ (np.eye(8) + 300 * np.triu(rng.standard_normal((8, 8)), 1)))
    ortho = Orthonormalizer(8, "cholqr2")
    ortho(Y)
    assert ortho.fallbacks == 1
    np.testing.assert_allclose(Y.T @ Y, np.eye(8), atol=1e-12)
