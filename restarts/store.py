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

__all__ = ["Store", "open_run", "encode_array", "decode_array", "SCHEMA_VERSION",
           "RunTakenError"]

SCHEMA_VERSION = 1
_APPLICATION_ID = 0x52535452  # "RSTR": marks the file as a restarts store
_SQLITE_MAGIC = b"SQLite format 3\x00"
_ARRAY_KINDS = frozenset("biufc")
# What reading a damaged file can raise (text columns may hold invalid UTF-8).
_DB_ERRORS = (sqlite3.Error, UnicodeDecodeError)

_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE runs (
    name TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    seed_entropy TEXT NOT NULL,
    seed_spawn_key TEXT NOT NULL,
    n_starts INTEGER NOT NULL,
    strategy TEXT,
    solver TEXT,
    package_version TEXT,
    config TEXT NOT NULL,
    n_done INTEGER,
    stopped_by TEXT,
    finished TEXT
);
CREATE TABLE restarts (
    run TEXT NOT NULL,
    restart INTEGER NOT NULL,
    fun REAL,
    success INTEGER,
    nit INTEGER,
    nfev INTEGER,
    time_s REAL NOT NULL,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    has_result INTEGER NOT NULL,
    start BLOB,
    x BLOB,
    x_note TEXT,
    extra TEXT,
    message TEXT,
    PRIMARY KEY (run, restart)
) WITHOUT ROWID;
"""
_WRITERS = """CREATE TABLE IF NOT EXISTS writers (
    run TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    pid_start TEXT,
    heartbeat REAL NOT NULL
)"""
_RUNGS = """CREATE TABLE IF NOT EXISTS rungs (
    run TEXT NOT NULL,
    restart INTEGER NOT NULL,
    rung INTEGER NOT NULL,
    record BLOB NOT NULL,
    state BLOB,
    PRIMARY KEY (run, restart, rung)
) WITHOUT ROWID"""
# A writer on another host is presumed alive while it committed this recently (its pid
# cannot be checked from here).
_LEASE_S = 600.0
#: Where a restart's task options (``Restart.info``: table columns such as a schedule's
#: ``popsize`` or racing's ``budget`` and ``rung``) are kept in the ``extra`` JSON.
_INFO_KEY = "restarts:info"
_RUN_COLUMNS = ("name", "created", "seed_entropy", "seed_spawn_key", "n_starts", "strategy",
                "solver", "package_version", "config", "n_done", "stopped_by", "finished")
_RESTART_COLUMNS = ("run", "restart", "fun", "success", "nit", "nfev", "time_s", "error",
                    "attempts", "has_result", "start", "x", "x_note", "extra", "message")
_INSERT = (f"INSERT OR REPLACE INTO restarts ({', '.join(_RESTART_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(_RESTART_COLUMNS))})")
# Binding parameters is most of a row's cost: rows without error, note, extra or
# message bind 10 values instead of 15.
_INSERT_PLAIN = (f"INSERT OR REPLACE INTO restarts ({', '.join(_RESTART_COLUMNS)}) "
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


# -- opening files ----------------------------------------------------------------------
def _check_path(path: Any, param: str, owner: str) -> str:
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"The {param!r} parameter of {owner} must be a path (str or os.PathLike). "
            f"Got {type(path).__name__} instead."
        )
    path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(
            f"The {param!r} parameter of {owner} must be a str path. Got bytes instead."
        )
    if not path or "\x00" in path or path == ":memory:" or path.startswith("file:"):
        raise ValueError(
            f"The {param!r} parameter of {owner} must be the path of a file. "
            f"Got {path!r} instead."
        )
    return path


def _classify(path: str, param: str, owner: str) -> bool:
    """Return whether ``path`` exists as a non-empty file; refuse what cannot be a store."""
    if os.path.isdir(path):
        raise ValueError(
            f"The {param!r} parameter of {owner} must be a file path. {path!r} is a directory."
        )
    if not os.path.exists(path):
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise ValueError(
                f"The {param!r} parameter of {owner} must be a path in an existing directory. "
                f"{parent!r} does not exist."
            )
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise ValueError(f"Cannot read the store {path!r}: {exc}.") from None
    if not head:
        return False
    if head != _SQLITE_MAGIC:
        raise ValueError(
            f"{path!r} is not a SQLite file, so it cannot be a restarts store. "
            "Pass a new path or an existing store."
        )
    return True


def _connect(path: str, mode: str | None = None) -> sqlite3.Connection:
    """A connection; ``mode`` ``"ro"`` or ``"immutable"`` reads a store on read-only media
    (``"immutable"`` also when SQLite cannot create the WAL's shared-memory file there)."""
    if mode is None:
        con = sqlite3.connect(path, timeout=30.0, isolation_level=None,
                              check_same_thread=False)
        con.execute("PRAGMA synchronous=NORMAL")  # WAL: a crash never corrupts, commits cheap
        return con
    from urllib.parse import quote

    query = "mode=ro" if mode == "ro" else "immutable=1"
    return sqlite3.connect(f"file:{quote(os.path.abspath(path))}?{query}", uri=True,
                           timeout=30.0, isolation_level=None, check_same_thread=False)


def _rollback(con: sqlite3.Connection) -> None:
    """Roll back if a transaction is open (SQLite ends it itself on some errors, such as
    a full disk; a second ROLLBACK would hide that error behind its own)."""
    if con.in_transaction:
        try:
            con.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def _writable(path: str) -> bool:
    """Whether this process may write ``path`` and create its journal files next to it
    (``access(2)`` also says no on read-only media, even to root)."""
    folder = os.path.dirname(os.path.abspath(path))
    return os.access(folder, os.W_OK) and (not os.path.exists(path)
                                           or os.access(path, os.W_OK))


def _read_only(path: str) -> OSError:
    import errno

    if not os.path.exists(path):
        folder = os.path.dirname(os.path.abspath(path))
        return OSError(errno.EACCES, (
            f"Cannot create the store {path!r}: its directory {folder!r} is not writable "
            "(read-only medium or permissions). Pass a path in a writable directory."))
    return OSError(errno.EROFS, (
        f"The store {path!r} is read-only (a read-only file, directory or medium): "
        "rs.Store(path) can load it, but a run cannot be written to it. Copy it to a "
        "writable directory, or pass another store=..."))


def _db_error(path: str, exc: BaseException) -> Exception:
    """The error to raise for SQLite's ``exc`` on the store ``path``: what went wrong
    and what to do (a full disk, read-only media, a lock held too long), and only
    otherwise "damaged"."""
    import errno

    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith("SQLITE_FULL") or "database or disk is full" in text:
        return OSError(errno.ENOSPC, (
            f"The store {path!r} is full: no space left on its device (or over quota). "
            "The restarts saved so far are intact; free some space or move the store, "
            "then run again to resume."))
    if name.startswith("SQLITE_READONLY") or "readonly database" in text or (
            (name.startswith("SQLITE_CANTOPEN") or "unable to open" in text)
            and not _writable(path)):
        return _read_only(path)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return OSError(errno.EBUSY, (
            f"The store {path!r} stayed locked by another connection for 30 s ({text}). "
            "Close what holds it (an open transaction in another program), then retry."))
    return ValueError(
        f"{path!r} is damaged or is not a restarts store ({type(exc).__name__}: {exc}). "
        "Restore a backup or pass a new path."
    )


def _validate(con: sqlite3.Connection, path: str) -> bool:
    """Check an open file is a readable store of a known version; return whether it is empty.

    Reads only: a file that fails a check is left exactly as it was. The reads share
    one read transaction, so a store another process is creating right now is seen
    either before or after its creation, never half made.
    """
    try:
        con.execute("BEGIN")
        try:
            return _validate_snapshot(con, path)
        finally:
            _rollback(con)  # read-only: nothing to keep
    except _DB_ERRORS as exc:
        raise _db_error(path, exc) from None


def _validate_snapshot(con: sqlite3.Connection, path: str) -> bool:
    try:
        app_id = con.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if app_id == 0 and not tables:
            return True
        if app_id != _APPLICATION_ID or "schema_version" not in tables:
            raise ValueError(
                f"{path!r} is a SQLite database but not a restarts store "
                f"(tables: {sorted(tables)[:5]}). Pass a new path; restarts will not write "
                "into a foreign database."
            )
        row = con.execute("SELECT version FROM schema_version").fetchone()
        if row is None or not isinstance(row[0], int):
            raise ValueError(f"{path!r} has no schema version: it is damaged.")
        if row[0] > SCHEMA_VERSION:
            raise ValueError(
                f"{path!r} was written by a newer restarts (schema {row[0]} > "
                f"{SCHEMA_VERSION}). Upgrade restarts to read it."
            )
        missing = {"runs", "restarts"} - tables
        if missing:
            raise ValueError(f"{path!r} lacks the table(s) {sorted(missing)}: it is damaged.")
        for table, expected in (("runs", _RUN_COLUMNS), ("restarts", _RESTART_COLUMNS)):
            columns = tuple(r[1] for r in con.execute(f"PRAGMA table_info({table})"))
            if columns != expected:
                raise ValueError(
                    f"{path!r} has an unexpected layout of table {table!r} "
                    f"({', '.join(columns)[:200]}): it is damaged."
                )
        check = con.execute("PRAGMA quick_check").fetchall()
        if check != [("ok",)]:
            raise ValueError(
                f"{path!r} failed SQLite's integrity check ({check[0][0]!s:.200}). "
                "Restore a backup or pass a new path."
            )
    except _DB_ERRORS as exc:
        raise _db_error(path, exc) from None
    return False


def _enable_wal(con: sqlite3.Connection) -> None:
    """Switch the file to WAL (persistent), retrying while other connections read.

    The switch needs a moment with no other reader; SQLite reports "locked" at once
    instead of waiting, so retry briefly. If the file stays busy it keeps its
    rollback journal (correct, only slower) and the next opener tries again.
    """
    for attempt in range(40):
        try:
            if con.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() == "wal":
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.005 * (attempt + 1))


