"""``backend="dask"``: same restarts on a distributed cluster as on local processes."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

import restarts as rs

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")
joblib = pytest.importorskip("joblib")

pytestmark = pytest.mark.timeout(180)

BOUNDS = [(-3.0, 3.0), (-3.0, 3.0)]


def himmelblau(x):
    return float((x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2)


SOLVER = rs.solvers.Minimize(himmelblau, bounds=BOUNDS)


def noisy(start, rng):
    x = np.asarray(start) + rng.normal(size=2)
    return rs.LocalResult(x=x, fun=float(x @ x), nit=int(rng.integers(1, 50)),
                          extra={"pid": os.getpid()})


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as cl:
        yield cl


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster) as c:
        yield c


def _run(backend, **kw):
    return rs.multistart(SOLVER, 24, starts=rs.starts.Sobol(BOUNDS), rng=4, n_jobs=2,
                         backend=backend, **kw)


def test_same_fun_column_for_loky_threading_and_dask(client):
    ref = rs.multistart(SOLVER, 24, starts=rs.starts.Sobol(BOUNDS), rng=4)
    for backend in ("loky", "threading", "dask"):
        res = _run(backend, batch_size=5)
        np.testing.assert_array_equal(res.table["fun"], ref.table["fun"], err_msg=backend)
        np.testing.assert_array_equal(res.table["nfev"], ref.table["nfev"], err_msg=backend)
    # Himmelblau's four minima are all 0: the run found them (an independent check).
    assert ref.fun == pytest.approx(0.0, abs=1e-8)
    assert len(ref.solutions) == 4


def test_dask_random_streams_do_not_depend_on_where_a_restart_ran(client):
    ref = rs.multistart(noisy, 30, starts=rs.starts.Uniform(BOUNDS), rng=9)
    res = rs.multistart(noisy, 30, starts=rs.starts.Uniform(BOUNDS), rng=9, backend="dask",
                        n_jobs=-1, batch_size=4)
    cols = ["restart", "fun", "nit", "basin"]
    assert res.table[cols].equals(ref.table[cols])
    # The work really went to the cluster's worker processes.
    pids = {r.extra["pid"] for r in res.results}
    assert pids <= set(client.run(os.getpid).values()) and os.getpid() not in pids


def failing(start, rng):
    k = int(start[0])
    if k == 1:
        raise ValueError("no good")
    if k == 2:
        return start, float("inf")
    if k == 3:
        time.sleep(0.5)
    return start, float(k)


def test_dask_failures_are_rows_and_overruns_are_recorded(client):
    starts = np.arange(6.0).reshape(-1, 1)
    res = rs.multistart(failing, 6, starts=starts, rng=0, backend="dask", n_jobs=2,
                        timeout=0.2, batch_size=2)
    err = res.table["error"]
    assert err[1] == "ValueError: no good"
    assert err[2] == "NonFiniteObjective: fun = inf"
    # Dask runs restarts in worker threads: a timeout is recorded, not enforced.
    assert err[3].startswith("RestartTimeout: took")
    assert err[[0, 4, 5]].isna().all()
    assert res.table["fun"][[0, 4, 5]].tolist() == [0.0, 4.0, 5.0]


def test_dask_with_store_resumes(client, tmp_path):
    path = tmp_path / "d.sqlite"
    kw = dict(starts=rs.starts.Uniform(BOUNDS), rng=2, store=path, name="d")
    first = rs.multistart(noisy, 12, backend="dask", n_jobs=2, batch_size=3,
                          stop=rs.stop.NoImprovement(3), **kw)
    again = rs.multistart(noisy, 12, backend="dask", n_jobs=2, batch_size=3,
                          stop=rs.stop.NoImprovement(3), **kw)
    assert again.table[["restart", "fun"]].equals(first.table[["restart", "fun"]])
    loaded = rs.Store(path).load("d")
    assert loaded.table[["restart", "fun", "nit"]].equals(first.table[["restart", "fun", "nit"]])


def test_scheduler_address_from_dask_config_or_joblib(cluster):
    ref = rs.multistart(noisy, 10, starts=rs.starts.Uniform(BOUNDS), rng=1)
    assert distributed.client._get_global_client() is None
    # DASK_SCHEDULER_ADDRESS sets this config key.
    with dask.config.set({"scheduler-address": cluster.scheduler_address}):
        res = rs.multistart(noisy, 10, starts=rs.starts.Uniform(BOUNDS), rng=1,
                            backend="dask", n_jobs=2, batch_size=2)
    assert res.table["fun"].equals(ref.table["fun"])
    with joblib.parallel_config("dask", scheduler_host=cluster.scheduler_address):
        res = rs.multistart(noisy, 10, starts=rs.starts.Uniform(BOUNDS), rng=1, n_jobs=2,
                            batch_size=2)
    assert res.table["fun"].equals(ref.table["fun"])


def test_no_cluster_is_a_clear_error():
    assert distributed.client._get_global_client() is None
    with dask.config.set({"scheduler-address": None}):
        with pytest.raises(ValueError, match="backend='dask' needs a dask.distributed cluster"):
            rs.multistart(noisy, 4, starts=rs.starts.Uniform(BOUNDS), rng=1, backend="dask",
                          n_jobs=2)


def dies_on_two(start, rng):
    if int(start[0]) == 2:
        os._exit(1)
    return start, float(start[0])


def test_dask_dead_worker_marks_its_chunk_and_the_run_goes_on():
    # Dask retries a task whose worker died; with no retries allowed it gives up at
    # once (KilledWorker) for every task on that worker; restarts retries each of those
    # restarts once alone, so only the restart that kills workers is a failed row.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=":0") as cl, \
                distributed.Client(cl):
            res = rs.multistart(dies_on_two, 6, starts=np.arange(6.0).reshape(-1, 1), rng=0,
                                backend="dask", n_jobs=2, batch_size=1)
    t = res.table
    assert t["error"][2].startswith("WorkerDied: KilledWorker") and t["attempts"][2] == 2
    assert t["error"].drop(index=2).isna().all()
    assert t["fun"].drop(index=2).tolist() == [0.0, 1.0, 3.0, 4.0, 5.0]
