"""Portfolio and Auto (restarts/strategies/portfolio.py): the budget rule, determinism."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import Counted

import restarts as rs
from restarts.strategies.portfolio import Auto, Portfolio, SolverSet, solver_set

COLUMNS = ["restart", "fun", "nfev", "use", "max_nfev", "popsize", "sigma0"]


def rastrigin(x):
    x = np.asarray(x, dtype=float)
    return float(np.sum(x**2 - 10 * np.cos(2 * np.pi * x)) + 10 * x.size)


def sphere(x):
    return float(np.sum(np.asarray(x, dtype=float) ** 2))


def ellipsoid(x):
    x = np.asarray(x, dtype=float)
    w = 10.0 ** (6 * np.arange(x.size) / (x.size - 1))
    return float(np.sum(w * (x - 1.5) ** 2)) + 100.0


class RandomPoint:
    """A 'local solver' that only evaluates its start: a weak member."""

    def __init__(self, fun, bounds):
        self.fun, self.bounds, self.dim = fun, np.asarray(bounds, float), len(bounds)

    def __call__(self, start, rng, max_nfev=None):
        n = min(20, max_nfev or 20)
        xs = self.bounds[:, 0] + rng.random((n, self.dim)) * np.ptp(self.bounds, axis=1)
        values = [self.fun(x) for x in xs]
        j = int(np.argmin(values))
        return rs.LocalResult(x=xs[j], fun=values[j], nfev=n)


def table(res):
    return res.table[[c for c in COLUMNS if c in res.table.columns]]


def test_tables_equal_for_n_jobs_and_after_resume(tmp_path):
    solver = solver_set(rastrigin, [(-5, 5)] * 2)
    kw = dict(strategy="portfolio", rng=3, stop=rs.stop.MaxEvaluations(1200))
    one = rs.multistart(solver, 10**5, n_jobs=1, **kw)
    two = rs.multistart(solver, 10**5, n_jobs=2, backend="threading", **kw)
    pd.testing.assert_frame_equal(table(one), table(two))
    assert set(one.table["use"]) == {"cma", "local"}
    path = tmp_path / "p.sqlite"
    first = rs.multistart(solver, 6, store=path, **kw)  # an interrupted run: 6 restarts
    assert len(first) == 6
    again = rs.multistart(solver, 6, store=path, **kw)
    pd.testing.assert_frame_equal(table(again), table(first))
    pd.testing.assert_frame_equal(table(first), table(one).iloc[:6])


@pytest.mark.parametrize("ratio", [0.25, {"random": 0.1, "local": 0.5}])
def test_budget_moves_to_the_leader_by_the_documented_rule(ratio):
    counted = Counted(ellipsoid)
    bounds = [(-5, 5)] * 4
    solver = SolverSet({"local": rs.solvers.Minimize(counted, bounds=bounds),
                        "random": RandomPoint(counted, bounds)})
    members = [("random", "independent"), ("local", "independent")]
    res = rs.multistart(solver, 10**4, strategy=Portfolio(members, ratio=ratio), rng=0,
                        stop=rs.stop.MaxEvaluations(2000))
    t = res.table
    assert int(t["nfev"].sum()) == counted.n <= 2000
    # Replay the rule: next = argmin spent_k / w_k, w = 1 for the leader (the member
    # that found the best point; a better value within 1e-3 of the box width of it
    # does not change the leader), else the member's ratio.
    trailing = ratio if isinstance(ratio, dict) else {"random": ratio, "local": ratio}
    spent = {"random": 0, "local": 0}
    leader, best, best_x, changes = None, math.inf, None, 0
    for row, result in zip(t.itertuples(), res.results, strict=True):
        w = {k: 1.0 if leader in (None, k) else trailing[k] for k in spent}
        expected = min(["random", "local"], key=lambda k: (spent[k] / w[k],
                                                           ["random", "local"].index(k)))
        assert row.use == expected
        spent[row.use] += row.nfev
        if row.fun < best:
            if best_x is None or np.abs(result.x - best_x).max() > 1e-3 * 10:
                leader, changes = row.use, changes + 1
            best, best_x = row.fun, result.x
    assert changes >= 2  # the random member led first, then the local one
    assert spent["local"] > 0.7 * t["nfev"].sum()  # the leader got most of it
    # the other kept being tried, about its ratio's share
    assert 0.6 * trailing["random"] <= spent["random"] / spent["local"] <= 1.5 * trailing["random"]


class Fixed:
    """A 'local solver' that returns one point, with ``nfev`` evaluations."""

    def __init__(self, fun, bounds, point, nfev=10):
        self.fun, self.bounds, self.dim = fun, np.asarray(bounds, float), len(bounds)
        self.point, self.nfev = np.asarray(point, float), nfev

    def __call__(self, start, rng, max_nfev=None):
        n = self.nfev if max_nfev is None else min(self.nfev, max_nfev)
        return rs.LocalResult(x=self.point.copy(), fun=self.fun(self.point), nfev=n)


@pytest.mark.parametrize("offset, same_point, leader", [
    (1e-4, 1e-3, "finder"),   # the polisher re-finds the finder's point, more precisely
    (1e-4, 0.0, "polisher"),  # every improvement counts: the polisher takes the lead
    (0.5, 1e-3, "polisher"),  # a better point far away: a new lead
])
def test_refining_the_best_point_does_not_take_the_lead(offset, same_point, leader):
    bounds = [(-5, 5)] * 3  # width 10: 1e-3 of it is 0.01
    solver = SolverSet({"finder": Fixed(sphere, bounds, [offset] * 3),
                        "polisher": Fixed(sphere, bounds, [0.0] * 3)})
    members = [("finder", "independent"), ("polisher", "independent")]
    res = rs.multistart(solver, 10**4, rng=0, stop=rs.stop.MaxEvaluations(1000),
                        strategy=Portfolio(members, ratio=0.25, same_point=same_point))
    t = res.table
    assert t["use"].iloc[:2].tolist() == ["finder", "polisher"]
    assert t["fun"].iloc[1] < t["fun"].iloc[0]
    share = t.groupby("use")["nfev"].sum() / t["nfev"].sum()
    assert share[leader] == pytest.approx(0.8, abs=0.02)  # 1 / (1 + 0.25)


def test_the_polish_refines_another_solver_s_best_and_skips_its_own():
    bounds = [(-5, 5)] * 3
    solver = SolverSet({"local": Fixed(sphere, bounds, [1e-3] * 3),  # stops at 3e-6
                        "cma": rs.solvers.CMA(sphere, bounds=bounds)})
    kw = dict(rng=0, stop=rs.stop.MaxEvaluations(2000))
    res = rs.multistart(solver, 10**4, strategy=Portfolio([("local", "independent")],
                                                          polish=0.1), **kw)
    t = res.table
    last = t.iloc[-1]
    assert last["use"] == "cma" and last["sigma0"] == pytest.approx(1e-3 * 10)
    assert (t["use"].iloc[:-1] == "local").all()
    assert 1e-12 < t["fun"].iloc[:-1].min() and res.fun < 1e-9  # the polish made it
    assert int(t["nfev"].sum()) <= 2000
    assert int(t["nfev"].iloc[:-1].sum()) <= 1800  # the reserve waited for it
    # CMA-ES reached the best itself: no polish, and the members used the reserve.
    res = rs.multistart(solver, 10**4, strategy=Portfolio([("cma", "independent")],
                                                          polish=0.1), **kw)
    assert "sigma0" not in res.table.columns and res.fun < 1e-9
    assert int(res.table["nfev"].sum()) > 1800
    # The reserve is held from the other members only: a run of the polish solver may
    # use it (it then needs no polish, or leaves none).
    members = [("local", "independent"), ("cma", "independent")]
    res = rs.multistart(solver, 10**4, strategy=Portfolio(members, polish=0.1,
                                                          uncapped=("cma",)), **kw)
    t = res.table
    assert t["use"].iloc[:2].tolist() == ["local", "cma"]
    assert t["max_nfev"].iloc[1] == 2000 - 10  # not 2000 - 10 - 200


def test_one_restart_is_capped_by_what_was_spent():
    solver = solver_set(ellipsoid, [(-5, 5)] * 4)
    res = rs.multistart(solver, 10**4, strategy=Portfolio(first_slice=50), rng=1,
                        stop=rs.stop.MaxEvaluations(4000))
    t = res.table
    before = t["nfev"].cumsum().shift(fill_value=0) + res.config["extra_nfev"]
    # (TikTak's sampling counts as spent too: at most extra_nfev more than the table's)
    assert t["max_nfev"].iloc[0] <= 50
    assert (t["max_nfev"] <= np.maximum(50, before)).all()
    assert (t["nfev"] <= t["max_nfev"]).all() and int(t["nfev"].sum()) <= 4000


def test_auto_polishes_to_high_precision_on_an_ill_conditioned_function():
    counted = Counted(ellipsoid)
    solver = solver_set(counted, [(-5, 5)] * 6)
    res = rs.multistart(solver, 10**5, strategy="auto", rng=0,
                        stop=rs.stop.MaxEvaluations(12_000))
    assert res.fun - 100.0 < 1e-8
    assert counted.n <= 12_000


def test_auto_with_a_plain_solver_is_tiktak():
    solver = rs.solvers.Minimize(rastrigin, bounds=[(-5, 5)] * 2)
    kw = dict(rng=0, stop=rs.stop.MaxEvaluations(800))
    auto = rs.multistart(solver, 10**4, strategy=Auto(), **kw)
    tiktak = rs.multistart(solver, 10**4, strategy=rs.strategies.TikTak(
        warm_start="auto", coordinate_share=0.5), **kw)
    assert auto.table["fun"].tolist() == tiktak.table["fun"].tolist()


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="SolverSet"):
        rs.multistart(rs.solvers.Minimize(rastrigin, bounds=[(-1, 1)]), 3,
                      strategy="portfolio", rng=0)
    with pytest.raises(ValueError, match="'ratio'"):
        Portfolio(ratio=0.0)
    with pytest.raises(ValueError, match="'same_point'"):
        Portfolio(same_point=-1.0)
    with pytest.raises(TypeError, match="'members'"):
        Portfolio(members=["bipop"])
    with pytest.raises(ValueError, match="does not have"):
        rs.multistart(solver_set(rastrigin, [(-1, 1)]), 3, rng=0,
                      strategy=Portfolio([("nope", "independent")]))


def test_the_budget_is_never_overrun_when_members_sample_between_restarts():
    """TikTak samples while the portfolio refills it: caps use what is left after that."""
    from restarts.solvers.minimize import CountedFunction

    p = rs.problems.bbob(5, 1, 2)  # linear slope: TikTak's searches end fast, it samples often
    counter = CountedFunction(p.fun, 2000)  # raises past the budget: a row error if overrun
    seed = np.random.SeedSequence(0, spawn_key=(5, 1, 2, 1000, 1))
    res = rs.multistart(solver_set(counter, p.bounds), 2000, strategy="portfolio", rng=seed,
                        stop=rs.stop.MaxEvaluations(2000))
    assert res.table["error"].isna().all()
    assert counter.nfev <= 2000 and len(res) < 200


def test_uncapped_members_run_to_their_own_end_and_restart_0_goes_to_the_first():
    """Restarts of an 'uncapped' member are capped by what is left only, not by
    max(first_slice, spent): CMA-ES then ends on pycma's tolerances."""
    counted = Counted(ellipsoid)
    solver = solver_set(counted, [(-5, 5)] * 4)
    members = [("local", "independent"), ("cma", "ipop")]
    kw = dict(rng=2, stop=rs.stop.MaxEvaluations(6000))
    free = rs.multistart(solver, 10**4, strategy=Portfolio(members, first_slice=50,
                                                           uncapped=("cma",)), **kw)
    t = free.table
    assert t["use"].iloc[0] == "local"  # the first member, though both spent nothing
    before = t["nfev"].cumsum().shift(fill_value=0)
    cma = t["use"] == "cma"
    assert (t.loc[cma, "max_nfev"] == 6000 - before[cma]).all()  # what was left
    assert (t.loc[~cma, "max_nfev"] <= np.maximum(50, before[~cma])).all()
    assert "tolfun" in free.results[int(np.flatnonzero(cma)[0])].message
    capped = rs.multistart(solver, 10**4, strategy=Portfolio(members, first_slice=50), **kw)
    c = capped.table
    first_cma = c.loc[c["use"] == "cma"].iloc[0]
    assert first_cma["max_nfev"] == 50 and first_cma["nfev"] == 50  # cut short
    assert counted.n == int(t["nfev"].sum()) + int(c["nfev"].sum())


