"""Restarting your own optimizer and a scikit-learn estimator, in parallel, with a store.

A local solver is any function ``solver(start, rng) -> (x, fun)`` (or a
:class:`restarts.LocalResult`). Here it is a twenty-line compass search — a
derivative-free local method written by hand — restarted from a Sobol' sample on
Himmelblau's function, which has four global minima. Then a scikit-learn
``MLPClassifier`` is restarted through :class:`restarts.solvers.Estimator` (each
restart fits a clone with its own ``random_state``). Both runs use two worker
processes and write every finished restart to one SQLite store: the estimator run
is interrupted after three restarts (a stopping rule standing in for a killed
job) and then resumed — the three stored restarts are loaded, not refitted.

What it shows: nothing about the solver has to change to restart it; results do
not depend on the number of workers (``n_jobs=2`` equals ``n_jobs=1``), and a
resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd
from sklearn.datasets import make_moons
from sklearn.neural_network import MLPClassifier

import restarts as rs


def himmelblau(x: np.ndarray) -> float:
    return float((x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2)


def compass_search(start, rng, fun=himmelblau, step=1.0, tol=1e-9):
    """A user's local optimizer: try +-step along each axis (in random order), halve
    the step when nothing improves. Returns a LocalResult (a pair (x, fun) would do)."""
    x = np.asarray(start, dtype=float).copy()
    fx, nfev, nit = fun(x), 1, 0
    while step > tol:
        nit += 1
        improved = False
        for i in rng.permutation(len(x)):
            for sign in (1.0, -1.0):
                y = x.copy()
                y[i] += sign * step
                fy = fun(y)
                nfev += 1
                if fy < fx:
                    x, fx, improved = y, fy, True
                    break
        if not improved:
            step /= 2
    return rs.LocalResult(x=x, fun=fx, nit=nit, nfev=nfev)


def main(quick: bool = False, store: str | None = None) -> dict:
    """Run both; ``store`` is the SQLite path (default: a temporary file)."""
    tmp = None
    if store is None:
        tmp = tempfile.mkdtemp()
        store = os.path.join(tmp, "runs.sqlite")
    bounds = [(-5.0, 5.0)] * 2
    n = 16 if quick else 64

    # 1. a plain function, two workers, stored
    run = rs.multistart(compass_search, n, starts=rs.starts.Sobol(bounds), rng=0,
                        n_jobs=2, store=store, name="compass", overwrite=True)
    serial = rs.multistart(compass_search, n, starts=rs.starts.Sobol(bounds), rng=0, n_jobs=1)
    same = run.table.drop(columns="time_s").equals(serial.table.drop(columns="time_s"))
    print(f"compass search on Himmelblau, {n} restarts: {len(run.solutions)} distinct minima")
    print(pd.DataFrame({"x": [np.round(x, 4).tolist() for x in run.solutions["x"]],
                        "fun": run.solutions["fun"], "count": run.solutions["count"]})
          .to_string(index=False))
    print(f"n_jobs=2 table equals n_jobs=1 table: {same}")

    # 2. a scikit-learn estimator, interrupted after 3 restarts, then resumed
    X, y = make_moons(200, noise=0.25, random_state=0)
    solver = rs.solvers.Estimator(
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=300 if quick else 1000), X, y)
    m = 6 if quick else 10
    cut = rs.multistart(solver, m, rng=1, n_jobs=2, store=store, name="mlp",
                        stop=lambda state: state.n_done >= 3, overwrite=True)
    resumed = rs.multistart(solver, m, rng=1, n_jobs=2, store=store, name="mlp")
    fresh = rs.multistart(solver, m, rng=1, n_jobs=2)
    loaded = bool(resumed.table["time_s"].head(3).equals(cut.table["time_s"]))
    equal = bool(np.allclose(resumed.table["fun"], fresh.table["fun"], rtol=0, atol=0))
    print(f"\nMLPClassifier on two moons: {len(cut.table)} restarts, interrupted, then resumed "
          f"to {len(resumed.table)}; final loss from {resumed.table['fun'].min():.4f} to "
          f"{resumed.table['fun'].max():.4f}")
    print(f"the first 3 were loaded from the store: {loaded}; resumed run equals a fresh "
          f"run: {equal}")
    print(rs.Store(store).runs()[["name", "n_starts"]].to_string(index=False))

    out = {
        "n_distinct": int(len(run.solutions)),
        "minima_funs": run.solutions["fun"].tolist(),
        "counts": run.solutions["count"].astype(int).tolist(),
        "jobs_equal": bool(same),
        "n_cut": int(len(cut.table)),
        "n_resumed": int(len(resumed.table)),
        "loaded_from_store": loaded,
        "resumed_equals_fresh": equal,
        "mlp_loss_spread": float(np.ptp(resumed.table["fun"])),
        "stored_runs": sorted(rs.Store(store).names()),
    }
    if tmp is not None:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return out


if __name__ == "__main__":
    main()
