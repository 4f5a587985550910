"""The SQLite run store: round trip, resume, overwrite, kills, damaged and foreign files."""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from conftest import child_env
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

import restarts as rs
from restarts.store import decode_array, encode_array

pytestmark = pytest.mark.timeout(120)

BOUNDS = [(-2.0, 2.0), (-2.0, 2.0)]


def solver(start, rng):
    """Cheap, random, with nit and extra: every stored field is exercised."""
    x = np.asarray(start) + 0.01 * rng.normal(size=2)
    return rs.LocalResult(x=x, fun=float(x @ x), nit=int(rng.integers(1, 100)),
                          nfev=int(rng.integers(1, 500)), message="ok",
                          extra={"grad": np.array([1.0, 2.0]), "n": np.int64(3),
                                 "pair": (1, 2.5), "drop_me": object()})


def run(path, n=20, name="a", **kw):
    kw.setdefault("starts", rs.starts.Uniform(BOUNDS))
    kw.setdefault("rng", 7)
    return rs.multistart(solver, n, store=path, name=name, **kw)


def same_table(a, b):
    cols = [c for c in a.table.columns if c != "time_s"]
    assert_frame_equal(a.table[cols], b.table[cols])
    for ra, rb in zip(a.results, b.results, strict=True):
        if ra.x is None or rb.x is None:
            assert ra.x is None and rb.x is None
        else:
            np.testing.assert_array_equal(ra.x, rb.x)


def content(path):
    """Everything a store holds, for 'nothing changed' checks."""
    con = sqlite3.connect(path)
    try:
        return (con.execute("select * from runs order by name").fetchall(),
                con.execute("select * from restarts order by run, restart").fetchall())
    finally:
        con.close()


# -- round trip ------------------------------------------------------------------------
def test_load_equals_original_and_read_sql_works(tmp_path):
    path = tmp_path / "s.sqlite"
    res = run(path)
    loaded = rs.Store(path).load("a")
    assert_frame_equal(loaded.table, res.table)  # time_s is stored as float64: exact
    assert_frame_equal(loaded.solutions.drop(columns="x"), res.solutions.drop(columns="x"))
    same_table(loaded, res)
    assert loaded.results[0].extra == {"grad": [1.0, 2.0], "n": 3, "pair": [1, 2.5]}
    assert loaded.results[0].message == "ok"
    assert loaded.restart_seed(5).spawn_key == res.restart_seed(5).spawn_key
    raw = pd.read_sql("select * from restarts", sqlite3.connect(path))
    assert list(raw["restart"]) == list(range(20)) and (raw["run"] == "a").all()
    # An independent reading of the raw bytes: dtype + shape header, then float64s.
    blob = raw.loc[3, "x"]
    head, body = blob.split(b"\n", 1)
    assert head == b"<f8;2"
    np.testing.assert_array_equal(np.frombuffer(body, dtype="<f8"), res.results[3].x)
    np.testing.assert_array_equal(raw["fun"], res.table["fun"])
    np.testing.assert_array_equal(raw["nit"], res.table["nit"].astype(int))
    runs = pd.read_sql("select * from runs", sqlite3.connect(path))
    assert runs.loc[0, "name"] == "a" and runs.loc[0, "n_starts"] == 20
    assert json.loads(runs.loc[0, "seed_entropy"]) == 7
    assert json.loads(runs.loc[0, "config"])["n_starts"] == 20


def test_runs_and_delete(tmp_path):
    path = tmp_path / "s.sqlite"
    store = rs.Store(path)  # a missing file is an empty store, and is not created
    assert store.runs().empty and not path.exists()
    res_a = run(path, name="a")
    run(path, name="b", n=5, rng=8)
    runs = store.runs()
    assert runs["name"].tolist() == ["a", "b"]
    assert runs["n_stored"].tolist() == [20, 5] and runs["n_failed"].tolist() == [0, 0]
    assert runs.loc[0, "best_fun"] == pytest.approx(res_a.fun)
    assert runs["finished"].notna().all()
    assert "a" in store and "zzz" not in store
    store.delete("a")
    assert store.names() == ["b"]
    assert content(path)[1] and all(r[0] == "b" for r in content(path)[1])
    with pytest.raises(ValueError, match="no run named 'a'.*Stored runs: \\['b'\\]"):
        store.load("a")
    with pytest.raises(ValueError, match="no run named 'a'"):
        store.delete("a")
    with pytest.raises(TypeError, match="'name' parameter of Store.load\\(\\) must be a str"):
        store.load(3)


