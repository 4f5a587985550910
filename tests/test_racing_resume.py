"""A racing run killed (SIGKILL) or interrupted mid-race resumes from its store's rung
checkpoints: no restart runs a rung it had finished, and the table equals the
uninterrupted race's.

The child's solver logs ``pid index steps-before`` each time it advances a restart, so
the test knows which (restart, rung) pairs ran in which process, independently of the
store.
"""

from __future__ import annotations

import os
import pickle
import runpy
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from conftest import alive, child_env, wait_for

import restarts as rs
from restarts.strategies.racing import rung_budgets

pytestmark = pytest.mark.timeout(240)

N, ETA, FIRST, FULL = 27, 3, 1, 27
BUDGETS = rung_budgets(FIRST, FULL, ETA)  # [1, 3, 9, 27]
JOB = textwrap.dedent('''
    import os, sys, time
    import numpy as np
    import restarts as rs

    class Slow:
        """Resumable: the loss decays from a random height at a random rate; each step
        sleeps ``delay``; every advance is logged."""

        budget_unit = "steps"
        max_budget = 27

        def __init__(self, log, delay):
            self.log, self.delay = log, delay

        def begin(self, start, rng):
            return {"k": int(start[0]), "t": 0, "rng": rng, "h": rng.uniform(1, 2),
                    "rate": rng.uniform(0.5, 0.95), "floor": rng.uniform(0, 1)}

        def advance(self, state, budget):
            if self.log:
                with open(self.log, "a") as fh:
                    fh.write(f"{os.getpid()} {state['k']} {state['t']}\\n")
            for _ in range(int(budget)):
                if state["t"] >= self.max_budget:
                    break
                time.sleep(self.delay)
                state["h"] *= state["rate"]
                state["floor"] += 1e-3 * state["rng"].standard_normal()
                state["t"] += 1
            return state

        def current(self, state):
            return rs.LocalResult(x=np.array([state["floor"], state["h"]]),
                                  fun=state["floor"] + state["h"], nit=state["t"])

        def finished(self, state):
            return state["t"] >= self.max_budget

        def __call__(self, start, rng):
            return self.current(self.advance(self.begin(start, rng), self.max_budget))

    def starts(n):
        return np.column_stack([np.arange(n, dtype=float), np.zeros(n)])

    def run(path, log, delay, n_jobs):
        return rs.multistart(Slow(log, delay), 27, starts=starts(27), rng=7, n_jobs=n_jobs,
                             strategy=rs.strategies.Racing(eta=3, min_budget=1),
                             store=path, name="race")

    if __name__ == "__main__":
        import signal  # Ctrl-C raises, as in a terminal, even if our parent ignored it
        signal.signal(signal.SIGINT, signal.default_int_handler)  # (bash runs '&' jobs so)
        path, log, delay, n_jobs = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
        print("go", flush=True)
        try:
            run(path, log, delay, n_jobs)
        except KeyboardInterrupt:
            sys.exit(130)
        print("done", flush=True)
''')


@pytest.fixture
def job(tmp_path):
    script = tmp_path / "race_job.py"
    script.write_text(JOB)
    return script


