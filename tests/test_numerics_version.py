"""NUMERICS_VERSION changes exactly when results change (the sweep cache relies on it).

Recorded: bit fingerprints of tiny runs for the current version
(tests/data/numerics_fingerprints.json). After an intended change of the numbers, bump
``lyap_core.version.NUMERICS_VERSION`` and re-record:

    .venv/bin/python -m lyap_core.version --record tests/data/numerics_fingerprints.json
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lyap_core import run_point
from lyap_core.version import (
    FINGERPRINT_RUNS,
    NUMERICS_VERSION,
    current_fingerprints,
    result_fingerprint,
)

RECORD = Path(__file__).parent / "data" / "numerics_fingerprints.json"
HOW = (
    "bump lyap_core.version.NUMERICS_VERSION if the change of the numbers is intended, then "
    "run: .venv/bin/python -m lyap_core.version --record tests/data/numerics_fingerprints.json"
)


def test_numbers_are_those_recorded_for_this_numerics_version():
    record = json.loads(RECORD.read_text())
    assert record["numerics_version"] == NUMERICS_VERSION, (
        f"NUMERICS_VERSION is {NUMERICS_VERSION!r} but the fingerprints were recorded for "
        f"{record['numerics_version']!r}: re-record them ({HOW})"
    )
    got = current_fingerprints()
    changed = sorted(k for k in FINGERPRINT_RUNS if got[k] != record["fingerprints"].get(k))
    assert not changed, (
        f"results of {changed} changed under numerics version {NUMERICS_VERSION}: {HOW}"
    )


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_fingerprint_sees_one_bit():
    """Negative control: the fingerprint changes when one exponent moves by one ulp."""
    res = run_point(FINGERPRINT_RUNS["rk4"])
    before = result_fingerprint(res)
    res.exponents[3] = np.nextafter(res.exponents[3], np.inf)
    assert result_fingerprint(res) != before
