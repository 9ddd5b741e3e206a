"""Atomic save/restore of an :class:`~lyap_core.engine.EngineState`.

A checkpoint is one ``.npz`` file: the arrays of the state plus a JSON header
(phase, counters, RNG states of the system, and a fingerprint of the parameters
so that a checkpoint is never resumed under different settings). Writes go to a
temporary file in the same directory, are fsynced, then renamed over the old one:
a kill at any moment leaves either the previous or the new checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from .engine import EngineState
from .io import atomic_file, fingerprint

FORMAT = "lyap-checkpoint-1"
_ARRAYS = (
    "X",
    "log_sum",
    "block_sums",
    "block_steps",
    "diag_sum",
    "pca_s1",
    "pca_s2",
    "dphi_hist",
    "tt_log_sum",
)


class CheckpointError(ValueError):
    """A checkpoint that cannot be used (corrupt, foreign, or for other parameters)."""


def _encode(obj: Any) -> Any:
    """JSON-encode nested RNG/system states (arrays tagged)."""
    if isinstance(obj, np.ndarray):
        return {"__array__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, dict):
        return {k: _encode(v) for k, v in obj.items()}
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _decode(obj: Any) -> Any:
    if isinstance(obj, dict):
        if "__array__" in obj:
            return np.array(obj["__array__"], dtype=obj["dtype"])
        return {k: _decode(v) for k, v in obj.items()}
    return obj


def save_checkpoint(path: str | Path, state: EngineState, params: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (temp file + fsync + rename)."""
    path = Path(path)
    header = {
        "format": FORMAT,
        "fingerprint": fingerprint(params),
        "scalars": {
            f.name: getattr(state, f.name)
            for f in fields(state)
            if f.name not in _ARRAYS and f.name not in ("hist_values", "system_state")
        },
        "system_state": _encode(state.system_state),
    }
    arrays = {k: getattr(state, k) for k in _ARRAYS if getattr(state, k) is not None}
    arrays["hist_values"] = np.asarray(state.hist_values).reshape(
        len(state.hist_values), state.log_sum.size
    )
    with atomic_file(path) as fh:
        np.savez(fh, __header__=np.array(json.dumps(header)), **arrays)


def load_checkpoint(path: str | Path, params: dict[str, Any]) -> EngineState:
    """Read a checkpoint written by :func:`save_checkpoint` for the same ``params``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["__header__"]))
            arrays = {k: z[k] for k in z.files if k != "__header__"}
    except (OSError, ValueError, KeyError, EOFError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"checkpoint: cannot read {path}: {exc}") from exc
    if header.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint: {path} is not a lyap checkpoint")
    if header.get("fingerprint") != fingerprint(params):
        raise CheckpointError(
            f"checkpoint: {path} was written for different parameters; "
            "delete it or use the parameters it was made with"
        )
    kw = dict(header["scalars"])
    kw["system_state"] = _decode(header["system_state"])
    for k in _ARRAYS:
        kw[k] = arrays.get(k)
    kw["X"] = np.asfortranarray(kw["X"])
    if kw["pca_s2"] is not None:
        kw["pca_s2"] = np.ascontiguousarray(kw["pca_s2"])
    kw["hist_values"] = list(arrays["hist_values"])
    return EngineState(**kw)
