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


def alternate(first, second, repeats: int) -> dict:
    """Time ``first()`` and ``second()`` alternately, ``repeats`` times each, the order
    flipping every repeat, so that each repeat's ratio compares two adjacent
    measurements: a shared machine's speed drifts by 10-30% over minutes, which one
    sequential pair would read as a speed-up.

    Returns the fastest seconds of each (``first_s``, ``second_s``), the median of the
    repeats' ratios first / second (``ratio``) with their range (``ratio_range``), and
    the last return values (``first``, ``second``).
    """
    times: dict[str, list[float]] = {"first": [], "second": []}
    out: dict = {}
    for rep in range(repeats):
        for key in ("first", "second") if rep % 2 == 0 else ("second", "first"):
            t0 = time.perf_counter()
            out[key] = (first if key == "first" else second)()
            times[key].append(time.perf_counter() - t0)
    ratios = sorted(a / b for a, b in zip(times["first"], times["second"], strict=True))
    out.update(first_s=min(times["first"]), second_s=min(times["second"]),
               ratio=statistics.median(ratios), ratio_range=(ratios[0], ratios[-1]))
    return out
