"""Helpers shared by the benchmark scripts (imported from their own folder)."""

from __future__ import annotations

import resource
import statistics
import sys
import time


def peak_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def busy_wait(seconds: float) -> None:
    """Spin the CPU for ``seconds`` (a stand-in for a local solver's work)."""
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        pass


def paired_medians(rows: list[tuple[tuple, tuple]]) -> dict:
    """Medians over repeats of ``(ours, reference)`` pairs of ``(wall s, fun, cpu s)``:
    wall times, best values and the ratio of CPU times (ours / reference)."""
    med = statistics.median
    return {"t_ours": med(a[0] for a, _ in rows), "t_ref": med(b[0] for _, b in rows),
            "f_ours": med(a[1] for a, _ in rows), "f_ref": med(b[1] for _, b in rows),
            "cpu_ratio": med(a[2] for a, _ in rows) / med(b[2] for _, b in rows)}
