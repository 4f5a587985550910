"""Grouping restarts into distinct optima when many share one ``fun`` value.

    python benchmarks/bench_basins.py            # up to 200,000 restarts (~ a minute)
    python benchmarks/bench_basins.py --quick    # a few seconds

Two cases where every restart reaches the same ``fun`` (issue 16, item 8): one
optimum reached by all restarts (their ``x`` spread by 1e-5, under ``xtol``), and a
ring of equal minima (4,000 distinct points on a circle, the L-BFGS-B case).
Printed: the time of :func:`restarts._solutions.assign_basins` (the one matcher),
of the quadratic matcher it replaced (a copy below, only at sizes where it ends in
seconds) and their ratio, and the time per restart as ``n`` grows tenfold (flat per
restart means linear-ish scaling).
"""

from __future__ import annotations

import argparse
import bisect
import time

import numpy as np

import restarts as rs
from restarts._solutions import assign_basins, optimum_key


def old_assign_basins(restarts, ftol, xtol):
    """The matcher before issue 13/16: best first, every founder within ftol compared."""
    basins = np.full(len(restarts), -1, dtype=np.int64)
    ok = [k for k, r in enumerate(restarts) if r.error is None and r.result is not None]
    funs = np.array([restarts[k].result.fun for k in ok])
    rep_fun, rep_key = [], []
    for j in np.argsort(funs, kind="stable"):
        k, f = ok[j], float(funs[j])
        key = optimum_key(restarts[k].result.x, None)
        found = -1
        for b in range(bisect.bisect_left(rep_fun, f - ftol), len(rep_fun)):
            if abs(rep_fun[b] - f) <= ftol and float(np.linalg.norm(key - rep_key[b])) <= xtol:
                found = b
                break
        if found < 0:
            rep_fun.append(f)
            rep_key.append(key)
            found = len(rep_fun) - 1
        basins[k] = found
    return basins


def one_optimum(n, rng):
    x = np.array([1.0, -2.0, 0.5, 3.0]) + 1e-5 * rng.standard_normal((n, 4))
    return [rs.Restart(i, rs.LocalResult(x=x[i], fun=0.0), None, 0.0) for i in range(n)]


def ring(n, rng, points=4000):
    angle = 2 * np.pi * rng.integers(0, points, n) / points
    x = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return [rs.Restart(i, rs.LocalResult(x=x[i], fun=-1.0), None, 0.0) for i in range(n)]


def seconds(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [2_000, 20_000] if args.quick else [2_000, 20_000, 200_000]
    old_max = 2_000
    rng = np.random.default_rng(0)
    print(f"{'case':<12}{'n':>9}{'new s':>9}{'old s':>9}{'ratio old/new':>15}"
          f"{'us/restart':>12}{'optima':>8}")
    for name, make in [("one optimum", one_optimum), ("ring", ring)]:
        for n in sizes:
            rows = make(n, rng)
            t_new, labels = seconds(assign_basins, rows, ftol=1e-6, xtol=1e-4)
            if n <= old_max:
                t_old, old = seconds(old_assign_basins, rows, 1e-6, 1e-4)
                assert old.max() == labels.max()  # same number of optima
                old_txt, ratio = f"{t_old:9.4f}", f"{t_old / t_new:15.2f}"
            else:
                old_txt, ratio = f"{'-':>9}", f"{'-':>15}"
            print(f"{name:<12}{n:>9}{t_new:9.4f}{old_txt}{ratio}"
                  f"{1e6 * t_new / n:12.1f}{labels.max() + 1:8d}")


if __name__ == "__main__":
    main()
