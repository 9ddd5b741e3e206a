"""``lyap status [RESULTS_DIR]``: per sweep, points done / total / failed and an ETA.

Reads only ``<results>/<sweep>/plan.json`` (written before any shard runs) and the
point cache (``<results>/cache``): which points exist, which have a failure record,
and when they were written. The ETA divides the estimated single-core seconds still
to compute by the estimated seconds finished per wall second over the last hour (or
since the first point, if none finished within the hour): the cost model's bias
cancels, and the rate reflects however many workers the campaign really has.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .cache import Cache

WINDOW = 3600.0  # s of recent completions that set the rate


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def sweep_status(plan_path: Path, cache: Cache, now: float | None = None) -> dict[str, Any]:
    """Done, failed and total points of one sweep, with the ETA in seconds (None: unknown)."""
    now = time.time() if now is None else now
    record = json.loads(plan_path.read_text())
    done_at, left, failed = [], 0.0, []
    for p in record["points"]:
        path = cache.path(p["key"])
        try:
            done_at.append((path.stat().st_mtime, p["estimate"] or 0.0))
            continue
        except FileNotFoundError:
            pass
        left += p["estimate"] or 0.0
        rec = cache.failure(p["key"])
        if rec:
            failed.append(f"{p['label']}: {rec.get('reason', '?')}")
    eta = None
    if done_at and left:
        recent = [(t, e) for t, e in done_at if now - t <= WINDOW]
        span = WINDOW if recent else max(now - min(t for t, _ in done_at), 1.0)
        rate = sum(e for _, e in (recent or done_at)) / span
        eta = left / rate if rate > 0 else None
    return {
        "sweep": record["sweep"],
        "total": len(record["points"]),
        "done": len(done_at),
        "failed": len(failed),
        "failures": failed,
        "eta_seconds": eta if left else 0.0,
    }


def results_status(results: str | Path = "results") -> list[dict[str, Any]]:
    """:func:`sweep_status` of every sweep under ``results`` (those with a plan.json)."""
    results = Path(results)
    cache = Cache(results / "cache")
    return [sweep_status(p, cache) for p in sorted(results.glob("*/plan.json"))]


def format_status(s: dict[str, Any]) -> str:
    eta = s["eta_seconds"]
    when = "done" if eta == 0 else ("ETA unknown" if eta is None else f"ETA {_duration(eta)}")
    return f"{s['sweep']}: {s['done']}/{s['total']} done, {s['failed']} failed, {when}"
