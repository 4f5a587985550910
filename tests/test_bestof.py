"""rs.BestOf: a scikit-learn meta-estimator restarting clones of an estimator."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone, is_classifier  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.datasets import make_blobs, make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import restarts as rs  # noqa: E402
from restarts.bestof import BestOf  # noqa: E402

# n_init=3 keeps the ~200 checks at a few seconds per configuration.
CHECKED = [
    BestOf(LogisticRegression(), n_init=3),
    BestOf(KMeans(n_init=1), n_init=3),
    BestOf(GaussianMixture(), n_init=3),
    BestOf(MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=50), n_init=3),
]


@parametrize_with_checks(CHECKED)
def test_sklearn_checks(estimator, check, monkeypatch):
    # check_array_api_input (NumPy namespace) runs only when SciPy's array API flag
    # is set; it is read when the check runs, so set it instead of letting it skip.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    from unittest import SkipTest

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # tiny max_iter on purpose
            check(estimator)
    except SkipTest as exc:
        # The only check scikit-learn itself skips for these four: multilabel
        # decision_function output, for MLPClassifier, which has no decision_function.
        # It does not apply, and BestOf must not pretend otherwise.
        assert "does not have a decision_function method" in str(exc), exc
        assert not hasattr(estimator.estimator, "decision_function")
        assert not hasattr(estimator, "decision_function")


def _blobs():
    X, _ = make_blobs(300, centers=[[0, 0], [4, 0], [0, 4], [4, 4], [8, 8]],
                      cluster_std=0.8, random_state=1)
    return X


def test_best_is_lowest_inertia_and_restarts_are_every_fit():
    X = _blobs()
    est = BestOf(KMeans(5, n_init=1, init="random"), n_init=8, random_state=3).fit(X)
    table = est.restarts_
    assert len(table) == 8 and list(table["restart"]) == list(range(8))
    # Each row refits alone from its recorded random_state to the same inertia.
    for _, row in table.iterrows():
        ref = KMeans(5, n_init=1, init="random", random_state=int(row["random_state"])).fit(X)
        assert row["fun"] == pytest.approx(ref.inertia_, rel=1e-9)
    assert est.best_estimator_.inertia_ == pytest.approx(table["fun"].min(), rel=1e-9)
    assert est.best_index_ == int(table["fun"].idxmin())
    assert table["fun"].nunique() > 1  # the restarts really differ
    np.testing.assert_array_equal(est.predict(X), est.best_estimator_.predict(X))
    np.testing.assert_array_equal(est.labels_, est.best_estimator_.labels_)


def test_reproducible_whatever_n_jobs_and_seed_of_restart_i():
    X = _blobs()
    a = BestOf(KMeans(5, n_init=1, init="random"), n_init=6, random_state=7).fit(X)
    b = BestOf(KMeans(5, n_init=1, init="random"), n_init=6, random_state=7, n_jobs=2).fit(X)
    assert a.restarts_["random_state"].tolist() == b.restarts_["random_state"].tolist()
    np.testing.assert_allclose(a.restarts_["fun"], b.restarts_["fun"], rtol=1e-12)
    # restart i's seed is the one restart i of multistart(rng=7) receives
    rng_3 = np.random.default_rng(rs.multistart(lambda s, r: ([0.0], 0.0), 4, rng=7)
                                  .restart_seed(3))
    assert a.restarts_["random_state"][3] == int(rng_3.integers(2**31 - 1))
    c = BestOf(KMeans(5, n_init=1, init="random"), n_init=6, random_state=8).fit(X)
    assert c.restarts_["random_state"].tolist() != a.restarts_["random_state"].tolist()


def test_default_objectives():
    X = _blobs()
    gm = BestOf(GaussianMixture(3, max_iter=5), n_init=4, random_state=0).fit(X)
    for _, row in gm.restarts_.iterrows():  # minus the mean log-likelihood
        ref = GaussianMixture(3, max_iter=5, random_state=int(row["random_state"])).fit(X)
        assert row["fun"] == pytest.approx(-ref.score(X), rel=1e-9)
    Xc, yc = make_classification(200, random_state=0)
    mlp = MLPClassifier((4,), max_iter=30, solver="lbfgs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        net = BestOf(mlp, n_init=3, random_state=0).fit(Xc, yc)
        ref = clone(mlp).set_params(random_state=int(net.restarts_["random_state"][1]))
        ref.fit(Xc, yc)
    assert net.restarts_["fun"][1] == pytest.approx(ref.loss_, rel=1e-9)  # the training loss
    acc = BestOf(LogisticRegression(), n_init=2, scoring="accuracy", random_state=0).fit(Xc, yc)
    assert acc.restarts_["fun"][0] == pytest.approx(-acc.score(Xc, yc))


def test_ties_go_to_the_lowest_index():
    X, y = make_classification(100, random_state=0)
    # lbfgs ignores random_state: all fits are equal, the first one is kept
    est = BestOf(LogisticRegression(), n_init=4, random_state=0).fit(X, y)
    assert est.restarts_["fun"].nunique() == 1
    assert est.best_index_ == 0


def test_delegation_follows_the_inner_estimator():
    assert hasattr(BestOf(LogisticRegression()), "predict_proba")
    assert hasattr(BestOf(LogisticRegression()), "decision_function")
    assert not hasattr(BestOf(KMeans()), "predict_proba")
    assert hasattr(BestOf(KMeans()), "transform")
    assert not hasattr(BestOf(GaussianMixture()), "transform")
    assert hasattr(BestOf(GaussianMixture()), "score_samples")
    assert is_classifier(BestOf(LogisticRegression()))
    with pytest.raises(NotFittedError):
        BestOf(LogisticRegression()).predict([[0.0]])


def test_pipeline_grid_search_clone_pickle():
    X, y = make_classification(120, n_features=5, random_state=0)
    pipe = make_pipeline(StandardScaler(), BestOf(LogisticRegression(), n_init=2, random_state=0))
    assert (pipe.fit(X, y).predict(X) == y).mean() > 0.8
    grid = GridSearchCV(BestOf(LogisticRegression(), n_init=2, random_state=0),
                        {"estimator__C": [0.01, 1.0]}, cv=3).fit(X, y)
    assert grid.best_params_["estimator__C"] in (0.01, 1.0)
    assert grid.best_estimator_.best_estimator_.C == grid.best_params_["estimator__C"]
    assert grid.predict(X).shape == (120,)
    twin = clone(BestOf(LogisticRegression(C=0.5), n_init=3))
    assert twin.estimator.C == 0.5 and twin.n_init == 3 and not hasattr(twin, "restarts_")
    fitted = BestOf(LogisticRegression(), n_init=2, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))


@pytest.mark.parametrize("n_init", [0, -1])
def test_n_init_below_one(n_init):
    with pytest.raises(ValueError, match="'n_init' parameter of BestOf"):
        BestOf(LogisticRegression(), n_init=n_init).fit([[0.0], [1.0]], [0, 1])


def test_estimator_without_random_state():
    with pytest.raises(ValueError, match="must have a 'random_state' parameter"):
        BestOf(LinearRegression()).fit([[0.0], [1.0]], [0, 1])


def test_bad_scoring_and_estimator():
    with pytest.raises(ValueError, match="'scoring' parameter of BestOf"):
        BestOf(LogisticRegression(), scoring="no-such-scorer").fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(TypeError, match="'scoring' parameter of BestOf"):
        BestOf(LogisticRegression(), scoring=3).fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(TypeError, match="'estimator' parameter of BestOf"):
        BestOf(LogisticRegression).fit([[0.0], [1.0]], [0, 1])


def test_the_estimators_own_error_when_every_fit_fails():
    with pytest.raises(ValueError, match="Input X contains NaN"):
        BestOf(KMeans(2, n_init=1), n_init=3).fit([[np.nan], [1.0], [2.0]])


def test_fit_params_reach_every_fit_and_weighted_fits_are_judged_weighted():
    """``fit(X, sample_weight=w)``: each clone is fitted with ``w`` (the best equals a
    scikit-learn fit with its seed and ``w``), and the winner has the lowest *weighted*
    inertia, checked against scikit-learn fits by hand."""
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(c, 0.6, size=(40, 2)) for c in (0, 3, 6, 9)])
    w = np.where(X[:, 0] > 4.5, 25.0, 0.2)  # weights that change which fit is best
    est = rs.BestOf(KMeans(3, n_init=1, init="random"), n_init=12, random_state=1)
    est.fit(X, sample_weight=w)
    seeds = est.restarts_["random_state"].tolist()
    weighted = [KMeans(3, n_init=1, init="random", random_state=s).fit(X, sample_weight=w)
                .inertia_ for s in seeds]
    plain = [KMeans(3, n_init=1, init="random", random_state=s).fit(X).inertia_
             for s in seeds]
    np.testing.assert_allclose(est.restarts_["fun"], weighted, rtol=1e-9)
    assert est.best_index_ == int(np.argmin(weighted))
    assert np.argmin(weighted) != np.argmin(plain)  # the weights matter here
    np.testing.assert_array_equal(
        est.best_estimator_.cluster_centers_,
        KMeans(3, n_init=1, init="random", random_state=seeds[est.best_index_])
        .fit(X, sample_weight=w).cluster_centers_)


def test_estimator_fit_params_are_checked_and_digested():
    from sklearn.cluster import KMeans

    X = np.arange(12.0).reshape(6, 2)
    with pytest.raises(TypeError, match="'fit_params'"):
        rs.solvers.Estimator(KMeans(2, n_init=1), X, fit_params=[1, 2])
    a = rs.solvers.Estimator(KMeans(2, n_init=1), X, fit_params={"sample_weight": np.ones(6)})
    b = rs.solvers.Estimator(KMeans(2, n_init=1), X, fit_params={"sample_weight": np.arange(6.0)})
    assert a.describe()["fit_params"] == ["sample_weight"]
    assert a.describe()["fit_params_sha1"] != b.describe()["fit_params_sha1"]
