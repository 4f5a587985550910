"""Shared helpers for built-in solvers."""

from __future__ import annotations

import hashlib
import types
from typing import Any

import numpy as np


def code_digest(fun: Any) -> str | None:
    """A short digest of a Python function's code (bytecode, names and constants,
    nested functions included), or ``None`` for other callables.

    Stores record it so that a run is not resumed with a different function of the
    same name (two lambdas are both ``<lambda>``). It changes with the Python version.
    """
    code = getattr(fun, "__code__", None)
    if not isinstance(code, types.CodeType):
        return None
    h = hashlib.sha1()

    def feed(c: types.CodeType) -> None:
        h.update(c.co_code)
        h.update(repr((c.co_names, c.co_varnames)).encode())
        for const in c.co_consts:
            if isinstance(const, types.CodeType):
                feed(const)
            else:
                h.update(repr(const).encode())

    feed(code)
    return h.hexdigest()[:16]


def data_digest(*arrays: Any) -> str:
    """A short digest of arrays' shapes, types and bytes (the data a solver holds)."""
    h = hashlib.sha1()
    for a in arrays:
        if hasattr(a, "tocsr"):  # a scipy.sparse matrix: its defining arrays
            csr = a.tocsr()
            a = np.concatenate([csr.data.astype(float), csr.indices, csr.indptr,
                                np.asarray(csr.shape, dtype=float)])
        try:
            arr = np.ascontiguousarray(a)
        except Exception:  # pragma: no cover - a digest is best effort
            h.update(repr(a).encode())
            continue
        h.update(repr((arr.shape, arr.dtype.str)).encode())
        h.update(arr.tobytes() if arr.dtype != object else repr(arr.tolist()).encode())
    return h.hexdigest()[:16]


class Solver:
    """Base class of the built-in local solvers.

    A solver is called as ``solver(start, rng)`` and returns a
    :class:`~restarts.LocalResult`. Subclasses may define ``solve_batch(starts, rngs)``
    (several restarts at once, identical results) and ``canonical(x)`` (a
    representative of ``x`` up to a symmetry, so that equal optima are counted once).
    """

    def __call__(self, start: Any, rng: np.random.Generator):  # pragma: no cover - abstract
        raise NotImplementedError

    #: private attributes holding the data the solver fits (digested by ``describe``)
    _data_attrs: tuple[str, ...] = ()

    def describe(self) -> dict:
        """A JSON-able description used by stores: the class name, scalar settings and
        a digest of the data (so a run is not resumed on other data)."""
        out = {"solver": type(self).__qualname__}
        held = [getattr(self, a) for a in self._data_attrs if getattr(self, a, None) is not None]
        if held:
            out["data_sha1"] = data_digest(*held)
        for k, v in vars(self).items():
            if k.startswith("_"):
                continue
            if isinstance(v, (int, float, str, bool)) or v is None:
                out[k] = v
            elif isinstance(v, tuple) and all(isinstance(t, (int, float, str)) for t in v):
                out[k] = list(v)
        return out