def test_array_codec_round_trips_and_refuses_garbage():
    for arr in [np.arange(6.0).reshape(2, 3), np.array(3.5), np.zeros((0, 4)),
                np.array([1, 2], dtype=">i4"), np.array([True, False]),
                np.array([1 + 2j]), np.asfortranarray(np.arange(6.0).reshape(2, 3))]:
        back = decode_array(encode_array(arr))
        assert back.dtype == arr.dtype and back.shape == arr.shape
        np.testing.assert_array_equal(back, arr)
    assert encode_array(np.array(["a"], dtype=object)) is None
    for bad in [b"", b"junk", b"<f8;2\n\x00", b"|O;1\n" + bytes(8), b"<f8;x\n"]:
        with pytest.raises(ValueError, match="Not an array encoded"):
            decode_array(bad)


def test_failures_non_array_x_and_non_finite_round_trip(tmp_path):
    class Model:  # a "fitted estimator": not an array, not stored
        pass

    def odd(start, rng):
        k = int(start[0])
        if k == 0:
            raise RuntimeError("boom")
        if k == 1:
            return start, float("nan")
        if k == 2:
            return start, float("inf")
        if k == 3:
            return Model(), 1.5
        if k == 4:
            return rs.LocalResult(x=None, fun=2.0, success=False)
        return start, float(k)

    path = tmp_path / "s.sqlite"
    starts = np.arange(6.0).reshape(-1, 1)
    res = rs.multistart(odd, 6, starts=starts, rng=0, store=path)
    loaded = rs.Store(path).load("default")
    assert_frame_equal(loaded.table, res.table)
    assert loaded.restarts[0].result is None and loaded.restarts[1].result is not None
    assert np.isnan(loaded.restarts[1].result.fun)
    raw = pd.read_sql("select * from restarts", sqlite3.connect(path))
    assert raw.loc[3, "x_note"].startswith("not stored:") and "Model" in raw.loc[3, "x_note"]
    assert raw["x"].isna().tolist() == [True, False, False, True, True, False]
    assert loaded.results[3].x is None and loaded.results[3].fun == 1.5


# -- resume ----------------------------------------------------------------------------
class Counting:
    """A solver that counts its calls in this process (n_jobs=1)."""

    def __init__(self, fail_after=None):
        self.calls, self.fail_after = [], fail_after

    def __call__(self, start, rng):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt  # stands for a killed job
        self.calls.append(start.tobytes())
        return solver(start, rng)

    def describe(self):
        return {"callable": "solver"}  # the same solver, instrumented: resumes its runs


def test_resume_computes_only_missing_and_equals_uninterrupted(tmp_path):
    path = tmp_path / "s.sqlite"
    full = rs.multistart(solver, 30, starts=rs.starts.Uniform(BOUNDS), rng=3)
    crashing = Counting(fail_after=13)
    with pytest.raises(KeyboardInterrupt):
        rs.multistart(crashing, 30, starts=rs.starts.Uniform(BOUNDS), rng=3, store=path,
                      name="r", batch_size=5)
    runs = rs.Store(path).runs()
    # Every restart that finished before the interrupt is saved (not only whole chunks).
    assert runs.loc[0, "n_stored"] == 13 and runs.loc[0, "finished"] is None
    partial = rs.Store(path).load("r")
    assert len(partial) == 13
    again = Counting()
    res = rs.multistart(again, 30, starts=rs.starts.Uniform(BOUNDS), rng=3, store=path,
                        name="r", n_jobs=1, batch_size=5)
    assert len(again.calls) == 17  # restarts 0..12 came from the store
    same_table(res, full)
    same_table(rs.Store(path).load("r"), full)
    # Resuming a finished run computes nothing, with any n_jobs.
    idle = Counting()
    res2 = rs.multistart(idle, 30, starts=rs.starts.Uniform(BOUNDS), rng=3, store=path,
                         name="r", n_jobs=2, backend="threading")
    assert idle.calls == [] and len(res2) == 30
    same_table(res2, full)


