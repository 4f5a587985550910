"""compare(): equal budgets counted once, reproducible rows, clear errors, the CLI hook."""

from __future__ import annotations

import argparse
import types

import numpy as np
import pandas as pd
import pytest
from conftest import Counted

import restarts as rs
from restarts.comparison import METHODS, add_cli, concat, default_budget, summarize


def _rows(df):
    return df.drop(columns=["time_s"]).reset_index(drop=True)


@pytest.mark.parametrize("method", METHODS)
def test_budget_counted_by_one_wrapper(method):
    base = rs.problems.get("hartmann3")
    fun = Counted(base.fun)
    problem = rs.Problem("h3", fun, base.bounds, f_min=base.f_min)
    budget = 300
    df = compare_one(problem, method, budget, repeats=2)
    assert (df["nfev"] <= budget).all()
    assert int(df["nfev"].sum()) == fun.n  # nothing uncounted, nothing double-counted
    assert (df["budget"] == budget).all()
    assert (df["best_so_far_at"] <= df["nfev"]).all()


def compare_one(problem, method, budget, repeats=1):
    return rs.compare(problem, methods=[method], budget=budget, repeats=repeats, rng=0)


@pytest.mark.parametrize("method", ["multistart", "basinhopping", "dual_annealing"])
def test_methods_that_would_overrun_are_stopped_at_the_budget(method):
    # These never stop on their own before a large budget: they must be cut exactly.
    df = compare_one("rastrigin", method, 777)
    assert df["nfev"].iloc[0] == 777


def test_same_rows_whatever_n_jobs_and_method_list():
    kw = {"budget": 400, "repeats": 3, "rng": 11, "shift": True}
    one = rs.compare("branin", n_jobs=1, **kw)
    two = rs.compare("branin", n_jobs=2, **kw)
    pd.testing.assert_frame_equal(_rows(one), _rows(two))
    alone = rs.compare("branin", methods=["mlsl"], n_jobs=1, **kw)
    pd.testing.assert_frame_equal(_rows(alone), _rows(one[one["method"] == "mlsl"]))
    other = rs.compare("branin", methods=["mlsl"], n_jobs=1, **{**kw, "rng": 12})
    assert not _rows(other)["fun"].equals(_rows(alone)["fun"])


def test_table_columns_success_and_traces():
    p = rs.problems.get("six_hump_camel")
    df = rs.compare(p, methods=["tiktak", "direct"], budget=500, repeats=2)
    assert list(df.columns) == ["problem", "method", "repeat", "fun", "gap", "success", "nfev",
                                "time_s", "budget", "best_so_far_at", "error", "nfev_to_success"]
    np.testing.assert_allclose(df["gap"], df["fun"] - p.f_min)
    assert (df["success"] == (df["gap"] <= 1e-4 * max(1.0, abs(p.f_min)))).all()
    for row in df.itertuples():
        trace = np.asarray(df.attrs["traces"][(row.method, row.repeat)])
        assert trace[-1, 1] == row.fun and trace[-1, 0] == row.best_so_far_at
        assert np.all(np.diff(trace[:, 1]) < 0) and np.all(np.diff(trace[:, 0]) > 0)
        tol = 1e-4 * max(1.0, abs(p.f_min))
        if row.success:
            first = trace[trace[:, 1] <= p.f_min + tol][0, 0]
            assert row.nfev_to_success == first <= row.best_so_far_at
        else:
            assert np.isnan(row.nfev_to_success)


def test_success_threshold_by_hand():
    # f = x^2 + 5 on [-1, 1]: f_min = 5, threshold 1e-4 * 5 = 5e-4.
    p = rs.Problem("shifted_bowl", lambda x: float(x[0] ** 2 + 5), [(-1, 1)], f_min=5.0)
    df = rs.compare(p, methods=["tiktak"], budget=100, repeats=1)
    assert df["success"].iloc[0] and df["gap"].iloc[0] < 5e-4


def test_tables_concatenate_keeping_traces_and_references():
    a = rs.compare("booth", methods=["direct", "tiktak"], budget=100, repeats=2)
    b = rs.compare("branin", methods=["direct"], budget=100, repeats=3)
    both = concat([a, b])
    pd.testing.assert_frame_equal(both.drop(columns="time_s"),
                                  pd.concat([a, b], ignore_index=True).drop(columns="time_s"))
    assert both.attrs["f_ref"] == {"booth": a.attrs["f_ref"], "branin": b.attrs["f_ref"]}
    for name, t in (("booth", a), ("branin", b)):
        for key, trace in t.attrs["traces"].items():
            assert both.attrs["traces"][(name, *key)] == trace
    # the profiles' evaluations-to-success read each problem's own trace and f_ref
    again = rs.analysis.add_solve_evaluations(both)
    pd.testing.assert_series_equal(again["nfev_to_success"], both["nfev_to_success"])
    s = summarize(both)
    assert s[["problem", "method", "runs"]].values.tolist() == [
        ["booth", "direct", 2], ["booth", "tiktak", 2], ["branin", "direct", 3]]
    with pytest.raises(ValueError, match=r"each problem once.*\['booth'\]"):
        concat([a, both])


