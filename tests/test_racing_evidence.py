"""Evidence for racing: a pilot run's loss curves, successive halving replayed on them
(checked against the real ``Racing``), rank agreement per rung and the pilot's verdict."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import Decay
from scipy.stats import spearmanr

import restarts as rs
from restarts.analysis import (
    loss_curves,
    racing_pilot,
    racing_settings,
    replay_racing,
    rung_agreement,
)
from restarts.strategies.racing import LossCurve, rung_budgets


def kmeans():
    X = np.random.default_rng(0).normal(size=(300, 2))
    return rs.solvers.KMeans(X, 6, init="random", max_iter=27)


def mlp():
    from sklearn.datasets import make_moons

    X, y = make_moons(60, noise=0.2, random_state=0)
    return rs.solvers.MLP(X, y, hidden=(8,), activation="tanh", lr=0.05, epochs=27)


PROBLEMS = {"decay": lambda: Decay(27), "converging": lambda: Decay(27, converge=0.05),
            "kmeans": kmeans, "mlp": mlp}


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize(("eta", "first"), [(3, 1), (2, 3)])
def test_pilot_curves_and_replay_equal_the_real_race(problem, eta, first):
    solver = PROBLEMS[problem]()
    racing = rs.strategies.Racing(eta=eta, min_budget=first)
    n, seed = 18, 5
    race = rs.multistart(solver, n, strategy=racing, rng=seed)
    pilot = rs.multistart(LossCurve(solver, racing), n, rng=seed, n_jobs=2)
    curves = loss_curves(pilot)
    assert curves["fun"].columns.tolist() == rung_budgets(first, 27, eta)
    t = race.table.set_index("restart")
    # restart i of the pilot is restart i of the race: the same loss at the budget it got
    for i, row in t.iterrows():
        assert curves["fun"].loc[i, int(row["budget"])] == row["fun"], i
        assert curves["nit"].loc[i, int(row["budget"])] == row["nit"], i
    # ... and of the full run (batched k-means and networks: to rounding)
    full = rs.multistart(solver, n, rng=seed).table["fun"].to_numpy()
    np.testing.assert_allclose(curves["fun"][27].to_numpy(), full, rtol=1e-12, atol=0)
    # successive halving replayed on the curves is the race
    replay = replay_racing(pilot, eta=eta, min_budget=first)
    assert replay["fun"].tolist() == t["fun"].tolist()
    assert replay["budget"].tolist() == t["budget"].tolist()
    assert replay["rung"].tolist() == t["rung"].tolist()
    assert replay.index[replay["winner"]].tolist() == [race.best_restart]
    dropped = np.array([r.message.startswith("racing: dropped") for r in race.results])
    assert replay["dropped"].tolist() == dropped.tolist()
    assert dropped.any()


def test_converged_restarts_keep_their_result_in_the_replay():
    solver = Decay(27, converge=0.3)
    racing = rs.strategies.Racing(eta=3, min_budget=1)
    pilot = rs.multistart(LossCurve(solver, racing), 27, rng=2)
    curves = loss_curves(pilot)
    early = curves["finished"][1]  # finished at the first rung, which every restart ran
    assert early.any()
    replay = replay_racing(curves, eta=3, min_budget=1)
    assert not replay.loc[early, "dropped"].any()
    # a converged restart used fewer units than the budget it reached
    assert (curves["nit"][27] < 27).loc[early].all()
    race = rs.multistart(solver, 27, strategy=racing, rng=2).table
    assert replay["fun"].tolist() == race["fun"].tolist()
    assert replay["nit"].tolist() == race["nit"].tolist()


def test_pilot_restarts_are_reproducible_whatever_the_workers():
    solver = Decay(27)
    one = loss_curves(rs.multistart(LossCurve(solver), 12, rng=3))
    two = loss_curves(rs.multistart(LossCurve(solver), 12, rng=3, n_jobs=2,
                                     backend="threading"))
    pd.testing.assert_frame_equal(one, two)
    assert one["fun"].columns.tolist() == [1, 3, 9, 27]  # Racing()'s default rungs


def test_spearman_per_rung_equals_scipy():
    pilot = rs.multistart(LossCurve(kmeans(), [1, 3, 9, 27]), 30, rng=1)
    curves = loss_curves(pilot)["fun"]
    agree = rung_agreement(pilot, eta=3)
    assert agree["budget"].tolist() == [1, 3, 9, 27]
    for _, row in agree.iterrows():
        want = spearmanr(curves[row["budget"]], curves[27]).statistic
        assert row["spearman"] == pytest.approx(want, abs=1e-12)
    # ties (converged restarts share values) are averaged as scipy does
    tied = pd.DataFrame({1: [1.0, 1.0, 2.0, 3.0, 3.0, 0.5], 3: [0.2, 0.1, 0.1, 0.9, 0.3, 0.3]})
    assert rung_agreement(tied, eta=3)["spearman"][0] == pytest.approx(
        spearmanr(tied[1], tied[3]).statistic, abs=1e-12)


def test_rung_agreement_follows_the_winner_by_hand():
    # restart 3 wins in the end but is 5th of 6 at budget 1: dropped at the first rung
    losses = pd.DataFrame({1: [1.0, 2.0, 3.0, 5.0, 4.0, 6.0],
                           2: [0.9, 1.5, 2.5, 2.0, 3.5, 5.0],
                           4: [0.8, 1.2, 2.0, 0.1, 3.0, 4.0]})
    agree = rung_agreement(losses, eta=2)
    assert agree["winner_rank"].tolist() == [5, 3, 1]
    assert agree["winner_kept"].tolist() == [False, False, False]
    assert agree["ran"].tolist() == [6, 3, 1] and agree["continued"].tolist() == [3, 1, 0]
    # kept after rung 0: restarts 0, 1, 2 (finals 0.8, 1.2, 2.0) against the best 0.1
    assert agree["kept_gap"][0] == pytest.approx((0.8 - 0.1) / 0.1)
    replay = replay_racing(losses, eta=2)
    # rung 0 keeps 0, 1, 2 (3 slots of 6); rung 1 keeps 0 (1 slot of 3)
    assert replay["budget"].tolist() == [4, 2, 2, 1, 1, 1]
    assert replay.index[replay["winner"]].tolist() == [0]


def test_verdict_flips_between_a_predictable_and_an_unpredictable_problem():
    racing = rs.strategies.Racing(eta=3, min_budget=1)
    good = rs.multistart(LossCurve(Decay(27), racing), 81, rng=0)
    bad = rs.multistart(LossCurve(Decay(27, scramble=True), racing), 81, rng=0)
    safe = racing_pilot(good, 27, eta=3, replays=300, rng=1)
    unsafe = racing_pilot(bad, 27, eta=3, replays=300, rng=1)
    assert safe["safe"] and safe["verdict"].startswith("safe: ")
    assert safe["share_within"] >= 0.9
    assert not unsafe["safe"] and unsafe["share_within"] < 0.5
    assert unsafe["verdict"].startswith(
        "not safe: early ranking does not predict final (Spearman rho ")
    assert unsafe["spearman"][0] < 0.2 and safe["spearman"][1] > 0.7
    # the compute is that of racing 27 restarts: 18*1 + 6*3 + 2*9 + 1*27 of 27*27 units
    assert safe["compute_ratio"] == pytest.approx(81 / 729)
    # the same draws for the same rng; subsets of the pilot when fewer are raced
    again = racing_pilot(good, 27, eta=3, replays=300, rng=1)
    assert again["share_within"] == safe["share_within"]
    assert racing_pilot(good, 81, eta=3, replays=50)["n_pilot"] == 81


def test_the_pilot_on_the_whole_pilot_is_the_replay():
    pilot = rs.multistart(LossCurve(Decay(27)), 27, rng=4)
    report = racing_pilot(pilot, eta=3, replays=20)
    replay = replay_racing(pilot, eta=3)
    best = loss_curves(pilot)["fun"][27].min()
    assert report["pilot_gap"] == pytest.approx((replay["fun"].min() - best) / abs(best))


def test_rungs_can_be_chosen_from_denser_curves():
    pilot = rs.multistart(LossCurve(Decay(27), list(range(1, 28))), 9, rng=0)
    a = replay_racing(pilot, eta=3, min_budget=3)
    assert sorted(set(a["budget"])) == [3, 9, 27]
    with pytest.raises(ValueError, match="'min_budget'.*rung budgets \\[2, 4, 8, 16, 27\\]"):
        replay_racing(loss_curves(pilot)["fun"][[1, 2, 3, 27]], eta=2, min_budget=2)


def test_a_store_keeps_the_curves(tmp_path):
    path = tmp_path / "pilot.db"
    first = rs.multistart(LossCurve(kmeans()), 6, rng=0, store=path)
    again = rs.Store(path).load("default")
    pd.testing.assert_frame_equal(loss_curves(first), loss_curves(again))


@pytest.mark.parametrize(("call", "exc", "match"), [
    (lambda: LossCurve(lambda s, rng: 0.0), TypeError, "'solver'.*incremental protocol"),
    (lambda: LossCurve(Decay(27), [3, 3, 9]), ValueError, "'budgets'.*strictly increasing"),
    (lambda: LossCurve(Decay(27), [9, 3]), ValueError, "'budgets'"),
    (lambda: LossCurve(Decay(27), [1, 28]), ValueError, "'budgets'.*\\[1, 27\\]"),
    (lambda: LossCurve(Decay(27), [1.5]), TypeError, "'budgets'"),
    (lambda: LossCurve(Decay(27), 9), TypeError, "'budgets'"),
    (lambda: LossCurve(Decay(27), rs.strategies.Racing(min_budget=30)), ValueError,
     "'min_budget'"),
    (lambda: rung_agreement(pd.DataFrame({1: [1.0, 2.0]}), eta=1), ValueError, "'eta'"),
    (lambda: replay_racing(pd.DataFrame({1: [1.0, 2.0]}), eta=2.0), TypeError, "'eta'"),
    (lambda: rung_agreement(pd.DataFrame({3: [1.0, 2.0], 1: [1.0, 2.0]})), ValueError,
     "'curves'.*strictly increasing"),
    (lambda: rung_agreement(pd.DataFrame({"a": [1.0, 2.0]})), ValueError,
     "'curves'.*integer budgets"),
    (lambda: rung_agreement(pd.DataFrame({1: [1.0]})), ValueError, "'curves'.*2 restarts"),
    (lambda: rung_agreement(np.ones((3, 2))), TypeError, "'curves'"),
    (lambda: rung_agreement(rs.multistart(Decay(27), 3, rng=0)), ValueError,
     "'curves'.*LossCurve"),
    (lambda: racing_pilot(pd.DataFrame({1: [1.0, 2.0]}), 0), ValueError, "'n_starts'"),
    (lambda: racing_pilot(pd.DataFrame({1: [1.0, 2.0]}), rtol=-1), ValueError, "'rtol'"),
    (lambda: racing_pilot(pd.DataFrame({1: [1.0, 2.0]}), level=0), ValueError, "'level'"),
    (lambda: racing_pilot(pd.DataFrame({1: [1.0, 2.0]}), replays=0), ValueError,
     "'replays'"),
])
def test_bad_input_names_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_racing_settings_replay_each_setting_as_the_pilot_does():
    pilot = rs.multistart(LossCurve(Decay(27, scramble=True), list(range(1, 28))), 40, rng=0)
    scan = racing_settings(pilot, 27, etas=(2, 3), replays=60, rng=5)
    assert set(scan["eta"]) == {2, 3} and (scan["rungs"] >= 2).all()
    assert scan["compute_ratio"].is_monotonic_increasing  # cheapest first
    for _, row in scan.iloc[::7].iterrows():
        one = racing_pilot(pilot, 27, eta=int(row["eta"]), min_budget=int(row["min_budget"]),
                           replays=60, rng=5)
        assert one["share_within"] == row["share_within"]
        assert one["compute_ratio"] == pytest.approx(row["compute_ratio"], rel=1e-12)
        assert one["safe"] == row["safe"]
    # late-settling rankings need a later first rung than predictable ones
    good = rs.multistart(LossCurve(Decay(27), list(range(1, 28))), 40, rng=0)
    cheapest = {name: racing_settings(p, 27, etas=(3,), replays=60).query("safe")
                ["min_budget"].iloc[0] for name, p in (("good", good), ("bad", pilot))}
    assert cheapest["good"] < cheapest["bad"]


def test_an_unsafe_verdict_names_a_safe_setting_or_none():
    racing = rs.strategies.Racing(eta=3, min_budget=1)
    bad = rs.multistart(LossCurve(Decay(27, scramble=True), list(range(1, 28))), 40, rng=0)
    verdict = racing_pilot(bad, 27, eta=3, min_budget=1, replays=60)["verdict"]
    best = racing_settings(bad, 27, replays=60, rng=np.random.default_rng(0)).query("safe")
    assert verdict.startswith("not safe") and "these curves allow eta=" in verdict
    assert len(best) >= 1
    only_rungs = rs.multistart(LossCurve(Decay(27, scramble=True), racing), 40, rng=0)
    verdict = racing_pilot(only_rungs, 27, eta=3, replays=60)["verdict"]
    found = re.search(r"these curves allow eta=(\d+), min_budget=(\d+) steps", verdict)
    assert verdict.startswith("not safe") and found
    eta, first = map(int, found.groups())
    assert racing_pilot(only_rungs, 27, eta=eta, min_budget=first, replays=300,
                        rng=9)["share_within"] >= 0.8
    # two budgets only: no other setting can be replayed
    two = rs.multistart(LossCurve(Decay(27, scramble=True), [1, 27]), 40, rng=0)
    verdict = racing_pilot(two, 27, eta=27, replays=60)["verdict"]
    assert verdict.endswith("no setting these curves allow is: run every restart in full")


@pytest.mark.parametrize(("etas", "exc"), [([1], ValueError), ("3", TypeError), ([], ValueError),
                                           ([2.5], TypeError)])
def test_bad_etas(etas, exc):
    with pytest.raises(exc, match="'etas'"):
        racing_settings(pd.DataFrame({1: [1.0, 2.0], 3: [0.5, 1.5]}), etas=etas)


def test_a_network_pilot_trains_its_restarts_stacked_with_the_same_curves():
    import pickle

    solver = mlp()
    curve = LossCurve(solver, rs.strategies.Racing(eta=3, min_budget=1))
    assert callable(curve.solve_batch) and curve.restarts_per_batch >= 1
    assert not hasattr(LossCurve(Decay(27)), "solve_batch")  # states that do not stack
    again = pickle.loads(pickle.dumps(curve))
    stacked = loss_curves(rs.multistart(again, 12, rng=3))
    one_by_one = loss_curves(rs.multistart(curve, 12, rng=3, batch_size=1))
    pd.testing.assert_frame_equal(stacked, one_by_one)
