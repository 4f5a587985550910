"""Benchmark: 10 EM restarts with ``restarts`` vs ``sklearn.mixture.GaussianMixture(n_init=10)``.

Usage::

    python benchmarks/bench_gmm.py            # digits in 10 PCA dims (k=10), wine (k=3)
    python benchmarks/bench_gmm.py --quick    # a few seconds (1 repeat, 1 thread)

Both data sets use full covariances and the default "kmeans" initialisation; digits
are reduced to 10 principal components, wine is standardised. For each setting
(column ``thr``: 1 or 2 threads set with ``threadpoolctl.threadpool_limits`` for both
libraries, or ``1x2``: ours on 2 worker processes of one thread each, ``n_jobs=2``,
against scikit-learn on 2 threads):

- ours: ``rs.multistart(rs.solvers.GaussianMixture(X, k), 10, rng=seed, threads=t)``,
  building the solver included in the time;
- scikit-learn: ``GaussianMixture(k, n_init=10, random_state=seed).fit(X)``.

Each repeat (20 by default) uses seed ``r`` for both; the table shows the median time,
the median over repeats of the best ``fun`` (negative mean log-likelihood per sample,
lower is better), their ratios, the ratio of process CPU times (in-process settings
only; less sensitive than wall time to other load), ``ll_diff`` = median best
log-likelihood ours - sklearn (target ``>= -1e-4``), the number of repeats whose own
difference meets it, and the peak memory (``ru_maxrss``). Column ``tol``: our EM
tolerance (scikit-learn always runs its default, 1e-3, the same as ours); the
``1e-4`` row shows what converging further buys. Why medians over 20 seeds: the best
of 10 restarts on one seed is mostly luck when the top optimum is rare (5 seeds made
ours look worse on digits; over 20 the medians favour ours), see the single-restart
table at the end. Timings are noisy on a shared machine: compare ratios measured in
the same run.
"""

from __future__ import annotations

import argparse
import time
import warnings

from _common import paired_medians, peak_mib
from threadpoolctl import threadpool_limits

import restarts as rs


def datasets():
    from sklearn.datasets import load_digits, load_wine
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    digits = PCA(10, random_state=0).fit_transform(load_digits().data)
    wine = StandardScaler().fit_transform(load_wine().data)
    return [("digits-pca10 k=10", digits, 10), ("wine-std k=3", wine, 3)]


def ours(X, k, seed, threads, n_starts, jobs=1, tol=1e-3):
    t0, c0 = time.perf_counter(), time.process_time()
    res = rs.multistart(rs.solvers.GaussianMixture(X, k, tol=tol), n_starts, rng=seed,
                        threads=threads, n_jobs=jobs)
    return time.perf_counter() - t0, res.fun, time.process_time() - c0


def sklearn_gmm(X, k, seed, threads, n_starts):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    with threadpool_limits(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0, c0 = time.perf_counter(), time.process_time()
        gm = GaussianMixture(k, n_init=n_starts, random_state=seed).fit(X)
        return time.perf_counter() - t0, -gm.lower_bound_, time.process_time() - c0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small and fast (a few seconds)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats (seeds) per case")
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--single-restarts", type=int, default=None,
                        help="also compare N single restarts of each library (default: "
                             "200, 0 with --quick)")
    args = parser.parse_args(argv)
    if args.single_restarts is None:
        args.single_restarts = 0 if args.quick else 200
    repeats = args.repeats or (1 if args.quick else 20)
    # (threads, jobs, our tol): "2" = 2 BLAS threads in one process for both libraries;
    # "1x2" = ours on 2 worker processes of 1 thread each, sklearn on 2 threads. Both
    # libraries default to tol=1e-3; the last row shows ours converged further (1e-4)
    # against scikit-learn's default.
    settings = [(1, 1, 1e-3)] if args.quick else [(1, 1, 1e-3), (2, 1, 1e-3), (1, 2, 1e-3),
                                                  (1, 1, 1e-4)]

    header = (f"{'case':<20}{'thr':>4}{'tol':>6}{'ours_s':>9}{'sklearn_s':>11}{'time_ratio':>11}"
              f"{'cpu_ratio':>10}{'best_fun ours':>15}{'sklearn':>12}{'fun_ratio':>11}"
              f"{'ll_diff':>11}{'ll_ok':>7}")
    print(header)
    print("-" * len(header))
    for name, X, k in datasets():
        for threads, jobs, tol in settings:
            if jobs > 1:  # start the worker processes outside the timings
                ours(X, k, 0, 1, 2 * jobs, jobs)
            rows = []
            for seed in range(repeats):
                rows.append((ours(X, k, seed, threads, args.restarts, jobs, tol),
                             sklearn_gmm(X, k, seed, threads * jobs, args.restarts)))
            m = paired_medians(rows)
            t_ours, t_sk, f_ours, f_sk = m["t_ours"], m["t_ref"], m["f_ours"], m["f_ref"]
            ok = sum(b[1] - a[1] >= -1e-4 for a, b in rows)
            setting = f"{threads}" if jobs == 1 else f"1x{jobs}"
            cpu_text = f"{m['cpu_ratio']:>10.2f}" if jobs == 1 else f"{'-':>10}"
            print(f"{name:<20}{setting:>4}{tol:>6.0e}{t_ours:>9.3f}{t_sk:>11.3f}"
                  f"{t_ours / t_sk:>11.2f}{cpu_text}{f_ours:>15.6f}{f_sk:>12.6f}"
                  f"{f_ours / f_sk:>11.6f}"
                  f"{f_sk - f_ours:>11.2e}{f'{ok}/{repeats}':>7}", flush=True)
    if args.single_restarts:
        single_restart_quality(args.single_restarts)
    print(f"peak memory: {peak_mib():.0f} MiB")


def single_restart_quality(n: int) -> None:
    """How often one EM restart of each library lands near the best optimum seen.

    Best-of-10 comparisons on a few seeds are mostly luck when the top optimum is
    rare; the distribution of single restarts says which EM finds it more often.
    """
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    print(f"\nsingle restarts ({n} each, 1 thread): share within tol of the best seen")
    print(f"{'case':<20}{'best ours':>12}{'best sk':>12}{'tol':>8}{'ours':>8}{'sklearn':>9}"
          f"{'median ours':>13}{'median sk':>11}")
    for name, X, k in datasets():
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mine = rs.multistart(rs.solvers.GaussianMixture(X, k), n, rng=12345).table["fun"]
            mine = mine.to_numpy()
            theirs = np.array([-GaussianMixture(k, n_init=1, random_state=10_000 + s)
                               .fit(X).score(X) for s in range(n)])
        best = min(mine.min(), theirs.min())
        for tol in (1e-3, 1e-2):
            print(f"{name:<20}{mine.min():>12.5f}{theirs.min():>12.5f}{tol:>8.0e}"
                  f"{np.mean(mine <= best + tol):>8.2f}{np.mean(theirs <= best + tol):>9.2f}"
                  f"{np.median(mine):>13.5f}{np.median(theirs):>11.5f}", flush=True)


if __name__ == "__main__":
    main()