def test_problem_without_f_min_is_compared_against_best_found():
    p = rs.Problem("wavy", lambda x: float(np.sin(3 * x[0]) + 0.1 * x[0] ** 2 + x[1] ** 2),
                   [(-5, 5), (-2, 2)])
    df = rs.compare(p, methods=["multistart", "tiktak", "direct"], budget=300, repeats=2)
    assert df["gap"].min() == 0.0 and (df["gap"] >= 0).all()
    assert df.attrs["f_ref"] == df["fun"].min()
    assert df["success"].any()


def test_default_budget_is_differential_evolutions_own():
    p = rs.problems.get("branin")
    df = rs.compare(p, methods=["tiktak"], repeats=1, rng=3)
    assert df.attrs["budget_source"] == "differential_evolution defaults"
    assert df["budget"].iloc[0] == default_budget(p, 3)
    # measured independently: DE with defaults and a counter around fun
    counted = Counted(p.fun)
    from scipy.optimize import differential_evolution

    res = differential_evolution(counted, [tuple(b) for b in p.bounds], rng=np.random.default_rng(
        np.random.SeedSequence(3, spawn_key=(2**31 - 1,))))
    assert counted.n == df["budget"].iloc[0] and res.nfev <= counted.n


def test_shift_moves_the_optimum_per_repeat():
    df = rs.compare("rastrigin", dim=2, methods=["direct"], budget=300, repeats=3, shift=True)
    assert set(df["problem"]) == {"rastrigin[shifted]"}
    assert df["fun"].nunique() > 1  # DIRECT is deterministic: only the instance changes
    plain = rs.compare("rastrigin", dim=2, methods=["direct"], budget=300, repeats=2)
    assert plain["fun"].nunique() == 1


def test_summary_table():
    df = rs.compare("booth", methods=["tiktak", "direct"], budget=300, repeats=2)
    s = summarize(df)
    assert list(s["method"]) == ["tiktak", "direct"]
    tik = df[df["method"] == "tiktak"]
    assert s.loc[0, "success_rate"] == tik["success"].mean()
    assert s.loc[0, "median_gap"] == tik["gap"].median()
    assert s.loc[0, "nfev_to_success"] == tik.loc[tik["success"], "nfev_to_success"].median()
    assert (s["runs"] == 2).all() and (s["budget"] == 300).all()


def test_bad_input():
    with pytest.raises(ValueError, match=r"methods.*'tiktak'.*Got unknown \['bogus'\]"):
        rs.compare("branin", methods=["tiktak", "bogus"], budget=100)
    with pytest.raises(ValueError, match="budget.*at least 30.*differential_evolution"):
        rs.compare("branin", methods=["differential_evolution"], budget=10)
    with pytest.raises(ValueError, match="'repeats' parameter of compare"):
        rs.compare("branin", repeats=0)
    no_box = types.SimpleNamespace(name="f", fun=lambda x: 0.0, bounds=None, f_min=None)
    with pytest.raises(ValueError, match="must have bounds"):
        rs.compare(no_box, budget=100)
    with pytest.raises(ValueError, match="'name' parameter of get"):
        rs.compare("no_such_problem", budget=100)
    with pytest.raises(ValueError, match="shift"):
        rs.compare(rs.Problem("mine", lambda x: 0.0, [(0, 1)]), budget=100, shift=True)


def test_cli_hook(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="restarts")
    add_cli(parser.add_subparsers(dest="command"))
    out = tmp_path / "table.csv"
    args = parser.parse_args(["compare", "--problem", "booth", "--budget", "200", "--repeats",
                              "2", "--methods", "tiktak,direct", "--shift", "--out", str(out)])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "success_rate" in printed and "tiktak" in printed and "booth[shifted]" in printed
    table = pd.read_csv(out)
    assert len(table) == 4 and set(table["method"]) == {"tiktak", "direct"}


# -- user methods, lists of problems, pycma's restart strategies (issue 15 item 6) --------
def random_search(fun, bounds, budget, rng):
    """A user's method: uniform random search until the counter stops it."""
    lo, hi = bounds[:, 0], bounds[:, 1]
    while True:
        fun(lo + rng.random(lo.size) * (hi - lo))


