"""MLP solver: gradients, symmetry breaking, XOR, scikit-learn agreement, batching, input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logsumexp

import restarts as rs
from restarts.solvers import MLP

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])


# -- an independent reference: a plain loop over layers, scipy for the special functions
def reference_layers(x, sizes):
    out, k = [], 0
    for a, b in zip(sizes[:-1], sizes[1:], strict=False):
        w = x[k : k + a * b].reshape(a, b)
        k += a * b
        out.append((w, x[k : k + b]))
        k += b
    assert k == x.size
    return out


REFERENCE_ACT = {
    "tanh": np.tanh,
    "relu": lambda z: np.where(z > 0, z, 0.0),
    "sigmoid": expit,
    "identity": lambda z: z,
}


def reference_loss(x, X, y, sizes, activation, loss, alpha=0.0):
    layers = reference_layers(x, sizes)
    h = X
    for w, b in layers[:-1]:
        h = REFERENCE_ACT[activation](h @ w + b)
    z = h @ layers[-1][0] + layers[-1][1]
    if loss == "cross_entropy":
        value = np.mean(logsumexp(z, axis=1) - z[np.arange(len(y)), y])
    else:
        value = np.mean((z - y.reshape(len(y), -1)) ** 2)
    return value + 0.5 * alpha * sum(np.sum(w**2) for w, _ in layers)


def small_problem(loss, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(7, 3))
    y = rng.integers(0, 3, size=7) if loss == "cross_entropy" else rng.normal(size=(7, 2))
    if loss == "cross_entropy":
        y[:3] = [0, 1, 2]  # every class present
    return X, y


# -- gradients ---------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "identity"])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_gradient_matches_central_differences(activation, loss, alpha):
    X, y = small_problem(loss)
    mlp = MLP(X, y, hidden=(5, 4), activation=activation, loss=loss, alpha=alpha)
    x = np.random.default_rng(1).normal(size=mlp.n_params)
    f, g = mlp.loss_grad(x)
    ref = reference_loss(x, X, y, mlp.sizes, activation, loss, alpha)
    assert f == pytest.approx(ref, rel=1e-12)
    eps = 1e-6
    fd = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        fd[i] = (reference_loss(x + e, X, y, mlp.sizes, activation, loss, alpha)
                 - reference_loss(x - e, X, y, mlp.sizes, activation, loss, alpha)) / (2 * eps)
    assert np.linalg.norm(g - fd) <= 1e-5 * np.linalg.norm(fd)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7 * np.abs(fd).max())


def test_both_ways_of_taking_class_maxima_match_the_reference():
    """A single mini-batch takes the softmax's row maxima by one reduction, a stack of
    restarts by elementwise maxima; both must shift by the true row maximum (logits of
    several hundred overflow exp otherwise) and give the reference loss."""
    X, y = blobs(n=50)
    mlp = MLP(X, y, hidden=(6,), activation="relu", batch_size=16)
    rng = np.random.default_rng(3)
    thetas = rng.normal(scale=30.0, size=(8, mlp.n_params))  # logits in the hundreds
    xb, yb = mlp._Xa[:16], mlp._y[:16]
    expected = [reference_loss(t, X[:16], y[:16], mlp.sizes, "relu", "cross_entropy")
                for t in thetas]
    assert max(abs(e) for e in expected) > 100  # exp(z) alone would overflow
    k = mlp.sizes[-1]
    stacked = mlp._loss_grad(mlp._views(thetas), None, xb, yb)  # 8 x 16 rows: maxima
    from restarts.solvers.mlp import _elementwise_maxima

    assert _elementwise_maxima(8 * 16, k) and not _elementwise_maxima(16, k)  # both branches
    for i, t in enumerate(thetas):
        single = mlp._loss_grad(mlp._views(t[None, :]), None, xb, yb)  # one reduction
        assert single[0] == pytest.approx(expected[i], rel=1e-10)
        assert stacked[i] == pytest.approx(expected[i], rel=1e-10)


def test_gradient_of_linear_model():
    X, y = small_problem("cross_entropy")
    mlp = MLP(X, y, hidden=())
    x = np.random.default_rng(2).normal(size=mlp.n_params)
    f, g = mlp.loss_grad(x)
    fd = np.array([(mlp.loss_grad(x + e)[0] - mlp.loss_grad(x - e)[0]) / 2e-6
                   for e in 1e-6 * np.eye(x.size)])
    assert f == pytest.approx(reference_loss(x, X, y, mlp.sizes, "tanh", "cross_entropy"))
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-9)


# -- symmetry ----------------------------------------------------------------------------
def blobs(seed=0, n=60):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] * X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, y


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize(
    ("init", "init_params", "bias_init"),
    [("zeros", None, 0.0), ("constant", {"value": 0.3}, 0.1)],
)
def test_symmetric_init_keeps_one_unit_per_layer(activation, init, init_params, bias_init):
    X, y = blobs()
    mlp = MLP(X, y, hidden=(6, 5), activation=activation, init=init, init_params=init_params,
              bias_init=bias_init, lr=0.05, epochs=60, batch_size=16)
    start = mlp.solve_batch(None, [np.random.default_rng(0)])[0]
    r = mlp(None, np.random.default_rng(0))
    assert r.extra["distinct_units"] == (1, 1)
    assert rs.symmetry(r.x, mlp.sizes) == (1, 1)
    assert rs.symmetry(mlp.unflatten(r.x)) == (1, 1)
    assert r.x.tolist() == start.x.tolist()  # reproducible
    if init == "constant" and activation != "relu":
        # the weights did move: the units stayed equal, not frozen
        assert not np.allclose(r.x[: 4 * 6], 0.3)


@pytest.mark.parametrize("init", ["he_normal", "xavier_uniform", "orthogonal", "lecun_normal"])
def test_random_init_keeps_all_units_distinct(init):
    X, y = blobs()
    mlp = MLP(X, y, hidden=(6, 5), init=init, lr=0.05, epochs=60, batch_size=16)
    r = mlp(None, np.random.default_rng(1))
    assert r.extra["distinct_units"] == (6, 5)


def test_symmetry_counts_near_duplicates():
    w1 = np.array([[1.0, 1.0 + 1e-12, 2.0, 1.0], [0.5, 0.5, 0.5, 0.5]])
    b1 = np.array([0.0, 0.0, 0.0, 1e-3])
    layers = [(w1, b1), (np.ones((4, 1)), np.zeros(1))]
    assert rs.symmetry(layers) == (3,)  # units 0 and 1 equal; unit 3 differs by its bias
    assert rs.symmetry(layers, tol=1e-2) == (2,)
    with pytest.raises(ValueError, match="'params' parameter of symmetry"):
        rs.symmetry(np.zeros(5), (2, 4, 1))
    with pytest.raises(TypeError, match="'params' parameter of symmetry"):
        rs.symmetry(np.zeros(17))


def test_canonical_is_invariant_to_hidden_permutations():
    X, y = blobs()
    mlp = MLP(X, y, hidden=(6, 5))
    x = mlp(None, np.random.default_rng(2)).x
    (w1, b1), (w2, b2), (w3, b3) = [(w.copy(), b.copy()) for w, b in mlp.unflatten(x)]
    p, q = np.random.default_rng(3).permutation(6), np.random.default_rng(4).permutation(5)
    permuted = [(w1[:, p], b1[p]), (w2[p][:, q], b2[q]), (w3[q], b3)]
    xp = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in permuted])
    assert not np.array_equal(xp, x)
    assert mlp.loss_grad(xp)[0] == pytest.approx(mlp.loss_grad(x)[0], rel=1e-12)
    np.testing.assert_array_equal(mlp.canonical(xp), mlp.canonical(x))
    assert mlp.loss_grad(mlp.canonical(x))[0] == pytest.approx(mlp.loss_grad(x)[0], rel=1e-12)


# -- XOR: symmetry breaking decides success ----------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_xor_needs_random_init(activation):
    rngs = [np.random.default_rng(s) for s in range(100)]
    common = dict(hidden=(2,), activation=activation, loss="mse", lr=0.05, epochs=1000)
    zero = MLP(XOR_X, XOR_Y, init="zeros", **common).solve_batch(None, rngs)
    assert min(r.fun for r in zero) > 0.2  # stuck at predicting the mean: loss 0.25
    assert {r.extra["distinct_units"] for r in zero} == {(1,)}
    rngs = [np.random.default_rng(s) for s in range(100)]
    xavier = MLP(XOR_X, XOR_Y, init="xavier_normal", **common).solve_batch(None, rngs)
    solved = sum(r.fun < 0.01 for r in xavier)
    assert solved >= 70  # ~85 expected; the rest sit in XOR's known local minima


# -- agreement with scikit-learn ------------------------------------------------------------
def test_digits_accuracy_matches_sklearn():
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.25,
                                                        random_state=0, stratify=y)
    epochs, seeds = 100, range(3)
    ours = MLP(X_train, y_train, hidden=(64,), activation="relu", init="xavier_uniform",
               optimizer="adam", lr=1e-3, epochs=epochs, batch_size=200)
    results = ours.solve_batch(None, [np.random.default_rng(s) for s in seeds])
    acc_ours = np.mean([np.mean(ours.predict(r.x, X_test) == y_test) for r in results])
    acc_sk, loss_sk = [], []
    for s in seeds:
        clf = MLPClassifier(hidden_layer_sizes=(64,), activation="relu", solver="adam",
                            learning_rate_init=1e-3, max_iter=epochs, batch_size=200,
                            alpha=0.0, n_iter_no_change=epochs + 1, tol=0.0, random_state=s)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_train, y_train)
        acc_sk.append(clf.score(X_test, y_test))
        loss_sk.append(clf.loss_)
    assert acc_ours > 0.95
    assert abs(acc_ours - np.mean(acc_sk)) <= 0.02
    # sklearn's loss_ is the last epoch's mean mini-batch loss, like our loss curve's end
    last = np.mean([r.extra["loss_curve"][-1] for r in results])
    assert last == pytest.approx(np.mean(loss_sk), rel=0.15)


# -- batching ------------------------------------------------------------------------------
CONFIGS = [
    dict(loss="cross_entropy", optimizer="adam", batch_size=None),
    dict(loss="cross_entropy", optimizer="sgd", batch_size=16, activation="relu"),
    dict(loss="mse", optimizer="momentum", batch_size=7, activation="sigmoid", alpha=0.01),
    dict(loss="mse", optimizer="adam", batch_size=16, hidden=(5, 3), activation="identity"),
    dict(loss="cross_entropy", optimizer="adam", batch_size=16, shuffle=False),
]


def config_problem(config):
    """Data and full settings for one of CONFIGS (targets of the right kind)."""
    X, y = blobs(n=50)
    if config["loss"] == "mse":
        y = np.column_stack([X[:, 0] * X[:, 1], X[:, 2]])
    return X, y, {"hidden": (6,), "lr": 0.02, "epochs": 25, **config}


@pytest.mark.parametrize("config", CONFIGS)
def test_solve_batch_equals_single_runs(config):
    X, y, config = config_problem(config)
    mlp = MLP(X, y, **config)
    given = np.random.default_rng(9).normal(scale=0.3, size=mlp.n_params)
    starts = [None, given, None, None, given]
    seeds = [10, 11, 12, 13, 14]
    batch = mlp.solve_batch(starts, [np.random.default_rng(s) for s in seeds])
    assert len(batch) == 5
    for start, seed, b in zip(starts, seeds, batch, strict=True):
        single = mlp(start, np.random.default_rng(seed))
        # bit for bit: a restart must not depend on how many share its stack
        assert np.array_equal(b.x, single.x)
        assert b.fun == single.fun
        assert b.extra["loss_curve"] == single.extra["loss_curve"]
        assert b.extra["distinct_units"] == single.extra["distinct_units"]
        assert (b.nit, b.nfev) == (single.nit, single.nfev)
    # restarts differ from each other (their rngs do), and a given start is honoured
    assert batch[0].fun != batch[2].fun
    if config["batch_size"] is None or config.get("shuffle") is False:
        assert batch[1].x.tolist() == batch[4].x.tolist()  # nothing random left
    else:
        assert batch[1].x.tolist() != batch[4].x.tolist()  # own shuffles


def test_chunked_batches_give_the_same_results(monkeypatch):
    import restarts.solvers.mlp as mlp_module

    X, y = blobs()
    mlp = MLP(X, y, hidden=(6,), lr=0.05, epochs=10, batch_size=16)
    whole = mlp.solve_batch(None, [np.random.default_rng(s) for s in range(5)])
    monkeypatch.setattr(mlp_module, "_CACHE_BYTES", 1)  # one restart per chunk
    assert mlp._chunk() == 1
    chunked = mlp.solve_batch(None, [np.random.default_rng(s) for s in range(5)])
    for a, b in zip(whole, chunked, strict=True):
        assert np.array_equal(a.x, b.x) and a.fun == b.fun
        assert a.extra["loss_curve"] == b.extra["loss_curve"]


def test_result_contents():
    X, y = blobs()
    mlp = MLP(X, y, hidden=(6,), lr=0.05, epochs=40, batch_size=20)
    r = mlp(None, np.random.default_rng(0))
    assert r.x.shape == (mlp.n_params,) and mlp.sizes == (4, 6, 3)
    assert r.success and r.nit == 40 and r.nfev == 40 * 3
    curve = r.extra["loss_curve"]
    assert len(curve) == 40 and curve[-1] < curve[0]
    assert r.fun == pytest.approx(mlp.loss_grad(r.x)[0], rel=1e-12)
    assert r.extra["train_accuracy"] == np.mean(mlp.predict(r.x, X) == y)
    # labels need not be 0..k-1
    labelled = MLP(X, np.array([-5, 2, 7])[y], hidden=(6,), lr=0.05, epochs=40, batch_size=20)
    r2 = labelled(None, np.random.default_rng(0))
    assert r2.x.tolist() == r.x.tolist()
    assert set(labelled.predict(r2.x, X)) <= {-5, 2, 7}


def test_divergence_is_reported_not_raised():
    X, y = blobs()
    r = MLP(X, y * 1e3, loss="mse", optimizer="sgd", lr=10.0, epochs=200)(
        None, np.random.default_rng(0))
    assert not r.success and not np.isfinite(r.fun) and "lr" in r.message


# -- through the driver --------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_multistart_batching_and_jobs_do_not_change_the_table(dtype):
    X, y = blobs()
    mlp = MLP(X, y, hidden=(4,), lr=0.05, epochs=30, batch_size=16, dtype=dtype)
    cols = ["restart", "fun", "success", "nit", "nfev", "basin"]
    one = rs.multistart(mlp, 6, rng=0, batch_size=1)
    runs = [
        rs.multistart(mlp, 6, rng=0),  # solve_batch
        rs.multistart(mlp, 6, rng=0, n_jobs=2, backend="threading", batch_size=3),
        rs.multistart(mlp, 6, rng=0, n_jobs=2, backend="loky", batch_size=2),
    ]
    for run in runs:
        pd.testing.assert_frame_equal(one.table[cols], run.table[cols])
        np.testing.assert_allclose(run.x, one.x, rtol=1e-10)
    assert one.table["fun"].nunique() == 6
    assert one.results[0].x.tolist() == mlp(None, np.random.default_rng(
        one.restart_seed(0))).x.tolist()


def test_multistart_counts_symmetric_optima_once():
    X, y = blobs()
    zeros = MLP(X, y, hidden=(4,), init="zeros", lr=0.05, epochs=30)
    res = rs.multistart(zeros, 5, rng=1)
    assert len(res.solutions) == 1 and res.solutions["count"].iloc[0] == 5
    assert res.best.extra["distinct_units"] == (1,)
    # one network and its hidden-unit permutation are one solution
    net = MLP(X, y, hidden=(4,), lr=0.05, epochs=30)
    x = net(None, np.random.default_rng(0)).x
    (w1, b1), (w2, b2) = net.unflatten(x)
    p = [2, 0, 3, 1]
    xp = np.concatenate([w1[:, p].ravel(), b1[p], w2[p].ravel(), b2])
    frozen = MLP(X, y, hidden=(4,), optimizer="sgd", lr=1e-300, epochs=1)
    res = rs.multistart(frozen, 2, starts=np.stack([x, xp]), rng=0)
    assert len(res.solutions) == 1


# -- bad input -----------------------------------------------------------------------------
GOOD = dict(X=np.zeros((4, 2)), y=[0, 1, 1, 0])


@pytest.mark.parametrize(
    ("change", "exc", "name"),
    [
        (dict(X=np.zeros(4)), ValueError, "X"),
        (dict(X=[["a", "b"]] * 4), TypeError, "X"),
        (dict(X=None), TypeError, "X"),
        (dict(X=np.array([[0.0, np.nan]] * 4)), ValueError, "X"),
        (dict(X=np.array([[0.0, np.inf]] * 4)), ValueError, "X"),
        (dict(y=[0, 1, 1]), ValueError, "y"),
        (dict(y=["a", "b", "a", "b"]), TypeError, "y"),
        (dict(y=[0.5, 1, 1, 0]), ValueError, "y"),
        (dict(y=[1, 1, 1, 1]), ValueError, "y"),
        (dict(y=np.zeros((4, 2), dtype=int)), ValueError, "y"),
        (dict(y=[0.0, np.nan, 1, 0], loss="mse"), ValueError, "y"),
        (dict(activation="softplus"), ValueError, "activation"),
        (dict(loss="hinge"), ValueError, "loss"),
        (dict(optimizer="rmsprop"), ValueError, "optimizer"),
        (dict(init="glorot"), ValueError, "init"),
        (dict(init=3), TypeError, "init"),
        (dict(init="constant", init_params={"gain": 2}), TypeError, "init_params"),
        (dict(bias_init="he_normal"), ValueError, "bias_init"),
        (dict(lr=0.0), ValueError, "lr"),
        (dict(lr=-1e-3), ValueError, "lr"),
        (dict(lr="fast"), TypeError, "lr"),
        (dict(epochs=0), ValueError, "epochs"),
        (dict(epochs=2.5), TypeError, "epochs"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(hidden=(4, 0)), ValueError, "hidden"),
        (dict(hidden="32"), TypeError, "hidden"),
        (dict(alpha=-1.0), ValueError, "alpha"),
        (dict(dtype="float16"), ValueError, "dtype"),
        (dict(dtype="int64"), ValueError, "dtype"),
        (dict(dtype="banana"), TypeError, "dtype"),
    ],
)
def test_bad_input_names_the_argument(change, exc, name):
    with pytest.raises(exc, match=rf"'{name}' parameter of MLP\(\)"):
        MLP(**{**GOOD, **change})


def test_bad_start():
    mlp = MLP(**GOOD, hidden=(3,))
    with pytest.raises(ValueError, match="'start' parameter.*17 parameters"):
        mlp(np.zeros(5), np.random.default_rng(0))
    with pytest.raises(ValueError, match="'start' parameter"):
        mlp(np.full(17, np.nan), np.random.default_rng(0))


# -- float32 -------------------------------------------------------------------------------
@pytest.mark.parametrize("config", CONFIGS)
def test_float32_matches_float64_and_batches_like_single_runs(config):
    X, y, config = config_problem(config)
    m64, m32 = MLP(X, y, **config), MLP(X, y, **config, dtype="float32")
    assert m32.dtype == np.float32 and m64.dtype == np.float64
    # the same loss and gradient at the same point, to float32 rounding (the float64
    # gradient is checked against finite differences above)
    x0 = np.random.default_rng(3).normal(scale=0.5, size=m64.n_params)
    f64, g64 = m64.loss_grad(x0)
    f32, g32 = m32.loss_grad(x0)
    assert g32.dtype == np.float64
    assert f32 == pytest.approx(f64, rel=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5 * np.abs(g64).max())
    seeds = [10, 11, 12]
    batch = m32.solve_batch(None, [np.random.default_rng(s) for s in seeds])
    for seed, b in zip(seeds, batch, strict=True):
        single = m32(None, np.random.default_rng(seed))
        wide = m64(None, np.random.default_rng(seed))
        assert b.x.dtype == np.float64
        # batched products round like single ones up to a few float32 ulps
        np.testing.assert_allclose(b.x, single.x, rtol=1e-6, atol=1e-7)
        assert b.fun == pytest.approx(single.fun, rel=1e-6)
        # and training in float32 follows the float64 trajectory closely (measured
        # ~2e-7 relative after 25 epochs)
        assert b.fun == pytest.approx(wide.fun, rel=1e-5)


# -- optimizers against a textbook loop ------------------------------------------------------
def textbook_steps(mlp, x0, steps):
    """Adam as in Kingma & Ba's Algorithm 1 with the bias corrections in the step size
    (their section 2 "efficient version", also scikit-learn's: epsilon is added to the
    uncorrected root of v), heavy-ball momentum and plain gradient descent, written out
    on full-batch gradients from ``loss_grad`` (checked against finite differences)."""
    x, m, v = x0.copy(), np.zeros_like(x0), np.zeros_like(x0)
    for t in range(1, steps + 1):
        g = mlp.loss_grad(x)[1]
        if mlp.optimizer == "sgd":
            x = x - mlp.lr * g
        elif mlp.optimizer == "momentum":
            m = mlp.momentum * m - mlp.lr * g
            x = x + m
        else:
            m = mlp.beta1 * m + (1 - mlp.beta1) * g
            v = mlp.beta2 * v + (1 - mlp.beta2) * g * g
            lr_t = mlp.lr * np.sqrt(1 - mlp.beta2**t) / (1 - mlp.beta1**t)
            x = x - lr_t * m / (np.sqrt(v) + mlp.epsilon)
    return x


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_optimizer_follows_the_textbook_update(optimizer):
    X, y = blobs(n=40)
    mlp = MLP(X, y, hidden=(5,), activation="tanh", optimizer=optimizer, lr=0.05,
              epochs=30, batch_size=None, beta2=0.99, epsilon=1e-6)
    x0 = np.random.default_rng(4).normal(scale=0.5, size=mlp.n_params)
    ours = mlp(x0, np.random.default_rng(0)).x
    reference = textbook_steps(mlp, x0, 30)
    assert np.max(np.abs(ours - x0)) > 0.1  # the weights did move
    np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-12)


# -- subnormal numbers ---------------------------------------------------------------------
def test_training_leaves_the_floating_point_environment_alone():
    from restarts._fpenv import flush_denormals, flushing_supported

    tiny = np.float32(1e-38)
    assert tiny * np.float32(0.01) > 0.0  # subnormal arithmetic is on outside
    X, y = blobs()
    MLP(X, y, hidden=(4,), epochs=2, dtype="float32")(None, np.random.default_rng(0))
    assert tiny * np.float32(0.01) > 0.0  # ... and still on after training
    with pytest.raises(RuntimeError), flush_denormals():
        assert (tiny * np.float32(0.01) == 0.0) == flushing_supported()
        raise RuntimeError("the environment is restored when the block raises")
    assert tiny * np.float32(0.01) > 0.0


def test_training_runs_with_subnormals_flushed(monkeypatch):
    """Training (not the caller) runs with subnormal floats flushed to zero: in float32,
    Adam's moments of weights whose gradient stopped decay into subnormals, which cost x86
    CPUs a microcode assist per operation (5x slower steps, measured)."""
    from restarts._fpenv import flushing_supported

    seen = []
    original = MLP._update

    def spy(self, theta, grad, m, v, step):
        seen.append(float(np.float32(1e-38) * np.float32(0.01)))
        return original(self, theta, grad, m, v, step)

    monkeypatch.setattr(MLP, "_update", spy)
    X, y = blobs()
    MLP(X, y, hidden=(4,), epochs=3, batch_size=10, dtype="float32").solve_batch(
        None, [np.random.default_rng(s) for s in range(2)])
    assert len(seen) == 3 * 6  # 3 epochs of 6 mini-batches
    assert all((value == 0.0) == flushing_supported() for value in seen)
    assert np.float32(1e-38) * np.float32(0.01) > 0.0


# -- optimizer settings objects -------------------------------------------------------------
@pytest.mark.parametrize("obj, named", [
    (rs.solvers.Adam(lr=0.03, beta1=0.8, beta2=0.99, epsilon=1e-7),
     dict(optimizer="adam", lr=0.03, beta1=0.8, beta2=0.99, epsilon=1e-7)),
    (rs.solvers.SGD(lr=0.05, momentum=0.7), dict(optimizer="momentum", lr=0.05, momentum=0.7)),
    (rs.solvers.SGD(lr=0.05), dict(optimizer="sgd", lr=0.05)),
])
def test_optimizer_object_trains_as_the_named_form(obj, named):
    X, y = blobs(n=40)
    a = MLP(X, y, hidden=(4,), epochs=8, batch_size=10, optimizer=obj)
    b = MLP(X, y, hidden=(4,), epochs=8, batch_size=10, **named)
    ra, rb = a(None, np.random.default_rng(2)), b(None, np.random.default_rng(2))
    assert np.array_equal(ra.x, rb.x) and ra.fun == rb.fun
    assert a.optimizer == named["optimizer"] and a.optimizer_settings == obj
    assert b.optimizer_settings == obj
    # the defaults of the string form are the documented ones
    assert MLP(X, y).optimizer_settings == rs.solvers.Adam(1e-2, 0.9, 0.999, 1e-8)


def test_optimizer_object_and_its_keywords_are_not_mixed():
    X, y = blobs(n=20)
    with pytest.raises(ValueError, match="'lr' parameter of MLP.*left out"):
        MLP(X, y, optimizer=rs.solvers.Adam(), lr=0.1)
    with pytest.raises(ValueError, match="'momentum'"):
        MLP(X, y, optimizer=rs.solvers.SGD(), momentum=0.5)
    with pytest.raises(TypeError, match="'optimizer'.*Adam"):
        MLP(X, y, optimizer=3)
    with pytest.raises(ValueError, match="'beta2' parameter of Adam"):
        rs.solvers.Adam(beta2=1.0)
    with pytest.raises(ValueError, match="'lr' parameter of SGD"):
        rs.solvers.SGD(lr=0.0)
