"""Real interruptions of a run in a child process: SIGKILL at random moments, Ctrl-C
(SIGINT) and SIGTERM to the parent alone or its whole process group.

The solver appends a line to a log when a restart starts and when it finishes (with the
worker's pid and the time), so the tests count solver calls and know which restarts had
finished when the signal came, independently of the store.
"""

from __future__ import annotations

import os
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

pytestmark = pytest.mark.timeout(180)

DELAY = 0.07  # seconds per restart
JOB = textwrap.dedent('''
    import os, sys, time
    import numpy as np
    import restarts as rs

    class Solver:
        """Sleeps ``delay``, logs ``pid time start|done index`` lines."""

        def __init__(self, log, delay):
            self.log, self.delay = log, delay

        def _note(self, what, k):
            if self.log:
                with open(self.log, "a") as fh:
                    fh.write(f"{os.getpid()} {time.time():.6f} {what} {k}\\n")

        def __call__(self, start, rng):
            k = int(start[0])
            self._note("start", k)
            time.sleep(self.delay)
            x = np.asarray(start) + 0.01 * rng.normal(size=2)
            self._note("done", k)
            return rs.LocalResult(x=x, fun=float(x @ x), nit=int(rng.integers(1, 100)))

    def starts(n):
        return np.column_stack([np.arange(n, dtype=float), np.zeros(n)])

    if __name__ == "__main__":
        import signal  # Ctrl-C raises, as in a terminal, even if our parent ignored it
        signal.signal(signal.SIGINT, signal.default_int_handler)  # (bash runs '&' jobs so)
        path, log, n, n_jobs, batch, backend = sys.argv[1:7]
        n, n_jobs = int(n), int(n_jobs)
        batch = batch if batch == "auto" else int(batch)
        print("go", flush=True)
        try:
            rs.multistart(Solver(log, DELAY), n, starts=starts(n), rng=42, store=path,
                          name="job", n_jobs=n_jobs, backend=None if backend == "-" else backend,
                          batch_size=batch)
        except KeyboardInterrupt:
            sys.exit(130)
        print("done", flush=True)
''').replace("DELAY", repr(DELAY))


@pytest.fixture
def job(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(JOB)
    return script


def start(script, path, log, n, n_jobs, batch="auto", backend=None):
    env = child_env()
    proc = subprocess.Popen([sys.executable, str(script), str(path), str(log), str(n),
                             str(n_jobs), str(batch),
                             backend or ("loky" if n_jobs > 1 else "-")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True,
                            start_new_session=True)  # its own process group
    assert proc.stdout.readline().strip() == "go"
    return proc


def read_log(log):
    """``[(pid, time, what, index)]``."""
    if not os.path.exists(log):
        return []
    with open(log) as fh:
        rows = [line.split() for line in fh if line.endswith("\n")]
    return [(int(p), float(t), w, int(k)) for p, t, w, k in rows]



def stored(path):
    """The restart indices the store holds (read-only: never creates a file); checks
    SQLite's integrity first."""
    if not os.path.exists(path):
        return set()
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        if not con.execute("select 1 from sqlite_master where name='restarts'").fetchone():
            return set()
        return {k for (k,) in con.execute("select restart from restarts")}
    finally:
        con.close()




def reference(script, n):
    """The uninterrupted run, computed in this process without sleeping."""
    ns = runpy.run_path(str(script), run_name="reference")
    return rs.multistart(ns["Solver"](None, 0.0), n, starts=ns["starts"](n), rng=42)


@pytest.mark.parametrize("n_jobs, n, batch", [(1, 40, "auto"), (2, 100, 25)])
def test_sigkill_loses_at_most_in_flight_and_the_last_second(job, tmp_path, n_jobs, n, batch):
    path, log = tmp_path / "kill.sqlite", tmp_path / "calls.log"
    rng = np.random.default_rng(n_jobs)
    kills, counts = 0, []
    for _ in range(3):
        before = len(read_log(log))
        proc = start(job, path, log, n, n_jobs, batch)
        wait_for(lambda b=before: sum(w == "done" for _, _, w, _ in read_log(log)[b:]) >= 5)
        time.sleep(float(rng.uniform(0.1, 1.2)))
        if proc.poll() is not None:
            break
        proc.kill()
        t_kill = time.time()
        proc.wait()
        kills += 1
        counts.append(len(stored(path)))  # integrity checked too
        # Workers notice their parent's death by any signal and exit.
        pids = {p for p, _, _, _ in read_log(log)} - {proc.pid}
        time.sleep(max(0.0, t_kill + 2.0 - time.time()))
        assert not [p for p in pids if alive(p)], "workers outlived their parent by 2 s"
    assert counts == sorted(counts) and 0 < counts[0] < n, counts
    proc = start(job, path, log, n, n_jobs, batch)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    calls = sum(w == "start" for _, _, w, _ in read_log(log))
    # Each kill may lose the restarts in flight plus one second's worth of finished ones.
    per_kill = n_jobs * (1 + 1.0 / DELAY)
    assert calls <= n + kills * per_kill, (calls, kills, counts)
    resumed, full = rs.Store(path).load("job"), reference(job, n)
    assert resumed.table["restart"].tolist() == list(range(n))
    for col in ("fun", "nit"):
        np.testing.assert_array_equal(resumed.table[col], full.table[col])
    np.testing.assert_array_equal(np.stack([r.x for r in resumed.results]),
                                  np.stack([r.x for r in full.results]))


@pytest.mark.parametrize("n_jobs, backend, sig, group", [
    (1, None, signal.SIGINT, True), (1, None, signal.SIGTERM, False),
    (2, "loky", signal.SIGINT, True), (2, "loky", signal.SIGINT, False),
    (2, "loky", signal.SIGTERM, True), (2, "loky", signal.SIGTERM, False),
    (2, "threading", signal.SIGINT, False), (2, "threading", signal.SIGTERM, True)])
def test_ctrl_c_and_sigterm_save_finished_restarts_and_stop_workers(job, tmp_path, n_jobs,
                                                                    backend, sig, group):
    path, log, n = tmp_path / "int.sqlite", tmp_path / "calls.log", 400
    proc = start(job, path, log, n, n_jobs, backend=backend)
    # Signal once a restart finished more than a second ago (so the check below bites).
    wait_for(lambda: any(w == "done" and t < time.time() - 1.3
                         for _, t, w, _ in read_log(log)))
    t_sig = time.time()
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    saved = stored(path)
    finished_early = {k for _, t, w, k in read_log(log) if w == "done" and t <= t_sig - 1.0}
    assert finished_early and finished_early <= saved, sorted(finished_early - saved)
    # One line, nothing else (no tracebacks from workers).
    assert err.splitlines() == [
        f"interrupted: {len(saved):,} of {n:,} restarts saved in {path}; run again to resume"
    ], err
    pids = {p for p, _, _, _ in read_log(log)} - {proc.pid}
    assert len(pids) == (2 if backend == "loky" else 0)  # threads log the parent's pid
    time.sleep(max(0.0, t_sig + 2.0 - time.time()))
    assert not [p for p in pids if alive(p)], "workers outlived the interrupted run by 2 s"
    assert rs.Store(path).runs()["finished"].isna().all()  # interrupted, resumable
