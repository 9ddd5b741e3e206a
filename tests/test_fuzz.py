"""Property-based fuzzing of parameters and CLI arguments (hypothesis).

Every invalid value is rejected with a message naming its field; every valid
combination runs (tiny sizes keep each example to milliseconds).
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lyap_core as lc
from lyap_core.cli import main
from lyap_core.params import RunParams

FIELDS = {f for f in RunParams.__dataclass_fields__}

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
)

plausible = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["continuous", "discrete", "spiking", ""]),
        "n": st.one_of(st.integers(-2, 8), anything),
        "g": st.one_of(st.floats(-1, 6), anything),
        "phi": st.sampled_from(["tanh", "relu", "softplus", "sigmoid", "cosh"]),
        "dt": st.one_of(st.none(), st.sampled_from([0.05, 0.1, 0.25, 0.0, -0.1, 1.0, 2.0])),
        "scheme": st.sampled_from(["rk4", "euler", "rk45"]),
        "t_ons": st.sampled_from([0.5, 1.0, 2.0, 0.0, 0.33]),
        "t_sim": st.sampled_from([1.0, 2.0, 4.0, 0.0, -1.0, 3.3]),
        "t_transient": st.sampled_from([0.0, 1.0, 2.0, -1.0]),
        "m": st.one_of(st.none(), st.integers(-1, 10)),
        "input_std": st.one_of(st.floats(-1, 2), anything),
        "input_tau": st.sampled_from([0.0, 0.5, 1.0, -1.0]),
        "seed": st.one_of(st.integers(-5, 2**64), anything),
        "autapses": st.one_of(st.booleans(), anything),
        "connectivity": st.sampled_from(["gaussian", "sparse", "file", "dense"]),
        "k": st.one_of(st.none(), st.integers(-1, 9)),
        "qr": st.sampled_from(["cholqr2", "householder", "svd"]),
        "n_blocks": st.integers(0, 5),
        "bootstrap": st.integers(-1, 20),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plausible)
def test_params_reject_with_field_name_or_run(d):
    try:
        p = RunParams(**d)
    except lc.ParamError as err:
        field = str(err).split(":", 1)[0]
        assert field in FIELDS, err
        return
    except TypeError:  # comparisons on wrong types must not leak as TypeError
        pytest.fail(f"TypeError for {d}")
    if p.n > 8:
        return  # valid; too big to run in a fuzz loop
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = lc.run_point(p)
        except lc.DivergenceError:
            return  # an unbounded phi may legitimately diverge; the error names the step
    assert r.exponents.shape == (p.n_exponents,)
    assert np.all(np.diff(r.exponents) <= 0)
    assert np.all(np.isfinite(r.exponents)) or p.phi == "relu"


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), st.integers(), max_size=3))
def test_unknown_keys_are_named(d):
    if set(d) <= FIELDS:
        return
    with pytest.raises(lc.ParamError) as exc:
        RunParams.from_dict(d)
    assert any(str(exc.value).startswith(f"{k}: ") for k in set(d) - FIELDS), exc.value


flag_values = st.sampled_from(["0", "-1", "1", "2.5", "nan", "inf", "x", "", "1e9", "0.3"])
flags = st.sampled_from(
    [
        "--n",
        "--g",
        "--dt",
        "--t-ons",
        "--t-sim",
        "--t-transient",
        "--m",
        "--input-std",
        "--input-tau",
        "--seed",
        "--sparse-k",
        "--n-blocks",
        "--bootstrap",
    ]
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(flags, flag_values), min_size=1, max_size=3))
def test_cli_arguments_fail_cleanly_or_run(capsys, pairs):
    args = ["spectrum", "--n", "4", "--t-sim", "2", "--t-transient", "1", "--quiet", "--json"]
    for f, v in pairs:
        args += [f, v]
    if any(f in ("--t-sim", "--t-transient") and v == "1e9" for f, v in pairs):
        return  # valid but a 1e10-step run: not for a fuzz loop
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()  # (reset between examples: the fixture is shared)
    if code == 0:
        assert out.out.startswith("{")
    else:
        assert code in (1, 2), code
        line = out.err.strip().splitlines()[-1]
        assert line.startswith("lyap: error: ")
        assert "Traceback" not in out.err


def test_nan_and_inf_never_accepted_as_numbers():
    for field in ("g", "input_std", "input_tau", "t_sim", "t_ons", "t_transient", "dt"):
        for bad in (math.nan, math.inf):
            with pytest.raises(lc.ParamError, match=f"^{field}:"):
                RunParams(**{field: bad})
