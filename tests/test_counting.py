"""The one evaluation counter: Minimize and compare count through the same class."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import Counted

import restarts as rs
from restarts._counting import BudgetExhausted, CountedFunction


def test_counts_every_call_and_stops_at_the_cap():
    inner = Counted(lambda x: float(np.sum(np.square(x))))
    f = CountedFunction(inner, max_nfev=3)
    values = [f(np.array([v])) for v in (2.0, 3.0, 1.0)]
    assert values == [4.0, 9.0, 1.0] and f.nfev == 3 == inner.n
    assert f.remaining == 0
    with pytest.raises(BudgetExhausted):
        f(np.array([0.0]))
    assert inner.n == 3 and f.nfev == 3  # the capped call never reached fun
    assert f.best_f == 1.0 and f.best_at == 3
    np.testing.assert_array_equal(f.best_x, [1.0])
    assert f.trace == [(1, 4.0), (3, 1.0)]


def test_best_point_is_a_copy_and_nan_is_never_best():
    f = CountedFunction(lambda x: float("nan") if x[0] < 0 else float(x[0]))
    x = np.array([2.0])
    f(x)
    x[0] = 7.0  # a solver reusing its buffer must not change the remembered best
    f(np.array([-1.0]))
    assert f.best_f == 2.0 and f.best_x.tolist() == [2.0] and f.nfev == 2


def test_with_grad_passes_the_pair_through():
    f = CountedFunction(lambda x: (float(x @ x), 2 * x), with_grad=True)
    value, grad = f(np.array([1.0, 2.0]))
    assert value == 5.0 and grad.tolist() == [2.0, 4.0] and f.best_f == 5.0


def test_minimize_and_compare_share_the_counter():
    from restarts.comparison import BudgetSpent
    from restarts.solvers import minimize as minimize_module

    assert minimize_module.CountedFunction is CountedFunction
    assert minimize_module.BudgetExhausted is BudgetExhausted
    assert BudgetSpent is BudgetExhausted


def test_minimize_nfev_equals_an_independent_count_and_respects_the_cap():
    fun = Counted(lambda x: float(np.sum((x - 0.3) ** 2)))
    solver = rs.solvers.Minimize(fun, bounds=[(-1, 1)] * 3, max_nfev=7)
    r = solver(np.array([0.9, -0.9, 0.5]), np.random.default_rng(0))
    assert r.nfev == fun.n == 7 and not r.success
