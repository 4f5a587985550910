"""Identical means identical: every built-in solver gives restart ``i`` bit for bit
the same result for ``n_jobs=1`` and ``n_jobs=2``, under threads and processes
(issue 16 item 10: a shared scratch matrix in KMeans, and MLP losses that depended
on how many restarts were stacked, broke this)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans as SKKMeans
from sklearn.datasets import make_blobs

import restarts as rs
from restarts.solvers import (
    CMA,
    MLP,
    Estimator,
    GaussianMixture,
    KMeans,
    LeastSquares,
    Minimize,
)

BLOBS, _ = make_blobs(600, n_features=3, centers=8, cluster_std=2.0, random_state=0)
rng0 = np.random.default_rng(0)
XC = rng0.normal(size=(80, 4))
YC = (XC[:, 0] * XC[:, 1] > 0).astype(int) + (XC[:, 2] > 0.8)
T = np.linspace(0, 2, 15)
BOX = rs.starts.Uniform([(-3, 3)] * 2)  # for the solvers that need start points


def rosenbrock(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


SOLVERS = {
    "Minimize": lambda: (Minimize(rosenbrock, bounds=[(-2, 2)] * 2), 6),
    "KMeans": lambda: (KMeans(BLOBS, 8, init="random", max_iter=30), 8),
    "GaussianMixture": lambda: (GaussianMixture(BLOBS, 4, max_iter=15), 6),
    "MLP": lambda: (MLP(XC, YC, hidden=(5,), epochs=15, batch_size=16), 8),
    "MLP-float32": lambda: (MLP(XC, YC, hidden=(5,), epochs=15, batch_size=16,
                                dtype="float32"), 8),
    "CMA": lambda: (CMA(rosenbrock, bounds=[(-2, 2)] * 2, max_nfev=60), 4),
    "LeastSquares": lambda: (LeastSquares(lambda p: p[0] * np.exp(p[1] * T) - np.cos(3 * T),
                                          bounds=([-3, -3], [3, 3])), 6),
    "Estimator": lambda: (Estimator(SKKMeans(4, n_init=1, max_iter=20), BLOBS), 6),
}


def fingerprint(run: rs.MultistartResult) -> list:
    """Everything a restart returned that is a number: x (arrays or estimator
    centres), fun, nit, nfev, success; errors too."""
    out = []
    for r in run.restarts:
        res = r.result
        if res is None:
            out.append(("error", r.error))
            continue
        x = res.x
        if not isinstance(x, np.ndarray):  # a fitted estimator
            x = np.asarray(x.cluster_centers_)
        out.append((x.tobytes(), res.fun, res.nit, res.nfev, res.success))
    return out


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_threads_and_processes_give_the_serial_table(name):
    solver, n = SOLVERS[name]()
    kw = {"starts": BOX} if name == "LeastSquares" else {}
    serial = fingerprint(rs.multistart(solver, n, rng=5, **kw))
    assert len({f[1] for f in serial}) > 1  # restarts differ: the comparison means something
    for repeat in range(20):  # races show up in some runs only
        run = rs.multistart(solver, n, rng=5, n_jobs=2, backend="threading",
                            batch_size=1 if repeat % 2 else "auto", **kw)
        assert fingerprint(run) == serial
    for batch_size in (1, 3):
        run = rs.multistart(solver, n, rng=5, n_jobs=2, backend="loky", batch_size=batch_size,
                            **kw)
        assert fingerprint(run) == serial
