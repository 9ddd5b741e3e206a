"""``lyap spectrum``: one Lyapunov spectrum from the command line.

``lyap spectrum ...``  human summary or ``--json``; ``--out run.zarr`` writes a store

The installed ``lyap`` command is :mod:`lyap_workflow.cli`, which adds the sweep
commands (``check``, ...) and the zarr writer behind ``--out``; this module is the
numerics-only part (``python -m lyap_core spectrum ...`` works without the pipeline
stack, except ``--out``).

Bad arguments exit with status 2 and one line naming the argument and the allowed
range, before any compute.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .checkpoint import CheckpointError
from .engine import DivergenceError, NumericsWarning
from .params import MODELS, PHIS, PRECISIONS, QR_METHODS, SCHEMES, ParamError, RunParams
from .point import run_point
from .result import SpectrumResult

PROG = "lyap"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{PROG}: error: {message}\n")
        raise SystemExit(2)


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def _param_message(err: ParamError) -> str:
    """Rewrite 'field: ...' into '--field: ...' so the message names the CLI flag."""
    text = str(err)
    field, sep, rest = text.partition(":")
    if sep and field.isidentifier():
        return f"{_flag(field)}:{rest}"
    return text


def top_parser() -> tuple[argparse.ArgumentParser, Any]:
    """The ``lyap`` parser and its subcommand registry (commands added by the callers)."""
    p = _Parser(prog=PROG, description="Lyapunov spectra of recurrent rate networks.")
    return p, p.add_subparsers(dest="command", required=True, parser_class=_Parser)


def _m_value(text: str) -> int | str:
    """--m: an integer or 'auto'."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer or 'auto', got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """``lyap`` with the ``spectrum`` command only."""
    p, sub = top_parser()
    add_spectrum(sub)
    return p


def add_spectrum(sub: Any) -> argparse.ArgumentParser:
    """Register ``spectrum`` and its flags on a subcommand registry."""
    s = sub.add_parser("spectrum", help="compute one Lyapunov spectrum")
    d = RunParams()
    s.add_argument("--model", choices=MODELS, default=d.model)
    s.add_argument("--n", type=int, default=d.n, help="network size N (default %(default)s)")
    s.add_argument("--g", type=float, default=d.g, help="coupling gain (default %(default)s)")
    s.add_argument("--phi", choices=PHIS, default=d.phi)
    s.add_argument("--seed", type=int, default=d.seed, help="master seed (default %(default)s)")
    for stream in ("network", "init", "onb", "input"):
        s.add_argument(
            f"--seed-{stream}",
            type=int,
            default=None,
            help=f"pin the {stream} stream's seed (default: --seed)",
        )
    s.add_argument(
        "--t-sim",
        type=float,
        default=d.t_sim,
        help="accumulation time (tau; steps in discrete time)",
    )
    s.add_argument("--dt", type=float, default=None, help="time step (default 0.1; discrete: 1)")
    s.add_argument("--t-ons", type=float, default=d.t_ons, help="time between QRs")
    s.add_argument("--t-transient", type=float, default=d.t_transient, help="state-only transient")
    s.add_argument(
        "--t-transient-tangent",
        type=float,
        default=None,
        help="tangent transient (default: half of --t-transient)",
    )
    s.add_argument("--scheme", choices=SCHEMES, default=d.scheme)
    s.add_argument(
        "--m",
        type=_m_value,
        default=None,
        help="number of exponents (default: N); 'auto': chosen to cover D_KY and H_KS",
    )
    s.add_argument("--input-std", type=float, default=d.input_std)
    s.add_argument(
        "--input-tau",
        type=float,
        default=d.input_tau,
        help="input correlation time of the OU input (> 0 when --input-std > 0)",
    )
    s.add_argument("--coupling", default=None, help="coupling matrix file (.npy or .npz)")
    s.add_argument(
        "--sparse-k",
        dest="k",
        type=int,
        default=None,
        help="sparse random coupling with K inputs per neuron",
    )
    s.add_argument("--autapses", action="store_true", help="keep the diagonal of J")
    s.add_argument("--qr", choices=QR_METHODS, default=d.qr)
    s.add_argument(
        "--n-blocks", type=int, default=d.n_blocks, help="time blocks for standard errors"
    )
    s.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        help="bootstrap resamples of the time blocks for errors (0: batch means)",
    )
    s.add_argument(
        "--adaptive-ons",
        action="store_true",
        help="choose t_ons in the tangent transient from the observed cond(Q)",
    )
    s.add_argument(
        "--target-rel-stderr",
        type=float,
        default=None,
        help="accumulate until the relative s.e. of lambda_max, D_KY, H_KS are <= this",
    )
    s.add_argument(
        "--t-max",
        type=float,
        default=None,
        help="longest accumulation with --target-rel-stderr (default: --t-sim)",
    )
    s.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=d.precision,
        help="mixed: float32 tangent vectors (continuous time only)",
    )
    s.add_argument(
        "--threads", type=int, default=1, help="BLAS threads for this run (default %(default)s)"
    )
    s.add_argument(
        "--brute-force",
        action="store_true",
        help="cross-check lambda_max with two nearby trajectories",
    )
    s.add_argument(
        "--checkpoint",
        default=None,
        help="checkpoint file: saved periodically, resumed from if it exists",
    )
    s.add_argument(
        "--checkpoint-interval",
        type=float,
        default=300.0,
        help="seconds between checkpoints (default %(default)s)",
    )
    s.add_argument("--json", action="store_true", help="one JSON object on stdout")
    s.add_argument("--out", default=None, help="also write the result to this zarr store")
    s.add_argument("--quiet", action="store_true", help="no progress bar or warnings")
    return s


def params_from_args(a: argparse.Namespace) -> RunParams:
    """Validated RunParams from parsed arguments (ParamError on bad values)."""
    connectivity = "file" if a.coupling else ("sparse" if a.k is not None else "gaussian")
    return RunParams(
        model=a.model,
        n=a.n,
        g=a.g,
        phi=a.phi,
        connectivity=connectivity,
        k=a.k,
        coupling=a.coupling,
        autapses=a.autapses,
        input_std=a.input_std,
        input_tau=a.input_tau,
        dt=a.dt,
        scheme=a.scheme,
        t_ons=a.t_ons,
        t_sim=a.t_sim,
        t_transient=a.t_transient,
        t_transient_tangent=a.t_transient_tangent,
        m=a.m,
        seed=a.seed,
        seed_network=a.seed_network,
        seed_init=a.seed_init,
        seed_onb=a.seed_onb,
        seed_input=a.seed_input,
        qr=a.qr,
        n_blocks=a.n_blocks,
        bootstrap=a.bootstrap,
        adaptive_ons=a.adaptive_ons,
        target_rel_stderr=a.target_rel_stderr,
        t_max=a.t_max,
        precision=a.precision,
    )


def _human(res: Any) -> str:
    lam = res.exponents
    unit = "1/tau" if res.continuous else "1/step"
    lines = [
        f"N = {res.n}, m = {res.m}, T = {res.time:g}, dt = {res.dt:g}",
        f"lambda_max   = {res.lambda_max:+.5f} ± {res.lambda_max_stderr:.5f} {unit}"
        + ("  (chaotic)" if res.chaotic else "  (not chaotic)"),
        f"D_KY         = {res.kaplan_yorke_dimension:.3f} ± "
        f"{res.kaplan_yorke_dimension_stderr:.3f}   D/N = {res.kaplan_yorke_per_n:.4f}",
        f"H_KS         = {res.ks_entropy:.5f} ± {res.ks_entropy_stderr:.5f} nats/"
        f"{unit[2:]}   H/N = {res.ks_entropy_per_n:.5f}",
        f"sum rule     : residual {res.sum_rule_residual:.3g} (target {res.sum_rule_target:.6g})",
        "top exponents: " + " ".join(f"{x:+.4f}" for x in lam[:5]),
        f"stopped by   : {res.stopped_by} after T = {res.time:g}",
        f"wall time    : {res.wall_time.get('total', float('nan')):.2f} s",
    ]
    if res.brute_force_lambda_max == res.brute_force_lambda_max:
        lines.insert(2, f"lambda_max (two trajectories) = {res.brute_force_lambda_max:+.5f}")
    return "\n".join(lines)


def _progress(quiet: bool):
    """A tqdm progress callback on stderr (silent when not a TTY or quiet)."""
    if quiet or not sys.stderr.isatty():
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=1, unit="step", file=sys.stderr, delay=2.0, leave=False)

    def cb(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return cb, bar


# writes a result to a zarr store: provided by the workflow package (the pipeline stack)
ZarrWriter = Callable[[SpectrumResult, str], None]


def cmd_spectrum(a: argparse.Namespace, write_zarr: ZarrWriter | None = None) -> int:
    """Run ``lyap spectrum``; ``write_zarr`` handles ``--out`` (None: refuse it)."""

    try:
        params = params_from_args(a)
    except ParamError as err:
        sys.stderr.write(f"{PROG}: error: {_param_message(err)}\n")
        return 2
    if a.out is not None and not str(a.out).endswith(".zarr"):
        sys.stderr.write(f"{PROG}: error: --out: must be a path ending in .zarr, got {a.out}\n")
        return 2
    if a.out is not None and write_zarr is None:
        sys.stderr.write(
            f"{PROG}: error: --out: writing a zarr store needs the lyap_workflow package "
            "(pip install ./workflow); use --json\n"
        )
        return 2
    if a.checkpoint_interval < 0:
        sys.stderr.write(f"{PROG}: error: --checkpoint-interval: must be >= 0\n")
        return 2
    if a.threads < 1:
        sys.stderr.write(f"{PROG}: error: --threads: must be an integer >= 1, got {a.threads}\n")
        return 2
    cb, bar = _progress(a.quiet)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", NumericsWarning)
            res = run_point(
                params,
                checkpoint=a.checkpoint,
                checkpoint_interval=a.checkpoint_interval,
                progress=cb,
                brute_force=a.brute_force,
                blas_threads=a.threads,
            )
    except (ValueError, CheckpointError) as err:
        sys.stderr.write(
            f"{PROG}: error: {_param_message(err) if isinstance(err, ParamError) else err}\n"
        )
        return 2
    except DivergenceError as err:
        sys.stderr.write(f"{PROG}: error: {err}\n")
        return 1
    finally:
        if bar is not None:
            bar.close()
    if not a.quiet:
        for w in caught:
            if issubclass(w.category, NumericsWarning):
                sys.stderr.write(f"{PROG}: warning: {w.message}\n")
    if a.out is not None:
        write_zarr(res, a.out)
    if a.json:
        sys.stdout.write(json.dumps(res.summary()) + "\n")
    else:
        sys.stdout.write(_human(res) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cmd_spectrum(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
