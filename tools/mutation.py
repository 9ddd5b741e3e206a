"""Hand-written mutation check of the numerics modules (``make mutation``; not in CI).

Each mutant is one textual replacement in one module of ``lyap_core`` (engine,
integrators, models, qr, result, measures, inputs, checkpoint, and the resume/brute-force
paths of point). For each, the runner patches a private copy of the repository (never
the working tree: other processes may be importing it), runs the named subset of the
default suite with ``-x``, and counts the mutant as killed when pytest fails. It prints
the killed share and the survivors; a mutant whose text is no longer in its module is
reported as stale (the code moved on: update the list).

Usage::

    .venv/bin/python tools/mutation.py            # all mutants
    .venv/bin/python tools/mutation.py -k qr      # only mutants whose id contains "qr"
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPY = ("lyap_core", "tests", "pyproject.toml")


@dataclass(frozen=True)
class Mutant:
    id: str
    module: str  # file under lyap_core/
    old: str
    new: str
    tests: tuple[str, ...]  # pytest arguments (files, -k expressions)
    why: str = ""  # what the mutant breaks


RN = "tests/test_rate_network.py"
KS = "tests/test_known_systems.py"
TG = "tests/test_tangent.py"
QR = "tests/test_qr.py"
MI = "tests/test_measures_inputs.py"
CK = "tests/test_checkpoint.py"
CAL = "tests/test_error_calibration.py"
CF = "tests/test_claims_fast.py"
QU = "tests/test_quality.py"

MUTANTS = [
    # -- integrators ------------------------------------------------------------------------
    Mutant(
        "integrators.rk4-weight",
        "integrators.py",
        "(1.0, 1.0, 2))  # (c, weight, stage time)",
        "(1.0, 2.0, 2))  # (c, weight, stage time)",
        (KS,),
        "last RK4 stage weighted 2",
    ),
    Mutant(
        "integrators.rk4-dt6",
        "integrators.py",
        "a=dt / 6.0)",
        "a=dt / 5.0)",
        (KS,),
        "RK4 step scaled",
    ),
    Mutant(
        "integrators.rk4-stage-time",
        "integrators.py",
        "((0.5, 2.0, 1), (0.5, 2.0, 1),",
        "((0.5, 2.0, 1), (0.5, 2.0, 2),",
        (RN, "-k", "stage_times"),
        "input sampled at the wrong time in stage 3",
    ),
    Mutant(
        "integrators.euler-dt",
        "integrators.py",
        "blas.daxpy(self._stage, _flat(X), a=self.dt)",
        "blas.daxpy(self._stage, _flat(X), a=0.5 * self.dt)",
        (KS,),
        "generic Euler step halved",
    ),
    # -- models -----------------------------------------------------------------------------
    Mutant(
        "models.stage0-dphi",
        "models.py",
        "d = self.nl.dphi(U[:, 0])",
        "self._k = getattr(self, '_k', -1) + 1; "
        "d = self._d0 if self._k % 4 else self.nl.dphi(U[:, 0]); self._d0 = d",
        (TG,),
        "stage-0 phi' reused in all RK4 stages (inexact tangent)",
    ),
    Mutant(
        "models.tangent-dphi-zero-col",
        "models.py",
        "np.multiply(U[:, ns:], d[:, None], out=P[:, ns:])",
        "np.multiply(U[:, ns:], d[:, None] ** 2, out=P[:, ns:])",
        (TG,),
        "phi'^2 in the tangent product",
    ),
    Mutant(
        "models.euler-decay",
        "models.py",
        "self._gemm(self.dt, P, 1.0 - self.dt, X)",
        "self._gemm(self.dt, P, 1.0 - 0.9 * self.dt, X)",
        (RN, "-k", "euler"),
        "Euler leak term wrong",
    ),
    Mutant(
        "models.rk4-leak",
        "models.py",
        "self._gemm(1.0, P, -1.0, U)",
        "self._gemm(1.0, P, -0.9, U)",
        (RN,),
        "leak -0.9 h in the RK4 right-hand side",
    ),
    Mutant(
        "models.sparse-transpose",
        "models.py",
        "JP = self.J @ P",
        "JP = self.J.T @ P",
        (RN, "-k", "sparse"),
        "sparse product with J^T",
    ),
    Mutant(
        "models.autapse-trace",
        "models.py",
        "float(self.diag @ self.nl.dphi(h))",
        "float(self.diag.sum())",
        (RN, "-k", "autapse"),
        "tr D without phi'",
    ),
    Mutant(
        "models.euler-target",
        "models.py",
        "M.flat[:: self.dim + 1] += 1.0 - self.dt",
        "M.flat[:: self.dim + 1] += 1.0",
        (RN, "-k", "euler"),
        "Euler target without the leak",
    ),
    Mutant(
        "models.map-logdet",
        "models.py",
        "self._logdet = log_abs_det(self.J)",
        "self._logdet = log_abs_det(self.J) + 1e-6",
        (RN, "-k", "discrete"),
        "map target off by 1e-6",
    ),
    Mutant(
        "models.diag-dphi2",
        "models.py",
        "np.array([d.sum(), d @ d, h @ h])",
        "np.array([d.sum(), d.sum(), h @ h])",
        (CF, "-k", "discrete or circular"),
        "<phi'^2> reported as <phi'>",
    ),
    Mutant(
        "models.map-leak",
        "models.py",
        "self._gemm(1.0, P, 0.0, X)",
        "self._gemm(1.0, P, 0.1, X)",
        (RN, "-k", "discrete"),
        "map h -> J phi(h) + 0.1 h",
    ),
    # -- qr ---------------------------------------------------------------------------------
    Mutant(
        "qr.chol-log",
        "qr.py",
        "return np.log(np.diag(R))",
        "return 0.5 * np.log(np.diag(R))",
        (QR,),
        "log R_ii halved",
    ),
    Mutant(
        "qr.layout",
        "qr.py",
        "work = Y if Y.flags.f_contiguous else np.asfortranarray(Y)",
        "work = Y",
        (QR,),
        "C-ordered input back to the f2py-copy bug",
    ),
    Mutant(
        "qr.second-pass-check",
        "qr.py",
        "np.max(np.abs(second)) > 0.1",
        "np.max(np.abs(second)) > 10.0",
        (QR, "-k", "second_pass"),
        "no Householder finish after a poor second CholQR pass",
    ),
    Mutant(
        "qr.last-log-cond",
        "qr.py",
        "self.last_log_cond = float(np.max(logr) - np.min(logr))",
        "self.last_log_cond = 0.0",
        (QR, RN, "-k", "qr or discrete"),
        "observed condition number lost",
    ),
    # -- result -----------------------------------------------------------------------------
    Mutant(
        "result.batch-means-halved",
        "result.py",
        "stderr = bmeans.std(axis=0, ddof=1) / np.sqrt(n_b) if",
        "stderr = bmeans.std(axis=0, ddof=1) / np.sqrt(n_b) / 2 if",
        (CAL,),
        "batch-means errors halved",
    ),
    Mutant(
        "result.jackknife",
        "result.py",
        "np.sqrt((b - 1) / b * np.sum(",
        "np.sqrt(1 / b * np.sum(",
        (CAL,),
        "jackknife without its (b - 1) factor",
    ),
    Mutant(
        "result.residual-sign",
        "result.py",
        "residual = float(np.sum(lam) - target)",
        "residual = float(np.sum(lam[1:]) - target)",
        (RN, "-k", "sum_rule or euler"),
        "sum-rule residual without lambda_1",
    ),
    Mutant(
        "result.converged",
        "result.py",
        "return abs(b - a) <= 3 * se + 1e-12",
        "return abs(b - a) <= 300 * se + 1e-12",
        (RN, "-k", "converged_flag"),
        "convergence never fails",
    ),
    Mutant(
        "result.chaotic",
        "result.py",
        "chaotic=bool(lam[0] > max(CHAOS_Z * lmax_se, CHAOS_ABS))",
        "chaotic=bool(lam[0] > 0)",
        (RN, "-k", "chaotic_flag"),
        "any positive lambda_max counts as chaos",
    ),
    Mutant(
        "result.t-ons-warning",
        "result.py",
        "and state.steps_per_ons > 1:",
        "and state.steps_per_ons > 0:",
        (RN, "-k", "discrete"),
        "maps asked to shorten a one-step t_ons",
    ),
    Mutant(
        "result.pca-mean",
        "result.py",
        "c = c + np.triu(c, 1).T - np.outer(mean, mean)",
        "c = c + np.triu(c, 1).T",
        (MI, "-k", "pca"),
        "PCA of the second moment, not the covariance",
    ),
    Mutant(
        "result.leave-one-out-time",
        "result.py",
        "(state.log_sum - state.block_sums[k]) / (T - btime[k])",
        "(state.log_sum - state.block_sums[k]) / T",
        (CAL,),
        "jackknife replicates divided by the full time",
    ),
    Mutant(
        "result.bootstrap-resample",
        "result.py",
        "idx = rng.integers(0, n_b, n_b)",
        "idx = np.arange(n_b)",
        (RN, "-k", "bootstrap"),
        "bootstrap without resampling",
    ),
    # -- measures ---------------------------------------------------------------------------
    Mutant(
        "measures.ky-wrong-exponent",
        "measures.py",
        "return k + cs[k - 1] / abs(lam[k])",
        "return k + cs[k - 1] / abs(lam[-1])",
        (MI,),
        "Kaplan-Yorke divides by the last exponent",
    ),
    Mutant(
        "measures.ky-k",
        "measures.py",
        "k = int(nonneg[-1]) + 1",
        "k = int(nonneg[0]) + 1",
        (MI,),
        "first instead of last non-negative partial sum",
    ),
    Mutant(
        "measures.ks-threshold",
        "measures.py",
        "return float(np.sum(lam[lam > 0]))",
        "return float(np.sum(lam[lam > 0.01]))",
        (MI,),
        "small positive exponents dropped from H_KS",
    ),
    Mutant(
        "measures.pca",
        "measures.py",
        "return float(tr * tr / tr2) if",
        "return float(tr / tr2) if",
        (MI,),
        "PCA dimension not squared",
    ),
    # -- inputs -----------------------------------------------------------------------------
    Mutant(
        "inputs.ou-decay",
        "inputs.py",
        "self.a = float(np.exp(-h / tau))",
        "self.a = float(np.exp(-2.0 * h / tau))",
        (MI,),
        "OU correlation time halved",
    ),
    Mutant(
        "inputs.ou-noise",
        "inputs.py",
        "float(np.sqrt(-np.expm1(-2.0 * h / tau)))",
        "float(np.sqrt(-np.expm1(-h / tau)))",
        (MI,),
        "OU not stationary at std",
    ),
    Mutant(
        "inputs.white-scale",
        "inputs.py",
        "self.scale = self.std * float(np.sqrt(dt))",
        "self.scale = self.std * dt",
        (MI,),
        "white noise scaled by dt",
    ),
    Mutant(
        "inputs.ou-state",
        "inputs.py",
        '"current": self.current.copy()}',
        '"current": 0.0 * self.current}',
        (MI, CK, "-k", "round_trip or resume"),
        "OU value not checkpointed",
    ),
    Mutant(
        "inputs.rng-state",
        "inputs.py",
        'self.rng.bit_generator.state = state["bit_generator"]',
        "pass",
        (MI, "-k", "round_trip"),
        "input RNG not restored",
    ),
    Mutant(
        "inputs.white-refused",
        "inputs.py",
        "    if tau == 0:\n        raise ValueError(",
        "    if tau < 0:\n        raise ValueError(",
        (RN, "-k", "white"),
        "white noise silently built from a stationary std",
    ),
    Mutant(
        "inputs.iid-scale",
        "inputs.py",
        "return self.std * self.rng.standard_normal(self.n)",
        "return self.std**2 * self.rng.standard_normal(self.n)",
        (MI,),
        "discrete-time input variance instead of std",
    ),
    Mutant(
        "measures.participation-ratio",
        "measures.py",
        "return float(v2.sum() ** 2 / np.sum(v2 * v2))",
        "return float(v2.sum() / np.sum(v2 * v2))",
        (MI,),
        "participation ratio not squared",
    ),
    # -- checkpoint -------------------------------------------------------------------------
    Mutant(
        "checkpoint.history",
        "checkpoint.py",
        'kw["hist_values"] = list(arrays["hist_values"])',
        'kw["hist_values"] = []',
        (CK, "-k", "resume and not cli"),
        "history lost on resume",
    ),
    Mutant(
        "checkpoint.fingerprint",
        "checkpoint.py",
        'if header.get("fingerprint") != fingerprint(params):',
        "if False:",
        (CK, "-k", "refuses"),
        "checkpoint of other parameters accepted",
    ),
    Mutant(
        "checkpoint.input-state",
        "checkpoint.py",
        '"system_state": _encode(state.system_state),',
        '"system_state": {},',
        (CK, "-k", "resume and not cli"),
        "input process state not saved",
    ),
    Mutant(
        "checkpoint.discard-state",
        "point.py",
        "state = load_checkpoint(checkpoint, pdict)",
        "state = load_checkpoint(checkpoint, pdict) and None",
        (CK, "-k", "resume and not cli"),
        "a resume that discards its loaded state (silent restart)",
    ),
    # -- engine -----------------------------------------------------------------------------
    Mutant(
        "engine.block-index",
        "engine.py",
        "b = (s.step - per) * n_blocks // (s.steps_per_ons * s.n_ons)",
        "b = (s.step // per) % n_blocks",
        (RN, "-k", "contiguous"),
        "blocks interleaved instead of contiguous (correlated batches)",
    ),
    Mutant(
        "engine.transient-short",
        "engine.py",
        "            for _ in range(chunk):\n                self.system.step_state(x)",
        "            for _ in range(chunk - 1):\n                self.system.step_state(x)",
        (CK, "-k", "resume and not cli"),
        "state transient one step short per chunk",
    ),
    Mutant(
        "engine.trapezoid",
        "engine.py",
        "s.div_sum += 0.5 * (sysm.divergence(X[:, 0]) - s.div_first)",
        "s.div_sum += 0.0 * (sysm.divergence(X[:, 0]) - s.div_first)",
        (RN, "-k", "autapse"),
        "left-point sum-rule target",
    ),
    Mutant(
        "engine.samples",
        "engine.py",
        "s.n_samples += per",
        "s.n_samples += per + 1",
        (RN, "-k", "sum_rule or euler or discrete"),
        "sum-rule target averaged over the wrong count",
    ),
    Mutant(
        "engine.history-order",
        "engine.py",
        "s.hist_values.append(np.sort(s.log_sum / t)[::-1])",
        "s.hist_values.append(np.sort(s.log_sum / t))",
        (QU, CK, "-k", "check or resume"),
        "running history in ascending order",
    ),
    Mutant(
        "engine.adapt-min",
        "engine.py",
        "s.steps_per_ons = max(d for d in range(1, cap + 1) if total % d == 0)",
        "s.steps_per_ons = min(d for d in range(1, cap + 1) if total % d == 0)",
        (CK, "-k", "adaptive"),
        "adaptive t_ons always one step",
    ),
    Mutant(
        "engine.tangent-qr",
        "engine.py",
        "            logr = self._orthonormalize(Q)\n            if cfg.adaptive_ons:",
        "            logr = np.zeros(Q.shape[1])\n            if cfg.adaptive_ons:",
        (CK, RN, "-k", "resume or partial or brute"),
        "no QR in the tangent transient",
    ),
    Mutant(
        "engine.pr-vector",
        "engine.py",
        "s.pr_sum += participation_ratio(Q[:, 0])",
        "s.pr_sum += participation_ratio(Q[:, -1])",
        (MI, "-k", "participation"),
        "PR of the last instead of the leading Lyapunov vector",
    ),
    Mutant(
        "engine.diagnostics-sum",
        "engine.py",
        "s.diag_sum = d if s.diag_sum is None else s.diag_sum + d",
        "s.diag_sum = d if s.diag_sum is None else s.diag_sum + 0.5 * d",
        (CF, "-k", "discrete or circular"),
        "diagnostics mis-averaged",
    ),
    Mutant(
        "models.has-diag",
        "models.py",
        "self.has_diag = bool(np.any(self.diag != 0))",
        "self.has_diag = False",
        (RN, "-k", "autapse"),
        "autapses ignored in the sum-rule target",
    ),
    Mutant(
        "inputs.ou-advance",
        "inputs.py",
        "self.current = values[-1]",
        "self.current = values[0]",
        (MI,),
        "OU process never advances between steps",
    ),
    Mutant(
        "result.order",
        "result.py",
        'order = np.argsort(-raw, kind="stable")',
        'order = np.argsort(raw, kind="stable")',
        (MI, "-k", "kaplan"),
        "spectrum in ascending order",
    ),
    Mutant(
        "result.time",
        "result.py",
        "T = state.step * dt",
        "T = (state.step + 1) * dt",
        (RN, "-k", "discrete"),
        "accumulation time one step long",
    ),
    Mutant(
        "engine.brute-force-align",
        "point.py",
        "if k >= n_align:",
        "if True:",
        (RN, "-k", "brute"),
        "brute force without its alignment transient",
    ),
]


def _copy_tree(dest: Path) -> None:
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)


def _pytest(cwd: Path, args: tuple[str, ...], timeout: float) -> tuple[int, float]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *args]
    t0 = time.monotonic()
    try:
        rc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        rc = -1  # a hang counts as killed (the suite would time out)
    return rc, time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", default="", help="only mutants whose id contains this")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant")
    a = ap.parse_args(argv)
    todo = [m for m in MUTANTS if a.k in m.id]
    with tempfile.TemporaryDirectory(prefix="lyap-mutation-") as tmp:
        work = Path(tmp)
        _copy_tree(work)
        probe = subprocess.run(
            [sys.executable, "-c", "import lyap_core; print(lyap_core.__file__)"],
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not probe.startswith(str(work)):
            print(f"mutation: the copy is not the imported lyap_core ({probe})", file=sys.stderr)
            return 2
        files = tuple(sorted({t for m in todo for t in m.tests if t.startswith("tests/")}))
        rc, secs = _pytest(work, files, 4 * a.timeout)  # unmutated: must pass
        if rc != 0:
            print(f"mutation: baseline fails: pytest {' '.join(files)}", file=sys.stderr)
            return 2
        print(f"baseline passes ({secs:.0f} s): {' '.join(files)}", flush=True)
        killed, survived, stale = [], [], []
        for m in todo:
            path = work / "lyap_core" / m.module
            original = path.read_text()
            if original.count(m.old) != 1:
                stale.append(m)
                print(f"STALE     {m.id}: text not found once in {m.module}", flush=True)
                continue
            path.write_text(original.replace(m.old, m.new))
            try:
                rc, secs = _pytest(work, m.tests, a.timeout)
            finally:
                path.write_text(original)
            (killed if rc != 0 else survived).append(m)
            verdict = "killed  " if rc != 0 else "SURVIVED"
            print(f"{verdict}  {m.id} ({secs:.0f} s): {m.why}", flush=True)
    n = len(killed) + len(survived)
    share = len(killed) / n if n else float("nan")
    print(f"\nkilled {len(killed)}/{n} = {share:.0%} ({len(stale)} stale)")
    for m in survived:
        print(f"  survivor: {m.id} ({m.module}): {m.why}")
    return 0 if share >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
