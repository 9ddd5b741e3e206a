"""Every numerical threshold of the package, in one place, one name per meaning.

Two condition-number limits exist and they mean different things:

* :data:`CHOLQR2_MAX_COND` is an *algorithmic* limit: CholeskyQR2 is backward stable
  only while cond(Y) < ~u^(-1/2) (u = 2^-53), so above it :mod:`lyap_core.qr` falls back
  to Householder for that QR. Nothing is wrong with the run.
* :data:`T_ONS_WARN_COND` is a *settings* check: cond(Q) before a QR is about
  exp((lambda_1 - lambda_m) t_ons); above 1e5 the interval t_ons is too long for
  comfortable accuracy of the smallest exponents, so the run warns
  (:mod:`lyap_core.result`) and ``lyap check`` flags the point.

:data:`GRADED_QR_SPREAD` is a third, different thing: the spread max(phi')/min(phi') of
one map step above which that step's QR is factored (:class:`lyap_core.qr.GradedQR`);
below it one QR of J diag(phi') Q is accurate to ~1e-11 per exponent (docs/NUMERICS.md
E12), above it not.
"""

from __future__ import annotations

# -- QR ---------------------------------------------------------------------------------
CHOLQR2_MAX_COND = 1e7  # CholeskyQR2 -> Householder fallback above this cond(Y)
GRADED_QR_SPREAD = 1e6  # map steps with max(phi')/min(phi') above this: graded QR (qr.GradedQR)

# -- a run's own quality ------------------------------------------------------------------
T_ONS_WARN_COND = 1e5  # cond(Q) before a QR above this: warn "shorten t_ons", check fails

# -- chaos --------------------------------------------------------------------------------
CHAOS_ABS = 2e-3  # lambda_max must exceed this (1/tau or 1/step) ...
CHAOS_Z = 3.0  # ... and this many standard errors for a run to count as chaotic

# -- `lyap check` (workflow quality checks of stored points) ------------------------------
SUM_RULE_PER_EXPONENT = 1e-3  # |sum of exponents - <divergence>| / m above this fails
REL_STDERR_MAX = 0.2  # relative standard error of lambda_max or D_KY above this fails
BRUTE_FORCE_Z = 5.0  # two-trajectory lambda_max may differ by max(Z s.e., REL, ABS)
BRUTE_FORCE_REL = 0.1
BRUTE_FORCE_ABS = 0.01
