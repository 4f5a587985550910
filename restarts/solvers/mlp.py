"""Multilayer perceptron trained by gradient descent, forward and backward by hand.

Owns :class:`MLP` (training, batched restarts, the incremental protocol) and
:class:`TrainingState`; the optimizer settings objects live in ``optimizers.py``.

The network's final training loss depends on the initial weights: with all-zero or
constant weights the hidden units of a layer stay identical forever (Rumelhart,
Hinton & Williams 1986); a random initialisation (Glorot & Bengio 2010, He et al.
2015) breaks the symmetry. :class:`MLP` is a local solver for
:func:`restarts.multistart`: a restart draws its initial weights (or takes the
given flat parameter vector) and trains.

All restarts share one code path on stacked parameters ``(R, n_params)``; a single
call is the case ``R = 1``, so :meth:`MLP.solve_batch` reproduces single calls
(up to the rounding of batched BLAS calls) while paying numpy's per-call overhead
once for all ``R`` restarts.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import init as _init
from .._fpenv import flush_denormals
from .._result import LocalResult
from .._symmetry import canonical_params, n_params, symmetry, unflatten_params
from .._validation import check_array, check_bool, check_choice, check_int, check_real, fail
from ._base import Resumable
from .optimizers import SGD, Adam

__all__ = ["MLP"]

_OWNER = "MLP()"
_CACHE_BYTES = 2**22  # working set of one stacked step (about the L2 cache)
ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")
LOSSES = ("cross_entropy", "mse")
OPTIMIZERS = ("sgd", "momentum", "adam")


# -- activations: forward in place, derivative expressed through the output ------------
def _act_forward(z: np.ndarray, name: str) -> None:
    if name == "tanh":
        np.tanh(z, out=z)
    elif name == "relu":
        np.maximum(z, 0.0, out=z)
    elif name == "sigmoid":  # 1 / (1 + e^-z) without overflow
        z *= 0.5
        np.tanh(z, out=z)
        z += 1.0
        z *= 0.5


def _act_backward(dh: np.ndarray, h: np.ndarray, name: str) -> None:
    """Multiply ``dh`` in place by the activation's derivative, given its output ``h``."""
    if name == "tanh":
        dh *= 1.0 - h * h
    elif name == "relu":
        dh *= h > 0.0
    elif name == "sigmoid":
        dh *= h * (1.0 - h)


def _elementwise_maxima(rows: int, k: int) -> bool:
    """Whether the row maxima of ``rows`` rows of ``k`` classes are cheaper as ``k - 1``
    elementwise ``np.maximum`` calls than as one reduction along the class axis.

    Measured for k = 2..30: the reduction costs about one call plus ``k / 180`` calls
    per row (it is slow along a short axis), the maxima ``k - 1`` calls. So stacked
    restarts (many rows) take the maxima and a single mini-batch the reduction; long
    class axes reduce efficiently.
    """
    return k <= 32 and rows * k >= 180 * (k - 2)


@dataclass(eq=False)
class TrainingState:
    """Where the training of one or more stacked restarts stands (it pickles).

    ``theta``, ``m`` and ``v`` are ``(R, n_params)``: the parameters and the
    optimizer's moments (``None`` when the optimizer has none); ``step`` counts
    optimizer steps (Adam's bias correction uses it), ``epoch`` the epochs trained;
    ``curves[:, e]`` is the mean training loss of epoch ``e``; ``rngs`` are the
    restarts' own generators, which draw the epoch shuffles.
    """

    theta: np.ndarray
    m: np.ndarray | None
    v: np.ndarray | None
    rngs: list[np.random.Generator]
    curves: np.ndarray
    step: int = 0
    epoch: int = 0


def _same(value: Any, default: float) -> bool:
    """Whether a keyword still holds its default (any value that equals it)."""
    try:
        return bool(value == default)
    except Exception:  # e.g. an array: not the default
        return False


def _augment(X: np.ndarray) -> np.ndarray:
    """``[X, 1]``: inputs with a column of ones for the first layer's bias."""
    return np.hstack([X, np.ones((X.shape[0], 1))])


