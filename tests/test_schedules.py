"""Restart schedules: IPOP, BIPOP, Luby/geometric budgets (restarts/strategies/schedules.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import Counted

import restarts as rs
from restarts.strategies.schedules import luby

SETTINGS = ["restart", "fun", "nfev", "popsize", "sigma0", "max_nfev"]


def rastrigin(x):
    x = np.asarray(x, dtype=float)
    return float(np.sum(x**2 - 10 * np.cos(2 * np.pi * x)) + 10 * x.size)


class Crashing(rs.solvers.CMA):
    """CMA that is interrupted at its ``_crash_at``-th call (private: not in describe())."""

    _crash_at = None
    _calls = 0

    def __call__(self, start, rng, **kw):
        type(self)._calls += 1
        if self._crash_at is not None and type(self)._calls >= self._crash_at:
            raise KeyboardInterrupt
        return super().__call__(start, rng, **kw)


def luby_reference(i):
    """Luby et al.'s recursive definition, 1-based."""
    k = 1
    while 2**k - 1 < i:
        k += 1
    if i == 2**k - 1:
        return 2 ** (k - 1)
    return luby_reference(i - 2 ** (k - 1) + 1)


def test_luby_matches_the_recursive_definition():
    assert [luby(i) for i in range(1, 200)] == [luby_reference(i) for i in range(1, 200)]


def settings(res):
    cols = [c for c in SETTINGS if c in res.table.columns]
    return res.table[cols]


@pytest.mark.parametrize("strategy", ["ipop", "bipop"])
def test_tables_equal_for_n_jobs_and_after_resume(strategy, tmp_path):
    solver = rs.solvers.CMA(rastrigin, bounds=[(-5, 5)] * 2)
    kw = dict(strategy=strategy, rng=4, stop=rs.stop.MaxEvaluations(3000))
    one = rs.multistart(solver, 40, n_jobs=1, **kw)
    two = rs.multistart(solver, 40, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(settings(one), settings(two))
    assert len(one) >= 3 and int(one.table["nfev"].sum()) <= 3000

    path = tmp_path / "run.sqlite"
    crashing = Crashing(rastrigin, bounds=[(-5, 5)] * 2)
    Crashing._calls, Crashing._crash_at = 0, 3
    with pytest.raises(KeyboardInterrupt):
        rs.multistart(crashing, 40, store=path, **kw)
    Crashing._crash_at = None
    resumed = rs.multistart(crashing, 40, store=path, **kw)
    assert Crashing._calls < 3 + len(one)  # the stored restarts were not run again
    pd.testing.assert_frame_equal(settings(resumed), settings(one))


def test_ipop_doubles_the_population_and_shares_the_budget_exactly():
    counted = Counted(rastrigin)
    solver = rs.solvers.CMA(counted, bounds=[(-5, 5)] * 3)
    res = rs.multistart(solver, 50, strategy="ipop", rng=1, stop=rs.stop.MaxEvaluations(5000))
    t = res.table
    lam0 = 4 + int(3 * np.log(3))
    assert t["popsize"].tolist() == [lam0 * 2**i for i in range(len(t))]
    assert int(t["nfev"].sum()) == counted.n <= 5000
    # each restart is capped at what the earlier ones left
    assert t["max_nfev"].tolist() == (5000 - t["nfev"].cumsum().shift(fill_value=0)).tolist()


def test_bipop_regimes_follow_the_budget_rule():
    solver = rs.solvers.CMA(rastrigin, bounds=[(-5, 5)] * 2)
    res = rs.multistart(solver, 60, strategy="bipop", rng=2, stop=rs.stop.MaxEvaluations(8000))
    t = res.table
    assert int(t["nfev"].sum()) <= 8000
    sigma0 = rs.solvers.cma.SIGMA0_FRACTION * 10
    lam0 = 4 + int(3 * np.log(2))
    used = {"small": 0, "large": 0}
    n_large = 0
    for i, row in t.iterrows():
        if i == 0:
            regime = "small"
            assert row["popsize"] == lam0 and row["sigma0"] == sigma0
        elif used["small"] < used["large"]:
            regime = "small"
            assert row["sigma0"] <= sigma0 and lam0 <= row["popsize"] <= lam0 * 2**n_large
            assert row["max_nfev"] <= max(row["popsize"], used["large"] // 2)
        else:
            regime = "large"
            n_large += 1
            assert row["popsize"] == lam0 * 2**n_large and row["sigma0"] == sigma0
        used[regime] += int(row["nfev"])
    assert n_large >= 2 and (t["sigma0"] < sigma0).sum() >= 2


@pytest.mark.parametrize("kind, expected", [("luby", [7, 7, 14, 7, 7, 14, 28, 7]),
                                            ("geometric", [7, 14, 28, 56, 112, 224, 448, 896])])
def test_budget_schedules_record_max_nfev(kind, expected):
    counted = Counted(rastrigin)
    solver = rs.solvers.Minimize(counted, bounds=[(-5, 5)] * 2)
    res = rs.multistart(solver, 8, strategy=rs.strategies.BudgetSchedule(kind, 7), rng=0)
    assert res.table["max_nfev"].tolist() == expected
    assert (res.table["nfev"] <= res.table["max_nfev"]).all()
    capped = rs.multistart(solver, 8, strategy=rs.strategies.BudgetSchedule(kind, 7), rng=0,
                           stop=rs.stop.MaxEvaluations(50))
    assert int(capped.table["nfev"].sum()) <= 50


def test_schedules_refuse_a_solver_without_the_settings():
    solver = rs.solvers.Minimize(rastrigin, bounds=[(-5, 5)] * 2)
    with pytest.raises(ValueError, match="popsize"):
        rs.multistart(solver, 3, strategy="ipop", rng=0)
    with pytest.raises(ValueError, match="'kind'"):
        rs.strategies.BudgetSchedule("fibonacci")
    with pytest.raises(ValueError, match="'factor'"):
        rs.strategies.IPOP(factor=1.0)


@pytest.mark.parametrize("strategy", ["ipop", "bipop"])
def test_a_budget_below_one_generation_names_the_budget(strategy):
    solver = rs.solvers.CMA(rastrigin, bounds=[(-5, 5)] * 2)
    with pytest.raises(ValueError, match="'max_nfev'.*at least 6"):
        rs.multistart(solver, 3, strategy=strategy, rng=0, stop=rs.stop.MaxEvaluations(5))
