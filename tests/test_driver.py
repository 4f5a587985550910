"""The contract of rs.multistart: reproducibility, ordering, failures, stopping, tables."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
import pytest
from conftest import BatchNoisySolver, Counted, NoisySolver, double_well
from scipy.optimize import OptimizeResult

import restarts as rs


def frame(res):
    """The table without wall-clock columns (those are never reproducible)."""
    return res.table.drop(columns=["time_s"])


# -- reproducibility ---------------------------------------------------------------


def test_same_rng_same_table_and_different_rng_differs(noisy):
    starts = rs.starts.Uniform([(-2, 2)] * 3)
    a = rs.multistart(noisy, 30, starts=starts, rng=7)
    b = rs.multistart(noisy, 30, starts=starts, rng=7)
    c = rs.multistart(noisy, 30, starts=starts, rng=8)
    pd.testing.assert_frame_equal(frame(a), frame(b))
    assert not np.allclose(a.table["fun"], c.table["fun"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_jobs": 2},
        {"n_jobs": 2, "backend": "loky"},
        {"n_jobs": 2, "backend": "threading"},
        {"n_jobs": 1, "batch_size": 3},
        {"n_jobs": 2, "batch_size": 1},
        {"n_jobs": -1},
    ],
    ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()),
)
def test_identical_whatever_workers_backend_and_chunking(noisy, kwargs):
    starts = rs.starts.Sobol([(-1, 1)] * 2)
    ref = rs.multistart(noisy, 40, starts=starts, rng=3)
    other = rs.multistart(noisy, 40, starts=starts, rng=3, **kwargs)
    pd.testing.assert_frame_equal(frame(ref), frame(other))
    for r1, r2 in zip(ref.results, other.results, strict=True):
        assert np.array_equal(r1.x, r2.x)  # bit-identical, not merely close


def test_solve_batch_is_used_and_gives_identical_results():
    batched = BatchNoisySolver()
    starts = rs.starts.Uniform([(-1, 1)] * 2)
    a = rs.multistart(batched, 25, starts=starts, rng=11, batch_size=8)
    b = rs.multistart(NoisySolver(), 25, starts=starts, rng=11)
    assert batched.batch_calls == 3  # chunks of 8, 8, 8; the last single restart runs alone
    pd.testing.assert_frame_equal(frame(a), frame(b))


def test_prefix_stable_and_each_row_reruns_alone(noisy):
    starts = rs.starts.Uniform([(-3, 3)] * 2)
    small = rs.multistart(noisy, 10, starts=starts, rng=5)
    big = rs.multistart(noisy, 25, starts=starts, rng=5)
    # basin ids are ranks among the optima found, so they depend on the whole run
    pd.testing.assert_frame_equal(frame(small).drop(columns="basin"),
                                  frame(big).iloc[:10].drop(columns="basin"))
    table = big.table
    for i in (0, 7, 24):
        start = table.loc[i, ["x0_0", "x0_1"]].to_numpy(dtype=float)
        again = noisy(start, np.random.default_rng(big.restart_seed(i)))
        assert again[1] == table.loc[i, "fun"]
        assert table.loc[i, "seed_spawn_key"] == str(big.restart_seed(i).spawn_key)


def test_restart_seed_is_numpy_spawn():
    res = rs.multistart(NoisySolver(), 5, starts=np.zeros((5, 1)), rng=42)
    children = np.random.SeedSequence(42).spawn(5)
    for i, child in enumerate(children):
        mine = np.random.default_rng(res.restart_seed(i)).random(3)
        assert np.array_equal(mine, np.random.default_rng(child).random(3))


def test_rng_kinds():
    starts = np.zeros((6, 1))
    by_int = rs.multistart(NoisySolver(), 6, starts=starts, rng=1)
    by_seq = rs.multistart(NoisySolver(), 6, starts=starts, rng=np.random.SeedSequence(1))
    pd.testing.assert_frame_equal(frame(by_int), frame(by_seq))
    gen = np.random.default_rng(9)
    first = rs.multistart(NoisySolver(), 6, starts=starts, rng=gen)
    second = rs.multistart(NoisySolver(), 6, starts=starts, rng=gen)  # spawned again: new run
    assert not np.array_equal(first.table["fun"], second.table["fun"])
    again = rs.multistart(NoisySolver(), 6, starts=starts, rng=np.random.default_rng(9))
    pd.testing.assert_frame_equal(frame(first), frame(again))
    fresh_a = rs.multistart(NoisySolver(), 6, starts=starts)
    fresh_b = rs.multistart(NoisySolver(), 6, starts=starts)
    assert not np.array_equal(fresh_a.table["fun"], fresh_b.table["fun"])


# -- outcomes and failures --------------------------------------------------------


def test_outcome_kinds_are_normalised():
    def solver(start, rng):
        k = int(start[0])
        if k == 0:
            return rs.LocalResult(x=[1.0], fun=1.0, nit=4, nfev=9, extra={"a": 1})
        if k == 1:
            return OptimizeResult(x=np.array([2.0]), fun=np.float64(2.0), nit=3, nfev=5,
                                  success=False, message="meh")
        if k == 2:
            return (np.array([3.0]), 3.0)
        return {"nonsense": True}

    res = rs.multistart(solver, 4, starts=np.arange(4.0)[:, None], rng=0)
    t = res.table
    assert t["fun"].tolist()[:3] == [1.0, 2.0, 3.0]
    assert t["nit"].tolist()[:2] == [4, 3] and t["nfev"].tolist()[:2] == [9, 5]
    assert t["success"].tolist() == [True, False, True, False]
    assert t.loc[3, "error"].startswith("TypeError: A local solver must return")
    assert "dict" in t.loc[3, "error"]
    assert res.results[1].message == "meh"
    assert res.best.extra["a"] == 1


def test_failures_are_rows_and_the_run_goes_on():
    def solver(start, rng):
        i = int(start[0])
        if i % 3 == 0:
            raise RuntimeError(f"boom {i}")
        if i == 4:
            return (np.array([0.0]), float("nan"))
        return (np.array([float(i)]), float(i))

    res = rs.multistart(solver, 12, starts=np.arange(12.0)[:, None], rng=0, n_jobs=2)
    t = res.table
    assert len(t) == 12 and t["restart"].tolist() == list(range(12))
    for i in range(12):
        if i % 3 == 0:
            assert t.loc[i, "error"] == f"RuntimeError: boom {i}"
        elif i == 4:
            assert t.loc[i, "error"].startswith("NonFiniteObjective")
        else:
            assert pd.isna(t.loc[i, "error"]) and t.loc[i, "fun"] == i
    assert res.fun == 1.0 and res.n_failed == 5
    assert t.loc[0, "success"] == np.False_ and pd.isna(t.loc[0, "basin"])
    assert np.isnan(res.results[0].fun) and res.results[0].message == "RuntimeError: boom 0"


def test_all_failed_says_so():
    def solver(start, rng):
        raise RuntimeError("bad bounds")  # not a set-up error: the run goes on

    res = rs.multistart(solver, 3, rng=0)
    assert res.n_failed == 3 and "failed=3" in repr(res)
    with pytest.raises(rs.AllRestartsFailedError, match="All 3 restarts failed.*bad bounds"):
        _ = res.best
    with pytest.raises(rs.AllRestartsFailedError, match="Check the solver"):
        _ = res.fun
    assert res.solutions.empty


def test_timeout_in_process_interrupts_and_threads_record_overrun():
    def solver(start, rng):
        if start[0] == 1:
            time.sleep(5)
        return (np.asarray(start), float(start[0]))

    starts = np.array([[0.0], [1.0], [2.0]])
    t0 = time.perf_counter()
    res = rs.multistart(solver, 3, starts=starts, rng=0, timeout=0.2)
    assert time.perf_counter() - t0 < 3  # interrupted, not waited for
    assert res.table.loc[1, "error"].startswith("RestartTimeout")
    assert res.table["error"].isna().sum() == 2

    def slow(start, rng):
        time.sleep(0.3 if start[0] == 1 else 0)
        return (np.asarray(start), float(start[0]))

    res = rs.multistart(slow, 3, starts=starts, rng=0, timeout=0.1, n_jobs=2,
                        backend="threading")
    assert res.table.loc[1, "error"].startswith("RestartTimeout")
    assert res.table["error"].isna().sum() == 2


# -- results ------------------------------------------------------------------------


def test_local_result_is_really_frozen():
    r = rs.LocalResult(x=np.array([1.0, 2.0]), fun=1, extra={"k": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.fun = 0.0
    with pytest.raises(ValueError, match="read-only"):
        r.x[0] = 5.0
    with pytest.raises(TypeError):
        r.extra["k"] = 2
    assert isinstance(r.fun, float)


def test_solutions_group_by_fun_and_x():
    solver = rs.solvers.Minimize(double_well, bounds=[(-2, 2)])
    res = rs.multistart(solver, 30, starts=rs.starts.Uniform([(-2, 2)]), rng=1)
    sol = res.solutions
    assert len(sol) == 2
    assert sol["fun"].is_monotonic_increasing and sol["count"].sum() == 30
    assert abs(sol.loc[0, "x"][0] + 1.0) < 0.1 and abs(sol.loc[1, "x"][0] - 1.0) < 0.1
    assert set(res.table["basin"]) == {0, 1}
    assert np.isclose(sol["share"].sum(), 1.0)
    # a coarse ftol and xtol merges them; a tiny xtol splits them
    res_coarse = rs.multistart(solver, 30, starts=rs.starts.Uniform([(-2, 2)]), rng=1,
                               ftol=1.0, xtol=3.0)
    assert len(res_coarse.solutions) == 1


def test_canonical_merges_symmetric_optima():
    class Perm:
        def __call__(self, start, rng):
            x = rng.permutation([1.0, 2.0, 3.0])
            return (x, 0.0)

        def canonical(self, x):
            return np.sort(x)

    class NoCanon:
        def __call__(self, start, rng):
            return Perm()(start, rng)

    assert len(rs.multistart(Perm(), 20, rng=0).solutions) == 1
    assert len(rs.multistart(NoCanon(), 20, rng=0).solutions) > 1


def test_minimize_nfev_is_an_independent_count():
    calls = []

    def f(x):
        calls.append(1)
        return double_well(x)

    for method in ("L-BFGS-B", "Nelder-Mead", "Powell"):
        calls.clear()
        res = rs.multistart(rs.solvers.Minimize(f, bounds=[(-2, 2)], method=method), 5,
                            starts=rs.starts.Uniform([(-2, 2)]), rng=0)
        assert int(res.table["nfev"].sum()) == len(calls) > 0


def test_minimize_counts_jac_separately_and_clips_starts():
    def grad(x):
        x = float(x[0])
        return np.array([4 * x * (x * x - 1) + 0.3])

    solver = rs.solvers.Minimize(double_well, bounds=[(-2, 2)], jac=grad)
    r = solver(np.array([10.0]), np.random.default_rng(0))
    assert r.extra["njev"] > 0 and r.nfev > 0
    assert -2 <= r.x[0] <= 2
    capped = rs.solvers.Minimize(double_well, bounds=[(-2, 2)], method="Nelder-Mead",
                                 max_nfev=5)(np.array([1.9]), np.random.default_rng(0))
    assert capped.nfev == 5 and not capped.success


# -- stopping rules -----------------------------------------------------------------


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_target_stops_deterministically(n_jobs):
    def solver(start, rng):
        v = float(rng.integers(0, 50))
        return (np.array([v]), v)

    full = rs.multistart(solver, 200, rng=4)
    first_hit = int(np.argmax(full.table["fun"].to_numpy() <= 2))
    res = rs.multistart(solver, 200, rng=4, stop=rs.stop.Target(0.0, tol=2.0), n_jobs=n_jobs)
    assert len(res) == first_hit + 1 and res.fun <= 2
    assert res.stopped_by == "Target"
    pd.testing.assert_frame_equal(frame(res).drop(columns="basin"),
                                  frame(full).iloc[: first_hit + 1].drop(columns="basin"))


def test_no_improvement_and_max_evaluations():
    def solver(start, rng):
        i = int(start[0])
        return rs.LocalResult(x=[i], fun=max(10 - i, 3), nfev=10)

    starts = np.arange(100.0)[:, None]
    res = rs.multistart(solver, 100, starts=starts, rng=0, stop=rs.stop.NoImprovement(5))
    # improves until restart 7 (fun 3); restarts 8..12 do not improve
    assert len(res) == 13
    res = rs.multistart(solver, 100, starts=starts, rng=0, stop=rs.stop.MaxEvaluations(35))
    assert len(res) == 4 and res.table["nfev"].sum() == 40
    res = rs.multistart(solver, 100, starts=starts, rng=0,
                        stop=[rs.stop.MaxEvaluations(1000), rs.stop.Target(3)])
    assert len(res) == 8 and res.stopped_by == "Target"
    res = rs.multistart(solver, 100, starts=starts, rng=0, stop=rs.stop.TimeLimit(1e-9))
    assert len(res) >= 1 and res.stopped_by == "TimeLimit"
    rule = rs.stop.NoImprovement(2)
    for _ in range(2):  # the same rule object again: nothing carried over from the last run
        res = rs.multistart(solver, 50, starts=starts, rng=0, stop=rule)
        assert len(res) == 10 and res.stopped_by == "NoImprovement"  # 8, 9 do not improve
    res = rs.multistart(solver, 50, starts=starts, rng=0, stop=rs.stop.NoImprovement(2, tol=1.5))
    # tol=1.5: 10 (first), 8, 6, 4 improve by 2; 9, 7, 5 by 1 only; then 3, 3 -> stop at 8
    assert len(res) == 9


def test_a_plain_callable_is_a_stop_rule():
    res = rs.multistart(NoisySolver(), 50, starts=np.zeros((50, 1)), rng=0,
                        stop=lambda state: state.n_done >= 7)
    assert len(res) == 7


def test_progress_bar_runs(capsys):
    res = rs.multistart(NoisySolver(), 5, starts=np.zeros((5, 1)), rng=0, progress=True)
    assert len(res) == 5
    assert "restarts" in capsys.readouterr().err


# -- start points -------------------------------------------------------------------


@pytest.mark.parametrize("cls", [rs.starts.Uniform, rs.starts.Sobol, rs.starts.Halton,
                                 rs.starts.LatinHypercube])
def test_samplers_in_bounds_and_reproducible(cls):
    bounds = [(-5, 5), (0, 1), (10, 20)]
    s = cls(bounds)
    a = s.draw(64, np.random.default_rng(0))
    b = s.draw(64, np.random.default_rng(0))
    assert a.shape == (64, 3) and np.array_equal(a, b)
    lo, hi = np.array(bounds).T
    assert np.all(a >= lo) and np.all(a <= hi)
    if s.prefix_stable:
        assert np.array_equal(s.draw(10, np.random.default_rng(0)), a[:10])


def test_sobol_is_more_even_than_uniform():
    # discrepancy of scrambled Sobol' in the unit square is far lower than i.i.d. points
    from scipy.stats import qmc

    sob = rs.starts.Sobol([(0, 1)] * 2).draw(256, np.random.default_rng(0))
    uni = rs.starts.Uniform([(0, 1)] * 2).draw(256, np.random.default_rng(0))
    assert qmc.discrepancy(sob) < qmc.discrepancy(uni) / 3


def test_normal_sampler_moments():
    pts = rs.starts.Normal([1.0, -2.0], [0.5, 2.0]).draw(20000, np.random.default_rng(0))
    assert np.allclose(pts.mean(axis=0), [1.0, -2.0], atol=0.05)
    assert np.allclose(pts.std(axis=0), [0.5, 2.0], rtol=0.03)


def test_array_starts_are_used_in_order():
    starts = np.array([[3.0], [1.0], [2.0]])
    res = rs.multistart(lambda s, r: (s, float(s[0])), 3, starts=starts, rng=0)
    assert res.table["x0_0"].tolist() == [3.0, 1.0, 2.0]
    assert res.table["fun"].tolist() == [3.0, 1.0, 2.0]


# -- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"n_starts": 0}, ValueError, r"'n_starts' parameter of multistart\(\) must be an int >= 1"),  # noqa: E501
        ({"n_starts": -3}, ValueError, "'n_starts'.*Got -3"),
        ({"n_starts": 2.5}, TypeError, "'n_starts'.*Got 2.5"),
        ({"n_starts": True}, TypeError, "'n_starts'"),
        ({"n_jobs": 0}, ValueError, "'n_jobs'.*non-zero"),
        ({"n_jobs": 1.5}, TypeError, "'n_jobs'"),
        ({"starts": np.zeros((3, 2))}, ValueError, "'starts'.*one row per restart"),
        ({"starts": np.full((10, 2), np.nan)}, ValueError, "'starts'.*finite"),
        ({"starts": "abc"}, TypeError, "'starts'"),
        ({"starts": np.zeros((10, 2, 2))}, ValueError, "'starts'.*dimension"),
        ({"backend": "warp-drive"}, ValueError, "'backend'.*one of"),
        ({"backend": 3}, TypeError, "'backend'"),
        ({"strategy": "greedy"}, ValueError, "'strategy'.*independent"),
        ({"rng": -1}, ValueError, "'rng'"),
        ({"rng": "seed"}, TypeError, "'rng'"),
        ({"stop": 5}, TypeError, "'stop'"),
        ({"timeout": 0}, ValueError, "'timeout'"),
        ({"timeout": float("nan")}, ValueError, "'timeout'"),
        ({"progress": "yes"}, TypeError, "'progress'"),
        ({"ftol": -1.0}, ValueError, "'ftol'"),
        ({"batch_size": 0}, ValueError, "'batch_size'"),
        ({"name": "x"}, ValueError, "'name'.*store"),
        ({"name": "", "store": "unused.db"}, ValueError, "'name'.*non-empty"),
        ({"name": 3, "store": "unused.db"}, TypeError, "'name'"),
        ({"threads": 0}, ValueError, "'threads'"),
    ],
)
def test_bad_arguments_raise_before_work(kwargs, exc, match):
    calls = []

    def solver(start, rng):
        calls.append(1)
        return (np.zeros(1), 0.0)

    args = {"n_starts": 10, **kwargs}
    n = args.pop("n_starts")
    with pytest.raises(exc, match=match):
        rs.multistart(solver, n, **args)
    assert calls == []


def test_uncallable_solver():
    with pytest.raises(TypeError, match="'solver' parameter of multistart.*callable"):
        rs.multistart("not a solver", 3)


@pytest.mark.parametrize(
    ("bounds", "exc", "match"),
    [
        ([(1, 0)], ValueError, "low < high.*dimension 0"),
        ([(0, 1), (2, 2)], ValueError, "dimension 1"),
        ([(0, np.nan)], ValueError, "finite"),
        ([(0, np.inf)], ValueError, "finite"),
        ([1, 2, 3], ValueError, "pairs"),
        ("box", TypeError, "pairs"),
        ([], ValueError, "non-empty"),
    ],
)
def test_bad_bounds(bounds, exc, match):
    with pytest.raises(exc, match=match):
        rs.starts.Uniform(bounds)
    # Minimize takes SciPy's bounds (infinite or equal ends allowed): tests/test_optimize.py


def test_bad_rule_and_minimize_arguments():
    with pytest.raises(ValueError, match="'n' parameter of MaxEvaluations"):
        rs.stop.MaxEvaluations(0)
    with pytest.raises(ValueError, match="'seconds'"):
        rs.stop.TimeLimit(-1)
    with pytest.raises(TypeError, match="'restarts'"):
        rs.stop.NoImprovement(2.0)
    with pytest.raises(ValueError, match="'method'.*L-BFGS-B"):
        rs.solvers.Minimize(double_well, method="newton-raphson")
    with pytest.raises(ValueError, match="'jac'"):
        rs.solvers.Minimize(double_well, method="Newton-CG")
    with pytest.raises(TypeError, match="'fun'"):
        rs.solvers.Minimize(42)
    with pytest.raises(ValueError, match="'scale'"):
        rs.starts.Normal([0.0], -1.0)
    # no bounds, no starts: a set-up error, raised after the first 10 restarts of 1000
    with pytest.raises(ValueError, match="restarts 0 to 9 all failed.*needs a start point"):
        rs.multistart(rs.solvers.Minimize(double_well), 1000, rng=0)


def test_stop_rules_see_the_runs_tolerances_and_canonical():
    class Perm:
        def __call__(self, start, rng):
            return (rng.permutation([1.0, 2.0, 3.0]), 0.0)

        def canonical(self, x):
            return np.sort(x)

    # with canonical, every restart is the same optimum: 3 discoveries take 3 restarts
    assert len(rs.multistart(Perm(), 50, rng=0, stop=rs.stop.Discoveries(3))) == 3
    # a huge xtol merges optima for a solver without canonical too
    plain = lambda s, r: (r.permutation([1.0, 2.0, 3.0]), 0.0)  # noqa: E731
    assert len(rs.multistart(plain, 50, rng=0, xtol=10.0, stop=rs.stop.Discoveries(3))) == 3
    assert len(rs.multistart(plain, 50, rng=0, stop=rs.stop.Discoveries(3))) > 3


def test_minimize_with_jac_true_counts_value_and_gradient_calls():
    calls = []

    def f_and_grad(x):
        calls.append(1)
        x0 = float(x[0])
        return double_well(x), np.array([4 * x0 * (x0 * x0 - 1) + 0.3])

    solver = rs.solvers.Minimize(f_and_grad, bounds=[(-2, 2)], jac=True)
    r = solver(np.array([-1.5]), np.random.default_rng(0))
    ref = rs.solvers.Minimize(double_well, bounds=[(-2, 2)])(np.array([-1.5]), None)
    assert abs(r.fun - ref.fun) < 1e-8 and r.nfev == len(calls) == r.extra["njev"]
    assert r.nfev < ref.nfev  # analytic gradients need no finite-difference calls


def test_starts_of_the_wrong_dimension_for_the_solver():
    calls = []

    def f(x):
        calls.append(1)
        return double_well(x)

    solver = rs.solvers.Minimize(f, bounds=[(-2, 2)])
    with pytest.raises(ValueError, match="'starts'.*dimension of the solver \\(1\\).*2"):
        rs.multistart(solver, 4, starts=rs.starts.Uniform([(-1, 1), (-1, 1)]), rng=0)
    with pytest.raises(ValueError, match="'starts'.*dimension"):
        rs.multistart(solver, 4, starts=np.zeros((4, 3)), rng=0)
    assert calls == []


# -- set-up errors stop the run; single failures stay rows ---------------------------


def test_a_solver_returning_a_float_stops_after_ten_restarts():
    calls = []

    def solver(start, rng):
        calls.append(1)
        return 1.5

    with pytest.raises(TypeError, match=r"restarts 0 to 9 all failed.*LocalResult.*Got float"):
        rs.multistart(solver, 5000, rng=0)
    assert len(calls) == 10
    with pytest.raises(TypeError, match="restarts 0 to 9 all failed"):
        rs.multistart(solver, 200, rng=0, n_jobs=2)  # workers: checked as records arrive


def test_failures_that_differ_or_are_not_set_up_errors_stay_rows():
    def differ(start, rng):
        raise ValueError(f"bad start {start[0]}")  # one message per restart

    res = rs.multistart(differ, 30, starts=np.arange(30.0)[:, None], rng=0)
    assert res.n_failed == 30

    def first_ten_fail(start, rng):
        if start[0] < 10:
            raise TypeError("first ten only")
        return (start, float(start[0]))

    with pytest.raises(TypeError, match="first ten only"):
        rs.multistart(first_ten_fail, 30, starts=np.arange(30.0)[:, None], rng=0)

    def first_nine_fail(start, rng):
        if start[0] < 9:
            raise TypeError("first nine only")
        return (start, float(start[0]))

    res = rs.multistart(first_nine_fail, 30, starts=np.arange(30.0)[:, None], rng=0)
    assert res.n_failed == 9 and res.fun == 9.0


@pytest.mark.parametrize("fun", ["2.5", True, np.bool_(False), "nan"])
def test_a_string_or_boolean_fun_is_an_error_row_naming_the_type(fun):
    def solver(start, rng):
        if start[0] == 3:
            return (start, fun)
        return (start, float(start[0]))

    t = rs.multistart(solver, 5, starts=np.arange(5.0)[:, None], rng=0).table
    assert t.loc[3, "error"].startswith("TypeError: The objective value 'fun'")
    assert type(fun).__name__ in t.loc[3, "error"]
    assert t["error"].isna().sum() == 4


# -- tasks: index, start and solver options -------------------------------------------


class _Tuples(rs.strategies.Strategy):
    """A strategy written before Task: plain (index, start[, max_nfev]) tuples."""

    name = "tuples"

    def tasks(self, ctx):
        got = yield [(0, np.array([1.0])), (1, np.array([2.0]), None)]
        assert [r.index for r in got] == [0, 1]
        yield [(2, np.array([3.0]), 7), (3, np.array([4.0]), 9),
               rs.strategies.Task(4, np.array([5.0]), {"scale": 2.0})]


def test_tasks_pass_options_to_the_solver_and_the_table():
    def solver(start, rng, max_nfev=None, scale=1.0):
        return rs.LocalResult(x=start, fun=scale * float(start[0]),
                              nfev=0 if max_nfev is None else max_nfev)

    res = rs.multistart(solver, 5, rng=0, strategy=_Tuples())
    t = res.table
    assert t["fun"].tolist() == [1.0, 2.0, 3.0, 4.0, 10.0]
    assert t["nfev"].tolist() == [0, 0, 7, 9, 0]
    assert t["max_nfev"].tolist()[2:4] == [7, 9] and t["max_nfev"].isna().sum() == 3
    assert t["scale"].tolist()[4] == 2.0 and t["scale"].isna().sum() == 4
    assert res.restarts[2].info == {"max_nfev": 7}


def test_a_rule_with_max_nfev_is_a_budget_for_strategies():
    p = rs.problems.get("branin")
    fun = Counted(p.fun)
    solver = rs.solvers.Minimize(fun, bounds=p.bounds)

    class Budget:  # not a MaxEvaluations: any rule may carry a budget
        max_nfev = 300

        def __call__(self, state):
            return False

    res = rs.multistart(solver, 50, strategy="tiktak", rng=0, stop=Budget())
    assert fun.n <= 300 and res.config["extra_nfev"] > 0
    assert res.table["max_nfev"].notna().all()
