"""Permutation symmetry of hidden units: counting distinct units, canonical ordering.

Swapping two hidden units of a layer (their incoming weights and biases, and their
outgoing weights) leaves a network's function unchanged, so every optimum of a
network with layers of widths ``h_1, ..., h_L`` comes in ``h_1! ... h_L!`` copies.
:func:`canonical_params` picks one of them; :func:`symmetry` counts the units that
are actually different — after an all-zero or constant initialisation every unit
of a layer receives the same gradient and they all stay equal.

Parameters of a network are a list of ``(W, b)`` pairs, ``W`` of shape
``(fan_in, fan_out)`` and ``b`` of shape ``(fan_out,)``, or their flat
concatenation ``[W_1.ravel(), b_1, W_2.ravel(), b_2, ...]`` together with the layer
widths ``sizes = (n_inputs, h_1, ..., n_outputs)``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validation import check_real, fail

__all__ = ["symmetry", "canonical_params", "flatten_params", "unflatten_params", "n_params"]

Params = list[tuple[np.ndarray, np.ndarray]]


def _sizes(sizes: Any, owner: str) -> tuple[int, ...]:
    expected = "a sequence of at least two layer widths (ints >= 1)"
    if not isinstance(sizes, Sequence) or isinstance(sizes, str):
        raise fail("sizes", owner, expected, sizes, TypeError)
    if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) for s in sizes):
        raise fail("sizes", owner, expected, sizes, TypeError)
    out = tuple(int(s) for s in sizes)
    if len(out) < 2 or any(s < 1 for s in out):
        raise fail("sizes", owner, expected, sizes)
    return out


def n_params(sizes: Sequence[int]) -> int:
    """Number of weights and biases of a network with layer widths ``sizes``."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def unflatten_params(x: Any, sizes: Sequence[int], owner: str = "unflatten_params()") -> Params:
    """Split a flat parameter vector into ``[(W_1, b_1), ...]`` (views of ``x``)."""
    sizes = _sizes(sizes, owner)
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size != n_params(sizes):
        raise ValueError(
            f"The 'params' parameter of {owner} must be a flat vector of "
            f"{n_params(sizes)} parameters for layer widths {sizes}. "
            f"Got shape {x.shape} instead."
        )
    out, k = [], 0
    for a, b in zip(sizes[:-1], sizes[1:], strict=False):
        w = x[k : k + a * b].reshape(a, b)
        k += a * b
        out.append((w, x[k : k + b]))
        k += b
    return out


def flatten_params(params: Params) -> np.ndarray:
    """Concatenate ``[(W_1, b_1), ...]`` into one flat vector."""
    return np.concatenate([np.concatenate([np.ravel(w), np.ravel(b)]) for w, b in params])


def _as_params(params: Any, sizes: Any, owner: str) -> Params:
    if sizes is not None:
        return unflatten_params(params, sizes, owner)
    expected = "a list of (W, b) pairs, or a flat vector together with 'sizes'"
    if isinstance(params, np.ndarray) or not isinstance(params, Sequence) or not params:
        raise fail("params", owner, expected, params, TypeError)
    out = []
    for layer, pair in enumerate(params):
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise fail("params", owner, expected, params, TypeError)
        w = np.asarray(pair[0], dtype=float)
        b = np.asarray(pair[1], dtype=float)
        if w.ndim != 2 or b.shape != (w.shape[1],):
            raise ValueError(
                f"The 'params' parameter of {owner} must hold pairs (W of shape "
                f"(fan_in, fan_out), b of shape (fan_out,)). Got W of shape {w.shape} and "
                f"b of shape {b.shape} in layer {layer} instead."
            )
        if out and out[-1][0].shape[1] != w.shape[0]:
            raise ValueError(
                f"The 'params' parameter of {owner} must chain: layer {layer} has "
                f"fan_in {w.shape[0]} but the previous layer has {out[-1][0].shape[1]} units."
            )
        out.append((w, b))
    return out


def _distinct(incoming: np.ndarray, tol: float) -> int:
    """Number of groups among the rows of ``incoming`` (units x features) within ``tol``.

    Leader clustering: the first unassigned unit leads a group and takes every
    unassigned unit within ``tol`` of it in the max norm, scaled by the largest
    parameter of the layer (at least 1). One vectorised pass per group.
    """
    scale = tol * max(1.0, float(np.max(np.abs(incoming), initial=0.0)))
    free = np.ones(incoming.shape[0], dtype=bool)
    groups = 0
    while free.any():
        lead = incoming[np.argmax(free)]
        free &= np.max(np.abs(incoming - lead), axis=1) > scale
        groups += 1
    return groups


def symmetry(params: Any, sizes: Sequence[int] | None = None, *, tol: float = 1e-8) -> tuple:
    """Number of distinct hidden units in each hidden layer.

    Two units of a layer are the same when their incoming weights and biases agree
    within ``tol`` times the layer's largest absolute parameter (at least 1). Such
    units compute the same function of the input, so the layer is effectively
    narrower.

    Parameters
    ----------
    params : list of (W, b) pairs, or array_like
        Network parameters: pairs with ``W`` of shape ``(fan_in, fan_out)`` and ``b``
        of shape ``(fan_out,)``; or a flat vector (e.g. ``LocalResult.x`` of
        :class:`restarts.solvers.MLP`) together with ``sizes``.
    sizes : sequence of int, optional
        Layer widths ``(n_inputs, h_1, ..., h_L, n_outputs)`` to split a flat vector
        (``MLP.sizes``).
    tol : float, default=1e-8
        Relative tolerance for two units to count as equal.

    Returns
    -------
    tuple of int
        One count per hidden layer (the output layer is not counted).

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> w1 = np.array([[1.0, 1.0, 2.0], [0.5, 0.5, 0.0]])  # units 0 and 1 equal
    >>> layers = [(w1, np.zeros(3)), (np.ones((3, 1)), np.zeros(1))]
    >>> rs.symmetry(layers)
    (2,)
    """
    tol = check_real(tol, "tol", "symmetry()", low=0.0)
    layers = _as_params(params, sizes, "symmetry()")
    return tuple(_distinct(np.column_stack([w.T, b]), tol) for w, b in layers[:-1])


def canonical_params(params: Any, sizes: Sequence[int] | None = None) -> np.ndarray:
    """The flat parameters with the hidden units of every layer sorted.

    Units are ordered lexicographically by (incoming weights, bias), layer by layer
    from the input, and the next layer's incoming rows are permuted along with them;
    the network computes the same function. Networks equal up to a permutation of
    hidden units give the same vector.

    Examples
    --------
    >>> import numpy as np
    >>> from restarts._symmetry import canonical_params
    >>> out = (np.zeros(1),)
    >>> a = [(np.array([[2.0, 1.0]]), np.array([0.0, 0.5])), (np.array([[3.0], [4.0]]), *out)]
    >>> b = [(np.array([[1.0, 2.0]]), np.array([0.5, 0.0])), (np.array([[4.0], [3.0]]), *out)]
    >>> bool(np.array_equal(canonical_params(a), canonical_params(b)))
    True
    """
    layers = [(np.array(w, dtype=float), np.array(b, dtype=float))
              for w, b in _as_params(params, sizes, "canonical()")]
    for i in range(len(layers) - 1):
        w, b = layers[i]
        keys = np.column_stack([w.T, b])  # one row per unit
        order = np.lexsort(keys.T[::-1])  # first incoming weight is the primary key
        layers[i] = (w[:, order], b[order])
        w_next, b_next = layers[i + 1]
        layers[i + 1] = (w_next[order, :], b_next)
    return flatten_params(layers)
