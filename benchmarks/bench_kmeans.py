"""Benchmark: 10 k-means restarts with ``restarts`` vs ``sklearn.cluster.KMeans(n_init=10)``.

Usage::

    python benchmarks/bench_kmeans.py            # digits (k=10), blobs 100k x 20 (k=20)
    python benchmarks/bench_kmeans.py --quick    # a few seconds (smaller blobs, 1 repeat)

For each data set, init kind ("k-means++", "random") and setting (column ``thr``: 1 or
2 threads set with ``threadpoolctl.threadpool_limits`` for both libraries, or ``1x2``:
ours on 2 worker processes of one thread each, ``n_jobs=2``, against scikit-learn on 2
threads), both libraries run 10 restarts of Lloyd's algorithm:

- ours: ``rs.multistart(rs.solvers.KMeans(X, k, init=...), 10, rng=seed, threads=t)``,
  building the solver included in the time;
- scikit-learn: ``KMeans(k, init=..., n_init=10, algorithm="lloyd",
  random_state=seed).fit(X)``.

Each repeat uses seed ``r`` for both (7 repeats on digits, 3 on blobs); the table
shows the median wall time and the median best inertia over the repeats, their
ratios (ours / sklearn: targets ``time_ratio <= 1`` and ``fun_ratio <= 1.0001``),
the ratio of process CPU times (in-process settings only; less sensitive than wall
time to other load on the machine), how many repeats met the inertia target, and the
process's peak memory (``ru_maxrss``). Timings are noisy on a shared machine:
compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import time

from _common import paired_medians, peak_mib
from threadpoolctl import threadpool_limits

import restarts as rs


def datasets(quick: bool):
    from sklearn.datasets import load_digits, make_blobs

    n = 10_000 if quick else 100_000
    blobs, _ = make_blobs(n, n_features=20, centers=20, random_state=0)
    return [("digits", load_digits().data, 10), (f"blobs{n // 1000}k", blobs, 20)]


def ours(X, k, init, seed, threads, n_starts, jobs=1):
    t0, c0 = time.perf_counter(), time.process_time()
    res = rs.multistart(rs.solvers.KMeans(X, k, init=init), n_starts, rng=seed,
                        threads=threads, n_jobs=jobs)
    return time.perf_counter() - t0, res.fun, time.process_time() - c0


def sklearn_kmeans(X, k, init, seed, threads, n_starts):
    from sklearn.cluster import KMeans

    with threadpool_limits(threads):
        t0, c0 = time.perf_counter(), time.process_time()
        km = KMeans(k, init=init, n_init=n_starts, algorithm="lloyd", random_state=seed).fit(X)
        return time.perf_counter() - t0, km.inertia_, time.process_time() - c0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small and fast (a few seconds)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats (seeds) per case")
    parser.add_argument("--restarts", type=int, default=10)
    args = parser.parse_args(argv)
    # (threads, jobs): "2/1" = 2 BLAS/OpenMP threads in one process for both libraries;
    # "1x2" = ours on 2 worker processes of 1 thread each, sklearn on 2 threads
    settings = [(1, 1)] if args.quick else [(1, 1), (2, 1), (1, 2)]

    header = (f"{'case':<26}{'thr':>4}{'ours_s':>9}{'sklearn_s':>11}{'time_ratio':>11}"
              f"{'cpu_ratio':>10}{'best_fun ours':>16}{'sklearn':>16}{'fun_ratio':>11}"
              f"{'fun_ok':>8}")
    print(header)
    print("-" * len(header))
    for name, X, k in datasets(args.quick):
        # small cases are cheap and noisier: more repeats
        repeats = args.repeats or (1 if args.quick else 7 if len(X) < 10_000 else 3)
        for init in ("k-means++", "random"):
            for threads, jobs in settings:
                if jobs > 1:  # start the worker processes outside the timings
                    ours(X[:50], 2, init, 0, 1, 2 * jobs, jobs)
                rows = []
                for seed in range(repeats):
                    a = ours(X, k, init, seed, threads, args.restarts, jobs)
                    b = sklearn_kmeans(X, k, init, seed, threads * jobs, args.restarts)
                    rows.append((a, b))
                m = paired_medians(rows)
                t_ours, t_sk, f_ours, f_sk = m["t_ours"], m["t_ref"], m["f_ours"], m["f_ref"]
                ok = sum(a[1] <= 1.0001 * b[1] for a, b in rows)
                setting = f"{threads}" if jobs == 1 else f"1x{jobs}"
                cpu_text = f"{m['cpu_ratio']:>10.2f}" if jobs == 1 else f"{'-':>10}"
                print(f"{name + ' ' + init:<26}{setting:>4}{t_ours:>9.3f}{t_sk:>11.3f}"
                      f"{t_ours / t_sk:>11.2f}{cpu_text}{f_ours:>16.6g}{f_sk:>16.6g}"
                      f"{f_ours / f_sk:>11.5f}{f'{ok}/{repeats}':>8}", flush=True)
    print(f"peak memory: {peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
