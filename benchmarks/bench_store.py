"""What a SQLite store costs a long run of a cheap solver: wall time and memory.

    python benchmarks/bench_store.py            # 100,000 restarts (a minute or two)
    python benchmarks/bench_store.py --quick    # 10,000 restarts, a few seconds

Each case runs in a fresh interpreter (so memory numbers do not inherit another
case's heap), in-process (``n_jobs=1``), for two solvers: one of a few microseconds
(the worst case for the store's relative cost: the driver's own work per restart is
then all there is to compare with) and one of 0.1 ms (the driver benchmark's
overhead case). The store writes one row per restart, one transaction per chunk of
256 restarts.

Printed per case: wall and CPU time and their ratios to the run without a store
(target: store <= 1.20; on a shared machine the CPU ratio is the steadier one), the
resident memory the run added (peak, sampled every 20 ms, and at the end, with the
result still alive), that growth per restart, and the file's size.
Memory "stays flat" when the store's growth per restart equals the run without a
store: the only per-restart memory is the result table ``multistart`` returns.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
from _common import busy_wait


def cheap(start, rng):
    """A 'local solver' of a few microseconds: a 3-D quadratic at a jittered start."""
    x = start + 1e-3 * rng.random(3)
    return x, float(x @ x)


class Spin:
    """A 'local solver' that busy-waits ``seconds`` (as in bench_driver.py), then is cheap."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, start, rng):
        busy_wait(self.seconds)
        return cheap(start, rng)


SOLVERS = {"5us": cheap, "0.1ms": Spin(1e-4)}


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(n: int, store: str | None, solver_name: str) -> dict:
    import restarts as rs

    solver = SOLVERS[solver_name]

    # Warm up imports and code paths outside the measurement.
    rs.multistart(cheap, 300, starts=rs.starts.Uniform([(-1, 1)] * 3), rng=1)
    base = _rss()
    peak = [base]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], _rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0, c0 = time.perf_counter(), time.process_time()
    res = rs.multistart(solver, n, starts=rs.starts.Uniform([(-1, 1)] * 3), rng=0, store=store,
                        name="bench" if store else None)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    stop.set()
    sampler.join()
    end = _rss()
    peak[0] = max(peak[0], end)
    assert len(res) == n
    out = {"wall_s": wall, "cpu_s": cpu, "peak_mb": (peak[0] - base) / 2**20,
           "end_mb": (end - base) / 2**20, "bytes_per_restart": (end - base) / n,
           "db_mb": os.path.getsize(store) / 2**20 if store else 0.0,
           "best": res.fun}
    if store:
        loaded = rs.Store(store).load("bench")
        out["load_equal"] = bool(np.array_equal(loaded.table["fun"], res.table["fun"]))
    return out


def run_case(n: int, store: str | None, solver_name: str) -> dict:
    cmd = [sys.executable, __file__, "--child", str(n), "--solver", solver_name]
    cmd += ["--store", store] if store else []
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root] + ([env["PYTHONPATH"]]
                                                  if env.get("PYTHONPATH") else []))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 restarts")
    parser.add_argument("--n", type=int, default=None, help="restarts (default 100,000)")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--store", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--solver", default="5us", choices=sorted(SOLVERS),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.store, args.solver)))
        return []
    n = args.n or (10_000 if args.quick else 100_000)
    print(f"{n:,} restarts, n_jobs=1, in-process (store target: ratio <= 1.20)\n")
    rows = []
    for solver_name in SOLVERS:
        with tempfile.TemporaryDirectory() as tmp:
            plain = run_case(n, None, solver_name)
            stored = run_case(n, os.path.join(tmp, "bench.sqlite"), solver_name)
        for case, r in (("no store", plain), ("store", stored)):
            r.update(case=case, solver=solver_name, n=n, ratio=r["wall_s"] / plain["wall_s"],
                     cpu_ratio=r["cpu_s"] / plain["cpu_s"])
            rows.append(r)
    head = (f"{'solver':<6} {'case':<9} {'wall_s':>7} {'ratio':>6} {'cpu_s':>6} {'cpu_ratio':>9} "
            f"{'peak_MB':>8} {'end_MB':>7} {'B/restart':>9} {'db_MB':>6}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['solver']:<6} {r['case']:<9} {r['wall_s']:7.2f} {r['ratio']:6.2f} "
              f"{r['cpu_s']:6.2f} {r['cpu_ratio']:9.2f} {r['peak_mb']:8.1f} "
              f"{r['end_mb']:7.1f} {r['bytes_per_restart']:9.0f} {r['db_mb']:6.1f}")
    print()
    for plain, stored in zip(rows[::2], rows[1::2], strict=True):
        extra = stored["bytes_per_restart"] - plain["bytes_per_restart"]
        print(f"{plain['solver']} solver: the store costs "
              f"{1e6 * (stored['cpu_s'] - plain['cpu_s']) / n:.1f} us of CPU and "
              f"{extra:+.0f} B of memory per restart; load() == run: {stored['load_equal']}")
    return rows


if __name__ == "__main__":
    main()
