"""Cost and accuracy of the graded QR of maps (not a test; prints one table).

Discrete-time network, full spectrum, one step per QR, one BLAS thread: for each g,
the engine with the graded QR switched on automatically (the default) and off (one QR
of J diag(phi') Q per step). Prints the fraction of steps that were factored, the
sum-rule residual of both (the sum rule is exact for maps: an accuracy probe of the
lower spectrum), and the wall-time ratio measured in the same run (medians of
``--repeats``).

    python benchmarks/graded_qr.py [--n 200] [--steps 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from lyap_core.coupling import gaussian_coupling
from lyap_core.engine import EngineConfig, NumericsWarning, finish, initial_state, run_state
from lyap_core.models import RateNetwork

warnings.simplefilter("ignore", NumericsWarning)


def run(n: int, g: float, steps: int, graded: bool):
    rng = np.random.default_rng(1)
    net = RateNetwork(gaussian_coupling(n, g, rng, False), continuous=False)
    x0 = rng.standard_normal(n)
    for _ in range(100):
        net.step_state(x0)
    cfg = EngineConfig(m=n, steps_per_ons=1, n_ons=steps, graded_qr=graded)
    state = initial_state(net, x0, cfg, rng)
    t0 = time.perf_counter()
    state = run_state(net, cfg, state)
    wall = time.perf_counter() - t0
    return finish(net, cfg, state, {}), wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--g", type=float, nargs="+", default=[1.5, 2, 3, 5, 10, 50])
    a = ap.parse_args()
    print(f"N = {a.n}, {a.steps} steps, medians of {a.repeats}; one BLAS thread")
    print("| g | factored steps | sum-rule residual, graded | single QR | time graded/single |")
    print("|---|---|---|---|---|")
    with threadpool_limits(1):
        for g in a.g:
            walls: dict[bool, list[float]] = {True: [], False: []}
            res = {}
            for _ in range(a.repeats):
                for graded in (True, False):
                    res[graded], wall = run(a.n, g, a.steps, graded)
                    walls[graded].append(wall)
            ratio = np.median(walls[True]) / np.median(walls[False])
            frac = res[True].graded_qr_steps / a.steps
            print(
                f"| {g:g} | {frac:.0%} | {res[True].sum_rule_residual:.2e} | "
                f"{res[False].sum_rule_residual:.2e} | {ratio:.2f} |"
            )


if __name__ == "__main__":
    main()
