"""Start-point samplers: where each restart begins.

A sampler draws ``n`` points of dimension ``d`` reproducibly from a
:class:`numpy.random.Generator`. ``multistart`` draws all start points once, up
front, from the run's root stream, so restart ``i`` always gets the same point.
:class:`Uniform`, :class:`Sobol`, :class:`Halton` and :class:`Normal` are
prefix-stable (the first ``m`` of ``n`` points do not depend on ``n``);
:class:`LatinHypercube` stratifies over all ``n`` points, so its points depend on
``n_starts``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.stats import qmc

from ._validation import check_array, check_bounds, check_int, fail

__all__ = ["Sampler", "Uniform", "Sobol", "LatinHypercube", "Halton", "Normal", "Around",
           "as_starts"]


class Sampler:
    """Base class: ``draw(n, rng) -> ndarray (n, d)``."""

    dim: int
    prefix_stable: bool = True

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def describe(self) -> dict:
        return {"sampler": type(self).__name__, **{k: _jsonable(v) for k, v in vars(self).items()}}


def _jsonable(v: Any) -> Any:
    return v.tolist() if isinstance(v, np.ndarray) else v


class _Boxed(Sampler):
    def __init__(self, bounds: Any) -> None:
        self.bounds = check_bounds(bounds, "bounds", f"{type(self).__name__}()")
        self.dim = self.bounds.shape[0]

    def _scale(self, unit: np.ndarray) -> np.ndarray:
        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        return lo + unit * (hi - lo)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(bounds={self.bounds.tolist()})"


class Uniform(_Boxed):
    """Independent uniform points in a box.

    Parameters
    ----------
    bounds : sequence of (low, high)
        One pair per dimension, ``low < high``, finite.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> rs.starts.Uniform([(0, 1), (-5, 5)]).draw(3, np.random.default_rng(0)).shape
    (3, 2)
    """

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._scale(rng.random((n, self.dim)))


class Sobol(_Boxed):
    """Scrambled Sobol' points (:class:`scipy.stats.qmc.Sobol`) in a box.

    Balance properties are best for ``n`` a power of two; other ``n`` are allowed
    (SciPy's warning about it is silenced, the points are still a prefix of the
    sequence).

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> pts = rs.starts.Sobol([(0, 1)] * 2).draw(8, np.random.default_rng(0))
    >>> bool(((pts >= 0) & (pts <= 1)).all())
    True
    """

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        eng = qmc.Sobol(self.dim, scramble=True, rng=rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return self._scale(eng.random(n))


class Halton(_Boxed):
    """Scrambled Halton points (:class:`scipy.stats.qmc.Halton`) in a box.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> rs.starts.Halton([(0, 1)] * 3).draw(5, np.random.default_rng(0)).shape
    (5, 3)
    """

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._scale(qmc.Halton(self.dim, scramble=True, rng=rng).random(n))


class LatinHypercube(_Boxed):
    """Latin hypercube points (:class:`scipy.stats.qmc.LatinHypercube`) in a box.

    Each of the ``n`` strata of every axis holds exactly one point, so the points
    depend on ``n`` (not prefix-stable).

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> pts = rs.starts.LatinHypercube([(0, 1)]).draw(4, np.random.default_rng(0))
    >>> sorted((pts[:, 0] * 4).astype(int).tolist())
    [0, 1, 2, 3]
    """

    prefix_stable = False

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._scale(qmc.LatinHypercube(self.dim, rng=rng).random(n))


class Normal(Sampler):
    """Gaussian points around ``loc`` with per-dimension standard deviation ``scale``.

    Parameters
    ----------
    loc : array_like of shape (d,)
    scale : float or array_like of shape (d,), > 0

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> rs.starts.Normal([0.0, 1.0], 0.1).draw(2, np.random.default_rng(0)).shape
    (2, 2)
    """

    def __init__(self, loc: Any, scale: Any = 1.0) -> None:
        self.loc = check_array(loc, "loc", "Normal()", ndim=1)
        scale = np.broadcast_to(np.asarray(scale, dtype=float), self.loc.shape).copy()
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise fail("scale", "Normal()", "positive and finite", scale)
        self.scale = scale
        self.dim = self.loc.shape[0]

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.loc + self.scale * rng.standard_normal((n, self.dim))

    def __repr__(self) -> str:
        return f"Normal(loc={self.loc.tolist()}, scale={self.scale.tolist()})"


class Around(Sampler):
    """Point 0 is ``x0``; the others spread around it, inside possibly infinite bounds.

    The default start of SciPy-style front doors (``rs.minimize``, ``rs.curve_fit``):
    restart 0 starts where the user said, the others explore. Per coordinate ``j``:

    - both bounds finite: uniform in ``[low_j, high_j]``;
    - otherwise ``x0_j + scale_j * z`` with ``z ~ N(0, 1)`` and, by default,
      ``scale_j = max(1, |x0_j|)`` (wide enough to leave the start's basin, scaled
      to the parameter's magnitude), reflected into a one-sided bound.

    Without ``x0`` (``None``) every bound must be finite and all points are uniform.
    Prefix-stable: one uniform row per point, mapped through the normal quantile.

    Parameters
    ----------
    x0 : array_like of shape (d,) or None
    bounds : array_like of shape (d, 2), optional
        ``(low, high)`` per coordinate, ``-inf``/``inf`` allowed; ``low < high``.
    scale : float or array_like of shape (d,), optional
        Spread of the unbounded coordinates (default ``max(1, |x0|)``).

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> s = rs.starts.Around([1.0, -50.0], [(0, 2), (-np.inf, np.inf)])
    >>> pts = s.draw(4, np.random.default_rng(0))
    >>> pts[0].tolist(), bool(((pts[:, 0] >= 0) & (pts[:, 0] <= 2)).all())
    ([1.0, -50.0], True)
    """

    def __init__(self, x0: Any, bounds: Any = None, scale: Any = None) -> None:
        owner = "Around()"
        self.x0 = None if x0 is None else check_array(x0, "x0", owner, ndim=1)
        if bounds is None:
            if self.x0 is None:
                raise ValueError(f"{owner} needs x0 or finite bounds to draw start points.")
            bounds = np.column_stack([np.full(self.x0.size, -np.inf),
                                      np.full(self.x0.size, np.inf)])
        b = check_array(bounds, "bounds", owner, ndim=2, finite=False)
        if b.shape[1] != 2 or np.isnan(b).any() or np.any(b[:, 0] >= b[:, 1]):
            raise fail("bounds", owner, "(low, high) pairs with low < high (infinite allowed)",
                       bounds)
        self.bounds = b
        self.dim = b.shape[0]
        boxed = np.isfinite(b).all(axis=1)
        if self.x0 is None and not boxed.all():
            raise ValueError(
                f"{owner} needs x0 where a bound is infinite: got no x0 and bounds "
                f"{b.tolist()}.")
        if self.x0 is not None and self.x0.size != self.dim:
            raise ValueError(f"The 'x0' parameter of {owner} must have {self.dim} "
                             f"coordinates (one per bound). Got {self.x0.size} instead.")
        if scale is None:
            scale = 1.0 if self.x0 is None else np.maximum(1.0, np.abs(self.x0))
        scale = np.broadcast_to(np.asarray(scale, dtype=float), (self.dim,)).copy()
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise fail("scale", owner, "positive and finite", scale)
        self.scale = scale

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        from scipy.special import ndtri

        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        boxed = np.isfinite(lo) & np.isfinite(hi)
        first = 0 if self.x0 is None else 1
        unit = rng.random((max(n - first, 0), self.dim))
        pts = np.empty_like(unit)
        pts[:, boxed] = lo[boxed] + unit[:, boxed] * (hi - lo)[boxed]
        free = ~boxed
        if free.any():
            z = ndtri(np.clip(unit[:, free], 1e-300, 1.0 - 1e-16))
            v = self.x0[free] + self.scale[free] * z
            lo_f, hi_f = lo[free], hi[free]
            v = np.where(v < lo_f, 2 * lo_f - v, v)  # reflect into a one-sided bound
            v = np.where(v > hi_f, 2 * hi_f - v, v)
            pts[:, free] = v
        if first:
            pts = np.vstack([np.clip(self.x0, lo, hi)[None, :], pts])
        return pts[:n]

    def __repr__(self) -> str:
        x0 = None if self.x0 is None else self.x0.tolist()
        return f"Around(x0={x0}, bounds={self.bounds.tolist()})"


def as_starts(
    starts: Any, n_starts: int, owner: str = "multistart()"
) -> Sampler | np.ndarray | None:
    """Validate the ``starts`` argument: None, a sampler, or an array ``(n_starts, d)``."""
    if starts is None or isinstance(starts, Sampler):
        return starts
    if hasattr(starts, "draw") and callable(starts.draw):
        return starts
    arr = check_array(starts, "starts", owner, ndim=(1, 2))
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.shape[0] < n_starts:
        raise ValueError(
            f"The 'starts' parameter of {owner} must have one row per restart "
            f"(n_starts={n_starts}). Got shape {arr.shape} instead."
        )
    check_int(arr.shape[1], "starts.shape[1]", owner, low=1)
    return arr
