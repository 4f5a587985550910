"""One basin matcher: the grouping rule, checked against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest

import restarts as rs
from restarts._solutions import BasinMatcher, assign_basins


def _restarts(funs, xs, fail=()):
    return [rs.Restart(i, rs.LocalResult(x=x, fun=f), "boom" if i in fail else None, 0.0)
            for i, (f, x) in enumerate(zip(funs, xs, strict=True))]


def _same_x(a, b, xtol):
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    if a.shape != b.shape:
        return False
    fa, fb = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(fa, fb):
        return False
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if not np.array_equal(nan_a, nan_b) or not np.array_equal(a[~fa & ~nan_a], b[~fb & ~nan_b]):
        return False
    return float(np.sqrt(np.sum((a[fa] - b[fb]) ** 2))) <= xtol


def brute_force(funs, xs, ftol, xtol, fail=()):
    """The documented rule, quadratic: join the earliest founder within ftol and xtol."""
    founders, labels = [], []
    for i, (f, x) in enumerate(zip(funs, xs, strict=True)):
        if i in fail:
            labels.append(-1)
            continue
        for b, (fb, xb) in enumerate(founders):
            if abs(f - fb) <= ftol and _same_x(x, xb, xtol):
                labels.append(b)
                break
        else:
            founders.append((f, x))
            labels.append(len(founders) - 1)
    best = {}
    for i, (label, f) in enumerate(zip(labels, funs, strict=True)):
        if label >= 0 and f < best.get(label, (np.inf, 0))[0]:
            best[label] = (f, i)  # ties: the optimum whose best fun came first
    order = sorted(best, key=lambda b: best[b])
    rank = {b: r for r, b in enumerate(order)}
    return np.array([rank.get(label, -1) for label in labels])


def _case(seed):
    """Clusters whose spread straddles the tolerances, in 1-6 dimensions, with non-finite
    coordinates, non-numeric x and failures mixed in."""
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 7))
    n = int(rng.integers(1, 120))
    ftol, xtol = [0.0, 1e-6, 0.05, 0.3][seed % 4], [0.0, 1e-4, 0.1, 0.5][(seed // 4) % 4]
    centres = rng.normal(size=(int(rng.integers(1, 6)), d))
    levels = rng.choice([0.0, 1.0, 2.0], size=len(centres))
    pick = rng.integers(0, len(centres), n)
    spread = rng.choice([0.0, xtol / 3, xtol, 3 * xtol], n)[:, None]
    xs = centres[pick] + rng.normal(size=(n, d)) * spread
    funs = levels[pick] + rng.normal(size=n) * rng.choice([0.0, ftol / 2, ftol, 2 * ftol], n)
    xs = list(xs)
    for i in rng.choice(n, size=n // 5, replace=False):
        j = int(rng.integers(d))
        xs[i] = xs[i].copy()
        xs[i][j] = rng.choice([np.nan, np.inf, -np.inf])
    if seed % 7 == 0:
        xs = [None if k % 3 == 0 else x for k, x in enumerate(xs)]  # non-numeric x
    fail = set(rng.choice(n, size=n // 10, replace=False).tolist())
    return funs.tolist(), xs, ftol, xtol, fail


@pytest.mark.parametrize("seed", range(48))
def test_same_basins_as_brute_force(seed):
    funs, xs, ftol, xtol, fail = _case(seed)
    got = assign_basins(_restarts(funs, xs, fail), ftol=ftol, xtol=xtol)
    np.testing.assert_array_equal(got, brute_force(funs, xs, ftol, xtol, fail))


@pytest.mark.parametrize("d", [2, 8])
def test_ring_of_equal_minima(d):
    # equal fun on a circle, neighbours 0.6 to 1.4 xtol apart: many chains of near misses
    rng = np.random.default_rng(d)
    n, xtol = 400, 1e-2
    angle = np.sort(rng.uniform(0, 2 * np.pi, n))
    xs = np.zeros((n, d))
    xs[:, 0], xs[:, 1] = np.cos(angle), np.sin(angle)
    xs = xs * (n * xtol / (2 * np.pi))
    xs = list(xs[rng.permutation(n)])
    funs = [0.0] * n
    got = assign_basins(_restarts(funs, xs), ftol=1e-6, xtol=xtol)
    expected = brute_force(funs, xs, 1e-6, xtol)
    np.testing.assert_array_equal(got, expected)
    assert 1 < expected.max() + 1 < n  # the case really groups and really separates


def test_identical_optima_with_non_finite_coordinates_are_one():
    x = np.array([1.0, np.nan, np.inf, -np.inf])
    res = _restarts([0.5] * 8, [x.copy() for _ in range(8)])
    assert assign_basins(res, ftol=1e-6, xtol=1e-4).tolist() == [0] * 8
    other = [x, np.array([1.0, np.nan, np.inf, np.inf])]  # a different infinity
    assert assign_basins(_restarts([0.5] * 2, other), ftol=1e-6, xtol=1e-4).tolist() == [0, 1]


def test_incremental_updates_give_the_one_shot_labels():
    funs, xs, ftol, xtol, fail = _case(5)
    rows = _restarts(funs, xs, fail)
    matcher = BasinMatcher(ftol, xtol)
    cut = 0
    rng = np.random.default_rng(0)
    while cut < len(rows):
        cut = min(len(rows), cut + int(rng.integers(1, 9)))
        matcher.update(rows[:cut])
    np.testing.assert_array_equal(matcher.ranked_labels(),
                                  assign_basins(rows, ftol=ftol, xtol=xtol))
    counts = np.bincount(matcher.ranked_labels()[matcher.ranked_labels() >= 0])
    assert sorted(counts) == sorted(matcher.counts)
    assert matcher.singletons == int(np.sum(counts == 1))


def test_stop_rules_and_solutions_count_the_same_optima():
    # optima closer than the tolerances chain: best-first and arrival-order grouping
    # used to disagree here; now both are the one matcher
    xs = [np.array([v]) for v in [0.0, 0.8, 1.6, 0.4, 1.2, 2.0, 0.1]]
    funs = [0.0] * len(xs)

    def solver(start, rng):
        return (start, 0.0)

    res = rs.multistart(solver, len(xs), starts=np.array(xs), rng=0, xtol=0.5)
    state = rs.stop.RunState(xtol=0.5)
    for r in res.restarts:
        state.add(r)
    assert state.optima().distinct == len(res.solutions) == \
        brute_force(funs, xs, 1e-6, 0.5).max() + 1


def test_solutions_lists_the_best_optimum_first():
    funs = [3.0, 1.0, 2.0, 1.0]
    xs = [np.array([0.0]), np.array([5.0]), np.array([9.0]), np.array([5.0])]
    res = assign_basins(_restarts(funs, xs), ftol=1e-6, xtol=1e-4)
    assert res.tolist() == [2, 0, 1, 0]


# -- default tolerances follow the local solver (issue 14) ----------------------------


@pytest.mark.parametrize("method", ["SLSQP", "L-BFGS-B", "Nelder-Mead"])
def test_one_optimum_is_one_basin_whatever_the_local_solver(method):
    # sum of different powers: one minimum at 0, flat around it (|x_i|^(i+1)), so the
    # solvers stop 1e-3 to 1e-1 away from it, each by its own tolerance
    p = rs.problems.get("sum_of_different_powers", dim=4)
    solver = rs.solvers.Minimize(p.fun, bounds=p.bounds, method=method)
    res = rs.multistart(solver, 40, starts=rs.starts.Sobol(p.bounds), rng=0)
    t = res.table
    near = np.array([r.error is None and np.linalg.norm(r.result.x) < 0.3 and
                     r.result.fun < 1e-3 for r in res.restarts])
    assert near.sum() >= 20
    assert t.loc[near, "basin"].nunique() == 1
    fixed = res.regroup(ftol=1e-6, xtol=1e-4).table  # the old defaults split it
    assert fixed.loc[near, "basin"].nunique() > 1


@pytest.mark.parametrize("method", ["SLSQP", "L-BFGS-B", "Nelder-Mead"])
@pytest.mark.parametrize(("name", "n_global"), [("six_hump_camel", 2), ("himmelblau", 4)])
def test_distinct_optima_of_equal_value_stay_distinct(method, name, n_global):
    p = rs.problems.get(name)
    solver = rs.solvers.Minimize(p.fun, bounds=p.bounds, method=method)
    res = rs.multistart(solver, 40, starts=rs.starts.Sobol(p.bounds), rng=0)
    sol = res.solutions
    best = sol[sol["fun"] <= p.f_min + 1e-4]
    assert len(best) == n_global  # every global minimum found, none merged, none split


def test_grouping_tolerances_never_block_a_resume(tmp_path):
    import json
    import sqlite3

    path = tmp_path / "s.db"
    solver = rs.solvers.Minimize(lambda x: float(x @ x), bounds=[(-1, 1)] * 2)
    kw = {"starts": rs.starts.Uniform([(-1, 1)] * 2), "rng": 0, "store": path, "name": "r"}
    first = rs.multistart(solver, 6, xtol=1e-3, **kw)
    again = rs.multistart(solver, 6, xtol=0.5, ftol=1e-2, **kw)  # resumes, no error
    assert again.xtol == 0.5 and first.xtol == 1e-3
    # a store written before grouping left the configuration still resumes
    with sqlite3.connect(path) as db:
        config = json.loads(db.execute("SELECT config FROM runs").fetchone()[0])
        config.update(ftol=1e-6, xtol=1e-4)
        db.execute("UPDATE runs SET config=?", (json.dumps(config),))
    old = rs.multistart(solver, 6, **kw)
    assert old.table["fun"].tolist() == first.table["fun"].tolist()
    assert rs.Store(path).load("r").xtol > 0
