"""The worker processes: CPU limits, closing and recycling the pool, idle workers letting
go of the solver, restarts that start processes, results that cannot be pickled, starts
changed in place."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from conftest import alive

import restarts as rs
from restarts import _pool

pytestmark = pytest.mark.timeout(120)


def pid_solver(start, rng):
    return rs.LocalResult(x=np.asarray(start), fun=float(rng.random()),
                          extra={"pid": os.getpid()})




def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.abspath(rs.__file__)))]
        + [p for p in [os.environ.get("PYTHONPATH")] if p]))


@pytest.mark.skipif(shutil.which("taskset") is None, reason="needs taskset (util-linux)")
def test_n_jobs_minus_one_uses_the_cpus_the_process_may_use():
    code = ("import os, numpy as np, restarts as rs\n"
            "from restarts import _pool\n"
            "def f(s, rng):\n"
            "    return rs.LocalResult(x=s, fun=0.0, extra={'pid': os.getpid()})\n"
            "res = rs.multistart(f, 8, starts=np.zeros((8, 1)), rng=0, n_jobs=-1,"
            " backend='loky', batch_size=1)\n"
            "print(len(os.sched_getaffinity(0)), len(_pool._POOL.workers),"
            " len({r.extra['pid'] for r in res.results}))\n")
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], env=_env(),
                         capture_output=True, text=True, timeout=100)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "1", "1"]  # one allowed CPU: one worker


def test_shutdown_workers_and_the_workers_block_stop_the_pool():
    res = rs.multistart(pid_solver, 4, starts=np.zeros((4, 1)), rng=0, n_jobs=2,
                        backend="loky", batch_size=1)
    pids = {r.extra["pid"] for r in res.results}
    assert os.getpid() not in pids and all(alive(p) for p in pids)  # kept for the next run
    rs.shutdown_workers()
    assert not [p for p in pids if alive(p)]
    with rs.workers():
        res = rs.multistart(pid_solver, 4, starts=np.zeros((4, 1)), rng=0, n_jobs=2,
                            backend="loky", batch_size=1)
    assert not [p for p in {r.extra["pid"] for r in res.results} if alive(p)]
    with pytest.raises(ValueError, match="'recycle_after' parameter of workers\\(\\)"):
        with rs.workers(recycle_after=0):
            pass


def test_recycle_after_n_restarts_and_results_unchanged():
    ref = rs.multistart(pid_solver, 7, starts=np.zeros((7, 1)), rng=3)
    rs.shutdown_workers()  # no worker that ran restarts for an earlier test
    with rs.workers(recycle_after=3):
        res = rs.multistart(pid_solver, 7, starts=np.zeros((7, 1)), rng=3, n_jobs=1,
                            backend="loky")
    per_pid: dict = {}
    for r in res.results:
        per_pid[r.extra["pid"]] = per_pid.get(r.extra["pid"], 0) + 1
    assert sorted(per_pid.values()) == [1, 3, 3], per_pid  # 3 + 3 + 1 restarts per worker
    np.testing.assert_array_equal(res.table["fun"], ref.table["fun"])


class Tracked:
    """A solver whose worker-side copy writes a file when it is freed."""

    def __init__(self, folder):
        self.folder = folder

    def __call__(self, start, rng):
        return start, 0.0

    def __del__(self):
        if os.getpid() != self.owner:
            open(os.path.join(self.folder, str(os.getpid())), "w").close()

    def __getstate__(self):
        return {"folder": self.folder, "owner": os.getpid()}

    def __setstate__(self, state):
        self.__dict__.update(state)


def test_idle_workers_drop_the_solver_they_ran(tmp_path):
    solver = Tracked(str(tmp_path))
    solver.owner = os.getpid()
    rs.multistart(solver, 6, starts=np.zeros((6, 1)), rng=0, n_jobs=2, backend="loky",
                  batch_size=1)
    pids = {p.proc.pid for p in _pool._POOL.workers}
    t0 = time.monotonic()
    while {int(f) for f in os.listdir(tmp_path)} != pids and time.monotonic() - t0 < 10:
        time.sleep(0.02)
    assert {int(f) for f in os.listdir(tmp_path)} == pids  # both workers let go of it
    assert all(alive(p) for p in pids)  # and stay ready for the next run


def spawns_processes(start, rng):
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1) as ex:
        value = ex.submit(abs, -float(start[0])).result()
    return start, value


def test_a_restart_may_start_processes_in_parallel_runs():
    res = rs.multistart(spawns_processes, 4, starts=-np.arange(4.0).reshape(-1, 1), rng=0,
                        n_jobs=2, backend="loky", batch_size=1)
    assert res.table["error"].isna().all(), res.table["error"].tolist()
    assert res.table["fun"].tolist() == [0.0, 1.0, 2.0, 3.0]


def unpicklable_on_two(start, rng):
    extra = {"lock": threading.Lock()} if int(start[0]) == 2 else {}
    return rs.LocalResult(x=np.asarray(start), fun=float(start[0]), extra=extra)


@pytest.mark.parametrize("batch", [1, 3])
def test_an_unpicklable_result_is_an_error_row(batch):
    res = rs.multistart(unpicklable_on_two, 5, starts=np.arange(5.0).reshape(-1, 1), rng=0,
                        n_jobs=2, backend="loky", batch_size=batch)
    t = res.table
    assert t.loc[2, "error"].startswith("UnpicklableResult: the result cannot be sent back")
    assert "cannot pickle" in t.loc[2, "error"]
    assert t.drop(index=2)["error"].isna().all()
    assert t.drop(index=2)["fun"].tolist() == [0.0, 1.0, 3.0, 4.0]


def changes_start(start, rng):
    start += 100.0  # in place
    return start, float(start[0])


class BatchChangesStart:
    def __call__(self, start, rng):
        return changes_start(start, rng)

    def solve_batch(self, starts, rngs):
        return [changes_start(s, r) for s, r in zip(starts, rngs, strict=True)]


@pytest.mark.parametrize("solver", [changes_start, BatchChangesStart()])
@pytest.mark.parametrize("kw", [{}, {"n_jobs": 2, "backend": "threading"},
                                {"n_jobs": 2, "backend": "loky"}])
def test_a_solver_changing_start_in_place_changes_nothing_outside(solver, kw):
    starts = np.arange(6.0).reshape(-1, 1)
    res = rs.multistart(solver, 6, starts=starts, rng=0, batch_size=3, **kw)
    np.testing.assert_array_equal(starts, np.arange(6.0).reshape(-1, 1))  # caller's array
    np.testing.assert_array_equal(res.table["x0_0"], np.arange(6.0))  # the true starts
    np.testing.assert_array_equal(res.table["fun"], np.arange(6.0) + 100.0)


def test_chunk_sizes_follow_measured_restart_durations():
    from restarts._running import ChunkSizer, Restart

    sizer = ChunkSizer(n_workers=2)
    assert sizer.size(1000) == 1  # nothing measured yet: one restart
    sizer.measure([Restart(i, None, "x", 0.01, None) for i in range(4)])
    assert sizer.size(1000) == 20  # 0.2 s of 10 ms restarts
    assert sizer.size(30) == 8  # but no more than a fair share of what is left
    sizer.measure([Restart(i, None, "x", 1.99, None) for i in range(4)])
    assert sizer.size(1000) == 1  # slow restarts: one at a time
