"""KMeans solver: checked against scikit-learn's Lloyd iteration and by hand."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import restarts as rs
from restarts.solvers import KMeans

sklearn = pytest.importorskip("sklearn")
from sklearn.cluster import KMeans as SKKMeans  # noqa: E402
from sklearn.datasets import load_digits, load_iris, load_wine, make_blobs  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    # 2 shared cores: OpenMP/BLAS threads only add contention for these small fits
    with threadpool_limits(1):
        yield


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two labelings are equal up to a permutation of the labels."""
    pairs = np.unique(np.stack([a, b]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))


@pytest.mark.parametrize("loader", [load_iris, load_wine, load_digits])
@pytest.mark.parametrize("k", [3, 7])
def test_same_as_sklearn_from_same_centres(loader, k):
    X = loader().data
    init = X[np.random.default_rng(k).choice(len(X), k, replace=False)]
    km = KMeans(X, k, init=init)
    res = km(None, np.random.default_rng(0))
    sk = SKKMeans(k, init=init, n_init=1, algorithm="lloyd").fit(X)
    assert res.fun == pytest.approx(sk.inertia_, rel=1e-9)
    assert res.nit == sk.n_iter_
    np.testing.assert_allclose(res.x.ravel(), km.canonical(sk.cluster_centers_), rtol=1e-9,
                               atol=1e-9)
    assert _same_partition(km.predict(res.x), sk.labels_)
    assert sorted(res.extra["counts"]) == sorted(np.bincount(sk.labels_).tolist())


@pytest.fixture(scope="module")
def overlapping_blobs():
    # large enough for the Hamerly-bound path, overlapping so that labels keep moving
    X, _ = make_blobs(12_000, n_features=4, centers=6, cluster_std=2.5, random_state=0)
    return X


@pytest.mark.parametrize("seed", [1, 2])
def test_bounds_path_same_as_sklearn(overlapping_blobs, seed):
    X = overlapping_blobs
    start = X[np.random.default_rng(seed).choice(len(X), 7, replace=False)]
    km = KMeans(X, 7, tol=1e-6)
    res = km(start, np.random.default_rng(0))
    sk = SKKMeans(7, init=start, n_init=1, algorithm="lloyd", tol=1e-6).fit(X)
    assert res.nit == sk.n_iter_ > 5
    assert res.fun == pytest.approx(sk.inertia_, rel=1e-9)
    assert _same_partition(km.predict(res.x), sk.labels_)


@pytest.mark.parametrize("init", ["random", "k-means++"])
def test_bounds_path_batch_equals_single(overlapping_blobs, init):
    km = KMeans(overlapping_blobs, 7, init=init, tol=1e-6)
    batch = km.solve_batch(None, [np.random.default_rng(s) for s in range(4)])
    single = [km(None, np.random.default_rng(s)) for s in range(4)]
    for b, s in zip(batch, single, strict=True):
        assert b.fun == pytest.approx(s.fun, rel=1e-10) and b.nit == s.nit
        np.testing.assert_allclose(b.x, s.x, rtol=1e-10, atol=1e-12)


def test_bounds_and_plain_assignment_agree(monkeypatch):
    from restarts.solvers import kmeans as module

    X = load_digits().data
    starts = [X[np.random.default_rng(s).choice(len(X), 9, replace=False)] for s in range(3)]
    plain = KMeans(X, 9)
    monkeypatch.setattr(module, "_PRUNE_MIN_SAMPLES", 0)
    bounded = KMeans(X, 9)
    for st in starts:
        a = plain(st, np.random.default_rng(0))
        b = bounded(st, np.random.default_rng(0))
        assert a.fun == pytest.approx(b.fun, rel=1e-12) and a.nit == b.nit
        assert a.extra["counts"] == b.extra["counts"]


@pytest.mark.parametrize("k", [1, 2, 7, 130])  # k >= 128: the wider integer keys
def test_top_matches_argmax_and_sort_with_ties(k):
    # KMeans._top against numpy's argmax (first index) and a sort, on scores with
    # many exact ties (few distinct values), as duplicate centres give
    rng = np.random.default_rng(k)
    scores = rng.integers(0, 4, size=(3, k, 50)).astype(float)
    labels, best, second = np.empty((3, 50), dtype=np.int64), np.empty((3, 50)), np.empty((3, 50))
    KMeans._top(scores.copy(), labels, best, second)
    np.testing.assert_array_equal(labels, np.argmax(scores, axis=1))
    ordered = np.sort(scores, axis=1)
    np.testing.assert_array_equal(best, ordered[:, -1])
    np.testing.assert_array_equal(second, ordered[:, -2] if k > 1 else -np.inf)


