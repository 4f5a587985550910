"""Multistart on the built-in problems: what 50 restarts of L-BFGS-B can and cannot do."""

from __future__ import annotations

import numpy as np
import pytest

import restarts as rs


def solved(problem, fun):
    return fun - problem.f_min <= 1e-4 * max(1.0, abs(problem.f_min))


@pytest.mark.parametrize(
    "name", ["six_hump_camel", "branin", "goldstein_price", "hartmann3", "hartmann6", "shekel10"]
)
def test_fifty_sobol_starts_find_the_global_minimum(name):
    problem = rs.problems.get(name)
    solver = rs.solvers.Minimize(problem.fun, bounds=problem.bounds)
    res = rs.multistart(solver, 50, starts=rs.starts.Sobol(problem.bounds), rng=0)
    assert solved(problem, res.fun), (name, res.fun, problem.f_min)
    dist = np.min(np.linalg.norm(np.atleast_2d(problem.x_mins) - res.x, axis=1))
    assert dist < 1e-2 * np.max(problem.bounds[:, 1] - problem.bounds[:, 0])


def test_rastrigin_10d_is_not_reliably_solved_by_restarts():
    # 10-d Rastrigin has ~11**10 local minima: random restarts of a local method are no
    # cure for exponentially many basins. We report it instead of hiding it.
    problem = rs.problems.get("rastrigin", dim=10, shift=0)
    solver = rs.solvers.Minimize(problem.fun, bounds=problem.bounds)
    hits = 0
    for seed in range(5):
        res = rs.multistart(solver, 50, starts=rs.starts.Sobol(problem.bounds), rng=seed)
        hits += solved(problem, res.fun)
        assert len(res.solutions) > 40  # nearly every restart ends in its own basin
    assert hits <= 1