def test_resume_in_parallel_matches_sequential(tmp_path):
    path = tmp_path / "s.sqlite"
    with pytest.raises(KeyboardInterrupt):
        rs.multistart(Counting(fail_after=7), 24, starts=rs.starts.Uniform(BOUNDS), rng=5,
                      store=path, name="p", batch_size=3)
    res = rs.multistart(Counting(), 24, starts=rs.starts.Uniform(BOUNDS), rng=5, store=path,
                        name="p", n_jobs=2, backend="threading", batch_size=2)
    same_table(res, rs.multistart(solver, 24, starts=rs.starts.Uniform(BOUNDS), rng=5))


def test_resume_after_stop_rule_replays_the_same_stop(tmp_path):
    path = tmp_path / "s.sqlite"
    kw = dict(starts=rs.starts.Uniform(BOUNDS), rng=11, stop=rs.stop.NoImprovement(4),
              store=path, name="s", batch_size=3)
    first = rs.multistart(solver, 50, **kw)
    assert first.stopped_by is not None and len(first) < 50
    loaded = rs.Store(path).load("s")
    assert len(loaded) == len(first) and loaded.stopped_by == first.stopped_by
    same_table(loaded, first)
    again = Counting()
    second = rs.multistart(again, 50, **kw)
    assert again.calls == []  # the stop fires at the same restart, from stored rows
    same_table(second, first)
    # Without the rule the run goes on from where it stopped.
    kw.pop("stop")
    more = Counting()
    whole = rs.multistart(more, 50, **kw)
    assert len(whole) == 50 and 0 < len(more.calls) <= 50 - len(first)
    same_table(whole, rs.multistart(solver, 50, starts=rs.starts.Uniform(BOUNDS), rng=11))


def test_different_config_or_seed_is_refused_unless_overwrite(tmp_path):
    path = tmp_path / "s.sqlite"
    run(path, n=10)
    before = content(path)
    # Latin hypercube points depend on n_starts, so such a run cannot be extended
    lhs, lhs_path = rs.starts.LatinHypercube(BOUNDS), tmp_path / "lhs.sqlite"
    run(lhs_path, n=10, starts=lhs)
    lhs_before = content(lhs_path)
    with pytest.raises(ValueError, match="different configuration \\(n_starts: stored 10, "
                                         "now 11\\).*overwrite=True"):
        run(lhs_path, n=11, starts=lhs)
    assert content(lhs_path) == lhs_before
    with pytest.raises(ValueError, match="different configuration \\(starts"):
        run(path, n=10, starts=rs.starts.Uniform([(-1, 1), (-1, 1)]))
    with pytest.raises(ValueError, match="different seed.*rng=\\.\\.\\."):
        run(path, n=10, rng=8)
    assert content(path) == before  # nothing was written by the refused calls
    # overwrite=True with the same configuration resumes (nothing recomputed) ...
    again = Counting()
    rs.multistart(again, 10, starts=rs.starts.Uniform(BOUNDS), rng=7, store=path, name="a",
                  overwrite=True)
    assert again.calls == []
    # ... and with a different one replaces the run.
    res = run(path, n=4, rng=9, overwrite=True)
    runs = rs.Store(path).runs()
    assert runs["n_stored"].tolist() == [4] and runs["seed_entropy"].tolist() == ["9"]
    same_table(rs.Store(path).load("a"), res)