def test_bounds_path_random_init_same_as_plain(monkeypatch):
    # Hamerly's path (incremental sums, candidates scored alone, full re-assignment
    # when most samples are candidates) against the plain batched iteration
    from restarts.solvers import kmeans as module

    X, _ = make_blobs(3000, n_features=3, centers=5, cluster_std=2.0, random_state=3)
    plain = KMeans(X, 8, init="random", tol=1e-6)
    monkeypatch.setattr(module, "_PRUNE_MIN_SAMPLES", 0)
    bounded = KMeans(X, 8, init="random", tol=1e-6)
    # small blocks: candidates and full assignments in many chunks
    monkeypatch.setattr(module, "_BLOCK_BYTES", 4096)
    rngs = [np.random.default_rng(s) for s in range(4)]
    for a, b in zip(plain.solve_batch(None, rngs),
                    bounded.solve_batch(None, [np.random.default_rng(s) for s in range(4)]),
                    strict=True):
        assert a.nit == b.nit and a.extra["counts"] == b.extra["counts"]
        assert a.fun == pytest.approx(b.fun, rel=1e-12)


def test_start_point_overrides_init():
    X = load_iris().data
    init = X[[0, 50, 100]]
    km = KMeans(X, 3, init="random")
    a = km(init, np.random.default_rng(0))
    b = km(init.ravel(), np.random.default_rng(1))  # flat start, other rng: same run
    sk = SKKMeans(3, init=init, n_init=1, algorithm="lloyd").fit(X)
    assert a.fun == pytest.approx(sk.inertia_, rel=1e-9)
    assert a.fun == b.fun


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_random_inits_comparable_to_sklearn(init):
    X = load_digits().data
    km = KMeans(X, 10, init=init)
    ours = [km(None, np.random.default_rng(s)).fun for s in range(8)]
    theirs = [
        SKKMeans(10, init=init, n_init=1, algorithm="lloyd", random_state=s).fit(X).inertia_
        for s in range(8)
    ]
    assert np.mean(ours) == pytest.approx(np.mean(theirs), rel=0.03)
    assert min(ours) <= 1.01 * min(theirs)


def test_kmeanspp_beats_random_on_average():
    X = load_wine().data
    pp = KMeans(X, 6, init="k-means++", max_iter=1)
    rnd = KMeans(X, 6, init="random", max_iter=1)
    a = np.mean([pp(None, np.random.default_rng(s)).fun for s in range(30)])
    b = np.mean([rnd(None, np.random.default_rng(s)).fun for s in range(30)])
    assert a < b


def test_hand_computed_result():
    X = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 2.0], [10.0, 4.0]])
    km = KMeans(X, 2, init=[[10.0, 1.0], [0.0, 1.0]])
    res = km(None, np.random.default_rng(0))
    np.testing.assert_allclose(res.x, [[0.0, 1.0], [10.0, 2.0]])
    assert res.fun == pytest.approx(2.0 + 8.0)
    assert res.extra["counts"] == (2, 3)
    assert res.success


def test_empty_cluster_reseeded_from_farthest_point():
    X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [30.0]])
    init = np.array([[0.0], [11.0], [100.0]])  # the last centre attracts nothing
    km = KMeans(X, 3, init=init)
    res = km(None, np.random.default_rng(0))
    sk = SKKMeans(3, init=init, n_init=1, algorithm="lloyd").fit(X)
    assert res.fun == pytest.approx(sk.inertia_, rel=1e-12)
    np.testing.assert_allclose(res.x.ravel(), km.canonical(sk.cluster_centers_))
    # the empty centre moved to the point farthest from its centre (30)
    np.testing.assert_allclose(res.x.ravel(), [1.0, 10.5, 30.0])
    assert res.fun == pytest.approx(2.0 + 0.5)


