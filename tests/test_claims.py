"""Claims computed from stores: every row complete, numbers equal to independent
computations from the same store, verdicts that change when the data contradict the claim."""

from __future__ import annotations

import json

import numpy as np
import pytest
from lyap_workflow import claims
from store_fixtures import build_store, continuous_points, discrete_points, input_points

from lyap_core.theory import dmft_continuous

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _net(algorithm, task, lam, se, quality, recovered=1.0):
    """A synthetic training record entry: (lambda_1, lambda_2) +- se, test NMSE or bits."""
    flip = task == "flipflop"
    return {
        "key": f"{algorithm}_{task}",
        "algorithm": algorithm,
        "task": task,
        "n": 300 if algorithm == "force" else 64,
        "g": 1.5,
        "dt": 0.1,
        "test_error": 0.01 if flip else quality,
        "bit_accuracy": quality if flip else None,
        "trained": {
            "exponents": list(lam),
            "stderr": list(se),
            "chaotic": lam[0] > 0,
            "kaplan_yorke": 1.0 if abs(lam[0]) < 1e-3 else 0.0,
            "kaplan_yorke_stderr": 0.1,
            "t_sim": 1000.0,
        },
        "untrained": {"exponents": [0.03], "stderr": [0.006], "chaotic": True, "t_sim": 600.0},
        "recovered_fraction": recovered,
    }


TRAINING = {  # FORCE, BPTT x periodic, flip-flop: limit cycles and memory fixed points
    "seed": 8,
    "options": {"t_sim": 1000.0, "t_sim_untrained": 600.0},
    "networks": [
        _net("force", "periodic", [-0.0004, -0.034], [0.002, 0.0008], 0.005),
        _net("force", "flipflop", [-0.13, -0.13], [1e-4, 1e-4], 1.0),
        _net("bptt", "periodic", [0.0001, -0.26], [0.0003, 0.001], 4e-5),
        _net("bptt", "flipflop", [-0.28, -0.28], [3e-4, 3e-4], 1.0),
    ],
}
CONFIG = {
    "mean_field_lambda_max": {"sweep": "cont"},
    "extensive_chaos": {"sweep": "cont"},
    "gain_rise_and_fall": {"sweep": "cont"},
    "gain_rise_and_fall_discrete": {"sweep": "disc"},
    "dt_convergence": {"sweep": "cont", "refined": "cont"},
    "chaotic_fraction": {"sweep": "cont"},
    "point_symmetry": {"sweep": "cont"},
    "rmt_continuous": {"sweep": "cont", "g": [5.0]},
    "rmt_discrete": {"sweep": "disc"},
    "input_suppresses_chaos": {"sweep": "inp"},
    "variance_sources": {"sweep": "cont"},
    "trained_network": {},
}


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("claims")
    return {
        "cont": build_store(tmp, "cont", continuous_points()),
        "disc": build_store(tmp, "disc", discrete_points()),
        "inp": build_store(tmp, "inp", input_points()),
    }


@pytest.fixture(scope="module")
def rows(stores, tmp_path_factory):
    return claims.compute_claims(stores, CONFIG, TRAINING, tmp_path_factory.mktemp("fig"))


def by_name(row, name):
    (m,) = [m for m in row["measured"] if m["name"] == name]
    return m


def test_every_claim_has_a_complete_row_and_a_figure(rows):
    assert [r["key"] for r in rows] == list(claims.CLAIMS)
    for r in rows:
        for field in ("claim", "measured", "N", "seeds", "t_sim", "dt", "verdict", "criterion"):
            assert field in r, (r["key"], field)
        assert r["measured"] and r["verdict"] and not r["verdict"].startswith("not computed")
        with open(r["figure"], "rb") as fh:
            assert fh.read(4) == b"\x89PNG"


def test_numbers_are_the_stores_and_the_theorys(rows, stores):
    ds = stores["cont"].isel(input_std=0)
    row = rows[claims.CLAIMS.index("mean_field_lambda_max")]
    for g in (5.0, 8.0):  # computed in the claims step, not copied
        m = by_name(row, f"DMFT lambda_max (g = {g:g}, N -> inf)")
        assert m["value"] == pytest.approx(dmft_continuous(g).lambda_max, rel=1e-12)
    row = rows[claims.CLAIMS.index("extensive_chaos")]
    p = ds.sel(g=8.0, N=80)
    c = p["chaotic"].values
    want = p["kaplan_yorke_per_n"].values[c].mean()
    assert by_name(row, "D/N (g = 8, N = 80)")["value"] == pytest.approx(want, rel=1e-12)
    assert row["N"] == [40, 80] and row["seeds"] == [0, 1] and row["t_sim"] == [150.0]
    assert row["dt"] == [0.025, 0.05]
    row = rows[claims.CLAIMS.index("dt_convergence")]  # a sweep against itself: no difference
    assert all(m["value"] == 0 for m in row["measured"] if np.isfinite(m["value"]))
    assert row["verdict"].startswith("consistent")


