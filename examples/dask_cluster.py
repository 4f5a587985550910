"""The same restarts on a Dask cluster: identical results, wherever they run.

A local Dask cluster (two workers) stands in for a real one: k-means on the digits
data is restarted with ``backend="dask"``, which sends chunks of restarts to the
cluster's workers through the current ``distributed.Client``. The same run on the
local machine (``n_jobs=1``) gives the same table row for row, because restart ``i``
draws its randomness from ``(rng, i)`` alone, never from the worker that ran it or
from the order restarts finished in.

On a real cluster replace ``LocalCluster(...)`` by the scheduler's address,
``Client("tcp://scheduler:8786")``; nothing else changes.
"""

from __future__ import annotations

import pandas as pd
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits

import restarts as rs


def main(quick: bool = False) -> dict:
    """Run on a local cluster and locally; return whether the tables are equal."""
    X = load_digits().data
    solver = rs.solvers.KMeans(X, 10, init="random")
    n = 16 if quick else 100
    # processes=False keeps the quick run light; worker processes behave the same.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=not quick,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        on_cluster = rs.multistart(solver, n, rng=0, backend="dask", n_jobs=-1)
        workers = len(client.nthreads())
    local = rs.multistart(solver, n, rng=0, n_jobs=1)

    columns = ["restart", "fun", "nit", "basin"]
    equal = on_cluster.table[columns].equals(local.table[columns])
    print(f"k-means on digits, {n} restarts on a {workers}-worker Dask cluster")
    print(pd.DataFrame({"dask": on_cluster.table["fun"].describe(),
                        "local": local.table["fun"].describe()}).to_string())
    print(f"tables equal row for row: {equal}; best inertia {on_cluster.fun:.1f} "
          f"(restart {on_cluster.best_restart})")
    return {"equal": bool(equal), "workers": workers, "n": len(on_cluster.table),
            "best": on_cluster.fun, "best_local": local.fun,
            "distinct": int(len(on_cluster.solutions))}


if __name__ == "__main__":
    main()