class MLP(Resumable):
    """A multilayer perceptron as a local solver: ``fun`` = final training loss.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        Training inputs (finite).
    y : array_like
        Targets: integer class labels of shape ``(n_samples,)`` for
        ``loss="cross_entropy"``; real values of shape ``(n_samples,)`` or
        ``(n_samples, n_outputs)`` for ``loss="mse"``.
    hidden : int or tuple of int, default=(32,)
        Width of each hidden layer (``()`` for a linear model).
    activation : {"tanh", "relu", "sigmoid", "identity"}, default="tanh"
        Hidden-layer activation. The output layer is a softmax for cross-entropy and
        the identity for MSE.
    init : str or callable, default="he_normal"
        Weight initialiser, a name from :mod:`restarts.init` or a callable
        ``(shape, rng, **init_params) -> ndarray``.
    loss : {"cross_entropy", "mse"}, default="cross_entropy"
        Mean softmax cross-entropy, or mean squared error over samples and outputs.
    optimizer : {"adam", "sgd", "momentum"}, Adam or SGD, default="adam"
        A name, with the settings as the keywords below: Adam (Kingma & Ba 2015, in
        their efficient form, as scikit-learn: the bias corrections fold into the step
        size and ``epsilon`` is added to the root of the uncorrected second moment),
        plain gradient descent, or heavy-ball momentum (``v = momentum v - lr g``). Or
        the optimizer and its settings in one object:
        :class:`~restarts.solvers.optimizers.Adam` ``(lr, beta1, beta2, epsilon)`` or
        :class:`~restarts.solvers.optimizers.SGD` ``(lr, momentum)``.
    lr : float, default=1e-2
        Learning rate (> 0), with a named ``optimizer``.
    epochs : int, default=200
        Passes over the training set (>= 1).
    batch_size : int or None, default=None
        Mini-batch size; ``None`` is full-batch gradient descent. A restart reshuffles
        the samples every epoch with its own ``rng``; the last batch may be smaller.
    init_params : dict, optional
        Keyword arguments of the initialiser, e.g. ``{"value": 0.5}`` for
        ``init="constant"`` or ``{"gain": 5 / 3}`` for ``init="xavier_normal"``.
    bias_init : float or {"zeros", "constant", "uniform", "normal"}, default=0.0
        A constant for every bias, or a fan-free initialiser (with its defaults).
    alpha : float, default=0.0
        L2 penalty: ``loss = mean data loss + alpha / 2 * sum of squared weights``
        (biases excluded). scikit-learn divides its ``alpha`` by the batch size.
    momentum : float, default=0.9
        Momentum of ``optimizer="momentum"``.
    beta1 : float, default=0.9
        Adam's decay rate of the first moment.
    beta2 : float, default=0.999
        Adam's decay rate of the second moment.
    epsilon : float, default=1e-8
        Adam's denominator offset. With an ``Adam``/``SGD`` object, leave ``lr``,
        ``momentum``, ``beta1``, ``beta2`` and ``epsilon`` out: the object holds them.
    shuffle : bool, default=True
        Reshuffle the samples every epoch (mini-batch only).
    tol : float, default=1e-8
        Relative tolerance for two hidden units to count as equal in
        ``extra["distinct_units"]`` (see :func:`restarts.symmetry`).
    dtype : {"float64", "float32"}, default="float64"
        Floating-point type of the training arithmetic. ``"float32"`` (the usual
        choice for neural networks) halves memory traffic and doubles SIMD width,
        which pays in batched training (:meth:`solve_batch`); single runs are
        dominated by per-call overhead. Results (``x``,
        ``fun``) are returned as float64 either way; batched and single runs stay
        identical in either type.

    Attributes
    ----------
    sizes : tuple of int
        Layer widths ``(n_features, *hidden, n_outputs)``.
    n_params : int
        Length of the flat parameter vector ``x``:
        ``[W_1.ravel(), b_1, W_2.ravel(), b_2, ...]``, ``W_l`` of shape
        ``(sizes[l-1], sizes[l])``.
    classes_ : ndarray or None
        The sorted class labels (cross-entropy); output ``k`` is ``classes_[k]``.

    Notes
    -----
    A call ``mlp(start, rng)`` returns a :class:`~restarts.LocalResult` with ``x`` the
    trained flat parameters, ``fun`` the loss on the whole training set at ``x``,
    ``nit`` the epochs, ``nfev`` the gradient evaluations, and ``extra``:
    ``distinct_units`` (a tuple per hidden layer), ``loss_curve`` (the mean training
    loss of every epoch, while training) and ``train_accuracy`` (cross-entropy).
    ``start=None`` draws initial weights with ``init`` from ``rng``; otherwise ``start``
    is the initial flat parameter vector. ``canonical(x)`` sorts the hidden units, so
    networks that differ by a permutation of hidden units count as one optimum.

    Training runs with subnormal floats flushed to zero on x86-64 Linux
    (``restarts._fpenv``): in float32 they appear all the time (softmax
    probabilities, Adam moments of stalled weights) and each operation on one costs
    x86 CPUs a microcode assist; the values flushed are far below float32's
    resolution of the weights.

    The incremental protocol (``begin``, ``advance``, ``current``, ``finished``;
    ``max_budget = epochs``) trains a restart in pieces: the state holds the
    optimizer's moments and step count and the restart's ``rng``, so 10 + 20 + 70
    epochs give bit for bit the result of 100.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> mlp = rs.solvers.MLP(X, [0, 1, 1, 0], hidden=(4,), init="xavier_normal",
    ...                      lr=0.1, epochs=300)
    >>> r = mlp(None, np.random.default_rng(0))
    >>> r.fun < 0.05, r.extra["train_accuracy"], r.extra["distinct_units"]
    (True, 1.0, (4,))
    """

    _data_attrs = ("_Xa", "_y")

    def __init__(
        self,
        X: Any,
        y: Any,
        hidden: int | Sequence[int] = (32,),
        activation: str = "tanh",
        init: str | Callable[..., np.ndarray] = "he_normal",
        loss: str = "cross_entropy",
        optimizer: str | Adam | SGD = "adam",
        lr: float = 1e-2,
        epochs: int = 200,
        batch_size: int | None = None,
        *,
        init_params: dict | None = None,
        bias_init: float | str = 0.0,
        alpha: float = 0.0,
        momentum: float = 0.9,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        shuffle: bool = True,
        tol: float = 1e-8,
        dtype: Any = "float64",
    ) -> None:
        self.activation = check_choice(activation, "activation", _OWNER, ACTIVATIONS)
        self.loss = check_choice(loss, "loss", _OWNER, LOSSES)
        self._set_optimizer(optimizer, {"lr": lr, "momentum": momentum, "beta1": beta1,
                                        "beta2": beta2, "epsilon": epsilon})
        self.epochs = check_int(epochs, "epochs", _OWNER, low=1)
        self.alpha = check_real(alpha, "alpha", _OWNER, low=0.0)
        self.shuffle = check_bool(shuffle, "shuffle", _OWNER)
        self.tol = check_real(tol, "tol", _OWNER, low=0.0)
        self.dtype = self._check_dtype(dtype)

        X = self._check_X(X)
        n = X.shape[0]
        self._y, n_out = self._check_y(y, n)
        self.hidden = self._check_hidden(hidden)
        # ``batch_size`` is kept under the API name too; the driver reads restarts per
        # solve_batch call from ``restarts_per_batch``, never from this.
        self.mini_batch_size = check_int(batch_size, "batch_size", _OWNER, low=1,
                                         allow_none=True)
        self.batch_size = self.mini_batch_size
        self.sizes = (X.shape[1], *self.hidden, n_out)
        self._Xa = _augment(X).astype(self.dtype, copy=False)
        if self.loss == "mse":
            self._y = self._y.astype(self.dtype)
        self._ones_cache: dict[int, np.ndarray] = {}
        self._offsets_cache: dict[tuple[int, int, int], np.ndarray] = {}
        self.n_params = n_params(self.sizes)

        if isinstance(init, str):
            self.init = check_choice(init, "init", _OWNER, _init.names())
        elif callable(init):
            self.init = getattr(init, "__name__", "callable")
        else:
            expected = f"one of {list(_init.names())} or a callable"
            raise fail("init", _OWNER, expected, init, TypeError)
        self._init = _init.get(init, owner=_OWNER, param="init")
        if init_params is not None and not isinstance(init_params, dict):
            raise fail("init_params", _OWNER, "a dict or None", init_params, TypeError)
        self._init_params = dict(init_params or {})
        if isinstance(bias_init, str):
            self.bias_init = check_choice(bias_init, "bias_init", _OWNER, _init.FAN_FREE)
        else:
            self.bias_init = check_real(bias_init, "bias_init", _OWNER)
        # Draw once now so that bad init_params fail at construction, not in a restart.
        try:
            self._initial_params(np.random.default_rng(0))
        except TypeError as exc:
            raise TypeError(
                f"The 'init_params' parameter of {_OWNER} must be keyword arguments of "
                f"init={self.init!r}. Got {self._init_params!r} instead ({exc})."
            ) from exc

    # -- validation --------------------------------------------------------------------
    def _set_optimizer(self, optimizer: Any, given: dict[str, float]) -> None:
        """``optimizer``, ``lr``, ``momentum``, ``beta1``, ``beta2``, ``epsilon`` from an
        ``Adam``/``SGD`` object or from a name and the keywords."""
        defaults = {"lr": 1e-2, "momentum": 0.9, "beta1": 0.9, "beta2": 0.999,
                    "epsilon": 1e-8}  # the signature's
        if isinstance(optimizer, (Adam, SGD)):
            # a keyword changed from its default would be silently ignored: refuse it
            extra = [k for k, v in given.items() if not _same(v, defaults[k])]
            if extra:
                raise ValueError(
                    f"The '{extra[0]}' parameter of {_OWNER} must be left out when "
                    f"optimizer is {optimizer!r}: set it in the optimizer object. Got "
                    f"{extra[0]}={given[extra[0]]!r} instead."
                )
            self.optimizer = optimizer.name
            values = defaults | optimizer.settings()
        elif isinstance(optimizer, str) or optimizer is None:
            self.optimizer = check_choice(optimizer, "optimizer", _OWNER, OPTIMIZERS)
            values = given
        else:
            raise fail("optimizer", _OWNER, f"one of {list(OPTIMIZERS)}, Adam(...) or "
                       "SGD(...)", optimizer, TypeError)
        self.lr = check_real(values["lr"], "lr", _OWNER, low=0.0, strict_low=True)
        self.momentum = check_real(values["momentum"], "momentum", _OWNER, low=0.0, high=1.0)
        self.beta1 = check_real(values["beta1"], "beta1", _OWNER, low=0.0, high=1.0)
        self.beta2 = check_real(values["beta2"], "beta2", _OWNER, low=0.0, high=1.0)
        if self.beta1 == 1.0 or self.beta2 == 1.0:
            raise fail("beta1" if self.beta1 == 1.0 else "beta2", _OWNER, "in [0, 1)", 1.0)
        self.epsilon = check_real(values["epsilon"], "epsilon", _OWNER, low=0.0,
                                  strict_low=True)

    @property
    def optimizer_settings(self) -> Adam | SGD:
        """The optimizer and its settings as one object (whichever form was given).

        Examples
        --------
        >>> import numpy as np, restarts as rs
        >>> rs.solvers.MLP(np.eye(2), [0, 1], optimizer="momentum", lr=0.1).optimizer_settings
        SGD(lr=0.1, momentum=0.9)
        """
        if self.optimizer == "adam":
            return Adam(self.lr, self.beta1, self.beta2, self.epsilon)
        return SGD(self.lr, self.momentum if self.optimizer == "momentum" else 0.0)

    @staticmethod
    def _check_dtype(dtype: Any) -> np.dtype:
        expected = "'float64' or 'float32'"
        try:
            dt = np.dtype(dtype)
        except TypeError as exc:
            raise fail("dtype", _OWNER, expected, dtype, TypeError) from exc
        if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise fail("dtype", _OWNER, expected, dtype)
        return dt

    @staticmethod
    def _check_X(X: Any, owner: str = _OWNER) -> np.ndarray:
        return np.ascontiguousarray(check_array(X, "X", owner, min_cols=1))

    def _check_y(self, y: Any, n: int) -> tuple[np.ndarray, int]:
        if isinstance(y, (str, bytes)) or y is None:
            raise fail("y", _OWNER, "a numeric array", y, TypeError)
        arr = np.asarray(y)
        if arr.dtype.kind not in "biuf":
            raise fail("y", _OWNER, "a numeric array", y, TypeError)
        if arr.shape[:1] != (n,):
            raise ValueError(
                f"The 'y' parameter of {_OWNER} must have one entry per row of X "
                f"({n}). Got shape {arr.shape} instead."
            )
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError(
                f"The 'y' parameter of {_OWNER} must contain only finite values. "
                "Got NaN or inf instead."
            )
        if self.loss == "mse":
            if arr.ndim not in (1, 2):
                raise ValueError(
                    f"The 'y' parameter of {_OWNER} with loss='mse' must be an array of "
                    f"shape (n_samples,) or (n_samples, n_outputs). Got shape {arr.shape} instead."
                )
            arr = arr.astype(float).reshape(n, -1)
            self.classes_ = None
            return np.ascontiguousarray(arr), arr.shape[1]
        if arr.ndim != 1:
            raise ValueError(
                f"The 'y' parameter of {_OWNER} with loss='cross_entropy' must be 1-d "
                f"integer class labels. Got shape {arr.shape} instead."
            )
        if arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
            raise ValueError(
                f"The 'y' parameter of {_OWNER} with loss='cross_entropy' must hold "
                "integer class labels. Got non-integer values instead."
            )
        self.classes_, codes = np.unique(arr, return_inverse=True)
        if self.classes_.size < 2:
            raise ValueError(
                f"The 'y' parameter of {_OWNER} with loss='cross_entropy' must hold at "
                f"least 2 classes. Got {self.classes_.size} instead."
            )
        return codes.reshape(n).astype(np.intp), int(self.classes_.size)

    @staticmethod
    def _check_hidden(hidden: Any) -> tuple[int, ...]:
        expected = "an int >= 1 or a tuple of ints >= 1"
        if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
            hidden = (hidden,)
        if not isinstance(hidden, Sequence) or isinstance(hidden, str):
            raise fail("hidden", _OWNER, expected, hidden, TypeError)
        if any(isinstance(h, bool) or not isinstance(h, numbers.Integral) for h in hidden):
            raise fail("hidden", _OWNER, expected, hidden, TypeError)
        if any(h < 1 for h in hidden):
            raise fail("hidden", _OWNER, expected, hidden)
        return tuple(int(h) for h in hidden)

    def _check_start(self, start: Any) -> np.ndarray:
        owner = "MLP.__call__()"
        x = check_array(start, "start", owner, ndim=1)
        if x.shape != (self.n_params,):
            raise ValueError(
                f"The 'start' parameter of {owner} must be None or a flat vector of "
                f"{self.n_params} parameters (layer widths {self.sizes}). "
                f"Got shape {x.shape} instead."
            )
        return x

    # -- parameters --------------------------------------------------------------------
    def _initial_params(self, rng: np.random.Generator) -> np.ndarray:
        """Weights from ``init`` layer by layer (input first), each layer then its biases."""
        parts = []
        for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=False):
            w = np.asarray(self._init((a, b), rng, **self._init_params), dtype=float)
            if w.shape != (a, b) or not np.all(np.isfinite(w)):
                raise ValueError(
                    f"The 'init' parameter of {_OWNER} must produce finite arrays of the "
                    f"requested shape. Got shape {w.shape} for {(a, b)} instead."
                )
            if isinstance(self.bias_init, str):
                bias = np.asarray(_init.get(self.bias_init)((b,), rng), dtype=float)
            else:
                bias = np.full(b, self.bias_init)
            parts += [w.ravel(), bias]
        return np.concatenate(parts)

    def _views(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per layer, views of stacked parameters ``(R, n_params)``: ``(Wb, W, b)``.

        A layer's ``W.ravel()`` followed by ``b`` is the row-major ``(fan_in + 1,
        fan_out)`` matrix ``Wb`` whose last row is ``b``; the first layer uses it with
        inputs augmented by a column of ones, which adds the bias inside the matrix
        product and yields the bias gradient with the weight gradient.
        """
        r, out, k = theta.shape[0], [], 0
        for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=False):
            wb = theta[:, k : k + (a + 1) * b].reshape(r, a + 1, b)
            k += (a + 1) * b
            out.append((wb, wb[:, :a, :], wb[:, a, :]))
        return out

    def unflatten(self, x: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """Split a flat parameter vector into ``[(W_1, b_1), ...]``.

        Examples
        --------
        >>> import numpy as np, restarts as rs
        >>> mlp = rs.solvers.MLP(np.zeros((3, 2)), [0, 1, 0], hidden=(4,))
        >>> [(w.shape, b.shape) for w, b in mlp.unflatten(np.zeros(mlp.n_params))]
        [((2, 4), (4,)), ((4, 2), (2,))]
        """
        return unflatten_params(x, self.sizes, "MLP.unflatten()")

    def canonical(self, x: Any) -> np.ndarray:
        """``x`` with the hidden units of each layer sorted (see :func:`restarts.symmetry`).

        Networks that differ only by a permutation of hidden units map to the same
        vector, so :func:`restarts.multistart` counts them as one solution. Sign flips
        of a unit (a further symmetry of odd activations such as tanh) are not removed.

        Examples
        --------
        >>> import numpy as np, restarts as rs
        >>> mlp = rs.solvers.MLP(np.eye(2), [0, 1], hidden=(3,))
        >>> x = mlp(None, np.random.default_rng(0)).x
        >>> W1 = mlp.unflatten(mlp.canonical(x))[0][0]
        >>> bool(np.all(np.diff(W1[0]) >= 0))  # units sorted by their first weight
        True
        """
        return canonical_params(x, self.sizes)

    def distinct_units(self, x: Any) -> tuple[int, ...]:
        """Distinct hidden units per layer of the network ``x`` (``restarts.symmetry``)."""
        return symmetry(x, self.sizes, tol=self.tol)

    # -- forward / backward on stacked parameters ---------------------------------------
    def _ones(self, n: int) -> np.ndarray:
        """A cached vector of ones: sums over an axis as matrix products (BLAS, not ufunc
        reductions, which are slow along short or strided axes)."""
        ones = self._ones_cache.get(n)
        if ones is None:
            ones = self._ones_cache[n] = np.ones(n, dtype=self.dtype)
        return ones

    def _cell_offsets(self, r: int, nb: int, k: int) -> np.ndarray:
        """Flat index of ``[i, j, 0]`` in an ``(r, nb, k)`` array, shape ``(r, nb)``
        (cached: the same few shapes recur every step)."""
        key = (r, nb, k)
        offsets = self._offsets_cache.get(key)
        if offsets is None:
            offsets = (np.arange(r)[:, None] * nb + np.arange(nb)) * k
            self._offsets_cache[key] = offsets
        return offsets

    def _forward(self, lv: list, xa: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Hidden activations ``[xa, h_1, ...]`` (each ``(R, B, width)``) and the output layer's
        pre-activation, for inputs ``xa`` augmented with ones (``(B, d+1)`` shared by all
        restarts or ``(R, B, d+1)``)."""
        acts = [xa]
        last = len(lv) - 1
        for i, (wb, w, b) in enumerate(lv):
            if i == 0:
                z = np.matmul(xa, wb)
            else:
                z = np.matmul(acts[-1], w)
                z += b[:, None, :]
            if i == last:
                return acts, z
            _act_forward(z, self.activation)
            acts.append(z)
        raise AssertionError("unreachable")  # pragma: no cover

    def _loss_grad(self, lv: list, gv: list | None, xa: np.ndarray, yb: np.ndarray) -> np.ndarray:
        """Mean loss per restart ``(R,)`` on a batch; with ``gv``, the gradient written
        into its views.

        ``xa`` is ``(B, d+1)`` (shared) or ``(R, B, d+1)``; ``yb`` is ``(B,)``/``(B, k)``
        (shared) or ``(R, B)``/``(R, B, k)``.
        """
        acts, out = self._forward(lv, xa)
        r, nb, k = out.shape
        if self.loss == "cross_entropy":
            # log-sum-exp with the row maximum, taken the cheaper of two ways
            if _elementwise_maxima(r * nb, k):
                mx = out[..., 0].copy()
                for j in range(1, k):
                    np.maximum(mx, out[..., j], out=mx)
            else:
                mx = out.max(axis=2)
            out -= mx[..., None]
            # flat positions of the true classes: one gather and one scatter, not 3-d
            # fancy indexing (twice as slow on small stacks)
            flat = self._cell_offsets(r, nb, k) + yb
            picked = np.take(out, flat)
            prob = np.exp(out)
            norm = np.matmul(prob, self._ones(k))
            nll = np.log(norm)
            nll -= picked
            # row means as matrix products, one per restart: a single (R, nb) product
            # rounds a row differently with R (BLAS kernels block rows), and restart
            # i must not depend on how many restarts share its stack
            loss = np.matmul(nll[:, None, :], self._ones(nb))[:, 0] / nb
        else:
            diff = out - yb
            loss = np.einsum("rbk,rbk->r", diff, diff) / (nb * k)
        if self.alpha:
            loss += 0.5 * self.alpha * sum(np.einsum("rij,rij->r", w, w) for _, w, _ in lv)
        if gv is None:
            return loss
        if self.loss == "cross_entropy":
            norm *= nb
            np.divide(1.0, norm, out=norm)
            prob *= norm[..., None]
            prob.reshape(-1)[flat] -= 1.0 / nb
            delta = prob
        else:
            diff *= 2.0 / (nb * k)
            delta = diff
        for i in range(len(lv) - 1, -1, -1):
            gwb, gw, gb = gv[i]
            if i == 0:
                np.matmul(np.swapaxes(xa, -1, -2), delta, out=gwb)
                break
            h = acts[i]
            np.matmul(np.swapaxes(h, -1, -2), delta, out=gw)
            np.matmul(self._ones(nb), delta, out=gb)
            delta = np.matmul(delta, np.swapaxes(lv[i][1], -1, -2))
            _act_backward(delta, h, self.activation)
        if self.alpha:
            for (_, w, _), (_, gw, _) in zip(lv, gv, strict=True):
                gw += self.alpha * w
        return loss

    def loss_grad(self, x: Any) -> tuple[float, np.ndarray]:
        """Training loss and its gradient at the flat parameters ``x`` (whole data set).

        Examples
        --------
        >>> import numpy as np, restarts as rs
        >>> mlp = rs.solvers.MLP(np.eye(2), [0, 1], hidden=(3,))
        >>> f, g = mlp.loss_grad(np.zeros(mlp.n_params))
        >>> round(f, 6), g.shape  # log 2: both classes equally likely
        (0.693147, (17,))
        """
        theta = self._check_start(x)[None, :].astype(self.dtype)
        grad = np.empty_like(theta)
        with np.errstate(all="ignore"):
            loss = self._loss_grad(self._views(theta), self._views(grad), self._Xa, self._y)
        return float(loss[0]), grad[0].astype(float)

    def predict(self, x: Any, X: Any) -> np.ndarray:
        """Predictions of the network ``x`` on inputs ``X``: labels or real outputs.

        Examples
        --------
        >>> import numpy as np, restarts as rs
        >>> mlp = rs.solvers.MLP(np.eye(2), [3, 7], hidden=(3,))
        >>> mlp.predict(np.zeros(mlp.n_params), np.eye(2)).tolist()  # a tie: first class
        [3, 3]
        """
        theta = self._check_start(x)[None, :].astype(self.dtype)
        X = self._check_X(X, "MLP.predict()")
        if X.shape[1] != self.sizes[0]:
            raise ValueError(
                f"The 'X' parameter of MLP.predict() must have {self.sizes[0]} features. "
                f"Got shape {X.shape} instead."
            )
        with np.errstate(all="ignore"):
            out = self._forward(self._views(theta), _augment(X).astype(self.dtype))[1][0]
        if self.loss == "cross_entropy":
            return self.classes_[np.argmax(out, axis=1)]
        return out[:, 0] if out.shape[1] == 1 else out

    # -- training (the incremental protocol: begin, advance, current, finished) ---------
    budget_unit = "epochs"

    @property
    def max_budget(self) -> int:
        """The full budget of a restart: ``epochs``."""
        return self.epochs

    def _begin_stack(self, starts: Sequence[Any], rngs: Sequence[np.random.Generator]
                     ) -> TrainingState:
        """The state of ``len(rngs)`` restarts trained together (stacked parameters)."""
        theta = np.stack([self._start_theta(s, g) for s, g in zip(starts, rngs, strict=True)])
        return TrainingState(
            theta=theta,
            m=np.zeros_like(theta) if self.optimizer in ("momentum", "adam") else None,
            v=np.zeros_like(theta) if self.optimizer == "adam" else None,
            rngs=list(rngs),
            curves=np.zeros((theta.shape[0], self.epochs)),
        )

    def begin(self, start: Any, rng: np.random.Generator) -> TrainingState:
        """Draw (or take) one restart's initial weights; no training yet.

        The state holds the parameters, the optimizer's moments and step count, the
        loss curve so far and the restart's ``rng`` (the epoch shuffles continue from
        it), so advancing 10, 20 and 70 epochs trains exactly as 100 at once.
        """
        return self._begin_stack([start], [rng])

    def stack(self, states: Sequence[TrainingState]) -> TrainingState:
        """One state training the restarts of ``states`` together (copies; they must
        have trained the same number of epochs). Racing advances a chunk this way."""
        if len({(s.epoch, s.step) for s in states}) != 1:
            raise ValueError(
                "The 'states' parameter of MLP.stack() must hold states at one epoch. "
                f"Got epochs {sorted({s.epoch for s in states})} instead.")

        def cat(name: str) -> np.ndarray | None:
            parts = [getattr(s, name) for s in states]
            return None if parts[0] is None else np.concatenate(parts)

        return TrainingState(theta=cat("theta"), m=cat("m"), v=cat("v"),
                             rngs=[g for s in states for g in s.rngs], curves=cat("curves"),
                             step=states[0].step, epoch=states[0].epoch)

    def current_stack(self, state: TrainingState) -> list[LocalResult]:
        """``current`` of every restart of a stacked ``state``, in one batched pass."""
        return self._results(state)

    def unstack(self, state: TrainingState) -> list[TrainingState]:
        """The restarts of a stacked ``state``, one state each (copies)."""

        def row(a: np.ndarray | None, i: int) -> np.ndarray | None:
            return None if a is None else a[i : i + 1].copy()

        return [TrainingState(theta=row(state.theta, i), m=row(state.m, i),
                              v=row(state.v, i), rngs=[state.rngs[i]],
                              curves=row(state.curves, i), step=state.step, epoch=state.epoch)
                for i in range(state.theta.shape[0])]

    def finished(self, state: TrainingState) -> bool:
        """Whether all ``epochs`` are trained."""
        return state.epoch >= self.epochs

    def _advance(self, state: TrainingState, budget: int) -> None:
        # subnormal floats flushed: see restarts/_fpenv.py (x86 assists, 5x slower steps)
        with np.errstate(all="ignore"), flush_denormals():
            self._train(state, min(budget, self.epochs - state.epoch))

    def current(self, state: TrainingState) -> LocalResult:
        """The network trained so far (``nit``: epochs trained; ``fun``: its loss)."""
        return self._results(state)[0]

    def _train(self, state: TrainingState, epochs: int) -> None:
        """Train stacked parameters ``epochs`` more epochs, updating ``state`` in place."""
        theta, rngs, curves = state.theta, state.rngs, state.curves
        r, n = theta.shape[0], self._Xa.shape[0]
        xa, y = self._Xa, self._y
        grad = np.empty_like(theta)
        lv, gv = self._views(theta), self._views(grad)
        bs = n if self.mini_batch_size is None else min(self.mini_batch_size, n)
        bounds = [(s, min(s + bs, n)) for s in range(0, n, bs)]
        mini = len(bounds) > 1
        buffers: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for epoch in range(state.epoch, state.epoch + epochs):
            if mini and self.shuffle:
                perm = np.stack([g.permutation(n) for g in rngs])
            for s, e in bounds:
                if not mini:
                    xb, yb = xa, y
                elif self.shuffle:
                    idx = perm[:, s:e]
                    xb, yb = buffers.get(e - s, (None, None))
                    if xb is None:  # reused every step: no allocation in the loop
                        xb = np.empty((r, e - s, xa.shape[1]), dtype=xa.dtype)
                        yb = np.empty((r, e - s, *y.shape[1:]), dtype=y.dtype)
                        buffers[e - s] = (xb, yb)
                    # mode="clip": with out=, the default mode="raise" buffers the copy
                    # (indices come from a permutation, always valid)
                    np.take(xa, idx, axis=0, out=xb, mode="clip")
                    np.take(y, idx, axis=0, out=yb, mode="clip")
                else:
                    xb, yb = xa[s:e], y[s:e]
                loss = self._loss_grad(lv, gv, xb, yb)
                curves[:, epoch] += loss * ((e - s) / n)
                state.step += 1
                self._update(theta, grad, state.m, state.v, state.step)
            state.epoch = epoch + 1

    def _update(self, theta, grad, m, v, step: int) -> None:
        if self.optimizer == "sgd":
            grad *= self.lr
            theta -= grad
        elif self.optimizer == "momentum":
            m *= self.momentum
            grad *= self.lr
            m -= grad
            theta += m
        else:
            # In place, no temporaries: these arrays are (R, n_params) and each pass over
            # them costs memory traffic. Moments are kept unnormalised, u = m / (1 - b1)
            # and w = v / (1 - b2), so each decays in two passes (u <- b1 u + g) and the
            # constants fold into the step size and epsilon: with c_t the bias correction,
            # lr c_t m / (sqrt(v) + eps) = lr' u / (sqrt(w) + eps'). 10 passes, not 12.
            m *= self.beta1
            m += grad
            grad *= grad
            v *= self.beta2
            v += grad
            # Python floats: a NumPy float64 scalar would run float32 updates in float64
            root = math.sqrt(1.0 - self.beta2)
            step_size = (self.lr * math.sqrt(1.0 - self.beta2**step) * (1.0 - self.beta1)
                         / ((1.0 - self.beta1**step) * root))
            denom = np.sqrt(v, out=grad)  # the gradient is spent: reuse its memory
            denom += self.epsilon / root
            np.divide(m, denom, out=denom)
            denom *= step_size
            theta -= denom

    def _results(self, state: TrainingState) -> list[LocalResult]:
        theta, epochs = state.theta, state.epoch
        with np.errstate(all="ignore"), flush_denormals():
            final = self._loss_grad(self._views(theta), None, self._Xa, self._y)
            acc = None
            if self.loss == "cross_entropy":
                pred = np.argmax(self._forward(self._views(theta), self._Xa)[1], axis=2)
                acc = (pred == self._y[None, :]).mean(axis=1)
        out = []
        for i in range(theta.shape[0]):
            fun = float(final[i])
            ok = bool(np.isfinite(fun) and np.all(np.isfinite(theta[i])))
            extra: dict[str, Any] = {
                "distinct_units": self.distinct_units(theta[i]) if ok else None,
                "loss_curve": state.curves[i, :epochs].tolist(),
            }
            if acc is not None:
                extra["train_accuracy"] = float(acc[i])
            out.append(
                LocalResult(
                    x=theta[i].astype(float),
                    fun=fun,
                    success=ok,
                    nit=epochs,
                    nfev=state.step,
                    message=f"trained {epochs} epochs" if ok
                    else "training diverged (non-finite loss); try a smaller lr",
                    extra=extra,
                )
            )
        return out

    def _start_theta(self, start: Any, rng: np.random.Generator) -> np.ndarray:
        theta = self._initial_params(rng) if start is None else self._check_start(start)
        return theta.astype(self.dtype, copy=False)

    def solve_batch(
        self, starts: Sequence[Any] | None, rngs: Sequence[np.random.Generator]
    ) -> list[LocalResult]:
        """Train ``len(rngs)`` networks together on stacked arrays.

        Restart ``i`` draws its initial weights (when ``starts[i]`` is ``None``) and
        then its epoch shuffles from ``rngs[i]`` alone, exactly as ``self(starts[i],
        rngs[i])`` does, so the results equal single calls up to the rounding of
        batched matrix products.

        Parameters
        ----------
        starts : sequence or None
            One start per restart (``None`` or a flat parameter vector), or ``None``
            for all.
        rngs : sequence of numpy.random.Generator
            One private generator per restart.

        Returns
        -------
        list of LocalResult

        Examples
        --------
        >>> import numpy as np, restarts as rs
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> mlp = rs.solvers.MLP(X, [0, 1, 1, 0], hidden=(3,), epochs=50)
        >>> rngs = [np.random.default_rng(s) for s in range(3)]
        >>> batch = mlp.solve_batch(None, rngs)
        >>> single = mlp(None, np.random.default_rng(2))
        >>> bool(np.isclose(batch[2].fun, single.fun, rtol=1e-10))
        True
        """
        rngs = list(rngs)
        if starts is None:
            starts = [None] * len(rngs)
        starts = list(starts)
        if len(starts) != len(rngs):
            raise ValueError(
                "The 'starts' parameter of MLP.solve_batch() must have one entry per rng "
                f"({len(rngs)}). Got {len(starts)} instead."
            )
        if not rngs:
            return []
        out: list[LocalResult] = []
        size = self._chunk()
        for c in range(0, len(rngs), size):
            state = self._begin_stack(starts[c : c + size], rngs[c : c + size])
            self.advance(state, self.epochs)
            out += self._results(state)
        return out

    def _chunk(self) -> int:
        """Restarts trained together: as many as keep one step's arrays in cache.

        Stacking removes numpy's per-call overhead, but once the activations of all
        restarts outgrow the CPU cache every elementwise pass goes to memory, and
        full-batch training on large data gains nothing from stacking. Restarts are
        independent, so chunking cannot change any result.
        """
        n = self._Xa.shape[0]
        rows = n if self.mini_batch_size is None else min(self.mini_batch_size, n)
        width = self._Xa.shape[1] + 3 * sum(self.sizes[1:])
        per_restart = self.dtype.itemsize * (rows * width + 4 * self.n_params)
        return max(1, _CACHE_BYTES // per_restart)