def test_more_clusters_than_distinct_points_is_finite():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]), 4, axis=0)
    km = KMeans(X, 5)
    for s in range(5):
        res = km(None, np.random.default_rng(s))
        assert res.fun == 0.0
        assert np.all(np.isfinite(res.x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SKKMeans(5, init=res.x, n_init=1, algorithm="lloyd").fit(X)
    assert sk.inertia_ == 0.0


def test_single_cluster_and_all_clusters():
    X = load_iris().data[:20]
    one = KMeans(X, 1)(None, np.random.default_rng(0))
    np.testing.assert_allclose(one.x[0], X.mean(axis=0))
    assert one.fun == pytest.approx(((X - X.mean(axis=0)) ** 2).sum())
    every = KMeans(X, len(np.unique(X, axis=0)), init="random")(None, np.random.default_rng(0))
    assert every.fun == pytest.approx(0.0, abs=1e-20)


def test_canonical_is_permutation_invariant():
    X = load_iris().data
    km = KMeans(X, 4)
    res = km(None, np.random.default_rng(3))
    perm = res.x[[2, 0, 3, 1]]
    np.testing.assert_array_equal(km.canonical(perm), res.x.ravel())
    np.testing.assert_array_equal(km.canonical(perm.ravel()), res.x.ravel())
    np.testing.assert_array_equal(km.canonical(res.x).reshape(res.x.shape), res.x)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_solve_batch_equals_single_runs(init):
    X = load_digits().data[:600]
    km = KMeans(X, 8, init=init, max_iter=50)
    seeds = range(7)
    batch = km.solve_batch(None, [np.random.default_rng(s) for s in seeds])
    single = [km(None, np.random.default_rng(s)) for s in seeds]
    for b, s in zip(batch, single, strict=True):
        assert b.fun == pytest.approx(s.fun, rel=1e-10)
        np.testing.assert_allclose(b.x, s.x, rtol=1e-10, atol=1e-12)
        assert (b.nit, b.success, b.extra["counts"]) == (s.nit, s.success, s.extra["counts"])


def test_solve_batch_with_explicit_starts():
    X = load_iris().data
    starts = [X[[0, 50, 100]], None, X[[1, 2, 3]]]
    km = KMeans(X, 3)
    batch = km.solve_batch(starts, [np.random.default_rng(s) for s in range(3)])
    single = [km(st, np.random.default_rng(s)) for s, st in enumerate(starts)]
    assert [b.fun for b in batch] == pytest.approx([s.fun for s in single], rel=1e-10)


def test_same_rng_same_result_and_max_iter():
    X = load_wine().data
    km = KMeans(X, 5, max_iter=2, tol=0.0)
    a = km(None, np.random.default_rng(11))
    b = km(None, np.random.default_rng(11))
    assert a.fun == b.fun and np.array_equal(a.x, b.x)
    assert a.nit <= 2
    if not a.success:
        assert "max_iter" in a.message


def test_through_multistart():
    X = load_iris().data
    km = KMeans(X, 3)
    res = rs.multistart(km, 12, rng=0)
    table = res.table
    assert len(table) == 12 and table["error"].isna().all()
    # the best restart is the best of 12 single runs with the same per-restart streams
    singles = [km(None, np.random.default_rng(res.restart_seed(i))).fun for i in range(12)]
    assert res.fun == pytest.approx(min(singles), rel=1e-12)
    # permuted labelings of one clustering are one solution
    assert res.solutions["count"].sum() == 12
    assert len(res.solutions) < 12


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"X": [[1.0, 2.0], [3.0, np.nan]]}, ValueError, "'X'.*finite"),
        ({"X": [[1.0, np.inf], [3.0, 4.0]]}, ValueError, "'X'.*finite"),
        ({"X": [1.0, 2.0, 3.0]}, ValueError, "'X'.*2 dimension"),
        ({"X": [["a", "b"], ["c", "d"]]}, TypeError, "'X'.*numeric"),
        ({"X": "data"}, TypeError, "'X'"),
        ({"X": np.empty((0, 2))}, ValueError, "'X'.*at least 1 row"),
        ({"n_clusters": 11}, ValueError, "'n_clusters'.*\\[1, 10\\]"),
        ({"n_clusters": 0}, ValueError, "'n_clusters'"),
        ({"n_clusters": 2.0}, TypeError, "'n_clusters'.*int"),
        ({"init": "kmeans++"}, ValueError, "'init'.*k-means\\+\\+"),
        ({"init": [[0.0, 0.0]]}, ValueError, "'init'.*shape"),
        ({"init": [[0.0, np.nan], [1.0, 1.0]]}, ValueError, "'init'.*finite"),
        ({"max_iter": 0}, ValueError, "'max_iter'.*>= 1"),
        ({"tol": -1.0}, ValueError, "'tol'.*>= 0"),
        ({"tol": "small"}, TypeError, "'tol'"),
    ],
)
def test_bad_input(kwargs, exc, match):
    args = {"X": np.arange(20.0).reshape(10, 2), "n_clusters": 2} | kwargs
    with pytest.raises(exc, match=match):
        KMeans(**args)


def test_bad_start_raises_at_run():
    km = KMeans(np.arange(20.0).reshape(10, 2), 2)
    with pytest.raises(ValueError, match="'start'.*shape"):
        km(np.zeros(3), np.random.default_rng(0))


@pytest.mark.parametrize("cls", [rs.solvers.KMeans, rs.solvers.GaussianMixture])
def test_data_without_features_is_refused(cls):
    with pytest.raises(ValueError, match="'X' parameter of .*at least 1 column"):
        cls(np.zeros((5, 0)), 2)
