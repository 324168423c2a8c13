"""Shared helpers of the benchmarks: timing, and ratios against a baseline from the same run."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

MIRROR = Path(__file__).resolve().parents[2] / "shared" / "data" / "valueportrait"
if not os.environ.get("VP_DATA_DIR") and (MIRROR / "SHA256SUMS").exists():
    os.environ["VP_DATA_DIR"] = str(MIRROR)


def best_of(fn, repeat: int = 3, cpu: bool = False) -> tuple[float, object]:
    """Best time of ``repeat`` calls, and the last result.

    Wall time, or with ``cpu=True`` CPU seconds of this process (``time.process_time``: on a
    shared machine wall time also counts waiting for a core).
    """
    clock = time.process_time if cpu else time.perf_counter
    times, out = [], None
    for _ in range(repeat):
        t0 = clock()
        out = fn()
        times.append(clock() - t0)
    return min(times), out


def report(name: str, seconds: float, baseline: float | None = None, goal: str = "") -> None:
    """Print one line: time, and the ratio baseline / this when a baseline is given."""
    ratio = (
        f"   {baseline / seconds:8.1f}x faster than baseline ({baseline:.3f} s)" if baseline else ""
    )
    print(f"{name:<58s} {seconds:9.3f} s{ratio}   {goal}".rstrip())


def median(xs):
    return statistics.median(xs)
