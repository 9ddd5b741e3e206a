"""Accuracy targets: when an accumulation may stop, and how its time blocks grow.

With a target X the accumulation runs in time blocks of equal length L. It starts
with L = ``min_block_steps``; when 2B blocks are complete (B = ``n_blocks``),
neighbours are merged into B blocks of length 2L. So the number of batch-means
blocks always stays in [B, 2B) and every block is complete when it is used: the
standard error of an exponent is the batch-means estimate

    s.e.(lambda_i) = std_b(lambda_i^(b)) / sqrt(n_b),

and those of D_KY and H_KS are jackknifes over the same blocks (as in
:func:`lyap_core.result.summarize`). The criterion is evaluated when a block
completes, from the first time n_b >= B on, and the run stops only when it has held
at two successive checks (one lucky fluctuation of the error estimate does not
stop a run). A run also stops, as ``"not_chaotic"``, when lambda_max is confidently
at or below zero: lambda_max + 2 s.e. <= CHAOS_ABS at two successive checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .measures import kaplan_yorke_dimension, ks_entropy
from .result import CHAOS_ABS, _jackknife

STREAK = 2  # successive checks that must meet a stopping criterion


@dataclass(frozen=True)
class RunningErrors:
    """The measures a target applies to, with their standard errors (NaN: undefined)."""

    lambda_max: float
    lambda_max_stderr: float
    kaplan_yorke: float
    kaplan_yorke_stderr: float
    ks: float
    ks_stderr: float

    def pairs(self) -> tuple[tuple[float, float], ...]:
        return (
            (self.lambda_max, self.lambda_max_stderr),
            (self.kaplan_yorke, self.kaplan_yorke_stderr),
            (self.ks, self.ks_stderr),
        )


def running_errors(
    block_sums: np.ndarray, block_steps: np.ndarray, dt: float, complete: bool
) -> RunningErrors:
    """Estimates and standard errors from complete blocks of summed log|R_ii|.

    ``block_sums`` (n_b, m), ``block_steps`` (n_b,); exponents per unit time.
    """
    log_sum = block_sums.sum(axis=0)
    bt = block_steps * dt
    T = float(bt.sum())
    top = int(np.argmax(log_sum))
    lam = np.sort(log_sum / T)[::-1]
    n_b = bt.size
    se_max = float(np.std(block_sums[:, top] / bt, ddof=1) / math.sqrt(n_b))
    loo = [np.sort((log_sum - block_sums[k]) / (T - bt[k]))[::-1] for k in range(n_b)]

    def ky(x: np.ndarray) -> float:
        return kaplan_yorke_dimension(x, complete=complete)

    return RunningErrors(
        lambda_max=float(lam[0]),
        lambda_max_stderr=se_max,
        kaplan_yorke=ky(lam),
        kaplan_yorke_stderr=_jackknife(np.array([ky(x) for x in loo])),
        ks=ks_entropy(lam),
        ks_stderr=_jackknife(np.array([ks_entropy(x) for x in loo])),
    )


def target_met(e: RunningErrors, rel: float) -> bool:
    """Every defined measure (finite and non-zero) has s.e. <= rel * |value|.

    A measure that is defined but whose error is not (e.g. a leave-one-block-out
    D_KY beyond the m exponents computed) does not meet the target.
    """
    for value, se in e.pairs():
        if not math.isfinite(value) or value == 0:
            continue
        if not (math.isfinite(se) and se <= rel * abs(value)):
            return False
    return True


def confidently_not_chaotic(e: RunningErrors) -> bool:
    """lambda_max + 2 s.e. <= CHAOS_ABS: consistent with <= 0, excluded from chaos."""
    return e.lambda_max + 2 * e.lambda_max_stderr <= CHAOS_ABS


def merge_pairs(block_sums: np.ndarray, block_steps: np.ndarray) -> None:
    """2B complete blocks -> B blocks of twice the length (first half), rest zeroed."""
    b = block_sums.shape[0] // 2
    block_sums[:b] = block_sums[0::2] + block_sums[1::2]
    block_steps[:b] = block_steps[0::2] + block_steps[1::2]
    block_sums[b:] = 0.0
    block_steps[b:] = 0
