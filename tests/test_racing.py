"""Racing (successive halving over restarts), checked against a by-hand schedule."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import Decay

import restarts as rs
from restarts.strategies.racing import rung_budgets


def by_hand(solver, res, n, eta, first, full):
    """Successive halving computed from each restart alone: {index: (fun, budget, rung)}."""
    budgets = rung_budgets(first, full, eta)
    states = {i: solver.begin(None, np.random.default_rng(res.restart_seed(i)))
              for i in range(n)}
    alive, out, given = list(range(n)), {}, 0
    for k, b in enumerate(budgets):
        losses = {}
        for i in alive:
            solver.advance(states[i], b - given)
            losses[i] = solver.current(states[i]).fun
        given = b
        improving = [i for i in alive if not solver.finished(states[i])]
        for i in alive:
            if i not in improving or k == len(budgets) - 1:
                out[i] = (losses[i], b, k)
        keep = sorted(improving, key=lambda i: (losses[i], i))[: max(1, len(alive) // eta)]
        for i in improving:
            if i not in keep:
                out[i] = (losses[i], b, k)
        alive = sorted(keep)
        if k == len(budgets) - 1 or not alive:
            break
    return out


@pytest.mark.parametrize(("n", "eta", "first", "converge"),
                         [(27, 3, 1, None), (20, 2, 3, None), (30, 3, 1, 0.05), (5, 4, 2, None)])
def test_schedule_matches_successive_halving_by_hand(n, eta, first, converge):
    solver = Decay(max_budget=27, converge=converge)
    res = rs.multistart(solver, n, rng=1,
                        strategy=rs.strategies.Racing(eta=eta, min_budget=first))
    t = res.table
    want = by_hand(Decay(max_budget=27, converge=converge), res, n, eta, first, 27)
    assert sorted(want) == t["restart"].tolist()
    assert t["fun"].tolist() == [want[i][0] for i in range(n)]
    assert t["budget"].tolist() == [want[i][1] for i in range(n)]
    assert t["rung"].tolist() == [want[i][2] for i in range(n)]
    assert t["error"].isna().all()
    dropped = t["rung"] < t["rung"].max()
    finished = np.array([r.result.extra.get("racing_finished", False) or
                         (converge is not None and r.result.success) for r in res.restarts])
    assert dropped.any()
    for i in np.flatnonzero(dropped & ~finished):
        assert not t.loc[i, "success"]
        assert res.results[i].message.startswith("racing: dropped after rung")


def test_winners_equal_the_plain_full_run_and_dropped_rows_their_budget():
    solver = Decay(max_budget=27)
    res = rs.multistart(solver, 12, rng=4, strategy=rs.strategies.Racing(eta=3, min_budget=3))
    for i, r in enumerate(res.restarts):
        rng = np.random.default_rng(res.restart_seed(i))
        if r.info["budget"] == 27:
            assert r.result.fun == solver(None, rng).fun  # a winner: the uninterrupted run
        else:
            state = solver.advance(solver.begin(None, rng), r.info["budget"])
            assert r.result.fun == solver.current(state).fun and r.result.nit == state["t"]


def test_finished_restarts_keep_their_result_and_leave_the_slots_to_others():
    # converge=0.3: many restarts finish in the first rungs; they keep success=True and
    # their final loss, and the slots go to restarts still improving
    solver = Decay(max_budget=27, converge=0.3)
    res = rs.multistart(solver, 27, rng=2, strategy=rs.strategies.Racing(eta=3, min_budget=1))
    t = res.table
    early = [r.index for r in res.restarts if r.result.success and r.info["budget"] < 27]
    assert early  # the case happens
    for i in early:
        assert res.results[i].message == ""
        assert res.restarts[i].result.fun == solver(None, np.random.default_rng(
            res.restart_seed(i))).fun  # finished early: its final result
    for k in range(t["rung"].max()):
        ran = int((t["rung"] >= k).sum())
        finished_here = int(((t["rung"] == k) & t["success"]).sum())
        continued = int((t["rung"] > k).sum())
        assert continued == min(max(1, ran // 3), ran - finished_here)


@pytest.mark.parametrize("kwargs", [{"n_jobs": 2}, {"n_jobs": 2, "backend": "threading"},
                                    {"n_jobs": 1, "batch_size": 3}])
def test_same_table_whatever_workers_and_backend(kwargs):
    racing = rs.strategies.Racing(eta=3, min_budget=1)
    one = rs.multistart(Decay(), 27, rng=7, strategy=racing).table.drop(columns="time_s")
    other = rs.multistart(Decay(), 27, rng=7, strategy=racing, **kwargs).table
    pd.testing.assert_frame_equal(one, other.drop(columns="time_s"))


def test_kmeans_races_to_its_own_max_iter_by_default():
    X = np.random.default_rng(0).normal(size=(300, 2))
    solver = rs.solvers.KMeans(X, 5, init="random", max_iter=81, tol=0.0)
    res = rs.multistart(solver, 27, strategy="racing", rng=0)
    t = res.table
    assert t["budget"].min() == 81 // 27 and t["rung"].max() >= 2  # default first rung
    converged = t.index[t["success"]]
    assert len(converged) >= 1
    for i in converged:  # a converged k-means restart is its uninterrupted run
        plain = solver(None, np.random.default_rng(res.restart_seed(i)))
        assert plain.fun == t.loc[i, "fun"] and plain.nit == t.loc[i, "nit"]
    assert res.table["basin"].notna().all() and len(res.solutions) >= 1


def test_a_slow_starter_is_dropped_by_a_small_first_rung_and_kept_by_a_large_one():
    # the known failure mode: restart 0 is worst early and best at the end
    starts = np.arange(9.0)[:, None]
    solver = Decay(max_budget=81, slow=0.0)
    small = rs.multistart(solver, 9, starts=starts, rng=3,
                          strategy=rs.strategies.Racing(eta=3, min_budget=1))
    large = rs.multistart(solver, 9, starts=starts, rng=3,
                          strategy=rs.strategies.Racing(eta=3, min_budget=40))
    full = rs.multistart(solver, 9, starts=starts, rng=3)
    assert full.best_restart == 0
    assert small.restarts[0].info["rung"] == 0 and small.best_restart != 0
    assert large.best_restart == 0 and large.fun == full.fun


def test_brackets_start_later_blocks_at_later_rungs():
    res = rs.multistart(Decay(max_budget=27), 18, rng=0,
                        strategy=rs.strategies.Racing(eta=3, min_budget=1, brackets=2))
    t = res.table
    assert t.loc[:8, "budget"].min() == 1 and t.loc[9:, "budget"].min() == 3


def test_states_pickle_and_a_finished_run_is_read_back_from_a_store(tmp_path):
    solver = Decay()
    state = solver.advance(solver.begin(None, np.random.default_rng(0)), 5)
    again = pickle.loads(pickle.dumps(state))
    assert solver.current(solver.advance(again, 9)).fun == \
        solver.current(solver.advance(state, 9)).fun
    path = tmp_path / "race.db"
    racing = rs.strategies.Racing(eta=3, min_budget=1)
    first = rs.multistart(solver, 9, rng=0, strategy=racing, store=path, name="r")
    calls = []

    class Counting(Decay):
        def begin(self, start, rng):
            calls.append(1)
            return super().begin(start, rng)

        def describe(self):
            return {"callable": "Decay"}

    Decay.describe = lambda self: {"callable": "Decay"}
    try:
        first = rs.multistart(solver, 9, rng=0, strategy=racing, store=path, name="r",
                              overwrite=True)
        second = rs.multistart(Counting(), 9, rng=0, strategy=racing, store=path, name="r")
    finally:
        del Decay.describe
    assert not calls
    cols = ["restart", "fun", "success", "budget", "rung"]
    pd.testing.assert_frame_equal(first.table[cols], second.table[cols])


@pytest.mark.parametrize(("make", "exc", "match"), [
    (lambda: rs.strategies.Racing(eta=1), ValueError, "'eta'"),
    (lambda: rs.strategies.Racing(eta=2.5), TypeError, "'eta'"),
    (lambda: rs.strategies.Racing(min_budget=0), ValueError, "'min_budget'"),
    (lambda: rs.strategies.Racing(min_budget=50, max_budget=10), ValueError, "'min_budget'"),
    (lambda: rs.strategies.Racing(brackets=0), ValueError, "'brackets'"),
])
def test_bad_racing_parameters(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_bad_racing_runs_fail_before_any_work():
    calls = []

    def plain(start, rng):
        calls.append(1)
        return (np.zeros(1), 0.0)

    with pytest.raises(TypeError, match="'solver'.*incremental protocol"):
        rs.multistart(plain, 5, strategy="racing", rng=0)

    class Counting(Decay):
        def begin(self, start, rng):
            calls.append(1)
            return super().begin(start, rng)

    with pytest.raises(ValueError, match="'min_budget'.*at most the full budget \\(27 steps\\)"):
        rs.multistart(Counting(), 5, strategy=rs.strategies.Racing(min_budget=28), rng=0)
    assert not calls


class NoStack:
    """The same solver without stacking: racing then advances one restart at a time."""

    def __init__(self, solver):
        self.solver = solver

    def __getattr__(self, name):
        if name in ("stack", "unstack", "current_stack", "solve_batch"):
            raise AttributeError(name)
        return getattr(self.solver, name)

    def __call__(self, start, rng):
        return self.solver(start, rng)


def _moons_mlp():
    from sklearn.datasets import make_moons

    X, y = make_moons(120, noise=0.2, random_state=0)
    return rs.solvers.MLP(X, y, hidden=(6,), epochs=54, lr=0.05, batch_size=40)


def _blobs_kmeans(n):
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(n, n_features=5, centers=8, cluster_std=1.5, random_state=2)
    return rs.solvers.KMeans(X, 8, init="random", max_iter=54)


@pytest.mark.parametrize("make", [_moons_mlp, lambda: _blobs_kmeans(9000),
                                  lambda: _blobs_kmeans(400)],
                         ids=["mlp", "kmeans-pruned", "kmeans-small"])
def test_rungs_run_stacked_and_equal_one_restart_at_a_time(monkeypatch, make):
    from restarts.strategies import racing

    solver = make()
    calls = []
    real = racing.BatchRungStep.solve_batch
    monkeypatch.setattr(racing.BatchRungStep, "solve_batch",
                        lambda self, p, g: calls.append(len(g)) or real(self, p, g))
    strategy = rs.strategies.Racing(eta=3, min_budget=2)
    stacked = rs.multistart(solver, 27, strategy=strategy, rng=3)
    assert calls and max(calls) > 1  # chunks advanced together
    single = rs.multistart(NoStack(solver), 27, strategy=strategy, rng=3)
    two = rs.multistart(solver, 27, strategy=strategy, rng=3, n_jobs=2)
    cols = ["fun", "nit", "success", "budget", "rung"]
    assert stacked.table[cols].equals(single.table[cols])
    assert stacked.table[cols].equals(two.table[cols])
    for a, b in zip(stacked.results, single.results, strict=True):
        np.testing.assert_array_equal(a.x, b.x)
    assert stacked.table["rung"].nunique() > 2


def test_kmeans_stack_unstack_and_current_stack_agree_with_single_states():
    km = _blobs_kmeans(9000)
    states = [km.advance(km.begin(None, np.random.default_rng(s)), 3) for s in range(4)]
    group = km.stack(states)
    km.advance(group, 14)  # some finish (converge) inside the stack, others run on
    each = [km.advance(km.begin(None, np.random.default_rng(s)), 17) for s in range(4)]
    results = km.current_stack(group)
    for st, got, want in zip(km.unstack(group), results, each, strict=True):
        ref = km.current(want)
        assert got.fun == ref.fun and np.array_equal(got.x, ref.x)
        assert km.current(st).fun == ref.fun and km.finished(st) == km.finished(want)
    assert any(km.finished(s) for s in each) and not all(km.finished(s) for s in each)
    with pytest.raises(ValueError, match="'states'"):
        km.stack([states[0], km.advance(states[1], 1)])


def test_mlp_stack_and_unstack_are_inverse_and_need_one_epoch():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    mlp = rs.solvers.MLP(X, [0, 1, 1, 0], hidden=(3,), epochs=20)
    states = [mlp.advance(mlp.begin(None, np.random.default_rng(s)), 5) for s in range(3)]
    back = mlp.unstack(mlp.stack(states))
    for a, b in zip(states, back, strict=True):
        for name in ("theta", "m", "v", "curves"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert (a.step, a.epoch) == (b.step, b.epoch)
    mlp.advance(states[0], 1)
    with pytest.raises(ValueError, match="'states'"):
        mlp.stack(states)
