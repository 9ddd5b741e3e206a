"""The numerics version: changes exactly when the numbers of some point change.

Every cached sweep point is keyed by its parameters *and* this version, so bumping it
makes every cached point stale (the sweep recomputes it), and leaving it alone lets a
refactoring, a docstring or a figure change reuse every point.

``tests/test_numerics_version.py`` ties the two: it recomputes a few tiny runs and
compares their bit fingerprints with those recorded for this version in
``tests/data/numerics_fingerprints.json``. When a change of the numerics is intended,
bump :data:`NUMERICS_VERSION` and re-record::

    .venv/bin/python -m lyap_core.version --record tests/data/numerics_fingerprints.json

(a failing test without a bump means the numbers changed by accident, or the bump was
forgotten).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

NUMERICS_VERSION = "2"  # 2: adaptive t_ONS keeps >= n_blocks QRs and bounds norm growth;
# maps re-choose each QR interval; brute-force alignment transient

# Tiny runs covering the numerics paths a sweep uses (flow/map, RK4/Euler, input,
# sparse, partial spectrum, adaptive t_ONS, bootstrap, Householder, brute force).
FINGERPRINT_RUNS: dict[str, dict[str, Any]] = {
    "rk4": {"n": 12, "g": 3.0, "t_sim": 20.0, "t_transient": 5.0, "seed": 1},
    "rk4_input": {"n": 10, "g": 2.5, "input_std": 0.5, "input_tau": 2.0, "t_sim": 10.0},
    "euler_sparse": {
        "n": 12,
        "g": 4.0,
        "scheme": "euler",
        "dt": 0.05,
        "connectivity": "sparse",
        "k": 4,
        "t_sim": 10.0,
        "t_transient": 2.0,
    },
    "partial_householder_bootstrap": {
        "n": 14,
        "g": 3.0,
        "m": 5,
        "qr": "householder",
        "bootstrap": 50,
        "t_sim": 10.0,
        "t_transient": 2.0,
    },
    "adaptive_autapses": {
        "n": 10,
        "g": 4.0,
        "autapses": True,
        "adaptive_ons": True,
        "t_sim": 10.0,
        "t_transient": 4.0,
    },
    "discrete": {"model": "discrete", "n": 12, "g": 2.0, "t_sim": 100, "t_transient": 20},
    "discrete_adaptive": {
        "model": "discrete",
        "n": 12,
        "g": 1.3,
        "t_sim": 200,
        "t_transient": 20,
        "adaptive_ons": True,
    },
    "target_auto_mixed": {
        "n": 40,
        "g": 5.0,
        "m": "auto",
        "precision": "mixed",
        "target_rel_stderr": 0.5,
        "t_max": 150.0,
        "t_transient": 10.0,
    },
}
BRUTE_FORCE_RUNS = ("rk4",)


def result_fingerprint(result: Any) -> str:
    """SHA-256 (16 hex digits) of the bits of a result's numbers.

    Covers the exponents and their standard errors, the running estimates, the block
    means and the scalar measures (lambda_max, D_KY, H, sum-rule residual, brute force).
    """
    h = hashlib.sha256()
    for name in ("exponents", "stderr", "history", "history_time", "block_means"):
        h.update(np.ascontiguousarray(getattr(result, name), dtype=np.float64).tobytes())
    scalars = [
        result.lambda_max,
        result.kaplan_yorke_dimension,
        result.ks_entropy,
        result.sum_rule_residual,
        result.brute_force_lambda_max,
    ]
    h.update(np.array(scalars, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def current_fingerprints() -> dict[str, str]:
    """Fingerprints of :data:`FINGERPRINT_RUNS` computed by this checkout (1 BLAS thread)."""
    from .point import run_point  # the numerics import this module's constant

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short runs warn about precision
        for name, params in FINGERPRINT_RUNS.items():
            res = run_point(params, blas_threads=1, brute_force=name in BRUTE_FORCE_RUNS)
            out[name] = result_fingerprint(res)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m lyap_core.version", description="print or record numerics fingerprints"
    )
    p.add_argument("--record", metavar="PATH", help="write them (with NUMERICS_VERSION) here")
    a = p.parse_args(argv)
    record = {"numerics_version": NUMERICS_VERSION, "fingerprints": current_fingerprints()}
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    if a.record:
        with open(a.record, "w") as fh:
            fh.write(text)
        sys.stderr.write(f"recorded numerics version {NUMERICS_VERSION} in {a.record}\n")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
