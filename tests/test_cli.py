"""The `lyap` command line: JSON contract, human summary, one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from lyap_core.cli import main

SMALL = ["spectrum", "--n", "30", "--g", "3", "--t-sim", "20", "--t-transient", "10"]


def test_json_contract(capsys):
    assert main([*SMALL, "--json", "--seed", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "exponents",
        "stderr",
        "kaplan_yorke_dimension",
        "ks_entropy",
        "sum_rule_residual",
        "params",
    ):
        assert key in out
    lam = out["exponents"]
    assert len(lam) == 30 and lam == sorted(lam, reverse=True)
    assert out["params"]["n"] == 30 and out["params"]["seed"] == 2
    assert out["params"]["g"] == 3.0


def test_human_summary(capsys):
    assert main([*SMALL, "--m", "5"]) == 0
    out = capsys.readouterr().out
    assert "lambda_max" in out and "D_KY" in out and "m = 5" in out


def test_discrete_counts_steps(capsys):
    assert (
        main(
            [
                "spectrum",
                "--model",
                "discrete",
                "--n",
                "20",
                "--t-sim",
                "50",
                "--t-transient",
                "5",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["time"] == 50 and out["dt"] == 1


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--n", "0"], "--n"),
        (["--g", "-2"], "--g"),
        (["--dt", "0"], "--dt"),
        (["--dt", "0.5", "--t-ons", "0.2"], "--t-ons"),
        (["--m", "31"], "--m"),
        (["--phi", "cosh"], "--phi"),
        (["--scheme", "rk45"], "--scheme"),
        (["--n", "abc"], "--n"),
        (["--input-std", "-1"], "--input-std"),
        (["--input-std", "0.5", "--input-tau", "0"], "--input-tau"),
        (["--t-sim", "0"], "--t-sim"),
        (["--sparse-k", "40"], "--k"),
    ],
)
def test_bad_arguments_one_line_naming_the_flag(capsys, args, flag):
    with pytest.raises(SystemExit) as exc:
        code = main([*SMALL, *args])
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and flag in err, err


def test_bad_coupling_file(tmp_path, capsys):
    np.save(tmp_path / "J.npy", np.ones((3, 4)))
    assert main([*SMALL, "--n", "3", "--coupling", str(tmp_path / "J.npy")]) == 2
    assert "coupling" in capsys.readouterr().err
    assert main([*SMALL, "--coupling", str(tmp_path / "missing.npy")]) == 2
    assert "not found" in capsys.readouterr().err


def test_diverging_run_exit_1_names_step(capsys):
    code = main(
        ["spectrum", "--n", "30", "--g", "50", "--phi", "relu", "--t-transient", "500", "--quiet"]
    )
    assert code == 1
    assert "step" in capsys.readouterr().err


def test_console_script_no_progress_when_not_a_tty():
    r = subprocess.run(
        [sys.executable, "-m", "lyap_core.cli", *SMALL, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert r.stderr == "" or "warning" in r.stderr  # no progress bar without a TTY
    json.loads(r.stdout)


def test_out_writes_zarr(tmp_path, capsys):
    """The installed `lyap` (lyap_workflow.cli) writes --out stores; the core CLI refuses."""
    xr = pytest.importorskip("xarray")
    from lyap_workflow.cli import main as lyap_main

    out = tmp_path / "run.zarr"
    assert main([*SMALL, "--out", str(out), "--json"]) == 2
    assert "--out" in capsys.readouterr().err and not out.exists()
    assert lyap_main([*SMALL, "--out", str(out), "--json"]) == 0
    ds = xr.open_zarr(out)
    js = json.loads(capsys.readouterr().out)
    np.testing.assert_array_equal(ds["exponents"].values[:30], js["exponents"])
