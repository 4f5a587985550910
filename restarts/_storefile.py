"""The run store's SQLite file: its layout, opening it, its errors, who writes a run.

What :mod:`restarts.store` builds on and users never call: the schema (tables,
version, the ``application_id`` that marks a file as a store), opening a path
(refusing directories, foreign or newer files; reading read-only media without
journal files; creating and switching a new file to WAL), SQLite's errors turned into
what to do (a full disk, a read-only medium, a lock held too long, a damaged file),
and whether the process that holds a run (its ``writers`` row) is still alive.
"""

from __future__ import annotations

import datetime as _dt
import os
import sqlite3
import time
from typing import Any

__all__ = ["SCHEMA_VERSION", "APPLICATION_ID", "DB_ERRORS", "RUNGS_TABLE", "RUN_COLUMNS",
           "RESTART_COLUMNS", "check_path", "rollback", "db_error", "open_store", "this_host",
           "process_start", "live_writer", "held_by", "ensure_writers", "has_table"]

SCHEMA_VERSION = 1
APPLICATION_ID = 0x52535452  # "RSTR": marks the file as a restarts store
_SQLITE_MAGIC = b"SQLite format 3\x00"
# What reading a damaged file can raise (text columns may hold invalid UTF-8).
DB_ERRORS = (sqlite3.Error, UnicodeDecodeError)

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
RUNGS_TABLE = """CREATE TABLE IF NOT EXISTS rungs (
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
RUN_COLUMNS = ("name", "created", "seed_entropy", "seed_spawn_key", "n_starts", "strategy",
                "solver", "package_version", "config", "n_done", "stopped_by", "finished")
RESTART_COLUMNS = ("run", "restart", "fun", "success", "nit", "nfev", "time_s", "error",
                    "attempts", "has_result", "start", "x", "x_note", "extra", "message")


# -- opening files ----------------------------------------------------------------------
def check_path(path: Any, param: str, owner: str) -> str:
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


def rollback(con: sqlite3.Connection) -> None:
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


def db_error(path: str, exc: BaseException) -> Exception:
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
            rollback(con)  # read-only: nothing to keep
    except DB_ERRORS as exc:
        raise db_error(path, exc) from None


def _validate_snapshot(con: sqlite3.Connection, path: str) -> bool:
    try:
        app_id = con.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if app_id == 0 and not tables:
            return True
        if app_id != APPLICATION_ID or "schema_version" not in tables:
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
        for table, expected in (("runs", RUN_COLUMNS), ("restarts", RESTART_COLUMNS)):
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
    except DB_ERRORS as exc:
        raise db_error(path, exc) from None
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
            con.execute(f"PRAGMA application_id={APPLICATION_ID}")
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise


def open_store(path: str, param: str, owner: str, *, create: bool) -> sqlite3.Connection | None:
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
    except DB_ERRORS as exc:
        raise db_error(path, exc) from None
    try:
        empty = _validate(con, path)
        if empty:
            if not create:
                con.close()
                return None
            try:
                _create(con)
            except DB_ERRORS as exc:
                raise db_error(path, exc) from None
        if create:
            _enable_wal(con)
    except BaseException:
        con.close()
        raise
    return con


# -- who writes a run ------------------------------------------------------------------
def this_host() -> str:
    import socket

    return socket.gethostname()


def process_start(pid: int) -> str | None:
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


def live_writer(con: sqlite3.Connection, name: str) -> tuple | None:
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
    if host != this_host():
        return (token, pid, host, heartbeat) if time.time() - heartbeat < _LEASE_S else None
    if not _pid_alive(pid):
        return None
    if pid_start is not None and process_start(pid) not in (None, str(pid_start)):
        return None  # the pid was reused by another process
    return token, pid, host, heartbeat


def held_by(path: str, name: str, holder: tuple, what: str) -> ValueError:
    token, pid, host, heartbeat = holder
    since = _dt.datetime.fromtimestamp(heartbeat, _dt.timezone.utc).isoformat(
        timespec="seconds")
    who = "this process" if (pid == os.getpid() and host == this_host()) else \
        f"process {pid} on {host}"
    return ValueError(
        f"Cannot {what} run {name!r} of the store {path!r}: {who} is writing it (last "
        f"commit {since}). Wait for that run to finish or stop it (a stopped run resumes "
        "where it was), or use another name=..."
    )


def ensure_writers(con: sqlite3.Connection) -> None:
    if not has_table(con, "writers"):
        con.execute(_WRITERS)


def has_table(con: sqlite3.Connection, table: str) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                       (table,)).fetchone() is not None
