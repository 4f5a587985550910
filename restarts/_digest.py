"""Digests that let a store tell runs apart: start arrays, a solver's data, a function's
code. Stored in run configurations, so their definitions must not change."""

from __future__ import annotations

import hashlib
import types
from typing import Any

import numpy as np


def array_sha1(arr: Any) -> str:
    """The SHA-1 of an array's float64 bytes (start points given as an array)."""
    return hashlib.sha1(np.ascontiguousarray(arr, dtype=float).tobytes()).hexdigest()


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
