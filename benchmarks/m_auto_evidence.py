"""m = "auto": the Kaplan–Yorke index estimated in the tangent transient vs that of the
accumulated spectrum, N in {100, 200}, g in {2, 3, 5, 10}, seeds 0-2 (docs/NUMERICS.md).

    python benchmarks/m_auto_evidence.py
"""

from __future__ import annotations

import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import lyap_core as lc
from lyap_core import coverage, engine

DT = {2.0: 0.1, 3.0: 0.1, 5.0: 0.05, 10.0: 0.025}


def main() -> None:
    warnings.simplefilter("ignore", lc.NumericsWarning)
    estimate: dict[str, int | None] = {}
    choose = engine.choose_m

    def spy(lam: np.ndarray, m: int, n: int) -> int:
        estimate["k"] = coverage.ky_index(lam)
        return choose(lam, m, n)

    engine.choose_m = spy  # record the tangent transient's estimate of k
    diffs = []
    with threadpool_limits(1):
        for n in (100, 200):
            for g in DT:
                for seed in (0, 1, 2):
                    p = lc.RunParams(
                        n=n, g=g, dt=DT[g], seed=seed, t_sim=300.0, t_transient=100.0, m="auto"
                    )
                    r = lc.run_point(p)
                    k = coverage.ky_index(r.exponents)
                    print(
                        f"N={n} g={g:g} seed={seed}: k_est {estimate['k']} k_final {k} "
                        f"m {r.m} D_KY {r.kaplan_yorke_dimension:.2f} chaotic {r.chaotic}",
                        flush=True,
                    )
                    if r.chaotic and k is not None and estimate["k"] is not None:
                        diffs.append(estimate["k"] - k)
    d = np.array(diffs)
    print(f"chaotic runs: {d.size}; k_est - k_final in [{d.min()}, {d.max()}], mean {d.mean():.2f}")


if __name__ == "__main__":
    main()
