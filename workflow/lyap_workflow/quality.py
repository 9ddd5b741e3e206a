"""Quality checks of stored points: what `lyap check STORE` reports.

Each point of a gathered store carries its own quality variables; a point fails when

- ``sum_rule``: |sum of exponents − <divergence>| / m > ``SUM_RULE_PER_EXPONENT``
  (mean exponent off: integrator error, Euler bias, or unresolved bottom of the spectrum);
- ``conditioning``: cond(Q) before a QR exceeded ``T_ONS_WARN_COND`` (t_ons too long;
  not with one step per QR, which cannot be shortened: Householder is exact there);
- ``precision``: relative standard error of lambda_max > ``REL_STDERR_MAX`` (when
  |lambda_max| > ``CHAOS_ABS``, i.e. not a zero exponent) or of D_KY > ``REL_STDERR_MAX``;
- ``convergence``: the running lambda_max or D_KY still drifting (``converged`` false);
- ``brute_force``: the two-trajectory lambda_max disagrees with the QR one by more than
  max(5 s.e., 10 %, 0.01) (when it was computed).

All thresholds are those of :mod:`lyap_core.thresholds`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from lyap_core.thresholds import (
    BRUTE_FORCE_ABS,
    BRUTE_FORCE_REL,
    BRUTE_FORCE_Z,
    CHAOS_ABS,
    REL_STDERR_MAX,
    SUM_RULE_PER_EXPONENT,
    T_ONS_WARN_COND,
)

from .store import open_store

_POINT_DIMS_EXCLUDED = ("i", "snapshot", "history_rank")


def _num(q: dict[str, Any], key: str) -> float:
    """q[key] as a float; missing or None (JSON's NaN) is NaN."""
    v = q.get(key)
    return math.nan if v is None else float(v)


def point_failures(q: dict[str, Any]) -> list[str]:
    """Reasons (possibly none) why one point's quality variables fail the checks."""
    reasons = []
    m = max(int(q.get("m", 1)), 1)
    res = _num(q, "sum_rule_residual")
    if math.isfinite(res) and abs(res) / m > SUM_RULE_PER_EXPONENT:
        reasons.append(f"sum_rule: residual {res:.3g} over {m} exponents")
    cond = _num(q, "max_condition_number")
    one_step = q.get("steps_per_ons") == 1  # e.g. a map's full spectrum: nothing to shorten
    if math.isfinite(cond) and cond > T_ONS_WARN_COND and not one_step:
        reasons.append(
            f"conditioning: cond(Q) reached {cond:.3g} (> {T_ONS_WARN_COND:g}); shorten t_ons"
        )
    lam, se = _num(q, "lambda_max"), _num(q, "lambda_max_stderr")
    if abs(lam) > CHAOS_ABS and math.isfinite(se) and se / abs(lam) > REL_STDERR_MAX:
        reasons.append(f"precision: lambda_max {lam:.4g} ± {se:.2g} (> {REL_STDERR_MAX:.0%})")
    d, dse = (
        _num(q, "kaplan_yorke_dimension"),
        _num(q, "kaplan_yorke_dimension_stderr"),
    )
    if d > 0 and math.isfinite(dse) and dse / d > REL_STDERR_MAX:
        reasons.append(f"precision: D_KY {d:.4g} ± {dse:.2g} (> {REL_STDERR_MAX:.0%})")
    if not bool(q.get("converged", True)):
        reasons.append("convergence: running lambda_max/D_KY still drifting; lengthen t_sim")
    bf = _num(q, "brute_force_lambda_max")
    if math.isfinite(bf) and abs(bf - lam) > max(
        BRUTE_FORCE_Z * se, BRUTE_FORCE_REL * abs(lam), BRUTE_FORCE_ABS
    ):
        reasons.append(f"brute_force: two-trajectory lambda_max {bf:.4g} vs {lam:.4g}")
    return reasons


QUALITY_VARS = (
    "sum_rule_residual",
    "max_condition_number",
    "lambda_max",
    "lambda_max_stderr",
    "kaplan_yorke_dimension",
    "kaplan_yorke_dimension_stderr",
    "converged",
    "brute_force_lambda_max",
    "params",
    "status",
    "n_exponents",
)


def check_store(path: str | Path) -> list[dict[str, Any]]:
    """Points of a gathered store that fail the quality checks.

    Returns a list of ``{"point": "g=…, N=…, …", "params": {...}, "reasons": [...]}``.

    Raises
    ------
    lyap_workflow.store.StoreError
        For a missing, damaged or foreign store.
    """
    ds = open_store(path)
    names = [v for v in QUALITY_VARS if v in ds.variables]
    dims = [d for d in ds[names].dims if d not in _POINT_DIMS_EXCLUDED]
    flat = ds[names].load().stack(point=dims)
    failures = []
    for k in range(flat.sizes["point"]):
        row = flat.isel(point=k)
        q = {v: row[v].item() for v in names}
        params = json.loads(q.pop("params")) if "params" in q else {}
        # the m the run computed (m = auto chooses it); older stores: the requested m
        m_run = q.pop("n_exponents", -1)
        q["m"] = m_run if m_run and m_run > 0 else params.get("n_exponents", params.get("n", 1))
        if "t_ons" in params and "step" in params:  # adaptive t_ons only shortens it
            q["steps_per_ons"] = round(params["t_ons"] / params["step"])
        status = q.pop("status", "ok")
        if status != "ok":  # a failed or not yet computed point of a partial store
            label = ", ".join(f"{d}={row[d].item()}" for d in dims)
            failures.append({"point": label, "params": params, "reasons": [f"status: {status}"]})
            continue
        if not math.isfinite(_num(q, "lambda_max")):
            continue  # NaN padding of a ragged grid, not a point
        reasons = point_failures(q)
        if reasons:
            label = ", ".join(f"{d}={row[d].item()}" for d in dims)
            failures.append({"point": label, "params": params, "reasons": reasons})
    return failures


__all__ = ["check_store", "point_failures"]