def test_point_symmetry_verdict_fails_when_the_spectrum_is_not_symmetric(stores, rows):
    good = rows[claims.CLAIMS.index("point_symmetry")]
    assert good["verdict"].startswith("reproduced"), good["verdict"]
    broken = stores["cont"].copy(deep=True)
    n = broken["exponents"].sizes["i"]
    tilt = 0.2 * np.linspace(1.0, 0.0, n)  # adds to the top of the spectrum only
    broken["exponents"] = broken["exponents"] + tilt
    broken["exponents_blocks"] = broken["exponents_blocks"] + tilt
    row, _ = claims.claim_point_symmetry({"cont": broken}, CONFIG["point_symmetry"])
    assert row["verdict"].startswith("differs"), row["verdict"]


def test_strong_chaos_is_compared_with_the_crossing_kick_law(stores, monkeypatch):
    """The claims step draws the crossing-kick law from DMFT alone; a shifted bulk fails it."""
    from lyap_core.theory import crossing_kicks_dmft

    monkeypatch.setattr(claims, "STRONG_CHAOS_G", 8.0)  # the fixture's strongest gain
    opts = {"sweep": "cont", "g": [5.0, 8.0]}
    row, _ = claims.claim_rmt_continuous({"cont": stores["cont"]}, opts)
    (m,) = [m for m in row["measured"] if "crossing-kick" in m["name"] and "N = 80" in m["name"]]
    assert 0 < m["value"] < 1
    law = crossing_kicks_dmft(80, 8.0)  # from DMFT alone: nothing of the store enters it
    assert law.shape == (80,) and np.all(np.diff(law) < 0)
    shifted = stores["cont"].copy(deep=True)
    shifted["exponents"] = shifted["exponents"] + 1.0
    shifted["exponents_blocks"] = shifted["exponents_blocks"] + 1.0
    row2, _ = claims.claim_rmt_continuous({"cont": shifted}, opts)
    (m2,) = [x for x in row2["measured"] if x["name"] == m["name"]]
    assert "crossing-kick law at g = 8: differs" in row2["verdict"], row2["verdict"]
    assert m2["value"] > m["value"]


def test_trained_network_verdict_follows_the_spectrum():
    row, _ = claims.claim_trained_network({}, {}, training=TRAINING)
    assert row["verdict"].startswith("reproduced"), row["verdict"]
    assert by_name(row, "lambda_2 trained (bptt_periodic)")["value"] == -0.26
    assert by_name(row, "bit accuracy (force_flipflop)")["value"] == 1.0
    # negative control: a chaotic trained network whose output is good must not reproduce
    chaotic = json.loads(json.dumps(TRAINING))
    chaotic["networks"][0]["trained"]["exponents"] = [0.05, -0.01]
    row, _ = claims.claim_trained_network({}, {}, training=chaotic)
    assert row["verdict"].startswith("differs"), row["verdict"]
    # ... nor a stable one whose flip-flop training failed, nor one that does not recover
    failed = json.loads(json.dumps(TRAINING))
    failed["networks"][3]["bit_accuracy"] = 0.7
    assert claims.claim_trained_network({}, {}, training=failed)[0]["verdict"].startswith("differs")
    fragile = json.loads(json.dumps(TRAINING))
    fragile["networks"][1]["recovered_fraction"] = 0.5
    assert claims.claim_trained_network({}, {}, training=fragile)[0]["verdict"].startswith(
        "differs"
    )
    # a chaotic network that also failed agrees with its spectrum; two zero exponents are
    # not a stable limit cycle
    both = json.loads(json.dumps(chaotic))
    both["networks"][0]["test_error"] = 0.8
    assert claims.claim_trained_network({}, {}, training=both)[0]["verdict"].startswith(
        "reproduced"
    )
    torus = json.loads(json.dumps(TRAINING))
    torus["networks"][2]["trained"]["exponents"] = [0.0, 0.0]
    assert not claims.trained_stable(torus["networks"][2])
    # a fixed point is the flip-flop's solution but not the periodic task's; a limit cycle
    # (one zero exponent) cannot hold a bit
    point = json.loads(json.dumps(TRAINING))
    point["networks"][0]["trained"]["exponents"] = [-0.2, -0.2]
    assert not claims.trained_stable(point["networks"][0])
    point["networks"][1]["trained"]["exponents"] = [0.0, -0.2]
    assert not claims.trained_stable(point["networks"][1])


def test_claims_files(rows, tmp_path):
    header = {"config_files": ["config/x.yaml"], "command": "make claims", "provenance": {}}
    claims.write_claims(rows, header, tmp_path / "claims.json", tmp_path / "claims.md")
    data = json.loads((tmp_path / "claims.json").read_text())
    assert [r["key"] for r in data["claims"]] == list(claims.CLAIMS)
    md = (tmp_path / "claims.md").read_text()
    assert md.count("\n| ") >= len(claims.CLAIMS) and "make claims" in md


def test_claims_config_errors_name_the_problem():
    with pytest.raises(KeyError, match="claims"):
        claims.sweeps_of({"sweeps": {}})
    cfg = {"sweeps": {"a": {}}, "claims": dict(CONFIG)}
    with pytest.raises(KeyError, match="unknown sweep"):
        claims.sweeps_of(cfg)
    cfg["sweeps"] = {"cont": {}, "disc": {}, "inp": {}}
    assert claims.sweeps_of(cfg) == ["cont", "disc", "inp"]