def test_ratio_per_member_and_x0_as_restart_0():
    counted = Counted(ellipsoid)
    bounds = [(-5, 5)] * 4
    solver = SolverSet({"local": rs.solvers.Minimize(counted, bounds=bounds),
                        "random": RandomPoint(counted, bounds)})
    members = [("random", "independent"), ("local", "independent")]
    x0 = np.full(4, 1.5)
    strategy = Portfolio(members, ratio={"random": 0.05}, x0=x0)
    res = rs.multistart(solver, 10**4, strategy=strategy, rng=0,
                        stop=rs.stop.MaxEvaluations(2000))
    t = res.table
    np.testing.assert_array_equal(res.restarts[0].start, x0)
    assert t["use"].iloc[0] == "random" and t["nfev"].iloc[0] == 20  # its own search
    spent = t.groupby("use")["nfev"].sum()
    assert spent["random"] < 0.1 * spent["local"]  # 0.05 of the leader's, not 0.25
    assert strategy.describe()["ratios"] == {"random": 0.05}
    with pytest.raises(ValueError, match="'ratio'"):
        Portfolio(ratio={"random": 0.0})
    with pytest.raises(TypeError, match="'uncapped'"):
        Portfolio(uncapped="cma")
    with pytest.raises(ValueError, match="'x0'"):
        Portfolio(x0=[np.nan, 1.0])


