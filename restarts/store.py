"""SQLite run store: every finished restart is saved, runs resume, ``pandas.read_sql`` works.

One file holds many runs. Three tables (SQLite, WAL journal, standard-library
:mod:`sqlite3` only):

``schema_version``
    One row, the layout version (``1``). The file's ``PRAGMA application_id`` marks it
    as a ``restarts`` store, so a foreign SQLite file is refused instead of written to.
``runs``
    One row per run: ``name`` (unique), ``created`` (UTC, ISO 8601), ``seed_entropy``
    and ``seed_spawn_key`` (JSON), ``n_starts``, ``strategy``, ``solver`` and ``config``
    (JSON), ``package_version``, and once the run returns ``n_done``, ``stopped_by`` and
    ``finished``.
``restarts``
    One row per finished restart, primary key ``(run, restart)`` where ``run`` is the
    run's name: ``fun``, ``success``, ``nit``, ``nfev``, ``message`` (what the solver
    returned, ``NULL`` when it returned nothing), ``time_s``, ``error`` (non-``NULL`` ⇔ the
    restart failed), ``attempts``, ``has_result``, ``start``, ``x``, ``x_note``, ``extra``.
``writers``
    One row per run being written: ``run``, ``token`` (this writer), ``pid``, ``host``,
    ``pid_start`` (when that process started, against reused pids), ``heartbeat``. A
    writer holds its run: while it lives, no other process may write, replace or delete
    that run (they get a ``ValueError`` naming the holder), and every commit checks the
    token, so a writer whose run was taken from it stops instead of mixing two runs.
    Created on first write in stores made before it existed.
``rungs``
    Checkpoints of a racing run (``strategy="racing"``) while it runs: one row per
    restart and rung it finished, ``(run, restart, rung)``, with the restart's record
    (``record``) and, for its latest rung only, the solver's state (``state``), both
    pickled. A killed racing run resumes from them without recomputing finished
    rungs; they are deleted when the run returns. Created on first use. Loading a
    run never unpickles; resuming a racing run does, so resume only stores you trust
    (as with any pickle).

Arrays (``start``, ``x``) are stored without pickle, as ``b"<dtype>;<shape>\\n"``
followed by the C-order bytes (:func:`encode_array` / :func:`decode_array`); only
numeric dtypes are stored. Any other ``x`` (a fitted estimator, say) is stored as
``NULL`` with ``x_note`` saying why. ``extra`` is JSON (with the restart's task
options, ``Restart.info``, under the key ``"restarts:info"``): NumPy scalars become
numbers, arrays and tuples become lists, mappings keep their string keys, and values
that are none of these are dropped (a loaded run's ``extra`` holds those JSON types).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import math
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from ._result import LocalResult, MultistartResult, Restart
from ._storefile import (
    DB_ERRORS,
    RESTART_COLUMNS,
    RUNGS_TABLE,
    SCHEMA_VERSION,
    check_path,
    db_error,
    ensure_writers,
    has_table,
    held_by,
    live_writer,
    open_store,
    process_start,
    rollback,
    this_host,
)

__all__ = ["Store", "open_run", "encode_array", "decode_array", "SCHEMA_VERSION",
           "RunTakenError"]

_ARRAY_KINDS = frozenset("biufc")
#: Where a restart's task options (``Restart.info``: table columns such as a schedule's
#: ``popsize`` or racing's ``budget`` and ``rung``) are kept in the ``extra`` JSON.
_INFO_KEY = "restarts:info"
_INSERT = (f"INSERT OR REPLACE INTO restarts ({', '.join(RESTART_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(RESTART_COLUMNS))})")
# Binding parameters is most of a row's cost: rows without error, note, extra or
# message bind 10 values instead of 15.
_INSERT_PLAIN = (f"INSERT OR REPLACE INTO restarts ({', '.join(RESTART_COLUMNS)}) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, 1, ?, ?, NULL, NULL, '')")


# -- arrays and JSON ------------------------------------------------------------------
def encode_array(arr: np.ndarray) -> bytes | None:
    """Encode a numeric array as ``b"<dtype.str>;<d0,d1,...>\\n" + raw C-order bytes``.

    Returns ``None`` for arrays whose dtype is not bool, integer, float or complex
    (those are not stored). No pickle is involved.

    Examples
    --------
    >>> import numpy as np
    >>> from restarts.store import encode_array, decode_array
    >>> blob = encode_array(np.arange(6.0).reshape(2, 3))
    >>> blob[:9]
    b'<f8;2,3\\n\\x00'
    >>> decode_array(blob).tolist()
    [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    """
    key = (arr.dtype, arr.shape)
    head = _HEADS.get(key)
    if head is None:
        if arr.dtype.kind not in _ARRAY_KINDS:
            return None
        head = f"{arr.dtype.str};{','.join(map(str, arr.shape))}\n".encode("ascii")
        if len(_HEADS) < 1024:  # a run has few distinct shapes: cache their headers
            _HEADS[key] = head
    return head + arr.tobytes()  # C order whatever the layout


_HEADS: dict[tuple, bytes] = {}


def decode_array(blob: bytes) -> np.ndarray:
    """Inverse of :func:`encode_array` (a read-only array).

    Raises
    ------
    ValueError
        If ``blob`` is not an encoded array (for example a corrupted store).
    """
    try:
        cut = blob.index(b"\n")
        dtype_str, shape_str = blob[:cut].decode("ascii").split(";")
        dtype = np.dtype(dtype_str)
        if dtype.kind not in _ARRAY_KINDS:
            raise ValueError(f"dtype {dtype_str!r} is not numeric")
        shape = tuple(int(s) for s in shape_str.split(",")) if shape_str else ()
        arr = np.frombuffer(blob, dtype=dtype, offset=cut + 1)
        return arr.reshape(shape)
    except Exception as exc:  # any malformed blob is the same problem to the caller
        raise ValueError(f"Not an array encoded by restarts.store: {exc}") from None


_DROP = object()


def _jsonify(value: Any) -> Any:
    """A JSON-able copy of ``value``, or ``_DROP``."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item() if value.dtype.kind in "biuf" else _DROP
    if isinstance(value, np.ndarray):
        return value.tolist() if value.dtype.kind in "biuf" else _DROP
    if isinstance(value, (list, tuple)):
        out = [_jsonify(v) for v in value]
        return _DROP if any(v is _DROP for v in out) else out
    if isinstance(value, dict) or type(value).__name__ == "mappingproxy":
        out = {}
        for k, v in value.items():
            if isinstance(k, str):
                v = _jsonify(v)
                if v is not _DROP:
                    out[k] = v
        return out
    return _DROP


def _dump_extra(extra: Any) -> str | None:
    if not extra:
        return None
    return json.dumps(_jsonify(extra))


def _row(run: str, r: Restart) -> tuple:
    start = r.start
    start_blob = None
    if start is not None:
        if type(start) is not np.ndarray:
            try:
                start = np.asarray(start)
            except Exception:
                start = None
        start_blob = None if start is None else encode_array(start)
    res = r.result
    if res is None:
        return (run, r.index, None, None, None, None, r.time_s, r.error, r.attempts, 0,
                start_blob, None, None,
                _dump_extra({_INFO_KEY: dict(r.info)}) if r.info else None, None)
    x = res.x
    x_blob = note = None
    if type(x) is np.ndarray:
        x_blob = encode_array(x)
        if x_blob is None:
            note = f"not stored: array of dtype {x.dtype} (only numeric arrays are)"
    elif x is not None:
        note = f"not stored: {type(x).__module__}.{type(x).__qualname__} is not an array"
    extra = res.extra
    if r.info:  # the task's options (table columns), kept beside the solver's extra
        extra = {**extra, _INFO_KEY: dict(r.info)}
    if r.error is None and note is None and not extra and not res.message:
        # The common row of a cheap solver: fewer parameters to bind (see _INSERT_PLAIN).
        return (run, r.index, res.fun, res.success, res.nit, res.nfev, r.time_s, r.attempts,
                start_blob, x_blob)
    return (run, r.index, res.fun, res.success, res.nit, res.nfev, r.time_s, r.error,
            r.attempts, 1, start_blob, x_blob, note, _dump_extra(extra), res.message)


def _restart_from_row(row: sqlite3.Row | tuple) -> Restart:
    (_, index, fun, success, nit, nfev, time_s, error, attempts, has_result, start, x,
     _note, extra, message) = row
    start_arr = None if start is None else decode_array(start)
    result = None
    extra_dict = {} if extra is None else json.loads(extra)
    info = extra_dict.pop(_INFO_KEY, None) if isinstance(extra_dict, dict) else None
    if has_result:
        result = LocalResult(
            x=None if x is None else decode_array(x),
            fun=math.nan if fun is None else float(fun),
            success=bool(success), nit=nit, nfev=nfev, message=message or "",
            extra=extra_dict,
        )
    return Restart(int(index), result, error, float(time_s), start_arr, int(attempts),
                   info if isinstance(info, dict) and info else None)


def _package_version() -> str:
    from . import __version__

    return __version__


def _canon_json(value: Any) -> str:
    return json.dumps(_jsonify(value), sort_keys=True)


def _delete_run_rows(con: sqlite3.Connection, name: str) -> None:
    """Inside a write transaction: remove run ``name``'s restarts and checkpoints."""
    con.execute("DELETE FROM restarts WHERE run=?", (name,))
    if has_table(con, "rungs"):
        con.execute("DELETE FROM rungs WHERE run=?", (name,))


class RunTakenError(ValueError):
    """The run this process was writing was replaced or deleted by another one."""


# -- the run sink used by multistart() -------------------------------------------------
class RunSink:
    """Writes one run's finished restarts: one transaction per :meth:`add` call."""

    def __init__(self, con: sqlite3.Connection, path: str, name: str, token: str) -> None:
        self._con = con
        self.path = path
        self.name = name
        self.token = token

    def _check_token(self) -> None:
        """Inside a write transaction: this process still holds the run (else roll back
        and stop, so rows of two runs never mix)."""
        row = self._con.execute("SELECT token FROM writers WHERE run=?",
                                (self.name,)).fetchone()
        if row is None or row[0] != self.token:
            raise RunTakenError(
                f"The run {self.name!r} of the store {self.path!r} was replaced or deleted "
                "by another process while this one was writing it; this process stopped "
                "writing (its restarts would have mixed with another run's). Run again "
                "to resume or recompute it."
            )

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction of this run's writer: the write lock taken up front
        (waits, never fails midway), the run still ours, rolled back on any error;
        database errors name the store."""
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            self._check_token()
            yield con
            con.execute("COMMIT")
        except DB_ERRORS as exc:
            rollback(con)
            raise db_error(self.path, exc) from None
        except BaseException:
            rollback(con)
            raise

    def add(self, records: Iterable[Restart]) -> None:
        """Commit finished restarts (one transaction)."""
        name = self.name
        rows = [_row(name, r) for r in records]
        if not rows:
            return
        plain = [r for r in rows if len(r) == 10]
        full = [r for r in rows if len(r) != 10] if len(plain) != len(rows) else []
        with self._writing() as con:
            con.execute("UPDATE writers SET heartbeat=? WHERE run=?", (time.time(), name))
            if plain:
                con.executemany(_INSERT_PLAIN, plain)
            if full:
                con.executemany(_INSERT, full)

    def add_rung(self, rung: int, records: Iterable[Restart], state_key: str) -> None:
        """Commit racing checkpoints: each record finished ``rung``; its solver state
        (``record.result.extra[state_key]``, if any) is kept for this latest rung only."""
        import pickle

        name, rows = self.name, []
        for rec in records:
            state = None
            rec = dataclasses.replace(rec, start=None)  # a rung's start is the last state
            if rec.result is not None and state_key in rec.result.extra:
                extra = dict(rec.result.extra)
                state = pickle.dumps(extra.pop(state_key), protocol=pickle.HIGHEST_PROTOCOL)
                rec = dataclasses.replace(rec, result=dataclasses.replace(rec.result,
                                                                          extra=extra))
            rows.append((name, int(rec.index), int(rung),
                         pickle.dumps(rec, protocol=pickle.HIGHEST_PROTOCOL), state))
        if not rows:
            return
        with self._writing() as con:
            con.execute(RUNGS_TABLE)
            con.execute("UPDATE writers SET heartbeat=? WHERE run=?", (time.time(), name))
            con.executemany("UPDATE rungs SET state=NULL WHERE run=? AND restart=? AND rung<?",
                            [(r[0], r[1], r[2]) for r in rows])
            con.executemany("INSERT OR REPLACE INTO rungs (run, restart, rung, record, state) "
                            "VALUES (?,?,?,?,?)", rows)

    def rungs(self, state_key: str) -> dict[tuple[int, int], Restart]:
        """The racing checkpoints saved so far, ``{(restart, rung): record}``; a record
        with a saved state holds it again in ``result.extra[state_key]``."""
        import pickle

        if not has_table(self._con, "rungs"):
            return {}
        out = {}
        try:
            for index, rung, record, state in self._con.execute(
                    "SELECT restart, rung, record, state FROM rungs WHERE run=?", (self.name,)):
                rec = pickle.loads(record)
                if state is not None:
                    rec = dataclasses.replace(rec, result=dataclasses.replace(
                        rec.result, extra={**rec.result.extra, state_key: pickle.loads(state)}))
                out[(int(index), int(rung))] = rec
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError,
                TypeError, ValueError, IndexError) as exc:
            raise ValueError(
                f"The racing checkpoints of run {self.name!r} in the store {self.path!r} are "
                f"damaged or were written by other code ({type(exc).__name__}: {exc}). "
                "Pass overwrite=True to recompute the run.") from None
        except DB_ERRORS as exc:
            raise db_error(self.path, exc) from None
        return out

    def n_saved(self) -> int:
        """How many restarts of this run the store holds."""
        return int(self._con.execute("SELECT COUNT(*) FROM restarts WHERE run=?",
                                     (self.name,)).fetchone()[0])

    def finish(self, n_done: int, stopped_by: str | None) -> None:
        """Record that the run returned restarts ``0..n_done-1`` (and why it stopped)."""
        with self._writing() as con:
            con.execute("UPDATE runs SET n_done=?, stopped_by=?, finished=? WHERE name=?",
                        (int(n_done), stopped_by, _now(), self.name))
            if has_table(con, "rungs"):  # checkpoints of a racing run: done with
                con.execute("DELETE FROM rungs WHERE run=?", (self.name,))

    def close(self) -> None:
        """Let go of the run (another process may write it now) and close the file."""
        try:
            self._con.execute("DELETE FROM writers WHERE run=? AND token=?",
                              (self.name, self.token))
        except sqlite3.Error:  # pragma: no cover - a dead row is taken over anyway
            pass
        finally:
            self._con.close()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def open_run(
    path: Any,
    name: str,
    root: np.random.SeedSequence,
    config: dict,
    *,
    overwrite: bool = False,
    owner: str = "multistart()",
) -> tuple[RunSink, dict[int, Restart]]:
    """Open (or create) run ``name`` in the store at ``path``.

    Returns the sink new restarts are written to and the finished restarts already
    stored, ``{index: Restart}``. A stored run of the same name must have the same
    seed and configuration, else :class:`ValueError` — unless ``overwrite``, which
    replaces it. Nothing is written before every check has passed. The sink holds the
    run until it is closed: meanwhile another process (or thread) asking to write,
    replace or delete it gets a :class:`ValueError` naming the holder, rather than
    computing the same restarts twice or mixing two runs. A read-only store or
    directory, or a full disk, is an :class:`OSError` naming the path.
    """
    path = check_path(path, "store", owner)
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"The 'name' parameter of {owner} must be a non-empty str. Got {name!r} instead."
        )
    config_json = _canon_json(config)
    entropy_json = json.dumps(_jsonify(root.entropy))
    key_json = json.dumps([int(k) for k in root.spawn_key])
    con = open_store(path, "store", owner, create=True)
    assert con is not None
    import uuid

    token = uuid.uuid4().hex
    try:
        con.execute("BEGIN IMMEDIATE")  # one writer decides whether the run exists
        try:
            ensure_writers(con)
            holder = live_writer(con, name)
            if holder is not None:  # another live process writes this run
                raise held_by(path, name, holder,
                               "replace" if overwrite else "write")
            row = con.execute(
                "SELECT seed_entropy, seed_spawn_key, config FROM runs WHERE name=?", (name,)
            ).fetchone()
            stored = None
            if row is not None:
                try:  # a damaged configuration is a damaged store, not a traceback
                    stored = _identity(row[2])
                except (ValueError, TypeError) as exc:
                    raise db_error(path, exc) from None
            now = _identity(config_json)
            same = row is not None and (row[0], row[1]) == (entropy_json, key_json) and \
                not _differences(stored, now)
            if row is not None and not same and not overwrite:
                raise ValueError(_mismatch(path, name, row, entropy_json, key_json, stored, now))
            # Read everything before the first write: a damaged row must leave the file
            # as it was.
            done: dict[int, Restart] = {}
            if same:
                cur = con.execute(f"SELECT {', '.join(RESTART_COLUMNS)} FROM restarts "
                                  "WHERE run=? ORDER BY restart", (name,))
                try:
                    for r in cur:
                        rec = _restart_from_row(r)
                        done[rec.index] = rec
                except (ValueError, TypeError, json.JSONDecodeError) as exc:
                    raise db_error(path, exc) from None
            if row is not None and not same:
                _delete_run_rows(con, name)
                con.execute("DELETE FROM runs WHERE name=?", (name,))
                row = None
            if row is None:
                con.execute(
                    "INSERT INTO runs (name, created, seed_entropy, seed_spawn_key, n_starts, "
                    "strategy, solver, package_version, config) VALUES (?,?,?,?,?,?,?,?,?)",
                    (name, _now(), entropy_json, key_json, int(config.get("n_starts", 0)),
                     _canon_json(config.get("strategy")), _canon_json(config.get("solver")),
                     _package_version(), config_json),
                )
            else:  # a resumed (perhaps extended) run: the latest n_starts and config
                con.execute("UPDATE runs SET n_done=NULL, stopped_by=NULL, finished=NULL, "
                            "n_starts=?, config=? WHERE name=?",
                            (int(config.get("n_starts", 0)), config_json, name))
            con.execute("INSERT OR REPLACE INTO writers (run, token, pid, host, pid_start, "
                        "heartbeat) VALUES (?,?,?,?,?,?)",
                        (name, token, os.getpid(), this_host(), process_start(os.getpid()),
                         time.time()))
            con.execute("COMMIT")
        except BaseException:
            rollback(con)
            raise
    except DB_ERRORS as exc:
        con.close()
        raise db_error(path, exc) from None
    except BaseException:
        con.close()
        raise
    return RunSink(con, path, name, token), done


def _identity(config_json: str) -> Any:
    """What must match for a run to resume: the configuration, less ``n_starts`` when the
    run says it is ``extendable`` (restart ``i`` then does not depend on ``n_starts``, so
    a run may be resumed with more restarts, or fewer)."""
    config = json.loads(config_json)
    if isinstance(config, dict):  # grouping tolerances (older stores) are analysis only
        config = {k: v for k, v in config.items() if k not in ("ftol", "xtol")}
    if isinstance(config, dict) and config.get("extendable") is True:
        config = {k: v for k, v in config.items() if k != "n_starts"}
    return config


def _differences(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """``(dotted key, stored, now)`` for every way two configurations differ; none means
    the same run. Descends into dictionaries present on both sides. A digest (a key
    ending in ``sha1``: a function's code, a solver's data) recorded on one side only
    is not a difference: stores written before digests existed, or a callable wrapped
    in an object, still resume."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            if k in old and k in new:
                out += _differences(old[k], new[k], f"{prefix}{k}.")
            elif not k.endswith("sha1"):
                out.append((f"{prefix}{k}", old.get(k), new.get(k)))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        same = not any(_differences(a, b) for a, b in zip(old, new, strict=True))
    else:
        same = old == new
    return [] if same else [(prefix[:-1], old, new)]


def _mismatch(path: str, name: str, row: tuple, entropy: str, key: str, old: Any,
              new: Any) -> str:
    """Why a stored run differs from this call: seeds, or the configurations ``old``
    (stored) and ``new`` as :func:`_identity` gives them."""
    if (row[0], row[1]) != (entropy, key):
        what = (f"seed (stored entropy={row[0]}, spawn_key={row[1]}; this call: "
                f"entropy={entropy}, spawn_key={key}; pass the stored seed as rng=... "
                "to resume)")
    else:
        what = "configuration (" + "; ".join(
            f"{k}: stored {json.dumps(a)[:80]}, now {json.dumps(b)[:80]}"
            for k, a, b in _differences(old, new)) + ")"
    return (f"The store {path!r} already holds a run named {name!r} with a different {what}. "
            "Pass another name=..., or overwrite=True to replace that run.")


# -- the public store ------------------------------------------------------------------
class Store:
    """A SQLite file of runs written by ``multistart(..., store=path, name=...)``.

    Every method opens the file briefly, so a ``Store`` holds no lock and may be used
    while a run writes to the same file (but deleting the run being written is
    refused). A store on read-only media can be read. ``pandas.read_sql("select * from restarts",
    sqlite3.connect(path))`` reads the raw tables (layout in :mod:`restarts.store`).

    Parameters
    ----------
    path : str or path-like
        The store's file. A missing file is an empty store (created by the first run).

    Raises
    ------
    TypeError
        If ``path`` is not a str or path-like.
    ValueError
        If ``path`` is a directory, is in a missing directory, or names a file that is
        not a ``restarts`` store (another SQLite database, a damaged store, not SQLite).

    Examples
    --------
    >>> import os, tempfile, restarts as rs
    >>> path = os.path.join(tempfile.mkdtemp(), "runs.sqlite")
    >>> res = rs.multistart(lambda s, rng: (s, float(s @ s)), 5,
    ...                     starts=rs.starts.Uniform([(-1, 1)]), rng=0, store=path, name="a")
    >>> store = rs.Store(path)
    >>> store.runs()[["name", "n_stored", "n_failed"]]
      name  n_stored  n_failed
    0    a         5         0
    >>> store.load("a").fun == res.fun
    True
    >>> store.delete("a"); len(store.runs())
    0
    """

    _OWNER = "Store()"

    def __init__(self, path: Any) -> None:
        self.path = check_path(path, "path", self._OWNER)
        con = open_store(self.path, "path", self._OWNER, create=False)
        if con is not None:
            con.close()

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    def _read(self) -> sqlite3.Connection | None:
        return open_store(self.path, "path", self._OWNER, create=False)

    def names(self) -> list[str]:
        """Names of the stored runs, oldest first."""
        return self.runs()["name"].tolist()

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def runs(self) -> pd.DataFrame:
        """One row per run: ``name``, ``created``, ``n_starts``, ``n_stored`` (restarts
        saved), ``n_failed``, ``best_fun``, ``n_done``, ``stopped_by``, ``finished``,
        ``strategy``, ``solver``, ``seed_entropy``, ``seed_spawn_key``, ``package_version``.

        ``finished`` is ``None`` for a run that was interrupted (resume it by calling
        ``multistart`` again with the same arguments).
        """
        columns = ["name", "created", "n_starts", "n_stored", "n_failed", "best_fun",
                   "n_done", "stopped_by", "finished", "strategy", "solver", "seed_entropy",
                   "seed_spawn_key", "package_version"]
        con = self._read()
        if con is None:
            return pd.DataFrame({c: [] for c in columns})
        try:
            rows = con.execute(
                "SELECT r.name, r.created, r.n_starts, COUNT(x.restart), "
                "COALESCE(SUM(x.error IS NOT NULL), 0), MIN(CASE WHEN x.error IS NULL "
                "THEN x.fun END), r.n_done, r.stopped_by, r.finished, r.strategy, r.solver, "
                "r.seed_entropy, r.seed_spawn_key, r.package_version FROM runs r "
                "LEFT JOIN restarts x ON x.run = r.name GROUP BY r.name ORDER BY r.rowid"
            ).fetchall()
        except DB_ERRORS as exc:
            raise db_error(self.path, exc) from None
        finally:
            con.close()
        try:
            df = pd.DataFrame(rows, columns=columns)
            df["best_fun"] = df["best_fun"].astype(float)
        except (TypeError, ValueError) as exc:
            raise db_error(self.path, exc) from None
        return df

    def load(self, name: str, *, canonical: Any = None) -> MultistartResult:
        """The stored run ``name`` as a :class:`~restarts.MultistartResult`.

        A finished run gives exactly the restarts ``multistart`` returned (the same
        ``table``); an interrupted run gives every restart saved so far.

        Parameters
        ----------
        name : str
        canonical : callable, optional
            The solver's ``canonical`` (not stored: it is code), for ``solutions``.

        Raises
        ------
        ValueError
            If there is no run called ``name`` or the file is damaged.
        """
        name = self._check_name(name, "load")
        con = self._read()
        if con is None:
            raise self._missing(name, [])
        try:
            run = con.execute(
                "SELECT seed_entropy, seed_spawn_key, n_starts, config, n_done, stopped_by "
                "FROM runs WHERE name=?", (name,)).fetchone()
            if run is None:
                raise self._missing(name, [r[0] for r in con.execute("SELECT name FROM runs")])
            n_done = run[4]
            sql = f"SELECT {', '.join(RESTART_COLUMNS)} FROM restarts WHERE run=?"
            args: tuple = (name,)
            if n_done is not None:
                sql += " AND restart < ?"
                args = (name, int(n_done))
            restarts = [_restart_from_row(r) for r in con.execute(sql + " ORDER BY restart",
                                                                   args)]
            config = json.loads(run[3])
            entropy = json.loads(run[0])
            spawn_key = tuple(json.loads(run[1]))
        except DB_ERRORS as exc:
            raise db_error(self.path, exc) from None
        except ValueError as exc:
            if "no run named" in str(exc):
                raise
            raise db_error(self.path, exc) from None
        except (TypeError, KeyError, AttributeError) as exc:
            raise db_error(self.path, exc) from None
        finally:
            con.close()
        try:
            ftol, xtol = config.get("ftol"), config.get("xtol")  # None: from the data
            strategy = config.get("strategy")
            strategy = strategy.get("strategy") if isinstance(strategy, dict) else strategy
        except (TypeError, ValueError, AttributeError) as exc:
            raise db_error(self.path, exc) from None
        return MultistartResult(
            restarts=restarts, seed_entropy=entropy, seed_spawn_key=spawn_key,
            ftol=ftol, xtol=xtol, canonical=canonical,
            config={"n_starts": run[2], "strategy": strategy, "store": self.path,
                    "name": name},
            stopped_by=run[5],
        )

    def delete(self, name: str) -> None:
        """Delete run ``name`` and its restarts (one transaction).

        Raises
        ------
        ValueError
            If there is no run called ``name``, or another live process is writing it.
        """
        name = self._check_name(name, "delete")
        con = self._read()
        if con is None:
            raise self._missing(name, [])
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                if con.execute("SELECT 1 FROM runs WHERE name=?", (name,)).fetchone() is None:
                    names = [r[0] for r in con.execute("SELECT name FROM runs")]
                    raise self._missing(name, names)
                if has_table(con, "writers"):
                    holder = live_writer(con, name)
                    if holder is not None:
                        raise held_by(self.path, name, holder, "delete")
                    con.execute("DELETE FROM writers WHERE run=?", (name,))
                _delete_run_rows(con, name)
                con.execute("DELETE FROM runs WHERE name=?", (name,))
                con.execute("COMMIT")
            except BaseException:
                rollback(con)
                raise
        except DB_ERRORS as exc:
            raise db_error(self.path, exc) from None
        finally:
            con.close()

    def _check_name(self, name: Any, method: str) -> str:
        if not isinstance(name, str):
            raise TypeError(
                f"The 'name' parameter of Store.{method}() must be a str. "
                f"Got {type(name).__name__} instead."
            )
        return name

    def _missing(self, name: str, names: list[str]) -> ValueError:
        return ValueError(
            f"The store {self.path!r} has no run named {name!r}. Stored runs: {names[:20]}."
        )
