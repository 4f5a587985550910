"""Shared helpers for built-in solvers."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._digest import data_digest


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