def test_from_best_continues_from_the_best_point():
    solver = rs.solvers.CoordinateSearch(ellipsoid, [(-5, 5)] * 4, max_sweeps=1)
    res = rs.multistart(solver, 4, strategy=rs.strategies.portfolio.FromBest(), rng=0)
    funs = res.table["fun"].to_numpy()
    assert res.restarts[0].start is None
    for k in range(1, 4):  # each starts where the best so far ended
        best = int(np.argmin(funs[:k]))
        np.testing.assert_array_equal(res.restarts[k].start, res.results[best].x)
    assert funs[-1] <= funs[0]


def test_auto_solves_a_separable_multimodal_function_and_is_deterministic():
    """Auto's coordinate member: separable Rastrigin in 8-d to 1e-8 at 1000 d, where
    the portfolio of CMA-ES and L-BFGS-B restarts stalls (f >= 1)."""
    solver = solver_set(rastrigin, [(-5, 5)] * 8)
    kw = dict(rng=1, stop=rs.stop.MaxEvaluations(8000))
    one = rs.multistart(solver, 10**4, strategy="auto", **kw)
    assert one.fun < 1e-8
    two = rs.multistart(solver, 10**4, strategy="auto", n_jobs=2, backend="threading", **kw)
    pd.testing.assert_frame_equal(table(one), table(two))
    old = rs.multistart(solver, 10**4, strategy=Auto(members=rs.strategies.portfolio
                                                     .default_members()), **kw)
    assert old.fun >= 0.9