def test_a_different_function_or_data_of_the_same_name_is_refused(tmp_path):
    """Stores fingerprint a function's code and a solver's data, not only its name."""
    path = tmp_path / "s.sqlite"

    def objective(start, rng):
        return np.asarray(start), float(np.sum(np.square(start)))

    box = rs.starts.Uniform(BOUNDS)
    rs.multistart(objective, 5, starts=box, rng=1, store=path, name="f")
    same = objective  # the same code resumes (all 5 restarts are found, none recomputed)
    assert rs.multistart(same, 5, starts=box, rng=1, store=path, name="f").table.shape[0] == 5

    def objective(start, rng):  # noqa: F811 - same name, other code
        return np.asarray(start), float(np.sum(np.abs(start)))

    with pytest.raises(ValueError, match=r"different configuration \(solver.code_sha1"):
        rs.multistart(objective, 5, starts=box, rng=1, store=path, name="f")
    # two lambdas share the name "<lambda>" but not their code
    lam = rs.solvers.Minimize(lambda x: float(x @ x), bounds=BOUNDS)
    rs.multistart(lam, 3, rng=2, store=path, name="lam")
    other = rs.solvers.Minimize(lambda x: float(np.sum(x**4)), bounds=BOUNDS)
    with pytest.raises(ValueError, match="fun_code_sha1"):
        rs.multistart(other, 3, rng=2, store=path, name="lam")
    # a data solver on other data (same shape and settings) is refused too
    X = np.random.default_rng(0).normal(size=(40, 2))
    rs.multistart(rs.solvers.KMeans(X, 3), 4, rng=3, store=path, name="km")
    again = rs.multistart(rs.solvers.KMeans(X.copy(), 3), 4, rng=3, store=path, name="km")
    assert again.table.shape[0] == 4
    with pytest.raises(ValueError, match="data_sha1"):
        rs.multistart(rs.solvers.KMeans(X + 1.0, 3), 4, rng=3, store=path, name="km")
    with pytest.raises(ValueError, match="data_sha1"):
        rs.multistart(rs.solvers.KMeans(X[::-1], 3), 4, rng=3, store=path, name="km")

# -- kills -----------------------------------------------------------------------------
JOB = textwrap.dedent("""
    import sys, time
    import numpy as np
    import restarts as rs

    def solver(start, rng):
        time.sleep(0.004)
        x = np.asarray(start) + 0.01 * rng.normal(size=2)
        return rs.LocalResult(x=x, fun=float(x @ x), nit=int(rng.integers(1, 100)))

    if __name__ == "__main__":
        path = sys.argv[1]
        print("go", flush=True)
        rs.multistart(solver, 200, starts=rs.starts.Uniform([(-2, 2), (-2, 2)]), rng=42,
                      store=path, name="job", batch_size=4)
        print("done", flush=True)
""")


def _start(script, path):
    env = child_env()
    proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE,
                            env=env, text=True)
    assert proc.stdout.readline().strip() == "go"
    return proc