def _create(con: sqlite3.Connection) -> None:
    con.execute("BEGIN IMMEDIATE")
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:  # another process may have created it meanwhile
            for stmt in _SCHEMA.strip().split(";"):
                if stmt.strip():
                    con.execute(stmt)
            con.execute(_WRITERS)
            con.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            con.execute(f"PRAGMA application_id={_APPLICATION_ID}")
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise


def _open(path: str, param: str, owner: str, *, create: bool) -> sqlite3.Connection | None:
    """An open, validated connection; ``None`` when the store does not exist and not ``create``."""
    exists = _classify(path, param, owner)
    if not exists and not create:
        return None
    writable = _writable(path)
    if create and not writable:
        raise _read_only(path)
    if not writable:  # read-only media: read without locks or journal files
        for mode in ("ro", "immutable"):
            try:
                con = _connect(path, mode)
            except sqlite3.Error:
                continue
            try:
                empty = _validate(con, path)
            except OSError:  # e.g. "ro" needs the WAL's -shm file, which cannot be made
                con.close()
                continue
            except BaseException:
                con.close()
                raise
            if empty:
                con.close()
                return None
            return con
        raise _read_only(path)
    try:
        con = _connect(path)
    except _DB_ERRORS as exc:
        raise _db_error(path, exc) from None
    try:
        empty = _validate(con, path)
        if empty:
            if not create:
                con.close()
                return None
            try:
                _create(con)
            except _DB_ERRORS as exc:
                raise _db_error(path, exc) from None
        if create:
            _enable_wal(con)
    except BaseException:
        con.close()
        raise
    return con