def coupled_ellipsoid(x):
    """Every coordinate interacts with its neighbour: not separable."""
    return ellipsoid(np.asarray(x) + 0.5 * np.roll(x, 1))


def test_from_best_separable_probe_decides_whether_the_coordinate_member_runs():
    """FromBest(separable=True) spends 2 (d + 2) evaluations on the probe; on a
    non-separable function it then makes no restart and its budget goes to the
    others, on a separable one its sweeps run (Auto's coordinate member)."""
    d, budget = 4, 3000
    members = [("local", "independent"), ("coord", rs.strategies.portfolio.FromBest(
        separable=True))]
    for fun, separable in ((ellipsoid, True), (coupled_ellipsoid, False), (rastrigin, True)):
        counted = Counted(fun)
        solver = SolverSet({"local": rs.solvers.Minimize(counted, bounds=[(-5, 5)] * d),
                            "coord": rs.solvers.CoordinateSearch(counted, [(-5, 5)] * d,
                                                                 max_sweeps=1)})
        res = rs.multistart(solver, 10**4, strategy=Portfolio(members), rng=0,
                            stop=rs.stop.MaxEvaluations(budget))
        assert ("coord" in set(res.table["use"])) == separable
        assert counted.n - int(res.table["nfev"].sum()) == 2 * (d + 2)  # the probe
        assert counted.n <= budget
    desc = rs.strategies.portfolio.FromBest(separable=True).describe()
    assert desc["separable"] is True


