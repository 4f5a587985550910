"""Weight initialisers for neural networks: ``init(shape, rng, **params) -> ndarray``.

Every initialiser takes the weight matrix shape ``(fan_in, fan_out)`` (a layer maps
``fan_in`` inputs to ``fan_out`` units, so ``x @ W`` is the pre-activation) and a
:class:`numpy.random.Generator`, and returns a float64 array of that shape.

==================  =========================================  ==========================
name                distribution                               variance
==================  =========================================  ==========================
``zeros``           all zeros                                  0
``constant``        all ``value``                              0
``uniform``         U(low, high)                               (high - low)^2 / 12
``normal``          N(mean, std^2)                             std^2
``xavier_uniform``  U(-a, a), a = gain sqrt(6 / (in + out))    gain^2 2 / (in + out)
``xavier_normal``   N(0, gain^2 2 / (in + out))                gain^2 2 / (in + out)
``he_uniform``      U(-a, a), a = sqrt(6 / in)                 2 / in
``he_normal``       N(0, 2 / in)                               2 / in
``lecun_normal``    N(0, 1 / in)                               1 / in
``orthogonal``      gain Q, Q from the QR of a Gaussian matrix  gain^2 / max(in, out)
==================  =========================================  ==========================

The normal variants are plain (not truncated) Gaussians, as in PyTorch's
``torch.nn.init``; Keras truncates at two standard deviations and rescales.

References
----------
.. [1] X. Glorot and Y. Bengio, "Understanding the difficulty of training deep
   feedforward neural networks", AISTATS 2010.
.. [2] K. He, X. Zhang, S. Ren and J. Sun, "Delving deep into rectifiers: surpassing
   human-level performance on ImageNet classification", ICCV 2015.
.. [3] Y. LeCun, L. Bottou, G. Orr and K.-R. Mueller, "Efficient BackProp", in
   Neural Networks: Tricks of the Trade, 1998.
.. [4] A. Saxe, J. McClelland and S. Ganguli, "Exact solutions to the nonlinear
   dynamics of learning in deep linear neural networks", ICLR 2014.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._validation import check_real, fail

__all__ = [
    "zeros",
    "constant",
    "uniform",
    "normal",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
    "lecun_normal",
    "orthogonal",
    "get",
    "names",
]

Initializer = Callable[..., np.ndarray]


def _shape(shape: Any, owner: str, *, fans: bool = False) -> tuple[int, ...]:
    """Validate ``shape``: a tuple of positive ints, exactly two when fans are needed."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool) and not fans:
        shape = (shape,)
    expected = "a pair (fan_in, fan_out) of ints >= 1" if fans else "a tuple of ints >= 1"
    if not isinstance(shape, Sequence) or isinstance(shape, str):
        raise fail("shape", owner, expected, shape, TypeError)
    if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) for s in shape):
        raise fail("shape", owner, expected, shape, TypeError)
    out = tuple(int(s) for s in shape)
    if not out or any(s < 1 for s in out) or (fans and len(out) != 2):
        raise fail("shape", owner, expected, shape)
    return out


def _rng(rng: Any, owner: str) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise fail("rng", owner, "a numpy.random.Generator, an int or None", rng, TypeError)