def start(script, path, log, delay, n_jobs):
    env = child_env()
    proc = subprocess.Popen([sys.executable, str(script), str(path), str(log), str(delay),
                             str(n_jobs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, text=True, start_new_session=True)
    assert proc.stdout.readline().strip() == "go"
    return proc


def ran(log):
    """``{(restart, rung)}`` advanced according to the log, and the pids that did it."""
    if not os.path.exists(log):
        return set(), set()
    with open(log) as fh:
        rows = [line.split() for line in fh if line.endswith("\n")]
    pairs = {(int(k), BUDGETS.index(int(t)) + 1 if int(t) else 0) for _, k, t in rows}
    return pairs, {int(p) for p, _, _ in rows}


def checkpoints(path):
    """``{(restart, rung)}`` in the store's checkpoint table (read-only)."""
    if not os.path.exists(path):
        return set()
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        if not con.execute("select 1 from sqlite_master where name='rungs'").fetchone():
            return set()
        return {(k, r) for k, r in con.execute("select restart, rung from rungs")}
    finally:
        con.close()


def latest_states(path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute("select restart, rung, state is not null from rungs").fetchall()
    finally:
        con.close()



def every_pair(table):
    """The (restart, rung) pairs an uninterrupted race runs: restart i every rung up to
    the last it reached."""
    return {(i, r) for i, last in zip(table["restart"], table["rung"], strict=True)
            for r in range(int(last) + 1)}


def same_table(a, b):
    for col in ("restart", "fun", "nit", "success", "budget", "rung"):
        assert a.table[col].tolist() == b.table[col].tolist(), col
    assert [r.message for r in a.results] == [r.message for r in b.results]
    assert sum("dropped" in r.message for r in a.results) >= N // 2
    np.testing.assert_array_equal(np.stack([r.x for r in a.results]),
                                  np.stack([r.x for r in b.results]))


@pytest.mark.parametrize("n_jobs, kill_at", [(1, 1), (2, 2)])
def test_a_killed_race_resumes_without_running_a_finished_rung_again(job, tmp_path, n_jobs,
                                                                    kill_at):
    path, log = tmp_path / "race.sqlite", tmp_path / "calls.log"
    ns = runpy.run_path(str(job), run_name="reference")
    full = ns["run"](tmp_path / "reference.sqlite", "", 0.0, 1)  # uninterrupted, no sleep
    proc = start(job, path, log, 0.03, n_jobs)
    # Kill once some restarts finished rung ``kill_at`` (the race is then mid-rung).
    wait_for(lambda: any(r == kill_at for _, r in checkpoints(path)))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    saved = checkpoints(path)
    before, pids = ran(log)
    assert saved and saved <= before and proc.poll() is not None
    assert max(r for _, r in saved) == kill_at and before != every_pair(full.table)
    # Only a restart's latest rung keeps its (pickled) state.
    latest = {}
    for k, r, has_state in latest_states(path):
        latest.setdefault(k, []).append((r, has_state))
    for rows in latest.values():
        assert [has for _, has in sorted(rows)] == [False] * (len(rows) - 1) + [True]
    time.sleep(1.0)
    assert not [p for p in pids if alive(p)], "workers outlived their killed parent"

    os.remove(log)
    resumed = ns["run"](path, str(log), 0.0, 1)  # in this process
    again, _ = ran(log)
    assert not again & saved, f"finished rungs ran again: {sorted(again & saved)}"
    assert again == every_pair(full.table) - saved  # and everything else ran once
    same_table(resumed, full)
    same_table(rs.Store(path).load("race"), full)
    assert checkpoints(path) == set()  # the run returned: its checkpoints are gone


def test_ctrl_c_mid_race_keeps_the_rungs_and_a_resume_matches(job, tmp_path):
    path, log = tmp_path / "race.sqlite", tmp_path / "calls.log"
    ns = runpy.run_path(str(job), run_name="reference")
    full = ns["run"](tmp_path / "reference.sqlite", "", 0.0, 1)
    proc = start(job, path, log, 0.03, 2)
    wait_for(lambda: any(r == 1 for _, r in checkpoints(path)))
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=60) == 130, proc.stderr.read()
    saved = checkpoints(path)
    assert saved and rs.Store(path).runs().loc[0, "n_done"] != len(full.table)
    os.remove(log)
    resumed = ns["run"](path, str(log), 0.0, 2)
    again, _ = ran(log)
    assert not again & saved and again == every_pair(full.table) - saved
    same_table(resumed, full)


def test_damaged_checkpoints_are_an_error_naming_the_store(job, tmp_path):
    path = tmp_path / "race.sqlite"
    ns = runpy.run_path(str(job), run_name="reference")
    proc = start(job, path, tmp_path / "calls.log", 0.03, 1)
    wait_for(lambda: len(checkpoints(path)) >= 3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    con = sqlite3.connect(path)
    con.execute("update rungs set record=? where restart=(select min(restart) from rungs)",
                (pickle.dumps(1)[:-2],))  # a truncated pickle
    con.commit()
    con.close()
    with pytest.raises(ValueError, match="race.sqlite"):
        ns["run"](path, "", 0.0, 1)


def test_store_load_keeps_the_task_columns_of_schedules_and_races(tmp_path):
    """``Store.load`` gives the table ``multistart`` returned, task options included
    (a schedule's ``popsize``; racing's ``budget`` and ``rung``), failed rows too."""
    path = tmp_path / "cols.sqlite"

    def f(x):
        if x[0] > 2.5:
            raise RuntimeError("planted failure")
        return float(np.sum(x**2) + np.sin(5 * x).sum())

    ipop = rs.multistart(rs.solvers.CMA(f, bounds=[(-3, 3)] * 2, max_nfev=300), 6,
                         strategy="ipop", rng=0, store=path, name="ipop")
    X = np.random.default_rng(0).normal(size=(300, 2))
    race = rs.multistart(rs.solvers.KMeans(X, 4, init="random", max_iter=27), 9, rng=0,
                         strategy=rs.strategies.Racing(min_budget=3), store=path,
                         name="race")
    for name, res, cols in (("ipop", ipop, ["popsize"]), ("race", race, ["budget", "rung"])):
        loaded = rs.Store(path).load(name).table
        assert set(cols) <= set(loaded.columns)
        assert loaded.drop(columns="time_s").equals(res.table.drop(columns="time_s")), name
    assert race.table["rung"].nunique() > 1 and ipop.table["popsize"].nunique() > 1
    assert ipop.table["error"].notna().any() and ipop.table["error"].isna().any()
