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
