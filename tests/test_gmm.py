"""GaussianMixture solver: checked against scikit-learn's EM and on degenerate data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import restarts as rs
from restarts.solvers import GaussianMixture

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_iris, load_wine  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture as SKGaussianMixture  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(autouse=True)
def _quiet_one_thread():
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _wine():
    return StandardScaler().fit_transform(load_wine().data)


def _start_params(X, k, ct, seed=0):
    """Initial parameters from an independent source: one sklearn EM step."""
    sk = SKGaussianMixture(k, covariance_type=ct, max_iter=1, random_state=seed).fit(X)
    return sk.weights_, sk.means_, sk.precisions_


@pytest.mark.parametrize("ct", TYPES)
@pytest.mark.parametrize("data", ["iris", "wine"])
def test_same_lower_bound_as_sklearn_from_same_start(ct, data):
    X = load_iris().data if data == "iris" else _wine()
    k = 3
    w0, m0, p0 = _start_params(X, k, ct)
    kwargs = {"weights_init": w0, "means_init": m0, "precisions_init": p0}
    sk = SKGaussianMixture(k, covariance_type=ct, max_iter=200, tol=1e-6, **kwargs).fit(X)
    gm = GaussianMixture(X, k, covariance_type=ct, max_iter=200, tol=1e-6, **kwargs)
    res = gm(None, np.random.default_rng(0))
    assert -res.fun == pytest.approx(sk.lower_bound_, abs=1e-6)
    assert res.extra["lower_bound"] == pytest.approx(sk.lower_bound_, abs=1e-6)
    assert res.nit == sk.n_iter_ and res.success == sk.converged_
    theirs = gm.canonical(np.concatenate([sk.weights_, sk.means_.ravel(),
                                          sk.covariances_.ravel()]))
    np.testing.assert_allclose(res.x, theirs, rtol=1e-6, atol=1e-8)
    # the parameters are those of a model: sklearn scores the data the same with them
    w, means, covs = gm.unpack(res.x)
    assert np.all(w > 0) and w.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("ct", ["full", "tied"])
def test_large_data_path_same_as_sklearn(ct, monkeypatch):
    # without the quadratic features (data too large for them), in sample chunks
    from restarts.solvers import gmm as module

    monkeypatch.setattr(module, "_QUAD_MAX_ELEMENTS", 0)
    monkeypatch.setattr(module, "_CHUNK_BYTES", 8 * 3 * 13 * 2 * 300)
    X = _wine()
    w0, m0, p0 = _start_params(X, 3, ct)
    kwargs = {"weights_init": w0, "means_init": m0, "precisions_init": p0}
    sk = SKGaussianMixture(3, covariance_type=ct, max_iter=200, tol=1e-6, **kwargs).fit(X)
    res = GaussianMixture(X, 3, covariance_type=ct, max_iter=200, tol=1e-6, **kwargs)(
        None, np.random.default_rng(0))
    assert -res.fun == pytest.approx(sk.lower_bound_, abs=1e-6)
    assert res.nit == sk.n_iter_


@pytest.mark.parametrize("init", ["kmeans", "k-means++", "random"])
def test_random_inits_give_sklearn_like_optima(init):
    X = _wine()
    gm = GaussianMixture(X, 3, init=init)
    ours = [-gm(None, np.random.default_rng(s)).fun for s in range(6)]
    sk_init = {"kmeans": "kmeans", "k-means++": "k-means++", "random": "random"}[init]
    theirs = [SKGaussianMixture(3, init_params=sk_init, random_state=s).fit(X).lower_bound_
              for s in range(6)]
    assert np.all(np.isfinite(ours))
    assert max(ours) >= max(theirs) - 0.05


def test_start_is_initial_means():
    X = load_iris().data
    w0, m0, p0 = _start_params(X, 3, "full")
    gm = GaussianMixture(X, 3, weights_init=w0, precisions_init=p0)
    a = gm(m0, np.random.default_rng(0))
    b = GaussianMixture(X, 3, weights_init=w0, means_init=m0, precisions_init=p0)(
        None, np.random.default_rng(1))
    assert a.fun == pytest.approx(b.fun, abs=1e-12)


def test_same_rng_same_result():
    gm = GaussianMixture(_wine(), 4)
    a, b = gm(None, np.random.default_rng(5)), gm(None, np.random.default_rng(5))
    assert a.fun == b.fun and np.array_equal(a.x, b.x)


def test_canonical_is_permutation_invariant():
    X = load_iris().data
    gm = GaussianMixture(X, 3)
    res = gm(None, np.random.default_rng(0))
    w, m, c = gm.unpack(res.x)
    p = [2, 0, 1]
    permuted = np.concatenate([w[p], m[p].ravel(), c[p].ravel()])
    np.testing.assert_array_equal(gm.canonical(permuted), res.x)


@pytest.mark.parametrize("ct", TYPES)
def test_duplicated_points_give_finite_result(ct):
    rng = np.random.default_rng(0)
    X = np.repeat(rng.normal(size=(6, 2)), 10, axis=0)  # 6 distinct points
    gm = GaussianMixture(X, 4, covariance_type=ct)
    for s in range(4):
        res = gm(None, np.random.default_rng(s))
        assert np.isfinite(res.fun) and np.all(np.isfinite(res.x))


@pytest.mark.parametrize("ct", TYPES)
def test_more_components_than_distinct_points(ct):
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 2.0]]), 5, axis=0)
    gm = GaussianMixture(X, 3, covariance_type=ct)
    for s in range(3):
        try:
            res = gm(None, np.random.default_rng(s))
        except (ValueError, FloatingPointError) as exc:
            assert "reg_covar" in str(exc)
        else:
            assert np.isfinite(res.fun) and np.all(np.isfinite(res.x))


def test_collapsed_component_without_ridge_is_a_clear_error():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 1.0]]), 5, axis=0)
    gm = GaussianMixture(X, 3, reg_covar=0.0)
    with pytest.raises(ValueError, match="reg_covar"):
        gm(None, np.random.default_rng(0))


def test_failures_are_recorded_rows_in_multistart():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 1.0]]), 5, axis=0)
    # every first restart fails alike: a set-up error, raised by the run (issue 14)
    with pytest.raises(ValueError, match="restarts 0 to 2 all failed.*reg_covar"):
        rs.multistart(GaussianMixture(X, 3, reg_covar=0.0), 3, rng=0)


def test_through_multistart_counts_relabelled_optima_once():
    X = load_iris().data
    gm = GaussianMixture(X, 2)
    res = rs.multistart(gm, 6, rng=1)
    singles = [gm(None, np.random.default_rng(res.restart_seed(i))).fun for i in range(6)]
    assert res.fun == pytest.approx(min(singles), abs=1e-12)
    assert res.solutions["count"].sum() == 6
    assert len(res.solutions) <= 2


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"X": [[1.0, np.nan], [2.0, 3.0], [1.0, 1.0]]}, ValueError, "'X'.*finite"),
        ({"X": np.arange(6.0)}, ValueError, "'X'.*2 dimension"),
        ({"X": [["a", "b"], ["c", "d"]]}, TypeError, "'X'.*numeric"),
        ({"X": [[1.0, 2.0]]}, ValueError, "'X'.*at least 2 row"),
        ({"n_components": 21}, ValueError, "'n_components'.*\\[1, 20\\]"),
        ({"n_components": 1.5}, TypeError, "'n_components'"),
        ({"covariance_type": "diagonal"}, ValueError, "'covariance_type'.*spherical"),
        ({"init": "kmeans++"}, ValueError, "'init'.*k-means\\+\\+"),
        ({"max_iter": 0}, ValueError, "'max_iter'.*>= 1"),
        ({"tol": -1e-3}, ValueError, "'tol'.*>= 0"),
        ({"reg_covar": -1e-6}, ValueError, "'reg_covar'.*>= 0"),
        ({"weights_init": [0.5, 0.6]}, ValueError, "'weights_init'.*summing to 1"),
        ({"weights_init": [1.0]}, ValueError, "'weights_init'"),
        ({"means_init": [[0.0, 0.0]]}, ValueError, "'means_init'.*shape"),
        ({"precisions_init": np.eye(2)}, ValueError, "'precisions_init'.*dimension"),
        ({"precisions_init": -np.stack([np.eye(2)] * 2)}, ValueError,
         "'precisions_init'.*positive definite"),
        ({"precisions_init": np.stack([[[1.0, 2.0], [0.0, 1.0]]] * 2)}, ValueError,
         "'precisions_init'.*symmetric"),
        ({"covariance_type": "diag", "precisions_init": [[1.0, 0.0], [1.0, 1.0]]},
         ValueError, "'precisions_init'.*positive"),
    ],
)
def test_bad_input(kwargs, exc, match):
    args = {"X": np.random.default_rng(0).normal(size=(20, 2)), "n_components": 2} | kwargs
    with pytest.raises(exc, match=match):
        GaussianMixture(**args)


def test_bad_start_raises_at_run():
    gm = GaussianMixture(np.random.default_rng(0).normal(size=(20, 2)), 2)
    with pytest.raises(ValueError, match="'start'.*shape"):
        gm(np.zeros(3), np.random.default_rng(0))
