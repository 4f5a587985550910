"""CoordinateSearch (restarts/solvers/coordinate.py): global line searches per coordinate."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import Counted

import restarts as rs


def rastrigin(x):
    x = np.asarray(x, dtype=float)
    return float(np.sum(x**2 - 10 * np.cos(2 * np.pi * x)) + 10 * x.size)


def rotated_quadratic(x):
    q = np.array([[np.cos(0.5), -np.sin(0.5)], [np.sin(0.5), np.cos(0.5)]])
    z = q @ (np.asarray(x, dtype=float) - 0.25)
    return float(z[0] ** 2 + 100 * z[1] ** 2)


def test_solves_separable_rastrigin_whatever_the_start():
    """Separable: each coordinate's global minimum is the function's (f* = 0 at 0);
    CMA-ES and L-BFGS-B restarts stall in a local minimum near 1 on this budget."""
    counted = Counted(rastrigin)
    solver = rs.solvers.CoordinateSearch(counted, bounds=[(-5.12, 5.12)] * 10)
    for seed in range(3):
        r = solver(None, np.random.default_rng(seed), max_nfev=5000)
        assert r.fun < 1e-8
        np.testing.assert_allclose(r.x, 0.0, atol=1e-5)
    assert counted.n <= 3 * 5000


def test_nfev_is_exact_and_capped_and_the_best_point_is_returned():
    counted = Counted(rastrigin, record=True)
    r = rs.solvers.CoordinateSearch(counted, bounds=[(-5, 5)] * 4)(
        None, np.random.default_rng(0), max_nfev=77)
    assert r.nfev == counted.n == 77
    assert r.message == "evaluation budget exhausted" and not r.success
    values = [rastrigin(p) for p in counted.points]
    assert r.fun == min(values)
    np.testing.assert_array_equal(r.x, counted.points[int(np.argmin(values))])


def test_reproducible_from_rng_and_sweeps_bounded():
    solver = rs.solvers.CoordinateSearch(rotated_quadratic, bounds=[(-1, 1)] * 2,
                                         max_sweeps=2)
    a = solver([0.9, -0.9], np.random.default_rng(4))
    b = solver([0.9, -0.9], np.random.default_rng(4))
    assert a.fun == b.fun and a.nfev == b.nfev
    assert a.nit == 2 and "max_sweeps" in a.message
    # non-separable: sweeps descend (the start's value is 68.4) without solving it
    assert a.fun < rotated_quadratic([0.9, -0.9]) / 10
    full = rs.solvers.CoordinateSearch(rotated_quadratic, bounds=[(-1, 1)] * 2)(
        [0.9, -0.9], np.random.default_rng(4), max_nfev=20_000)
    assert full.fun < a.fun and full.nit > 2


@pytest.mark.parametrize(("kw", "exc", "match"), [
    ({"grid": 1}, ValueError, "'grid'"),
    ({"refine": 0}, ValueError, "'refine'"),
    ({"ftol": -1.0}, ValueError, "'ftol'"),
    ({"max_sweeps": 0}, ValueError, "'max_sweeps'"),
    ({"bounds": [(0, np.inf)]}, ValueError, "'bounds'"),
])
def test_bad_input_names_the_argument(kw, exc, match):
    args = {"bounds": [(-1, 1)] * 2, **kw}
    with pytest.raises(exc, match=match):
        rs.solvers.CoordinateSearch(rastrigin, **args)


# -- separable(): the mixed-difference probe behind Auto's coordinate member --------------

def _many(fun, counter):
    def values(points):
        counter.append(len(points))
        return np.array([fun(x) for x in points])
    return values


def _random_separable(dim, rng):
    """sum_k g_k(x_k) with different non-convex g_k: separable by construction."""
    a, b, c = rng.normal(size=(3, dim))
    return lambda x: float(np.sum(a * np.sin(3 * x + b) + c * x**2 + np.abs(x) ** 1.5))


@pytest.mark.parametrize("dim", [2, 3, 7, 20])
def test_separable_accepts_sums_of_one_coordinate_functions(dim):
    from restarts.solvers.coordinate import separable

    rng = np.random.default_rng(dim)
    for fun in (_random_separable(dim, rng), rastrigin, lambda x: float(np.sum(x) + 1e3)):
        calls = []
        assert separable(_many(fun, calls), [(-5, 5)] * dim, rng)
        assert sum(calls) == 2 * (dim + 2)  # its documented cost


@pytest.mark.parametrize("dim", [2, 5, 20])
def test_separable_rejects_interacting_coordinates(dim):
    """A rotation, a chain (Rosenbrock: only neighbours interact), one product term."""
    from restarts.solvers.coordinate import separable

    rng = np.random.default_rng(dim)
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    w = 10.0 ** np.linspace(0, 3, dim)
    funs = [lambda x: float(np.sum(w * (q @ x) ** 2)),
            lambda x: float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)),
            lambda x: float(np.sum(x**2) + 0.01 * x[0] * x[-1])]
    for fun in funs:
        assert not separable(_many(fun, []), [(-5, 5)] * dim, rng)


def test_separable_edge_cases_and_bad_input():
    from restarts.solvers.coordinate import separable

    rng = np.random.default_rng(0)
    calls = []
    assert separable(_many(rastrigin, calls), [(-1, 1)], rng) and calls == []  # 1-d
    from restarts.solvers.coordinate import separable_cost

    assert separable_cost(1) == 0 and separable_cost(7, repeats=3) == 3 * (7 + 2)
    nan_somewhere = lambda x: np.nan if x[0] > 0 else float(np.sum(x**2))  # noqa: E731
    assert not separable(_many(nan_somewhere, []), [(-1, 1)] * 3, rng, repeats=8)
    with pytest.raises(ValueError, match="'repeats'"):
        separable(_many(rastrigin, []), [(-1, 1)] * 2, rng, repeats=0)
    with pytest.raises(ValueError, match="'bounds'"):
        separable(_many(rastrigin, []), [(-1, np.inf)] * 2, rng)
