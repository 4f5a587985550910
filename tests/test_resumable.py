"""The incremental protocol: begin / advance / current / finished.

Advancing a restart in pieces (10 + 20 + the rest) gives bit for bit the plain call
``solver(start, rng)``; a state pickled in the middle continues identically; after
``k`` units the current result is what the solver with a budget of ``k`` returns.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.datasets import make_blobs

import restarts as rs
from restarts.solvers import MLP, GaussianMixture, KMeans, is_resumable

rng0 = np.random.default_rng(0)
XC = rng0.normal(size=(60, 4))
YC = (XC[:, 0] + XC[:, 1] ** 2 > 1).astype(int) + (XC[:, 2] > 0.5)
BLOBS, _ = make_blobs(400, n_features=3, centers=6, cluster_std=2.5, random_state=1)
BIG, _ = make_blobs(9000, n_features=2, centers=8, cluster_std=1.5, random_state=2)



def sphere(x):
    return float(np.sum((x - 0.3) ** 2))


def ellipsoid(x):
    return float(np.sum(10 ** (6 * np.arange(x.size) / (x.size - 1)) * x**2))


# name -> (factory taking the full budget, full budget)
CASES = {
    "mlp-adam-minibatch": (lambda b: MLP(XC, YC, hidden=(6,), epochs=b, batch_size=16), 40),
    "mlp-momentum-full": (lambda b: MLP(XC, YC, hidden=(5, 3), optimizer="momentum",
                                        lr=0.05, epochs=b, alpha=1e-3), 40),
    "mlp-float32-mse": (lambda b: MLP(XC, XC[:, :2], hidden=(4,), loss="mse",
                                      dtype="float32", epochs=b, batch_size=25), 40),
    "kmeans-random": (lambda b: KMeans(BLOBS, 6, init="random", max_iter=b, tol=0.0), 40),
    "kmeans-pruned": (lambda b: KMeans(BIG, 8, init="random", max_iter=b, tol=0.0), 40),
    "kmeans++": (lambda b: KMeans(BLOBS, 6, max_iter=b, tol=0.0), 40),
    "cma-bounded": (lambda b: rs.solvers.CMA(sphere, bounds=[(-5, 5)] * 4, max_nfev=b), 300),
    "cma-ellipsoid": (lambda b: rs.solvers.CMA(ellipsoid, sigma0=0.5, popsize=7, max_nfev=b),
                      300),
    "gmm-full": (lambda b: GaussianMixture(BLOBS, 4, max_iter=b, tol=0.0), 40),
    "gmm-diag-random": (lambda b: GaussianMixture(BLOBS, 4, "diag", max_iter=b, tol=0.0,
                                                  init="random"), 40),
}


def same(a: rs.LocalResult, b: rs.LocalResult) -> None:
    """Bit-identical results (x, fun, nit, nfev, success and the loss curve)."""
    assert np.array_equal(a.x, b.x)
    assert a.fun == b.fun
    assert (a.nit, a.nfev, a.success) == (b.nit, b.nfev, b.success)
    assert a.extra.get("loss_curve") == b.extra.get("loss_curve")


@pytest.mark.parametrize("name", sorted(CASES))
def test_pieces_equal_one_run_and_pickle_in_the_middle(name):
    make, budget = CASES[name]
    solver = make(budget)
    assert is_resumable(solver) and solver.max_budget == budget
    start = np.ones(3) if name == "cma-ellipsoid" else None
    whole = solver(start, np.random.default_rng(7))
    state = solver.begin(start, np.random.default_rng(7))
    for piece in (10, 20):
        state = solver.advance(state, piece)
        # reading the result between pieces (racing does, twice on a resume) changes
        # nothing: a solver may do work ahead in current() only if advance then skips it
        assert solver.current(state).fun == solver.current(state).fun
    state = pickle.loads(pickle.dumps(state))  # e.g. moved to another worker
    state = solver.advance(state, budget - 30)
    same(solver.current(state), whole)
    assert solver.finished(state)
    assert solver.current(state).nit == whole.nit <= budget


@pytest.mark.parametrize("name", sorted(CASES))
def test_current_after_k_units_is_the_run_with_budget_k(name):
    make, budget = CASES[name]
    start = np.ones(3) if name == "cma-ellipsoid" else None
    state = make(budget).begin(start, np.random.default_rng(3))
    done = 0
    for k in (1, 4, 13):
        state = make(budget).advance(state, k - done)
        done = k
        got = make(budget).current(state)
        same(got, make(k)(start, np.random.default_rng(3)))
        assert (got.nfev if name.startswith("cma") else got.nit) == k


def test_a_converged_restart_is_finished_and_stays_put():
    km = KMeans(BLOBS, 6, max_iter=300)  # default tol: converges in a few iterations
    whole = km(None, np.random.default_rng(1))
    assert whole.success and whole.nit < 50
    state = km.advance(km.begin(None, np.random.default_rng(1)), whole.nit)
    assert km.finished(state)
    same(km.current(km.advance(state, 100)), whole)
    gm = GaussianMixture(BLOBS, 3, max_iter=500)
    whole = gm(None, np.random.default_rng(1))
    state = gm.advance(gm.begin(None, np.random.default_rng(1)), whole.nit)
    assert whole.success and gm.finished(state)
    same(gm.current(gm.advance(state, 50)), whole)
    es = rs.solvers.CMA(sphere, bounds=[(-5, 5)] * 2, max_nfev=50_000)  # stops on tolfun
    whole = es(None, np.random.default_rng(1))
    state = es.advance(es.begin(None, np.random.default_rng(1)), whole.nfev)
    assert whole.success and whole.nfev < 5000 and es.finished(state)
    same(es.current(es.advance(state, 1000)), whole)
    assert not is_resumable(rs.solvers.CMA(sphere, bounds=[(-5, 5)] * 2))  # no max_nfev


def test_not_finished_before_the_budget_and_never_past_it():
    mlp = MLP(XC, YC, hidden=(3,), epochs=12)
    state = mlp.advance(mlp.begin(None, np.random.default_rng(0)), 11)
    assert not mlp.finished(state)
    state = mlp.advance(state, 50)
    assert mlp.finished(state) and mlp.current(state).nit == 12
    assert len(mlp.current(state).extra["loss_curve"]) == 12


def test_current_before_any_unit_is_the_initial_point():
    mlp = MLP(XC, YC, hidden=(3,), epochs=5)
    start = np.random.default_rng(2).normal(size=mlp.n_params)
    r = mlp.current(mlp.begin(start, np.random.default_rng(0)))
    assert r.nit == 0 and np.array_equal(r.x, start)
    assert r.fun == pytest.approx(mlp.loss_grad(start)[0], rel=1e-12)
    km = KMeans(BLOBS, 3, init="random")
    centres = BLOBS[:3]
    r = km.current(km.begin(centres, np.random.default_rng(0)))
    labels = np.argmin(((BLOBS[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    assert r.nit == 0
    assert r.fun == pytest.approx(((BLOBS - centres[labels]) ** 2).sum(), rel=1e-12)
    gm = GaussianMixture(BLOBS, 2, "spherical")
    r = gm.current(gm.begin(None, np.random.default_rng(0)))
    assert r.nit == 0 and np.isfinite(r.fun)


def test_is_resumable():
    assert is_resumable(MLP(XC, YC, epochs=3))
    assert not is_resumable(rs.solvers.Minimize(lambda x: float(x @ x), bounds=[(-1, 1)]))
    assert not is_resumable(lambda start, rng: (start, 0.0))

    class Partial:
        max_budget, budget_unit = 10, "steps"

        def begin(self, start, rng): ...
        def advance(self, state, budget): ...
        def current(self, state): ...

    assert not is_resumable(Partial())
    Partial.finished = lambda self, state: True
    assert is_resumable(Partial())
    Partial.max_budget = 0
    assert not is_resumable(Partial())


@pytest.mark.parametrize("budget", [-1, 2.5, "3"])
def test_bad_budget_names_the_argument(budget):
    km = KMeans(BLOBS, 2)
    state = km.begin(None, np.random.default_rng(0))
    with pytest.raises((ValueError, TypeError), match="'budget'"):
        km.advance(state, budget)


# -- Estimator: warm-started refits ----------------------------------------------------------
def test_estimator_pieces_are_warm_started_fits():
    from sklearn.cluster import KMeans as SKKMeans
    from sklearn.mixture import GaussianMixture as SKGMM
    from sklearn.neural_network import MLPClassifier

    # EM has no optimizer state: warm-started pieces are the uninterrupted fit exactly
    solver = rs.solvers.Estimator(SKGMM(3, max_iter=30, tol=1e-12), BLOBS)
    assert is_resumable(solver) and solver.max_budget == 30
    whole = solver(None, np.random.default_rng(4))
    state = solver.advance(solver.begin(None, np.random.default_rng(4)), 10)
    state = solver.advance(pickle.loads(pickle.dumps(state)), 20)
    got = solver.current(state)
    assert solver.finished(state) and got.nit == 30
    assert got.fun == whole.fun and np.array_equal(got.x.means_, whole.x.means_)
    assert got.extra["random_state"] == whole.extra["random_state"]

    # the whole budget in one advance is the plain call (scikit-learn's Adam restarts
    # its moments at every fit, so pieces only approximate it: documented)
    mlp = rs.solvers.Estimator(MLPClassifier((5,), max_iter=15), XC, YC)
    whole = mlp(None, np.random.default_rng(1))
    state = mlp.advance(mlp.begin(None, np.random.default_rng(1)), 15)
    got = mlp.current(state)
    assert got.fun == whole.fun and got.nit == 15 and mlp.finished(state)
    state = mlp.advance(mlp.begin(None, np.random.default_rng(1)), 5)
    assert not mlp.finished(state) and mlp.current(state).nit == 5
    with pytest.raises(ValueError, match="advance"):
        mlp.current(mlp.begin(None, np.random.default_rng(1)))

    plain = rs.solvers.Estimator(SKKMeans(3, n_init=1), BLOBS)  # no warm_start
    assert not is_resumable(plain) and plain.max_budget is None
    with pytest.raises(TypeError, match="warm_start"):
        plain.begin(None, np.random.default_rng(0))
