"""rs.problems.bbob: COCO's BBOB functions, checked against cocoex's own Suite."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest

import restarts as rs


@pytest.fixture(scope="module")
def suite_problems():
    """cocoex's Suite (an independent path from the BareProblem we wrap)."""
    import cocoex

    return cocoex.Suite("bbob", "instances: 1-15",
                        "function_indices: 1,7,8,12,21,24 dimensions: 2,10")


@pytest.mark.parametrize("function", [1, 7, 8, 12, 21, 24])
@pytest.mark.parametrize("instance, dim", [(1, 2), (6, 10), (15, 2)])
def test_f_min_and_values_match_cocoex_suite(suite_problems, function, instance, dim):
    p = rs.problems.bbob(function, instance, dim)
    ref = suite_problems.get_problem(p.name)
    assert p.name == ref.id
    assert np.array_equal(p.bounds[:, 0], ref.lower_bounds)
    assert np.array_equal(p.bounds[:, 1], ref.upper_bounds)
    assert p(p.x_min) == p.f_min == ref(p.x_min)  # the instance's f_opt at its x_opt
    x = np.random.default_rng(function).uniform(-5, 5, size=(20, dim))
    assert np.allclose(p(x), [ref(xi) for xi in x], rtol=0, atol=0)
    assert np.all(p(x) > p.f_min)


def test_fun_pickles_and_runs_in_worker_processes():
    p = rs.problems.bbob(3, 2, 4)
    fun = pickle.loads(pickle.dumps(p.fun))
    assert fun(p.x_min) == p.f_min
    solver = rs.solvers.Minimize(p.fun, bounds=p.bounds, max_nfev=60)
    t1 = rs.multistart(solver, 4, rng=0, n_jobs=1).table
    t2 = rs.multistart(solver, 4, rng=0, n_jobs=2).table
    assert t1["fun"].tolist() == t2["fun"].tolist()


@pytest.mark.parametrize("args, name", [((0, 1, 2), "function"), ((25, 1, 2), "function"),
                                        ((1, 0, 2), "instance"), ((1, 1, 1), "dim"),
                                        ((1.5, 1, 2), "function"), ((1, 1, 641), "dim")])
def test_bad_arguments_name_the_argument(args, name):
    with pytest.raises((ValueError, TypeError), match=f"'{name}'"):
        rs.problems.bbob(*args)


def test_missing_cocoex_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "cocoex", None)
    with pytest.raises(ImportError, match=r"pip install 'restarts\[bbob\]'"):
        rs.problems.bbob(1, 1, 2)
