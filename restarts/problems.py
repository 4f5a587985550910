"""Standard test functions with known global minima, for benchmarking restarts.

Every problem is a :class:`Problem`: an objective, a box, and the literature global
minimum ``f_min`` with its minimiser(s) ``x_mins`` (``x_min`` is the first). Values
and minimisers are taken from Surjanovic & Bingham's Virtual Library of Simulation
Experiments [1]_ and Jamil & Yang [2]_, then refined to full double precision by
local optimisation, so that ``fun(x_min) == f_min`` to about 1e-12.

========================  =======  ========================================
name                      dim      bounds (per coordinate, unless stated)
========================  =======  ========================================
ackley                    d >= 1   [-32.768, 32.768]
beale                     2        [-4.5, 4.5]
bohachevsky               2        [-100, 100]
booth                     2        [-10, 10]
branin                    2        x1 in [-5, 10], x2 in [0, 15]
bukin6                    2        x1 in [-15, -5], x2 in [-3, 3]
cross_in_tray             2        [-10, 10]
dixon_price               d >= 1   [-10, 10]
drop_wave                 2        [-5.12, 5.12]
easom                     2        [-100, 100]
eggholder                 2        [-512, 512]
goldstein_price           2        [-2, 2]
griewank                  d >= 1   [-600, 600]
hartmann3                 3        [0, 1]
hartmann6                 6        [0, 1]
himmelblau                2        [-5, 5]
holder_table              2        [-10, 10]
levy                      d >= 1   [-10, 10]
matyas                    2        [-10, 10]
mccormick                 2        x1 in [-1.5, 4], x2 in [-3, 4]
michalewicz               d >= 1   [0, pi]
powell                    4k       [-4, 5]
rastrigin                 d >= 1   [-5.12, 5.12]
rosenbrock                d >= 2   [-5, 10]
schwefel                  d >= 1   [-500, 500]
shekel5, shekel7,         4        [0, 10]
shekel10
shubert                   2        [-10, 10]
six_hump_camel            2        x1 in [-3, 3], x2 in [-2, 2]
sphere                    d >= 1   [-5.12, 5.12]
styblinski_tang           d >= 1   [-5, 5]
sum_of_different_powers   d >= 1   [-1, 1]
trid                      d >= 2   [-d**2, d**2]
zakharov                  d >= 1   [-5, 10]
========================  =======  ========================================

Dimension-scalable functions default to ``dim=2`` (``powell``: 4).

Every built-in objective is vectorised: ``fun(x)`` with ``x`` of shape ``(d,)``
returns a Python ``float``; with ``x`` of shape ``(n, d)`` it returns an array of
shape ``(n,)``.

References
----------
.. [1] S. Surjanovic and D. Bingham, "Virtual Library of Simulation Experiments:
   Test Functions and Datasets", https://www.sfu.ca/~ssurjano/optimization.html
.. [2] M. Jamil and X.-S. Yang, "A literature survey of benchmark functions for
   global optimisation problems", Int. J. Math. Model. Numer. Optim. 4(2), 2013.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._seeding import root_seed
from ._validation import check_array, check_bounds, check_callable, check_int, check_real, fail

__all__ = ["Problem", "names", "get", "bbob"]

_PI = np.pi


# ---------------------------------------------------------------------------------
# Problem
# ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Problem:
    """An objective on a box, with its global minimum when known.

    Parameters
    ----------
    name : str
        A short identifier, used in tables.
    fun : callable
        ``fun(x) -> float`` for ``x`` of shape ``(d,)``.
    bounds : sequence of (low, high) pairs or scipy.optimize.Bounds
        The search box; stored as a read-only ``(d, 2)`` float array.
    f_min : float or None, default=None
        The global minimum of ``fun`` on the box, if known.
    x_min : array-like of shape (d,) or (k, d), or None, default=None
        The global minimiser, or all ``k`` known minimisers (one per row). Each must
        lie inside ``bounds``.
    shift : ndarray of shape (d,) or None, default=None
        Keyword-only. The offset a shifted problem was moved by (see :func:`get`);
        ``None`` for an unshifted problem.

    Attributes
    ----------
    dim : int
        The number of variables, ``bounds.shape[0]``.
    x_min : ndarray of shape (d,) or None
        The first known minimiser.
    x_mins : ndarray of shape (k, d) or None
        All known minimisers.

    Raises
    ------
    TypeError
        If ``name`` is not a string, ``fun`` is not callable, or ``f_min`` is not a
        real number.
    ValueError
        If ``bounds`` is malformed (empty, NaN, ``low >= high``), or ``x_min`` has the
        wrong shape or lies outside the bounds.

    Examples
    --------
    >>> import numpy as np
    >>> import restarts as rs
    >>> p = rs.Problem("bowl", lambda x: float(np.sum((x - 1) ** 2)), [(-5, 5)] * 3,
    ...                f_min=0.0, x_min=[1, 1, 1])
    >>> p.dim, p(p.x_min)
    (3, 0.0)
    """

    name: str
    fun: Callable[..., Any]
    bounds: Any
    f_min: float | None = None
    x_min: Any = None
    shift: Any = field(default=None, kw_only=True)
    x_mins: np.ndarray | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        owner = "Problem()"
        if not isinstance(self.name, str):
            raise fail("name", owner, "a str", self.name, TypeError)
        check_callable(self.fun, "fun", owner)
        bounds = _readonly(check_bounds(self.bounds, "bounds", owner))
        d = bounds.shape[0]
        f_min = check_real(self.f_min, "f_min", owner, allow_none=True)
        x_mins = None
        if self.x_min is not None:
            arr = check_array(self.x_min, "x_min", owner, ndim=(1, 2))
            arr = arr.reshape(1, -1) if arr.ndim == 1 else arr
            if arr.shape[1] != d:
                raise ValueError(
                    f"The 'x_min' parameter of {owner} must have {d} coordinate(s) per "
                    f"minimiser, like 'bounds'. Got shape {np.shape(self.x_min)} instead."
                )
            if np.any(arr < bounds[:, 0]) or np.any(arr > bounds[:, 1]):
                raise ValueError(
                    f"The 'x_min' parameter of {owner} must lie inside 'bounds'. "
                    f"Got {_short(arr)} instead."
                )
            x_mins = _readonly(arr.copy())
        shift = None
        if self.shift is not None:
            shift = check_array(self.shift, "shift", owner, ndim=1)
            if shift.shape != (d,):
                raise ValueError(
                    f"The 'shift' parameter of {owner} must have shape ({d},). "
                    f"Got shape {shift.shape} instead."
                )
            shift = _readonly(shift.copy())
        object.__setattr__(self, "bounds", bounds)
        object.__setattr__(self, "f_min", f_min)
        object.__setattr__(self, "x_mins", x_mins)
        object.__setattr__(self, "x_min", None if x_mins is None else x_mins[0])
        object.__setattr__(self, "shift", shift)

    @property
    def dim(self) -> int:
        """The number of variables."""
        return int(self.bounds.shape[0])

    def __call__(self, x: Any) -> Any:
        """Evaluate ``fun(x)``; a scalar result is returned as a Python ``float``."""
        out = self.fun(x)
        if isinstance(out, (numbers.Real, np.ndarray)) and np.ndim(out) == 0:
            return float(out)
        return out

    def __repr__(self) -> str:
        extra = "" if self.shift is None else ", shifted"
        return f"Problem(name={self.name!r}, dim={self.dim}, f_min={self.f_min!r}{extra})"


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


def _short(arr: np.ndarray) -> str:
    text = np.array2string(np.asarray(arr), precision=4, threshold=8)
    return text if len(text) < 60 else text[:57] + "..."


# ---------------------------------------------------------------------------------
# The objectives. Each takes x of shape (..., d) and reduces over the last axis; the
# decorator turns a (d,) input into a Python float. Module-level so they pickle.
# ---------------------------------------------------------------------------------


def _vectorised(impl: Callable[[np.ndarray], Any]) -> Callable[[Any], Any]:
    @functools.wraps(impl)
    def fun(x: Any) -> Any:
        x = np.asarray(x, dtype=float)
        out = impl(x)
        return float(out) if x.ndim == 1 else np.asarray(out, dtype=float)

    return fun


def _index(x: np.ndarray) -> np.ndarray:
    return np.arange(1, x.shape[-1] + 1, dtype=float)


@_vectorised
def _ackley(x):
    d = x.shape[-1]
    return (
        -20.0 * np.exp(-0.2 * np.sqrt(np.sum(x**2, -1) / d))
        - np.exp(np.sum(np.cos(2 * _PI * x), -1) / d)
        + 20.0
        + np.e
    )


@_vectorised
def _rastrigin(x):
    return 10.0 * x.shape[-1] + np.sum(x**2 - 10.0 * np.cos(2 * _PI * x), -1)


@_vectorised
def _griewank(x):
    return np.sum(x**2, -1) / 4000.0 - np.prod(np.cos(x / np.sqrt(_index(x))), -1) + 1.0


@_vectorised
def _levy(x):
    w = 1.0 + (x - 1.0) / 4.0
    first = np.sin(_PI * w[..., 0]) ** 2
    mid = np.sum((w[..., :-1] - 1) ** 2 * (1 + 10 * np.sin(_PI * w[..., :-1] + 1) ** 2), -1)
    last = (w[..., -1] - 1) ** 2 * (1 + np.sin(2 * _PI * w[..., -1]) ** 2)
    return first + mid + last


# The literature writes 418.9829 d; the full-precision constant (the maximum of
# x sin(sqrt|x|) on [-500, 500]) makes f_min exactly 0 instead of 1.27e-5 d.
_SCHWEFEL_C = 418.982887272433
_SCHWEFEL_X = 420.9687487856824


@_vectorised
def _schwefel(x):
    return _SCHWEFEL_C * x.shape[-1] - np.sum(x * np.sin(np.sqrt(np.abs(x))), -1)


@_vectorised
def _rosenbrock(x):
    return np.sum(100.0 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (x[..., :-1] - 1) ** 2, -1)


# Minimiser of 0.5 (t^4 - 16 t^2 + 5 t): the real root of 4 t^3 - 32 t + 5 = 0 near
# -2.9035. The literature's -39.16599 per coordinate is rounded; the value is -39.166166.
_ST_X = -2.9035340277711783
_ST_F = -39.16616570377141


@_vectorised
def _styblinski_tang(x):
    return 0.5 * np.sum(x**4 - 16 * x**2 + 5 * x, -1)


@_vectorised
def _michalewicz(x):
    return -np.sum(np.sin(x) * np.sin(_index(x) * x**2 / _PI) ** 20, -1)


@_vectorised
def _zakharov(x):
    s = np.sum(0.5 * _index(x) * x, -1)
    return np.sum(x**2, -1) + s**2 + s**4


@_vectorised
def _dixon_price(x):
    i = _index(x)[1:]
    return (x[..., 0] - 1) ** 2 + np.sum(i * (2 * x[..., 1:] ** 2 - x[..., :-1]) ** 2, -1)


@_vectorised
def _sphere(x):
    return np.sum(x**2, -1)


@_vectorised
def _trid(x):
    return np.sum((x - 1) ** 2, -1) - np.sum(x[..., 1:] * x[..., :-1], -1)


@_vectorised
def _powell(x):
    a, b, c, e = x[..., 0::4], x[..., 1::4], x[..., 2::4], x[..., 3::4]
    return np.sum((a + 10 * b) ** 2 + 5 * (c - e) ** 2 + (b - 2 * c) ** 4 + 10 * (a - e) ** 4, -1)


@_vectorised
def _sum_of_different_powers(x):
    return np.sum(np.abs(x) ** (_index(x) + 1), -1)


_BRANIN_B, _BRANIN_C = 5.1 / (4 * _PI**2), 5 / _PI


@_vectorised
def _branin(x):
    x1, x2 = x[..., 0], x[..., 1]
    t = 1 / (8 * _PI)
    return (x2 - _BRANIN_B * x1**2 + _BRANIN_C * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10


@_vectorised
def _six_hump_camel(x):
    x1, x2 = x[..., 0], x[..., 1]
    return (4 - 2.1 * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2


@_vectorised
def _goldstein_price(x):
    x1, x2 = x[..., 0], x[..., 1]
    a = 1 + (x1 + x2 + 1) ** 2 * (19 - 14 * x1 + 3 * x1**2 - 14 * x2 + 6 * x1 * x2 + 3 * x2**2)
    b = 30 + (2 * x1 - 3 * x2) ** 2 * (
        18 - 32 * x1 + 12 * x1**2 + 48 * x2 - 36 * x1 * x2 + 27 * x2**2
    )
    return a * b


_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array(
    [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]]
)
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def _hartmann(x, a, p):
    return -np.sum(_H_ALPHA * np.exp(-np.sum(a * (x[..., None, :] - p) ** 2, -1)), -1)


@_vectorised
def _hartmann3(x):
    return _hartmann(x, _H3_A, _H3_P)


@_vectorised
def _hartmann6(x):
    return _hartmann(x, _H6_A, _H6_P)


_SHEKEL_C = np.array(
    [
        [4, 1, 8, 6, 3, 2, 5, 8, 6, 7],
        [4, 1, 8, 6, 7, 9, 3, 1, 2, 3.6],
        [4, 1, 8, 6, 3, 2, 5, 8, 6, 7],
        [4, 1, 8, 6, 7, 9, 3, 1, 2, 3.6],
    ]
).T
_SHEKEL_BETA = 0.1 * np.array([1, 2, 2, 4, 4, 6, 3, 7, 5, 5])


def _shekel(x, m):
    sq = np.sum((x[..., None, :] - _SHEKEL_C[:m]) ** 2, -1)
    return -np.sum(1.0 / (sq + _SHEKEL_BETA[:m]), -1)


@_vectorised
def _shekel5(x):
    return _shekel(x, 5)


@_vectorised
def _shekel7(x):
    return _shekel(x, 7)


@_vectorised
def _shekel10(x):
    return _shekel(x, 10)


@_vectorised
def _easom(x):
    x1, x2 = x[..., 0], x[..., 1]
    return -np.cos(x1) * np.cos(x2) * np.exp(-((x1 - _PI) ** 2) - (x2 - _PI) ** 2)


@_vectorised
def _beale(x):
    x1, x2 = x[..., 0], x[..., 1]
    return (
        (1.5 - x1 + x1 * x2) ** 2 + (2.25 - x1 + x1 * x2**2) ** 2 + (2.625 - x1 + x1 * x2**3) ** 2
    )


@_vectorised
def _booth(x):
    x1, x2 = x[..., 0], x[..., 1]
    return (x1 + 2 * x2 - 7) ** 2 + (2 * x1 + x2 - 5) ** 2


@_vectorised
def _himmelblau(x):
    x1, x2 = x[..., 0], x[..., 1]
    return (x1**2 + x2 - 11) ** 2 + (x1 + x2**2 - 7) ** 2


@_vectorised
def _eggholder(x):
    x1, x2 = x[..., 0], x[..., 1]
    return -(x2 + 47) * np.sin(np.sqrt(np.abs(x2 + x1 / 2 + 47))) - x1 * np.sin(
        np.sqrt(np.abs(x1 - (x2 + 47)))
    )


@_vectorised
def _holder_table(x):
    x1, x2 = x[..., 0], x[..., 1]
    r = np.sqrt(x1**2 + x2**2)
    return -np.abs(np.sin(x1) * np.cos(x2) * np.exp(np.abs(1 - r / _PI)))


def _shubert_factor(t):
    i = np.arange(1.0, 6.0)
    return np.sum(i * np.cos((i + 1) * np.asarray(t)[..., None] + i), -1)


@_vectorised
def _shubert(x):
    return _shubert_factor(x[..., 0]) * _shubert_factor(x[..., 1])


@_vectorised
def _bohachevsky(x):
    x1, x2 = x[..., 0], x[..., 1]
    return x1**2 + 2 * x2**2 - 0.3 * np.cos(3 * _PI * x1) - 0.4 * np.cos(4 * _PI * x2) + 0.7


@_vectorised
def _matyas(x):
    x1, x2 = x[..., 0], x[..., 1]
    return 0.26 * (x1**2 + x2**2) - 0.48 * x1 * x2


@_vectorised
def _mccormick(x):
    x1, x2 = x[..., 0], x[..., 1]
    return np.sin(x1 + x2) + (x1 - x2) ** 2 - 1.5 * x1 + 2.5 * x2 + 1


@_vectorised
def _cross_in_tray(x):
    x1, x2 = x[..., 0], x[..., 1]
    r = np.sqrt(x1**2 + x2**2)
    inner = np.abs(np.sin(x1) * np.sin(x2) * np.exp(np.abs(100 - r / _PI))) + 1
    return -1e-4 * inner**0.1


@_vectorised
def _drop_wave(x):
    r2 = x[..., 0] ** 2 + x[..., 1] ** 2
    return -(1 + np.cos(12 * np.sqrt(r2))) / (0.5 * r2 + 2)


@_vectorised
def _bukin6(x):
    x1, x2 = x[..., 0], x[..., 1]
    return 100 * np.sqrt(np.abs(x2 - 0.01 * x1**2)) + 0.01 * np.abs(x1 + 10)


# ---------------------------------------------------------------------------------
# Known minima
# ---------------------------------------------------------------------------------


@functools.cache
def _michalewicz_coordinate(i: int) -> tuple[float, float]:
    """Minimiser and minimum of the i-th term, -sin(t) sin^20(i t^2 / pi), on [0, pi].

    The function is a sum of one-variable terms, so its global minimum in any
    dimension is the sum of the terms' minima. ``sin^20(i t^2 / pi)`` has lobes
    between the zeros ``pi sqrt(k / i)``, each peaking at ``pi sqrt((k + 1/2) / i)``;
    the deepest lobe is one whose peak is nearest pi / 2, where ``sin(t)`` is largest,
    so the four nearest lobes are refined. Reproduces the literature's -1.8013,
    -4.687658 and -9.66015 for d = 2, 5, 10.
    """
    from scipy.optimize import minimize_scalar

    def term(t):
        return -np.sin(t) * np.sin(i * t**2 / _PI) ** 20

    k = np.arange(i)
    peaks = _PI * np.sqrt((k + 0.5) / i)
    best = (np.nan, np.inf)
    for j in np.argsort(np.abs(peaks - _PI / 2))[:4]:
        lobe = (_PI * np.sqrt(j / i), _PI * np.sqrt((j + 1) / i))
        res = minimize_scalar(term, bounds=lobe, method="bounded", options={"xatol": 1e-13})
        if res.fun < best[1]:
            best = (float(res.x), float(res.fun))
    return best


def _points(*rows: Any) -> Callable[[int], np.ndarray]:
    arr = np.array(rows, dtype=float)
    return lambda d: arr


def _filled(value: float) -> Callable[[int], np.ndarray]:
    return lambda d: np.full((1, d), value)


def _dixon_price_x(d: int) -> np.ndarray:
    i = np.arange(1, d + 1)
    x = 2.0 ** (-(2.0**i - 2) / 2.0**i)
    if d == 1:
        return x[None]
    other = x.copy()
    other[-1] = -other[-1]  # x_d = ±sqrt(x_{d-1}/2): both signs zero the last term
    return np.stack([x, other])


def _trid_x(d: int) -> np.ndarray:
    i = np.arange(1, d + 1)
    return (i * (d + 1 - i)).astype(float)[None]


def _michalewicz_x(d: int) -> np.ndarray:
    return np.array([[_michalewicz_coordinate(i)[0] for i in range(1, d + 1)]])


def _michalewicz_f(d: int) -> float:
    return float(sum(_michalewicz_coordinate(i)[1] for i in range(1, d + 1)))


def _periodic_grid(values_1: np.ndarray, values_2: np.ndarray, period: float, lo, hi):
    """All points (a + k1 * period, b + k2 * period) in the box, a in values_1, b in values_2."""
    out = []
    for j, vals in enumerate((values_1, values_2)):
        k = np.arange(
            np.floor((lo[j] - vals.max()) / period), np.ceil((hi[j] - vals.min()) / period) + 1
        )
        cand = (vals[:, None] + period * k[None, :]).ravel()
        out.append(np.unique(cand[(cand >= lo[j]) & (cand <= hi[j])]))
    if not (out[0].size and out[1].size):
        return np.empty((0, 2))
    return np.array(np.meshgrid(out[0], out[1], indexing="ij")).reshape(2, -1).T


# Shubert is the product g(x1) g(x2) of one 2*pi-periodic factor; its minimum is
# min(g) * max(g), reached with one coordinate at an argmax and the other at an argmin.
_SHUBERT_ARGMAX = np.array([-0.800321096448307])
_SHUBERT_ARGMIN = np.array([-1.425128437942624])


def _shubert_minimisers(lo, hi):
    return np.concatenate(
        [
            _periodic_grid(_SHUBERT_ARGMAX, _SHUBERT_ARGMIN, 2 * _PI, lo, hi),
            _periodic_grid(_SHUBERT_ARGMIN, _SHUBERT_ARGMAX, 2 * _PI, lo, hi),
        ]
    )


def _branin_minimisers(lo, hi):
    # cos(x1) = -1 and a zero quadratic term: x1 an odd multiple of pi, x2 on the parabola.
    k = np.arange(np.floor(lo[0] / (2 * _PI)) - 1, np.ceil(hi[0] / (2 * _PI)) + 2)
    x1 = (2 * k + 1) * _PI
    x2 = _BRANIN_B * x1**2 - _BRANIN_C * x1 + 6
    pts = np.stack([x1, x2], axis=1)
    return pts[np.all((pts >= lo) & (pts <= hi), axis=1)]


@dataclass(frozen=True)
class _Spec:
    fun: Callable[[Any], Any]
    bounds: Callable[[int], Any]
    f_min: Callable[[int], float]
    x_mins: Callable[[int], np.ndarray]
    dim: int | None = None  # fixed dimension; None = scalable
    default_dim: int = 2
    min_dim: int = 1
    dim_step: int = 1
    # All minimisers inside a box (lo, hi), for functions whose minimisers repeat.
    minimisers_in: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    # Shift by wrapping around the box instead of plain translation: the function
    # has lower values than f_min just outside its bounds (see get()).
    wrap: bool = False


def _box(low: float, high: float) -> Callable[[int], np.ndarray]:
    return lambda d: np.tile([float(low), float(high)], (d, 1))


def _const(value: float) -> Callable[[int], float]:
    return lambda d: float(value)


def _fixed(fun, bounds, f_min, x_mins, dim=2, **kw) -> _Spec:
    bounds = np.asarray(bounds, dtype=float)
    if bounds.ndim == 1:
        bounds = np.tile(bounds, (dim, 1))
    return _Spec(fun, lambda d: bounds, _const(f_min), x_mins, dim=dim, default_dim=dim, **kw)


def _scalable(fun, bounds, f_min, x_mins, **kw) -> _Spec:
    if not callable(bounds):
        bounds = _box(*bounds)
    if not callable(f_min):
        f_min = _const(f_min)
    return _Spec(fun, bounds, f_min, x_mins, **kw)


_HIMMELBLAU_X = (
    (3.0, 2.0),
    (-2.8051180869527474, 3.1313125182505708),
    (-3.77931025337775, -3.2831859912861714),
    (3.5844283403304926, -1.8481265269643994),
)
_HOLDER = (8.055023473059503, 9.664590033143483)
_CROSS = 1.349406637782
_SIX_HUMP = (0.08984201709772313, -0.7126564030341007)

_REGISTRY: dict[str, _Spec] = {
    # dimension-scalable
    "ackley": _scalable(_ackley, (-32.768, 32.768), 0.0, _filled(0.0)),
    "dixon_price": _scalable(_dixon_price, (-10, 10), 0.0, _dixon_price_x),
    "griewank": _scalable(_griewank, (-600, 600), 0.0, _filled(0.0)),
    "levy": _scalable(_levy, (-10, 10), 0.0, _filled(1.0)),
    "michalewicz": _scalable(_michalewicz, (0, _PI), _michalewicz_f, _michalewicz_x),
    "powell": _scalable(_powell, (-4, 5), 0.0, _filled(0.0), default_dim=4, min_dim=4, dim_step=4),
    "rastrigin": _scalable(_rastrigin, (-5.12, 5.12), 0.0, _filled(0.0)),
    "rosenbrock": _scalable(_rosenbrock, (-5, 10), 0.0, _filled(1.0), min_dim=2),
    "schwefel": _scalable(_schwefel, (-500, 500), 0.0, _filled(_SCHWEFEL_X), wrap=True),
    "sphere": _scalable(_sphere, (-5.12, 5.12), 0.0, _filled(0.0)),
    "styblinski_tang": _scalable(_styblinski_tang, (-5, 5), lambda d: _ST_F * d, _filled(_ST_X)),
    "sum_of_different_powers": _scalable(_sum_of_different_powers, (-1, 1), 0.0, _filled(0.0)),
    "trid": _scalable(
        _trid,
        lambda d: np.tile([-(float(d) ** 2), float(d) ** 2], (d, 1)),
        lambda d: -d * (d + 4) * (d - 1) / 6.0,
        _trid_x,
        min_dim=2,
    ),
    "zakharov": _scalable(_zakharov, (-5, 10), 0.0, _filled(0.0)),
    # fixed dimension
    "beale": _fixed(_beale, (-4.5, 4.5), 0.0, _points((3.0, 0.5))),
    "bohachevsky": _fixed(_bohachevsky, (-100, 100), 0.0, _points((0.0, 0.0))),
    "booth": _fixed(_booth, (-10, 10), 0.0, _points((1.0, 3.0))),
    "branin": _fixed(
        _branin,
        [(-5, 10), (0, 15)],
        5 / (4 * _PI),
        _points((-_PI, 12.275), (_PI, 2.275), (3 * _PI, 2.475)),
        minimisers_in=_branin_minimisers,
    ),
    "bukin6": _fixed(_bukin6, [(-15, -5), (-3, 3)], 0.0, _points((-10.0, 1.0))),
    "cross_in_tray": _fixed(
        _cross_in_tray,
        (-10, 10),
        -2.0626118708227392,
        _points((_CROSS, _CROSS), (-_CROSS, _CROSS), (_CROSS, -_CROSS), (-_CROSS, -_CROSS)),
    ),
    "drop_wave": _fixed(_drop_wave, (-5.12, 5.12), -1.0, _points((0.0, 0.0))),
    "easom": _fixed(_easom, (-100, 100), -1.0, _points((_PI, _PI))),
    "eggholder": _fixed(
        _eggholder,
        (-512, 512),
        -959.6406627208507,
        _points((512.0, 404.2318049938646)),
        wrap=True,
    ),
    "goldstein_price": _fixed(_goldstein_price, (-2, 2), 3.0, _points((0.0, -1.0))),
    "hartmann3": _fixed(
        _hartmann3,
        (0, 1),
        -3.862779787332663,
        _points((0.11458886859137944, 0.5556488945947685, 0.8525469839923088)),
        dim=3,
    ),
    "hartmann6": _fixed(
        _hartmann6,
        (0, 1),
        -3.322368011415515,
        _points(
            (
                0.20168951284088166,
                0.15001069121573468,
                0.47687397552004734,
                0.2753324309510746,
                0.31165161746271286,
                0.6573005329659732,
            )
        ),
        dim=6,
    ),
    "himmelblau": _fixed(_himmelblau, (-5, 5), 0.0, _points(*_HIMMELBLAU_X)),
    "holder_table": _fixed(
        _holder_table,
        (-10, 10),
        -19.208502567886747,
        _points(
            _HOLDER,
            (-_HOLDER[0], _HOLDER[1]),
            (_HOLDER[0], -_HOLDER[1]),
            (-_HOLDER[0], -_HOLDER[1]),
        ),
        wrap=True,
    ),
    "matyas": _fixed(_matyas, (-10, 10), 0.0, _points((0.0, 0.0))),
    "mccormick": _fixed(
        _mccormick,
        [(-1.5, 4), (-3, 4)],
        # grad = 0 gives cos(x1 + x2) = -1/2 and x1 - x2 = 1
        float(-np.sqrt(3) / 2 + 2 - 1.5 * (0.5 - _PI / 3) + 2.5 * (-0.5 - _PI / 3)),
        _points((0.5 - _PI / 3, -0.5 - _PI / 3)),
        wrap=True,
    ),
    "shekel5": _fixed(
        _shekel5,
        (0, 10),
        -10.153199679058229,
        _points((4.00003715108039, 4.000133275843115, 4.000037153167726, 4.000133276877367)),
        dim=4,
    ),
    "shekel7": _fixed(
        _shekel7,
        (0, 10),
        -10.402915336777745,
        _points((4.0005728207243285, 3.9996062112913022, 4.000572819680596, 3.999606210342713)),
        dim=4,
    ),
    "shekel10": _fixed(
        _shekel10,
        (0, 10),
        -10.536443153483528,
        _points((4.000746869861146, 3.9995094793127874, 4.0007468664726655, 3.9995094821965758)),
        dim=4,
    ),
    "shubert": _fixed(
        _shubert,
        (-10, 10),
        -186.73090883102353,
        lambda d: _shubert_minimisers(np.full(2, -10.0), np.full(2, 10.0)),
        minimisers_in=_shubert_minimisers,
    ),
    "six_hump_camel": _fixed(
        _six_hump_camel,
        [(-3, 3), (-2, 2)],
        -1.0316284534898774,
        _points(_SIX_HUMP, (-_SIX_HUMP[0], -_SIX_HUMP[1])),
    ),
}


# ---------------------------------------------------------------------------------
# Shifting
# ---------------------------------------------------------------------------------

_MARGIN = 0.05  # shifted minimisers stay this fraction of the width inside the box


class _Shifted:
    """``x -> fun(x - shift)``; with ``wrap``, ``x - shift`` is wrapped back into the box.

    A class rather than a closure so that shifted problems pickle (joblib, loky).
    """

    def __init__(
        self, fun: Callable[[Any], Any], shift: np.ndarray, bounds: np.ndarray, wrap: bool
    ) -> None:
        self.fun, self.shift, self.bounds, self.wrap = fun, shift, bounds, wrap

    def __call__(self, x: Any) -> Any:
        y = np.asarray(x, dtype=float) - self.shift
        if self.wrap:
            lo, hi = self.bounds[:, 0], self.bounds[:, 1]
            out = (y < lo) | (y > hi)
            y = np.where(out, lo + np.mod(y - lo, hi - lo), y)
        return self.fun(y)

    def __repr__(self) -> str:
        return f"shifted({getattr(self.fun, '__name__', self.fun)!r}, wrap={self.wrap})"


def _draw_shift(bounds: np.ndarray, x_mins: np.ndarray, seed: np.random.SeedSequence) -> np.ndarray:
    """A uniform offset keeping every minimiser inside the box, 5% of the width in.

    Where the minimisers spread over more than 90% of a coordinate's width (Hölder
    table), the margin shrinks to a quarter of what is left, so the offset still
    moves them, a little.
    """
    lo, hi = bounds[:, 0], bounds[:, 1]
    width = hi - lo
    low_x, high_x = x_mins.min(axis=0), x_mins.max(axis=0)
    margin = np.minimum(_MARGIN * width, np.maximum(width - (high_x - low_x), 0.0) / 4)
    s_low, s_high = lo + margin - low_x, hi - margin - high_x
    u = np.random.Generator(np.random.PCG64(seed)).random(bounds.shape[0])
    return s_low + u * (s_high - s_low)


# ---------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------


def names() -> list[str]:
    """The names of the built-in problems, sorted.

    Returns
    -------
    list of str

    See Also
    --------
    get : Build a problem by name.

    Examples
    --------
    >>> import restarts as rs
    >>> len(rs.problems.names()) >= 28, rs.problems.names()[:3]
    (True, ['ackley', 'beale', 'bohachevsky'])
    """
    return sorted(_REGISTRY)


def bbob(function: int, instance: int, dim: int) -> Problem:
    """A function of COCO's BBOB suite, through ``cocoex`` (extra ``restarts[bbob]``).

    ``function`` 1-24 (five groups: separable 1-5, moderate 6-9, ill-conditioned
    10-14, multimodal with global structure 15-19, weakly structured 20-24),
    ``instance`` >= 1 (COCO's seeded rotation, optimum and offset), ``dim`` 2-640.
    Bounds ``[-5, 5]^d``; ``f_min`` and ``x_min`` are the instance's ``f_opt`` and
    ``x_opt``. The objective pickles (for worker processes). See
    ``restarts._bbob`` for the function names and groups.

    Examples
    --------
    >>> import restarts as rs
    >>> p = rs.problems.bbob(8, instance=1, dim=5)
    >>> p.name, p.f_min, p(p.x_min) == p.f_min
    ('bbob_f008_i01_d05', 149.15, True)
    """
    from ._bbob import bbob_spec

    return Problem(**bbob_spec(function, instance, dim))


def get(name: str, dim: int | None = None, shift: Any = None) -> Problem:
    """A built-in test problem, optionally moved off-centre.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    dim : int or None, default=None
        Number of variables. Dimension-scalable functions accept any ``dim`` from
        their minimum (1; ``rosenbrock`` and ``trid``: 2; ``powell``: a multiple of 4)
        and default to 2 (``powell``: 4). Fixed-dimension functions accept ``None``
        or their own dimension only.
    shift : None, False, int, numpy.random.SeedSequence or numpy.random.Generator, default=None
        ``None`` or ``False``: the function as published. Otherwise a seed for a
        random offset ``s``: the returned problem is ``f(x - s)`` on the **same**
        bounds, with the same ``f_min`` and its minimisers moved to ``x_min + s``.
        ``s`` is drawn uniformly among the offsets that keep every known minimiser
        at least 5% of the box's width inside it (less where the minimisers span
        more than 90% of it), so it depends on the seed alone (a ``Generator`` is
        spawned from, as everywhere in ``restarts``).

    Returns
    -------
    Problem
        Its ``name`` is ``name``, or ``name + "[shifted]"`` when shifted; ``shift``
        holds the offset ``s`` (``None`` when unshifted); ``x_mins`` lists every
        known minimiser inside the bounds.

    Raises
    ------
    ValueError
        For an unknown ``name`` (the message lists the valid ones), a ``dim`` the
        function does not support, or a negative ``shift`` seed.
    TypeError
        For a ``name`` that is not a string, a non-integer ``dim``, or a ``shift``
        of another type (``True`` included).

    Notes
    -----
    Why shift: Rastrigin, Ackley, Griewank, sphere-like and Schwefel-type sums have
    their optimum at (or symmetric about) the centre of the box, which DIRECT and
    SHGO sample first; shifting measures search instead of central bias.

    A plain translation ``f(x - s)`` evaluates ``f`` outside its published box by up
    to ``|s|``. That is harmless when ``f`` is no lower there (checked for every
    function by sampling and local search over all the points a shift can reach),
    but ``schwefel``,
    ``eggholder``, ``holder_table`` and ``mccormick`` dip below ``f_min`` outside
    their bounds. For those, ``x - s`` is wrapped periodically back into the box
    (``lo + (x - s - lo) mod width`` where it leaves it): the shifted function takes
    exactly the values of the original, with the same minimisers moved by ``s``, at
    the price of a discontinuity along the seam. Periodic functions (``shubert``,
    ``branin`` in ``x1``) may bring further copies of their minimisers into the box;
    those are included in ``x_mins``.

    Examples
    --------
    >>> import restarts as rs
    >>> p = rs.problems.get("rastrigin", dim=3)
    >>> p.dim, p.f_min, p(p.x_min)
    (3, 0.0, 0.0)
    >>> q = rs.problems.get("rastrigin", dim=3, shift=0)
    >>> q.name, bool(abs(q(q.x_min) - q.f_min) < 1e-12), q.x_min.round(2)
    ('rastrigin[shifted]', True, array([ 1.26, -2.12, -4.23]))
    """
    owner = "get()"
    if not isinstance(name, str):
        raise fail("name", owner, f"one of {names()}", name, TypeError)
    if name not in _REGISTRY:
        raise fail("name", owner, f"one of {names()}", name)
    spec = _REGISTRY[name]
    d = _check_dim(spec, name, dim, owner)
    bounds = np.asarray(spec.bounds(d), dtype=float)
    x_mins = np.asarray(spec.x_mins(d), dtype=float)
    f_min = spec.f_min(d)
    seed = _check_shift(shift, owner)
    if seed is None:
        return Problem(name, spec.fun, bounds, f_min=f_min, x_min=x_mins)
    s = _draw_shift(bounds, x_mins, seed)
    if spec.minimisers_in is not None and not spec.wrap:
        moved = spec.minimisers_in(bounds[:, 0] - s, bounds[:, 1] - s) + s
    else:
        moved = x_mins + s
    # Rounding in ``x + s`` must not push a minimiser on the edge out of the box.
    moved = np.clip(moved, bounds[:, 0], bounds[:, 1])
    fun = _Shifted(spec.fun, _readonly(s.copy()), _readonly(bounds.copy()), spec.wrap)
    return Problem(f"{name}[shifted]", fun, bounds, f_min=f_min, x_min=moved, shift=s)


def _check_dim(spec: _Spec, name: str, dim: Any, owner: str) -> int:
    dim = check_int(dim, "dim", owner, low=1, allow_none=True)
    if dim is None:
        return spec.dim if spec.dim is not None else spec.default_dim
    if spec.dim is not None:
        if dim != spec.dim:
            raise ValueError(
                f"The 'dim' parameter of {owner} must be None or {spec.dim} for "
                f"{name!r}, a fixed-dimension function. Got {dim} instead."
            )
        return dim
    if dim < spec.min_dim or dim % spec.dim_step:
        what = f"an int >= {spec.min_dim}"
        if spec.dim_step > 1:
            what = f"a multiple of {spec.dim_step}"
        raise ValueError(
            f"The 'dim' parameter of {owner} must be {what} for {name!r}. Got {dim} instead."
        )
    return dim


def _check_shift(shift: Any, owner: str) -> np.random.SeedSequence | None:
    if shift is None or shift is False:
        return None
    expected = "None, False, an int >= 0, a numpy.random.SeedSequence or a numpy.random.Generator"
    ok_int = isinstance(shift, numbers.Integral) and not isinstance(shift, (bool, np.bool_))
    if not (ok_int or isinstance(shift, (np.random.SeedSequence, np.random.Generator))):
        raise fail("shift", owner, expected, shift, TypeError)
    if ok_int and int(shift) < 0:
        raise fail("shift", owner, expected, shift)
    return root_seed(shift, owner)