def _package_version() -> str:
    from . import __version__

    return __version__


def _canon_json(value: Any) -> str:
    return json.dumps(_jsonify(value), sort_keys=True)


# -- who writes a run ------------------------------------------------------------------
def _host() -> str:
    import socket

    return socket.gethostname()


def _pid_start(pid: int) -> str | None:
    """When process ``pid`` started (Linux ``/proc``), so a reused pid is not mistaken for
    the writer; ``None`` where unknown."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError):
        return False
    return True


def _holder(con: sqlite3.Connection, name: str) -> tuple | None:
    """The live writer of run ``name`` as ``(token, pid, host, heartbeat)``, or ``None``
    (no writer, or one that died: its row is stale and may be taken over)."""
    row = con.execute("SELECT token, pid, host, pid_start, heartbeat FROM writers "
                      "WHERE run=?", (name,)).fetchone()
    if row is None:
        return None
    try:
        token, pid, host, pid_start, heartbeat = str(row[0]), int(row[1]), str(row[2]), \
            row[3], float(row[4])
    except (TypeError, ValueError):  # a damaged row holds nothing
        return None
    if host != _host():
        return (token, pid, host, heartbeat) if time.time() - heartbeat < _LEASE_S else None
    if not _pid_alive(pid):
        return None
    if pid_start is not None and _pid_start(pid) not in (None, str(pid_start)):
        return None  # the pid was reused by another process
    return token, pid, host, heartbeat


def _held_by(path: str, name: str, holder: tuple, what: str) -> ValueError:
    token, pid, host, heartbeat = holder
    since = _dt.datetime.fromtimestamp(heartbeat, _dt.timezone.utc).isoformat(
        timespec="seconds")
    who = "this process" if (pid == os.getpid() and host == _host()) else \
        f"process {pid} on {host}"
    return ValueError(
        f"Cannot {what} run {name!r} of the store {path!r}: {who} is writing it (last "
        f"commit {since}). Wait for that run to finish or stop it (a stopped run resumes "
        "where it was), or use another name=..."
    )


def _ensure_writers(con: sqlite3.Connection) -> None:
    if con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='writers'"
                   ).fetchone() is None:
        con.execute(_WRITERS)


def _has_table(con: sqlite3.Connection, table: str) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                       (table,)).fetchone() is not None


def _delete_run_rows(con: sqlite3.Connection, name: str) -> None:
    """Inside a write transaction: remove run ``name``'s restarts and checkpoints."""
    con.execute("DELETE FROM restarts WHERE run=?", (name,))
    if _has_table(con, "rungs"):
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
        except _DB_ERRORS as exc:
            _rollback(con)
            raise _db_error(self.path, exc) from None
        except BaseException:
            _rollback(con)
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
            con.execute(_RUNGS)
            con.execute("UPDATE writers SET heartbeat=? WHERE run=?", (time.time(), name))
            con.executemany("UPDATE rungs SET state=NULL WHERE run=? AND restart=? AND rung<?",
                            [(r[0], r[1], r[2]) for r in rows])
            con.executemany("INSERT OR REPLACE INTO rungs (run, restart, rung, record, state) "
                            "VALUES (?,?,?,?,?)", rows)

    def rungs(self, state_key: str) -> dict[tuple[int, int], Restart]:
        """The racing checkpoints saved so far, ``{(restart, rung): record}``; a record
        with a saved state holds it again in ``result.extra[state_key]``."""
        import pickle

        if not _has_table(self._con, "rungs"):
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
        except _DB_ERRORS as exc:
            raise _db_error(self.path, exc) from None
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
            if _has_table(con, "rungs"):  # checkpoints of a racing run: done with
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
    path = _check_path(path, "store", owner)
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"The 'name' parameter of {owner} must be a non-empty str. Got {name!r} instead."
        )
    config_json = _canon_json(config)
    entropy_json = json.dumps(_jsonify(root.entropy))
    key_json = json.dumps([int(k) for k in root.spawn_key])
    con = _open(path, "store", owner, create=True)
    assert con is not None
    import uuid

    token = uuid.uuid4().hex
    try:
        con.execute("BEGIN IMMEDIATE")  # one writer decides whether the run exists
        try:
            _ensure_writers(con)
            holder = _holder(con, name)
            if holder is not None:  # another live process writes this run
                raise _held_by(path, name, holder,
                               "replace" if overwrite else "write")
            row = con.execute(
                "SELECT seed_entropy, seed_spawn_key, config FROM runs WHERE name=?", (name,)
            ).fetchone()
            stored = None
            if row is not None:
                try:  # a damaged configuration is a damaged store, not a traceback
                    stored = _identity(row[2])
                except (ValueError, TypeError) as exc:
                    raise _db_error(path, exc) from None
            now = _identity(config_json)
            same = row is not None and (row[0], row[1]) == (entropy_json, key_json) and \
                not _differences(stored, now)
            if row is not None and not same and not overwrite:
                raise ValueError(_mismatch(path, name, row, entropy_json, key_json, stored, now))
            # Read everything before the first write: a damaged row must leave the file
            # as it was.
            done: dict[int, Restart] = {}
            if same:
                cur = con.execute(f"SELECT {', '.join(_RESTART_COLUMNS)} FROM restarts "
                                  "WHERE run=? ORDER BY restart", (name,))
                try:
                    for r in cur:
                        rec = _restart_from_row(r)
                        done[rec.index] = rec
                except (ValueError, TypeError, json.JSONDecodeError) as exc:
                    raise _db_error(path, exc) from None
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
                        (name, token, os.getpid(), _host(), _pid_start(os.getpid()),
                         time.time()))
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise
    except _DB_ERRORS as exc:
        con.close()
        raise _db_error(path, exc) from None
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
        self.path = _check_path(path, "path", self._OWNER)
        con = _open(self.path, "path", self._OWNER, create=False)
        if con is not None:
            con.close()

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    def _read(self) -> sqlite3.Connection | None:
        return _open(self.path, "path", self._OWNER, create=False)

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
        except _DB_ERRORS as exc:
            raise _db_error(self.path, exc) from None
        finally:
            con.close()
        try:
            df = pd.DataFrame(rows, columns=columns)
            df["best_fun"] = df["best_fun"].astype(float)
        except (TypeError, ValueError) as exc:
            raise _db_error(self.path, exc) from None
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
            sql = f"SELECT {', '.join(_RESTART_COLUMNS)} FROM restarts WHERE run=?"
            args: tuple = (name,)
            if n_done is not None:
                sql += " AND restart < ?"
                args = (name, int(n_done))
            restarts = [_restart_from_row(r) for r in con.execute(sql + " ORDER BY restart",
                                                                   args)]
            config = json.loads(run[3])
            entropy = json.loads(run[0])
            spawn_key = tuple(json.loads(run[1]))
        except _DB_ERRORS as exc:
            raise _db_error(self.path, exc) from None
        except ValueError as exc:
            if "no run named" in str(exc):
                raise
            raise _db_error(self.path, exc) from None
        except (TypeError, KeyError, AttributeError) as exc:
            raise _db_error(self.path, exc) from None
        finally:
            con.close()
        try:
            ftol, xtol = config.get("ftol"), config.get("xtol")  # None: from the data
            strategy = config.get("strategy")
            strategy = strategy.get("strategy") if isinstance(strategy, dict) else strategy
        except (TypeError, ValueError, AttributeError) as exc:
            raise _db_error(self.path, exc) from None
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
                has_writers = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' "
                                          "AND name='writers'").fetchone() is not None
                if has_writers:
                    holder = _holder(con, name)
                    if holder is not None:
                        raise _held_by(self.path, name, holder, "delete")
                    con.execute("DELETE FROM writers WHERE run=?", (name,))
                _delete_run_rows(con, name)
                con.execute("DELETE FROM runs WHERE name=?", (name,))
                con.execute("COMMIT")
            except BaseException:
                _rollback(con)
                raise
        except _DB_ERRORS as exc:
            raise _db_error(self.path, exc) from None
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