def two_points(fun, bounds, budget, rng):
    """A user's method that stops early by itself."""
    fun(bounds[:, 0])
    fun(bounds[:, 1])
    return "ignored"


def test_a_user_callable_is_counted_like_the_built_ins():
    base = rs.problems.get("hartmann3")
    fun = Counted(base.fun, record=True)
    problem = rs.Problem("h3", fun, base.bounds, f_min=base.f_min)
    df = rs.compare(problem, methods=[random_search, "multistart", two_points], budget=250,
                    repeats=2, rng=5)
    assert df["method"].unique().tolist() == ["random_search", "multistart", "two_points"]
    assert int(df["nfev"].sum()) == fun.n  # nothing uncounted, nothing double-counted
    mine = df[df["method"] == "random_search"]
    assert (mine["nfev"] == 250).all()  # stopped exactly at the budget
    # its best is the best point it evaluated (the counter's, independent of the return)
    values = [base.fun(x) for x in fun.points[:250]]
    assert mine["fun"].iloc[0] == min(values)
    assert (df.loc[df["method"] == "two_points", "nfev"] == 2).all()
    assert set(df.attrs["traces"]) >= {("random_search", 0), ("two_points", 1)}
    # a row does not depend on the other methods compared, nor on n_jobs
    alone = rs.compare(problem, methods=[random_search], budget=250, repeats=2, rng=5,
                       n_jobs=2)
    pd.testing.assert_frame_equal(_rows(alone), _rows(mine))


def test_a_list_of_problems_is_each_problem_alone_stacked():
    kw = {"methods": ["direct", "multistart"], "budget": 150, "repeats": 2, "rng": 3}
    both = rs.compare(["booth", rs.problems.get("branin")], **kw)
    one, two = rs.compare("booth", **kw), rs.compare("branin", **kw)
    pd.testing.assert_frame_equal(_rows(both), _rows(concat([one, two])))
    assert both.attrs["f_ref"] == {"booth": one.attrs["f_ref"], "branin": two.attrs["f_ref"]}
    with pytest.raises(ValueError, match="'problem' parameter"):
        rs.compare([], **kw)


@pytest.mark.parametrize("peer", ["cma-ipop", "cma-bipop"])
def test_cma_peers_respect_the_budget(peer):
    pytest.importorskip("cma")
    base = rs.problems.get("rastrigin", dim=3)
    fun = Counted(base.fun)
    problem = rs.Problem("r3", fun, base.bounds, f_min=base.f_min)
    df = rs.compare(problem, methods=[peer], budget=700, repeats=2, rng=1)
    # Rastrigin keeps pycma restarting: it is cut exactly at the budget
    assert (df["nfev"] == 700).all() and int(df["nfev"].sum()) == fun.n
    again = rs.compare(problem, methods=[peer], budget=700, repeats=2, rng=1)
    pd.testing.assert_frame_equal(_rows(again), _rows(df))  # seeded from rng alone
    easy = rs.compare("sphere", dim=2, methods=[peer], budget=3000, repeats=1)
    assert easy["success"].all()


def test_missing_cma_gives_the_install_hint(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cma", None)  # `import cma` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'restarts\[cma\]'"):
        rs.compare("booth", methods=["cma-ipop"], budget=100, repeats=1)


def test_bad_methods():
    def tiktak(fun, bounds, budget, rng):
        fun(bounds[:, 0])

    with pytest.raises(ValueError, match="not a built-in method's"):
        rs.compare("booth", methods=[tiktak], budget=100)
    with pytest.raises(ValueError, match="without duplicate names"):
        rs.compare("booth", methods=[random_search, random_search], budget=100)
    with pytest.raises(ValueError, match=r"Got unknown \['cma'\]"):
        rs.compare("booth", methods=["cma"], budget=100)


def test_a_user_method_that_raises_is_a_row_and_keeps_what_it_evaluated():
    def flaky(fun, bounds, budget, rng):
        for _ in range(7):
            fun(rng.uniform(bounds[:, 0], bounds[:, 1]))
        if rng.random() < 0.5:
            raise RuntimeError("planted failure\nsecond line")

    def solid(fun, bounds, budget, rng):
        fun(rng.uniform(bounds[:, 0], bounds[:, 1]))

    t = rs.compare("branin", methods=[flaky, solid], budget=50, repeats=8, rng=3)
    rows = t[t["method"] == "flaky"]
    failed = rows["error"].notna()
    assert 0 < failed.sum() < len(rows)  # some failed, the others and 'solid' ran on
    assert set(rows.loc[failed, "error"]) == {"RuntimeError: planted failure"}
    assert (rows["nfev"] == 7).all() and np.isfinite(rows["fun"]).all()
    assert t.loc[t["method"] == "solid", "error"].isna().all()