def test_sigkill_at_random_moments_then_resume(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(JOB)
    path = tmp_path / "kill.sqlite"
    rng = np.random.default_rng(0)
    counts = []
    for _ in range(5):
        proc = _start(script, path)
        time.sleep(float(rng.uniform(0.2, 0.8)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        n = distinct = 0
        if path.exists():
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # never creates a file
            try:
                assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                if con.execute("select 1 from sqlite_master where name='restarts'").fetchone():
                    n, distinct = con.execute(
                        "select count(*), count(distinct restart) from restarts").fetchone()
            finally:
                con.close()
        assert n == distinct
        counts.append(n)
    assert counts == sorted(counts)  # a kill never loses committed restarts
    assert any(0 < c < 200 for c in counts), counts  # kills landed mid-run
    proc = _start(script, path)
    assert proc.wait(timeout=60) == 0
    resumed = rs.Store(path).load("job")
    sys.path.insert(0, str(tmp_path))
    try:
        import job  # the very same solver, uninterrupted, in this process
    finally:
        sys.path.remove(str(tmp_path))
    full = rs.multistart(job.solver, 200, starts=rs.starts.Uniform([(-2, 2), (-2, 2)]),
                         rng=42)
    t_r, t_f = resumed.table, full.table
    assert t_r["restart"].tolist() == list(range(200))
    np.testing.assert_array_equal(t_r["fun"], t_f["fun"])
    np.testing.assert_array_equal(t_r["nit"], t_f["nit"])
    np.testing.assert_array_equal(np.stack([r.x for r in resumed.results]),
                                  np.stack([r.x for r in full.results]))


# -- bad files and arguments -----------------------------------------------------------
def test_paths_that_cannot_be_stores(tmp_path):
    with pytest.raises(TypeError, match="'path' parameter of Store\\(\\) must be a path"):
        rs.Store(3)
    with pytest.raises(TypeError, match="'store' parameter of multistart\\(\\) must be a path"):
        run(b"x.sqlite")
    with pytest.raises(ValueError, match="is a directory"):
        rs.Store(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        run(tmp_path / "nope" / "s.sqlite")
    with pytest.raises(ValueError, match="path of a file"):
        run(":memory:")


def test_foreign_and_non_sqlite_files_are_refused_untouched(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_bytes(b"hello, not a database\n" * 10)
    foreign = tmp_path / "other.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("create table people (name text)")
    con.execute("insert into people values ('ada')")
    con.commit()
    con.close()
    for path, match in [(text, "not a SQLite file"),
                        (foreign, "SQLite database but not a restarts store")]:
        before = path.read_bytes()
        with pytest.raises(ValueError, match=match):
            rs.Store(path)
        with pytest.raises(ValueError, match=match):
            run(path)
        assert path.read_bytes() == before
        assert sorted(os.listdir(tmp_path)) == sorted(["notes.txt", "other.sqlite"])


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    run(path, n=3)
    con = sqlite3.connect(path)
    con.execute("update schema_version set version = 99")
    con.commit()
    con.close()
    with pytest.raises(ValueError, match="newer restarts \\(schema 99"):
        rs.Store(path).load("a")


@pytest.fixture(scope="module")
def valid_store(tmp_path_factory):
    """A small checkpointed store (one file, no WAL), as bytes."""
    path = tmp_path_factory.mktemp("valid") / "v.sqlite"
    run(path, n=30)
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return path  # a path, not bytes: hypothesis prints arguments of failing examples


def _fuzz(default: int) -> int:
    """Examples per fuzz test; RS_FUZZ=400 HYPOTHESIS_PROFILE=hunt for a longer hunt."""
    return int(os.environ.get("RS_FUZZ", default))


def _corrupt(data: bytes, edits, cut) -> bytes:
    buf = bytearray(data)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    return bytes(buf[: max(1, int(len(buf) * cut))])


@settings(max_examples=_fuzz(30), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=20),
       cut=st.sampled_from([1.0, 1.0, 0.9, 0.5, 0.02]))
# found by this test: one byte of the stored run's configuration JSON changed, which
# resuming parsed with a bare json.loads (a JSONDecodeError without the path)
@example(edits=[(32486, 0)], cut=1.0)
def test_damaged_store_only_raises_value_error(tmp_path, valid_store, edits, cut):
    path = tmp_path / "d.sqlite"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.remove(f"{path}{suffix}")
    data = _corrupt(valid_store.read_bytes(), edits, cut)
    path.write_bytes(data)
    for action in (lambda: rs.Store(path).runs(), lambda: rs.Store(path).load("a"),
                   lambda: run(path, n=30)):
        try:
            action()
        except ValueError as exc:
            text = str(exc)
            assert str(path) in text or "no run named" in text or "Not an array" in text, text
            if str(path) in text and "no run named" not in text:
                # A refused file is left exactly as it was.
                assert path.read_bytes() == data


names = st.one_of(st.none(), st.text(max_size=8), st.integers(), st.binary(max_size=4))
overwrites = st.one_of(st.booleans(), st.integers(0, 2), st.none())


@settings(max_examples=_fuzz(40), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(name=names, overwrite=overwrites, n=st.integers(-1, 12), rng=st.sampled_from([7, 8, -1]),
       store_kind=st.sampled_from(["same", "dir", "missing_dir", "int", "bytes", "empty"]))
def test_fuzzed_arguments_never_damage_an_existing_store(tmp_path, name, overwrite, n, rng,
                                                         store_kind):
    path = tmp_path / "base.sqlite"
    if not path.exists():
        run(path, n=10)
    before = content(path)
    store = {"same": path, "dir": tmp_path, "missing_dir": tmp_path / "x" / "y.sqlite",
             "int": 5, "bytes": bytes(str(path), "utf8"), "empty": ""}[store_kind]
    try:
        rs.multistart(solver, n, starts=rs.starts.Uniform(BOUNDS), rng=rng, store=store,
                      name=name, overwrite=overwrite)
        ok = True
    except (ValueError, TypeError) as exc:
        assert "parameter" in str(exc) or "store" in str(exc), str(exc)
        ok = False
    after = content(path)
    if not ok or name != "a":
        # Run "a" is untouched by a failed call, and by calls that wrote other runs.
        assert [r for r in after[0] if r[0] == "a"][0][:9] == [r for r in before[0]
                                                               if r[0] == "a"][0][:9]
        assert [r for r in after[1] if r[0] == "a"] == [r for r in before[1] if r[0] == "a"]
    for name_ in rs.Store(path).names():  # and the store stays readable
        rs.Store(path).load(name_)


def test_copy_of_store_with_wal_is_readable(tmp_path):
    # A store copied (file and its -wal) while another connection keeps it open, so
    # the run's pages are still in the WAL, not checkpointed into the file, loads.
    path = tmp_path / "s.sqlite"
    run(path, n=2)  # create the store
    holder = sqlite3.connect(path)
    try:
        holder.execute("SELECT count(*) FROM restarts").fetchone()
        res = run(path, n=8, overwrite=True)
        wal = tmp_path / "s.sqlite-wal"
        assert wal.exists() and wal.stat().st_size > 0  # the premise: data in the WAL
        copy = tmp_path / "copy.sqlite"
        shutil.copy(path, copy)
        shutil.copy(wal, tmp_path / "copy.sqlite-wal")
    finally:
        holder.close()
    same_table(rs.Store(copy).load("a"), res)


def test_two_runs_write_one_store_at_the_same_time(tmp_path):
    import threading

    path = tmp_path / "s.sqlite"
    results, errors = {}, []

    def go(name, seed):
        try:
            results[name] = rs.multistart(solver, 150, starts=rs.starts.Uniform(BOUNDS),
                                          rng=seed, store=path, name=name, batch_size=3)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(n, s)) for n, s in (("a", 1), ("b", 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = rs.Store(path)
    assert store.runs()["n_stored"].tolist() == [150, 150]
    for name in ("a", "b"):
        same_table(store.load(name), results[name])


@settings(max_examples=_fuzz(40), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["load", "delete"]),
       name=st.one_of(st.text(max_size=6), st.integers(), st.none(), st.binary(max_size=3),
                      st.lists(st.text(max_size=2), max_size=2)))
def test_fuzzed_store_calls_fail_cleanly_and_change_nothing(tmp_path, method, name):
    path = tmp_path / "base.sqlite"
    if not path.exists():
        run(path, n=6)
    before = content(path)
    if name == "a":
        return  # the one valid name: covered by the tests above
    with pytest.raises((ValueError, TypeError), match="Store\\.|no run named"):
        getattr(rs.Store(path), method)(name)
    assert content(path) == before


def test_many_runs_creating_one_new_store_at_once(tmp_path):
    # Regression: a store being created by one run was seen half made by another
    # ("not a restarts store", "database is locked"); before the fix ~1 trial in 8 failed.
    import threading

    def tiny(start, rng):
        return (start, float(start[0]))

    for trial in range(20):
        path = tmp_path / f"s{trial}.sqlite"
        errors = []

        def go(name, seed, path=path, errors=errors):
            try:
                rs.multistart(tiny, 12, starts=rs.starts.Uniform([(-1, 1)]), rng=seed,
                              store=path, name=name, batch_size=3)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=go, args=(f"r{k}", k)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [], (trial, errors)
        assert sorted(rs.Store(path).runs()["n_stored"].tolist()) == [12] * 4


def test_an_independent_run_can_be_extended_and_shrunk(tmp_path):
    path = tmp_path / "s.sqlite"
    first = run(path, n=10)
    more = Counting()
    extended = rs.multistart(more, 25, starts=rs.starts.Uniform(BOUNDS), rng=7, store=path,
                             name="a")
    assert len(more.calls) == 15  # only the 15 new restarts ran
    fresh = rs.multistart(solver, 25, starts=rs.starts.Uniform(BOUNDS), rng=7)
    same_table(extended, fresh)
    cols = [c for c in first.table.columns if c not in ("time_s", "basin")]
    assert_frame_equal(extended.table[cols].iloc[:10], first.table[cols])
    assert rs.Store(path).runs()["n_starts"].tolist() == [25]
    fewer = Counting()
    shrunk = rs.multistart(fewer, 5, starts=rs.starts.Uniform(BOUNDS), rng=7, store=path,
                           name="a")
    assert fewer.calls == [] and len(shrunk) == 5
    same_table(rs.Store(path).load("a"), shrunk)


# -- who writes a run ------------------------------------------------------------------
WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    import restarts as rs

    def slow(start, rng):
        time.sleep(0.05)
        x = np.asarray(start) + 0.01 * rng.normal(size=2)
        return rs.LocalResult(x=x, fun=float(x @ x))

    if __name__ == "__main__":
        print("go", flush=True)
        rs.multistart(slow, 40, starts=rs.starts.Uniform([(-2, 2), (-2, 2)]), rng=0,
                      store=sys.argv[1], name="r")
        print("done", flush=True)
""")


def _n_rows(path, name):
    if not os.path.exists(path):
        return 0
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if not con.execute("select 1 from sqlite_master where name='restarts'").fetchone():
            return 0
        return con.execute("select count(*) from restarts where run=?", (name,)).fetchone()[0]
    finally:
        con.close()


def test_a_run_being_written_cannot_be_replaced_deleted_or_written_twice(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    path = tmp_path / "owned.sqlite"
    proc = _start(script, path)
    t0 = time.monotonic()
    while _n_rows(path, "r") == 0:
        assert time.monotonic() - t0 < 60 and proc.poll() is None
        time.sleep(0.02)
    ns = runpy.run_path(str(script), run_name="writer")
    kw = dict(starts=rs.starts.Uniform([(-2, 2), (-2, 2)]), store=path, name="r")
    held = f"Cannot replace run 'r' of the store '{path}': process {proc.pid} on"
    with pytest.raises(ValueError, match=re.escape(held)):
        rs.multistart(ns["slow"], 40, rng=1, overwrite=True, **kw)
    with pytest.raises(ValueError, match=f"Cannot delete run 'r' .*process {proc.pid} on"):
        rs.Store(path).delete("r")
    with pytest.raises(ValueError, match=f"Cannot write run 'r' .*process {proc.pid} on"):
        rs.multistart(ns["slow"], 40, rng=0, **kw)  # the same run: would compute it twice
    assert proc.poll() is None, "the writer finished before every attempt was made"
    assert proc.wait(timeout=60) == 0
    # Only seed 0's rows: exactly the uninterrupted run.
    ref = rs.multistart(ns["slow"], 40, starts=rs.starts.Uniform([(-2, 2), (-2, 2)]), rng=0)
    same_table(rs.Store(path).load("r"), ref)
    # Once the writer is done, replacing and deleting work.
    res = rs.multistart(ns["slow"], 3, rng=1, overwrite=True, **kw)
    same_table(rs.Store(path).load("r"), res)
    rs.Store(path).delete("r")
    assert "r" not in rs.Store(path)


class Hijacker:
    """Restart 3 replaces the run behind its writer's back, as an older restarts (that
    knows nothing of writers) or a hand-written SQL statement would."""

    def __init__(self, path):
        self.path = path

    def __call__(self, start, rng):
        if int(start[0]) == 3:
            con = sqlite3.connect(self.path)
            with con:
                con.execute("DELETE FROM writers")
                con.execute("DELETE FROM restarts")
                con.execute("UPDATE runs SET seed_entropy='1'")
            con.close()
        return start, float(start[0])


def test_a_writer_whose_run_was_taken_stops_without_mixing(tmp_path):
    path = str(tmp_path / "taken.sqlite")
    with pytest.raises(ValueError, match="was replaced or deleted by another process"):
        rs.multistart(Hijacker(path), 8, starts=np.arange(8.0).reshape(-1, 1), rng=0,
                      store=path, name="r", batch_size=1)
    assert _n_rows(path, "r") == 0  # nothing of the old writer landed in the new run


# -- errors that name the cause --------------------------------------------------------
def big(start, rng):
    return np.full(2000, float(start[0])), float(start[0])


def test_a_full_disk_is_an_oserror_naming_the_store_and_what_was_saved_stays(tmp_path,
                                                                            monkeypatch):
    import errno

    import restarts._storefile as storefile

    path = str(tmp_path / "full.sqlite")
    rs.multistart(big, 2, starts=np.zeros((2, 1)), rng=0, store=path, name="small")
    real = storefile._connect

    def tiny(p, *mode):  # the file may grow by 60 pages only: a full disk
        con = real(p, *mode)
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        con.execute(f"PRAGMA max_page_count={pages + 60}")
        return con

    monkeypatch.setattr(storefile, "_connect", tiny)
    with pytest.raises(OSError) as info:
        rs.multistart(big, 200, starts=np.arange(200.0).reshape(-1, 1), rng=0, store=path,
                      name="big", batch_size=5)
    assert info.value.errno == errno.ENOSPC
    assert f"The store {path!r} is full" in str(info.value) and "resume" in str(info.value)
    monkeypatch.undo()
    runs = rs.Store(path).runs().set_index("name")
    assert runs.loc["small", "n_stored"] == 2 and 0 < runs.loc["big", "n_stored"] < 200
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    # Space again: the run resumes and completes.
    assert len(rs.multistart(big, 200, starts=np.arange(200.0).reshape(-1, 1), rng=0,
                             store=path, name="big", batch_size=5)) == 200


def test_read_only_directory_loads_but_refuses_writes_by_name(tmp_path, monkeypatch):
    import restarts.store as store_module

    path = str(tmp_path / "ro.sqlite")
    res = run(path, n=6)
    folder = str(tmp_path)
    real = os.access

    def access(p, mode, **kw):  # what access(2) says on read-only media, even to root
        if mode & os.W_OK and os.path.abspath(p).startswith(folder):
            return False
        return real(p, mode, **kw)

    monkeypatch.setattr(store_module.os, "access", access)
    same_table(rs.Store(path).load("a"), res)  # loading works
    with pytest.raises(OSError, match=re.escape(f"The store {path!r} is read-only")):
        run(path, n=6, name="b")
    new = str(tmp_path / "new.sqlite")
    with pytest.raises(OSError, match=re.escape(f"Cannot create the store {new!r}: its "
                                                f"directory {folder!r} is not writable")):
        run(new, n=2)
    with pytest.raises(OSError, match="is read-only"):
        rs.Store(path).delete("a")


RO_PROBE = textwrap.dedent("""
    import sys
    import numpy as np
    import restarts as rs

    folder = sys.argv[1]
    print(len(rs.Store(folder + "/s.sqlite").load("a")))
    for path, name in ((folder + "/s.sqlite", "b"), (folder + "/new.sqlite", "a")):
        try:
            rs.multistart(lambda s, rng: (s, 1.0), 2, starts=np.ones((2, 1)), rng=0,
                          store=path, name=name)
        except OSError as exc:
            print(type(exc).__name__, exc)
""")


def _unshare_works():
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-rm", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="needs user namespaces (unshare -rm)")
def test_real_read_only_mount(tmp_path):
    path = tmp_path / "s.sqlite"
    run(path, n=3)
    (tmp_path / "probe.py").write_text(RO_PROBE)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = child_env()
    out = subprocess.run(
        ["unshare", "-rm", "sh", "-c",
         f"mount -t tmpfs tmpfs {mnt} && cp {path} {mnt}/ && mount -o remount,ro {mnt} "
         f"&& {sys.executable} {tmp_path / 'probe.py'} {mnt}"],
        capture_output=True, text=True, env=env, timeout=100)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "3",
        f"OSError [Errno 30] The store '{mnt}/s.sqlite' is read-only (a read-only file, "
        "directory or medium): rs.Store(path) can load it, but a run cannot be written to "
        "it. Copy it to a writable directory, or pass another store=...",
        f"PermissionError [Errno 13] Cannot create the store '{mnt}/new.sqlite': its "
        f"directory '{mnt}' is not writable (read-only medium or permissions). Pass a path "
        "in a writable directory.",
    ]


def test_minimize_description_keeps_the_keys_of_earlier_stores(tmp_path):
    # Stores written before Minimize took tol/constraints hold exactly these keys; a
    # setting left at its default must not add one, or those runs would not resume.
    def f(x):
        return float(x[0] ** 2)

    plain = rs.solvers.Minimize(f, bounds=[(-1, 1)])
    assert set(plain.describe()) == {"solver", "method", "jac", "max_nfev", "fun",
                                     "fun_code_sha1", "bounds"}
    cons = {"type": "ineq", "fun": lambda x: x[0] - 0.5}
    constrained = rs.solvers.Minimize(f, bounds=[(-1, 1)], method="SLSQP", constraints=cons,
                                      tol=1e-9)
    d = constrained.describe()
    assert d["ctol"] == 1e-6 and d["constraints"] == 1 and d["tol"] == 1e-9
    # A run stored with the earlier description (no tol/ctol keys) resumes.
    path = tmp_path / "old.db"
    first = rs.multistart(plain, 4, rng=0, store=path, name="r")
    again = rs.multistart(rs.solvers.Minimize(f, bounds=[(-1, 1)]), 4, rng=0, store=path,
                          name="r")
    assert again.table["fun"].tolist() == first.table["fun"].tolist()
