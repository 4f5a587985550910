"""Estimator solver: restarts of scikit-learn estimators seeded from the restart's rng."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import restarts as rs
from restarts.solvers import Estimator

sklearn = pytest.importorskip("sklearn")
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def iris():
    data = load_iris()
    return StandardScaler().fit_transform(data.data), data.target


def _mlp():
    return MLPClassifier(hidden_layer_sizes=(4,), max_iter=15, learning_rate_init=0.05)


def _seed(res, i):
    """The random_state restart i used: drawn first from its private generator."""
    return int(np.random.default_rng(res.restart_seed(i)).integers(2**31 - 1))


def test_best_of_10_mlp_equals_min_of_10_separate_fits(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = rs.multistart(Estimator(_mlp(), X, y), 10, rng=0)
        separate = [_mlp().set_params(random_state=_seed(res, i)).fit(X, y).loss_
                    for i in range(10)]
    assert res.fun == min(separate)
    np.testing.assert_array_equal(res.table["fun"].to_numpy(), separate)
    assert len(set(separate)) > 1  # the seeds really differ
    assert isinstance(res.x, MLPClassifier)
    # max_iter=15 does not converge: recorded, not raised
    assert not res.best.success and "Maximum iterations" in res.best.message


def test_kmeans_inertia_and_gmm_lower_bound(iris):
    X, _ = iris
    rng = np.random.default_rng(3)
    km = Estimator(KMeans(3, n_init=1), X)(None, rng)
    ref = KMeans(3, n_init=1, random_state=km.extra["random_state"]).fit(X)
    assert km.fun == ref.inertia_
    assert km.nit == ref.n_iter_
    gm = Estimator(GaussianMixture(2), X)(None, np.random.default_rng(4))
    ref = GaussianMixture(2, random_state=gm.extra["random_state"]).fit(X)
    assert gm.fun == -ref.lower_bound_
    assert gm.success == ref.converged_


def test_scoring_callable_is_minimised_and_scorer_names_negated(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        err = Estimator(_mlp(), X, y, scoring=lambda est, X, y: 1.0 - est.score(X, y))
        a = err(None, np.random.default_rng(0))
        acc = Estimator(_mlp(), X, y, scoring="accuracy")
        b = acc(None, np.random.default_rng(0))
    assert a.fun == pytest.approx(1.0 + b.fun)
    assert -1.0 <= b.fun <= 0.0
    assert b.fun == -a.x.score(X, y)


def test_start_sets_parameters(iris):
    X, _ = iris
    res = Estimator(KMeans(2, n_init=1), X)({"n_clusters": 4}, np.random.default_rng(0))
    assert res.x.n_clusters == 4
    with pytest.raises(TypeError, match="mapping"):
        Estimator(KMeans(2, n_init=1), X)([1.0], np.random.default_rng(0))


def test_original_estimator_is_not_modified(iris):
    X, _ = iris
    est = KMeans(2, n_init=1)
    Estimator(est, X)(None, np.random.default_rng(0))
    assert est.random_state is None and not hasattr(est, "inertia_")


def test_no_objective_is_a_clear_error_recorded_by_multistart(iris):
    from sklearn.tree import DecisionTreeClassifier

    X, y = iris
    solver = Estimator(DecisionTreeClassifier(), X, y)
    with pytest.raises(ValueError, match="scoring="):
        solver(None, np.random.default_rng(0))
    # the same error in every first restart is a set-up error: the run raises it
    with pytest.raises(ValueError, match="restarts 0 to 1 all failed.*scoring="):
        rs.multistart(solver, 2, rng=0)


@pytest.mark.parametrize(
    ("make", "exc", "match"),
    [
        (lambda X, y: Estimator(LinearRegression(), X, y), TypeError,
         "'estimator'.*random_state"),
        (lambda X, y: Estimator(object(), X, y), TypeError, "'estimator'.*fit"),
        (lambda X, y: Estimator(MLPClassifier, X, y), TypeError, "'estimator'"),
        (lambda X, y: Estimator(_mlp(), X, y[:-1]), ValueError, "'y'.*one target"),
        (lambda X, y: Estimator(_mlp(), X, y, scoring="accurracy"), ValueError,
         "'scoring'.*get_scorer_names"),
        (lambda X, y: Estimator(_mlp(), X, y, scoring=3), TypeError, "'scoring'"),
        (lambda X, y: Estimator(_mlp(), 5, y), TypeError, "'X'"),
        (lambda X, y: Estimator(_mlp(), X[:0], None), ValueError, "'X'.*non-empty"),
    ],
)
def test_bad_input(iris, make, exc, match):
    X, y = iris
    with pytest.raises(exc, match=match):
        make(X, y)


def test_missing_sklearn_is_a_clear_import_error(monkeypatch, iris):
    X, _ = iris
    est = KMeans(2)
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        Estimator(est, X)
