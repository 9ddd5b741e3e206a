"""`lyap check`: stored quality flags, and a deliberately under-converged point."""

import json
import warnings

import pytest
from lyap_workflow.cli import main
from lyap_workflow.quality import check_store, point_failures

import lyap_core as lc

xr = pytest.importorskip("xarray")
store = pytest.importorskip("lyap_workflow.store")


@pytest.fixture(scope="module")
def two_point_store(tmp_path_factory):
    """seed 0: well converged; seed 1: 4 tau of accumulation and no transient."""
    d = tmp_path_factory.mktemp("check")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        good = lc.run_point(lc.RunParams(n=40, g=4.0, seed=0, t_sim=300.0))
        bad = lc.run_point(
            lc.RunParams(n=40, g=4.0, seed=1, t_sim=4.0, t_transient=0.0, t_ons=1.0, n_blocks=4)
        )
    shard = d / "shard.zarr"
    store.write_zarr_atomic(store.shard_dataset([good, bad]), shard)
    out = d / "spectra.zarr"
    store.gather([shard], out, sweep="check")
    return out, good, bad


def test_check_flags_only_the_under_converged_point(two_point_store):
    out, good, bad = two_point_store
    assert point_failures({**good.summary(), "m": good.m}) == []
    failures = check_store(out)
    assert len(failures) == 1
    f = failures[0]
    assert "seed=1" in f["point"] and f["params"]["t_sim"] == 4.0
    assert any(r.startswith(("precision", "convergence")) for r in f["reasons"])


def test_cli_check(two_point_store, capsys):
    out, *_ = two_point_store
    assert main(["check", str(out)]) == 1
    text = capsys.readouterr().out
    assert "seed=1" in text and "1 point(s) fail" in text
    assert main(["check", str(out), "--json"]) == 1
    assert len(json.loads(capsys.readouterr().out)) == 1


@pytest.mark.parametrize("kind", ["missing", "garbage", "foreign"])
def test_cli_check_bad_store_is_a_clear_error(tmp_path, capsys, kind):
    path = tmp_path / "s.zarr"
    if kind == "garbage":
        path.mkdir()
        (path / "zarr.json").write_text("{not json")
    elif kind == "foreign":
        xr.Dataset({"x": ("a", [1.0, 2.0])}).to_zarr(path, zarr_format=3, consolidated=False)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lyap: error: ") and "Traceback" not in err and str(path) in err


def test_point_failures_reasons():
    q = dict(
        m=10,
        sum_rule_residual=0.5,
        max_condition_number=1e9,
        lambda_max=0.1,
        lambda_max_stderr=0.05,
        kaplan_yorke_dimension=3.0,
        kaplan_yorke_dimension_stderr=0.1,
        converged=False,
        brute_force_lambda_max=0.5,
    )
    kinds = {r.split(":")[0] for r in point_failures(q)}
    assert kinds == {"sum_rule", "conditioning", "precision", "convergence", "brute_force"}


@pytest.mark.filterwarnings("ignore::lyap_core.NumericsWarning")
def test_check_passes_converged_discrete_euler_and_autapse_points(chaotic, tmp_path):
    """Three converged points on chaotic networks that `lyap check` used to fail.

    Before issue 12: the discrete full spectrum failed 'conditioning' (cond(Q) 5.8e7 at
    one step per QR, which cannot be shortened) and the Euler point failed 'sum_rule'
    (its target was the flow's trace: residual ~1.1 over 80 exponents at dt = 0.05).
    Negative control: the same Euler point with the flow's trace as target still fails.
    """
    disc = chaotic("discrete").result
    euler = lc.run_point(chaotic("continuous").params.replace(scheme="euler", dt=0.05))
    aut = chaotic("autapses").result
    for r in (disc, euler, aut):
        assert r.converged
        assert point_failures({**r.summary(), "m": r.m}) == [], r.params
    assert disc.max_condition_number > 1e5  # the check must not be passed vacuously
    # through the store: check_store derives one step per QR from the stored params
    shard = tmp_path / "shard.zarr"
    store.write_zarr_atomic(store.shard_dataset([disc]), shard)
    store.gather([shard], tmp_path / "s.zarr", sweep="check")
    assert check_store(tmp_path / "s.zarr") == []
    flow_trace = {**euler.summary(), "m": euler.m}
    flow_trace["sum_rule_residual"] = float(euler.exponents.sum()) + euler.n
    assert [r for r in point_failures(flow_trace) if r.startswith("sum_rule")]
