"""Driver overhead and parallel speedup, measured against a plain loop in the same run.

    python benchmarks/bench_driver.py            # 2,000 restarts, 20 ms speedup case
    python benchmarks/bench_driver.py --quick    # a few seconds

Cases (ratios are what matter — the machine is shared and noisy):

* overhead: ``multistart`` vs ``for i in range(n): solver(start_i, default_rng(seed + i))``
  ("plain loop") and vs the same loop with ``SeedSequence(seed).spawn(n)`` streams
  ("spawn loop", the independence guarantee ``multistart`` gives), for solvers that
  busy-wait 0.1 ms and 1 ms (target: ratio <= 1.10 at n_jobs=1 for 0.1 ms solvers);
* speedup: n_jobs=2 over n_jobs=1 for 20 ms solvers (target >= 1.8 on 2 cores).

Each timing is the median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _common import busy_wait

import restarts as rs


class Spin:
    """A CPU-bound 'local solver' that takes ``seconds`` and uses its rng."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, start, rng):
        busy_wait(self.seconds)
        return (start, float(start[0] + rng.random()))


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def plain_loop(solver, starts) -> None:
    """What people write today: one integer seed per restart."""
    for i in range(len(starts)):
        solver(starts[i], np.random.default_rng(1234 + i))


def spawned_loop(solver, starts) -> None:
    """The same loop with independent streams from ``SeedSequence.spawn`` (numpy's advice)."""
    for i, child in enumerate(np.random.SeedSequence(1234).spawn(len(starts))):
        solver(starts[i], np.random.default_rng(child))


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    n = 200 if args.quick else 2000
    n_speed = 20 if args.quick else 200
    repeat = 1 if args.quick else args.repeat
    rows = []
    starts = np.zeros((n, 1))
    # Start the worker pool once, as a long-lived session would; loky reuses it.
    rs.multistart(Spin(0.0), 4, starts=starts[:4], rng=0, n_jobs=2)
    for cost in (1e-4, 1e-3):
        solver = Spin(cost)
        ref = median_time(lambda s=solver: plain_loop(s, starts), repeat)
        ref_spawn = median_time(lambda s=solver: spawned_loop(s, starts), repeat)
        for n_jobs in (1, 2):
            t = median_time(lambda s=solver, j=n_jobs: rs.multistart(
                s, n, starts=starts, rng=0, n_jobs=j), repeat)
            for name, r in (("plain loop", ref), ("spawn loop", ref_spawn)):
                rows.append({"case": f"overhead {cost * 1e3:g} ms x {n}", "n_jobs": n_jobs,
                             "reference": name, "ref_s": r, "restarts_s": t, "ratio": t / r})
    solver = Spin(0.02)
    s_speed = np.zeros((n_speed, 1))
    t1 = median_time(lambda: rs.multistart(solver, n_speed, starts=s_speed, rng=0, n_jobs=1),
                     repeat)
    t2 = median_time(lambda: rs.multistart(solver, n_speed, starts=s_speed, rng=0, n_jobs=2),
                     repeat)
    rows.append({"case": f"speedup 20 ms x {n_speed}", "n_jobs": 2, "reference": "n_jobs=1",
                 "ref_s": t1, "restarts_s": t2, "ratio": t1 / t2})
    print(f"{'case':<26} {'n_jobs':>6} {'reference':>11} {'ref_s':>8} {'restarts_s':>10} "
          f"{'ratio':>7}")
    for r in rows:
        print(f"{r['case']:<26} {r['n_jobs']:>6} {r['reference']:>11} {r['ref_s']:>8.3f} "
              f"{r['restarts_s']:>10.3f} {r['ratio']:>7.3f}")
    print("overhead rows: ratio = restarts/loop (target <= 1.10 for 0.1 ms at n_jobs=1); "
          "speedup row: ratio = n_jobs=1 / n_jobs=2 (target >= 1.8)")
    return rows


if __name__ == "__main__":
    main()