def zeros(shape: Sequence[int] | int, rng: Any = None) -> np.ndarray:
    """All-zero weights (``rng`` is ignored).

    Every unit of a layer gets the same weights, so the units receive the same
    gradient and stay identical during training: the symmetry is never broken.

    Examples
    --------
    >>> import restarts as rs
    >>> rs.init.zeros((2, 3)).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    return np.zeros(_shape(shape, "zeros()"))


def constant(shape: Sequence[int] | int, rng: Any = None, *, value: float = 0.5) -> np.ndarray:
    """Every weight equal to ``value`` (``rng`` is ignored); symmetric like :func:`zeros`.

    Examples
    --------
    >>> import restarts as rs
    >>> rs.init.constant((1, 2), value=0.25).tolist()
    [[0.25, 0.25]]
    """
    value = check_real(value, "value", "constant()")
    return np.full(_shape(shape, "constant()"), value)


def uniform(
    shape: Sequence[int] | int, rng: Any = None, *, low: float = -0.05, high: float = 0.05
) -> np.ndarray:
    """Weights drawn from U(``low``, ``high``) (Keras' ``RandomUniform`` defaults).

    Examples
    --------
    >>> import restarts as rs
    >>> w = rs.init.uniform((100, 10), rng=0, low=-1.0, high=1.0)
    >>> bool(w.min() >= -1.0 and w.max() < 1.0)
    True
    """
    low = check_real(low, "low", "uniform()")
    high = check_real(high, "high", "uniform()")
    if not high > low:
        raise fail("high", "uniform()", f"greater than low={low}", high)
    return _rng(rng, "uniform()").uniform(low, high, size=_shape(shape, "uniform()"))


def normal(
    shape: Sequence[int] | int, rng: Any = None, *, mean: float = 0.0, std: float = 0.05
) -> np.ndarray:
    """Weights drawn from N(``mean``, ``std``²) (Keras' ``RandomNormal`` defaults).

    Examples
    --------
    >>> import restarts as rs
    >>> rs.init.normal((3, 4), rng=0).shape
    (3, 4)
    """
    mean = check_real(mean, "mean", "normal()")
    std = check_real(std, "std", "normal()", low=0.0)
    return _rng(rng, "normal()").normal(mean, std, size=_shape(shape, "normal()"))


def xavier_uniform(shape: Sequence[int], rng: Any = None, *, gain: float = 1.0) -> np.ndarray:
    """Glorot & Bengio (2010): U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out)).

    The variance is gain² 2 / (fan_in + fan_out), the compromise between keeping the
    forward activations and the backward gradients at unit scale.

    Examples
    --------
    >>> import restarts as rs
    >>> w = rs.init.xavier_uniform((4, 2), rng=0)
    >>> bool(abs(w).max() <= 1.0)  # a = sqrt(6 / 6)
    True
    """
    fan_in, fan_out = _shape(shape, "xavier_uniform()", fans=True)
    gain = check_real(gain, "gain", "xavier_uniform()", low=0.0)
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return _rng(rng, "xavier_uniform()").uniform(-a, a, size=(fan_in, fan_out))


def xavier_normal(shape: Sequence[int], rng: Any = None, *, gain: float = 1.0) -> np.ndarray:
    """Glorot & Bengio (2010): N(0, gain² 2 / (fan_in + fan_out)).

    Examples
    --------
    >>> import restarts as rs
    >>> rs.init.xavier_normal((64, 32), rng=0).shape
    (64, 32)
    """
    fan_in, fan_out = _shape(shape, "xavier_normal()", fans=True)
    gain = check_real(gain, "gain", "xavier_normal()", low=0.0)
    std = gain * np.sqrt(2.0 / (fan_in + fan_out))
    return _rng(rng, "xavier_normal()").normal(0.0, std, size=(fan_in, fan_out))


def he_uniform(shape: Sequence[int], rng: Any = None) -> np.ndarray:
    """He et al. (2015): U(-a, a) with a = sqrt(6 / fan_in), variance 2 / fan_in.

    Examples
    --------
    >>> import restarts as rs
    >>> w = rs.init.he_uniform((6, 3), rng=0)
    >>> bool(abs(w).max() <= 1.0)  # a = sqrt(6 / 6)
    True
    """
    fan_in, fan_out = _shape(shape, "he_uniform()", fans=True)
    a = np.sqrt(6.0 / fan_in)
    return _rng(rng, "he_uniform()").uniform(-a, a, size=(fan_in, fan_out))


def he_normal(shape: Sequence[int], rng: Any = None) -> np.ndarray:
    """He et al. (2015): N(0, 2 / fan_in), which keeps ReLU activations at unit scale.

    Examples
    --------
    >>> import restarts as rs
    >>> rs.init.he_normal((64, 32), rng=0).shape
    (64, 32)
    """
    fan_in, fan_out = _shape(shape, "he_normal()", fans=True)
    return _rng(rng, "he_normal()").normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


def lecun_normal(shape: Sequence[int], rng: Any = None) -> np.ndarray:
    """LeCun et al. (1998): N(0, 1 / fan_in).

    Examples
    --------
    >>> import restarts as rs
    >>> rs.init.lecun_normal((64, 32), rng=0).shape
    (64, 32)
    """
    fan_in, fan_out = _shape(shape, "lecun_normal()", fans=True)
    return _rng(rng, "lecun_normal()").normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_in, fan_out))


def orthogonal(shape: Sequence[int], rng: Any = None, *, gain: float = 1.0) -> np.ndarray:
    """Saxe et al. (2014): a random (semi-)orthogonal matrix times ``gain``.

    ``Q`` comes from the QR decomposition of a standard Gaussian matrix, with the
    signs of ``diag(R)`` folded into ``Q`` so that ``Q`` is Haar-distributed
    (Mezzadri 2007). With ``fan_in >= fan_out`` the columns are orthonormal
    (``W.T @ W = gain² I``), otherwise the rows (``W @ W.T = gain² I``).

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> w = rs.init.orthogonal((5, 3), rng=0)
    >>> bool(np.allclose(w.T @ w, np.eye(3)))
    True
    """
    fan_in, fan_out = _shape(shape, "orthogonal()", fans=True)
    gain = check_real(gain, "gain", "orthogonal()", low=0.0)
    big, small = max(fan_in, fan_out), min(fan_in, fan_out)
    a = _rng(rng, "orthogonal()").standard_normal((big, small))
    q, r = np.linalg.qr(a)  # q: (big, small), orthonormal columns
    d = np.sign(np.diag(r))
    d[d == 0] = 1.0
    q = q * d
    return gain * (q if fan_in >= fan_out else q.T)


_REGISTRY: dict[str, Initializer] = {
    "zeros": zeros,
    "constant": constant,
    "uniform": uniform,
    "normal": normal,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
}

#: Initialisers whose result does not depend on the layer's fans (usable for biases).
FAN_FREE = ("zeros", "constant", "uniform", "normal")


def names() -> tuple[str, ...]:
    """Names of the registered initialisers, in the order of the module table.

    Examples
    --------
    >>> import restarts as rs
    >>> rs.init.names()[:3]
    ('zeros', 'constant', 'uniform')
    """
    return tuple(_REGISTRY)


def get(name: str | Initializer, *, owner: str = "get()", param: str = "name") -> Initializer:
    """The initialiser called ``name`` (a callable is returned unchanged).

    Raises
    ------
    ValueError
        For an unknown name, listing the valid ones.
    TypeError
        For anything that is neither a string nor a callable.

    Examples
    --------
    >>> import restarts as rs
    >>> rs.init.get("he_normal") is rs.init.he_normal
    True
    """
    if callable(name) and not isinstance(name, str):
        return name
    if not isinstance(name, str):
        raise fail(param, owner, f"one of {list(_REGISTRY)} or a callable", name, TypeError)
    try:
        return _REGISTRY[name]
    except KeyError:
        raise fail(param, owner, f"one of {list(_REGISTRY)} or a callable", name) from None