def test_auto_members_are_tiktak_ipop_and_probed_coordinate_sweeps():
    from restarts.strategies.portfolio import FromBest, auto_members
    from restarts.strategies.schedules import IPOP
    from restarts.strategies.tiktak import TikTak

    members = dict(auto_members())
    assert list(members) == ["local", "cma", "coord"]
    assert isinstance(members["local"], TikTak) and isinstance(members["cma"], IPOP)
    assert isinstance(members["coord"], FromBest) and members["coord"].separable
    # A trailing TikTak gets 0.1 of the leader's share (docs/benchmarks-bbob.md).
    desc = rs.strategies.Auto().describe()
    assert desc["ratios"] == {"cma": 0.25, "local": 0.1, "coord": 0.1}
    # 2% of the budget kept for a polish of a best point CMA-ES did not find itself.
    assert desc["polish"] == 0.02 and desc["same_point"] == 1e-3
    assert Portfolio().describe()["polish"] == 0.0


class Interrupted:
    """An objective whose job is killed (KeyboardInterrupt) at call ``limit``."""

    def __init__(self, fun, limit=None):
        self.fun, self.limit, self.n = fun, limit, 0

    def __call__(self, x):
        if self.limit is not None and self.n >= self.limit:
            raise KeyboardInterrupt
        self.n += 1
        return self.fun(x)


@pytest.mark.parametrize("fun", [ellipsoid, coupled_ellipsoid])
def test_auto_tables_equal_for_n_jobs_and_after_resume_with_the_probe(tmp_path, fun):
    """Auto's coordinate member probes first (evaluations outside any restart): the
    run is still the same for any n_jobs and after an interrupted run resumes."""
    box = [(-5, 5)] * 3
    kw = dict(strategy="auto", rng=5, stop=rs.stop.MaxEvaluations(1500))
    one = rs.multistart(solver_set(fun, box), 10**5, n_jobs=1, **kw)
    two = rs.multistart(solver_set(fun, box), 10**5, n_jobs=2, backend="threading", **kw)
    pd.testing.assert_frame_equal(table(one), table(two))
    assert ("coord" in set(one.table["use"])) == (fun is ellipsoid)  # it is separable
    path = tmp_path / "auto.sqlite"
    cut = int(one.table["nfev"].iloc[:-1].sum()) + 2 * (3 + 2) + 40  # in the last restart
    with pytest.raises(KeyboardInterrupt):
        rs.multistart(solver_set(Interrupted(fun, cut), box), 10**5, store=path, name="a",
                      **kw)
    assert 1 <= len(rs.Store(path).load("a")) < len(one)
    again = rs.multistart(solver_set(Interrupted(fun), box), 10**5, store=path, name="a",
                          **kw)
    pd.testing.assert_frame_equal(table(again), table(one))
