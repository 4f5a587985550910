"""The worker processes that run restarts in parallel, kept between runs.

What it owns: :class:`_ProcessPool` of loky-launched interpreters and its lifecycle
(:func:`workers`, :func:`shutdown_workers`, at exit, when the parent dies), and
:func:`process_chunks`, one run's restarts on that pool: chunks sized by measured
restart durations, records streamed back as they finish, a dead worker costing only
its restart (retried once alone), a restart stuck in C code abandoned by a watchdog.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from ._result import Restart
from ._running import (
    MAX_ATTEMPTS,
    ChunkSizer,
    describe_error,
    handed_over_then_interrupted,
    run_chunk,
)

__all__ = ["process_chunks", "workers", "shutdown_workers"]

# -- process workers that may die ---------------------------------------------------------
#
# Each worker is a fresh interpreter (loky's process launcher: no fork, the user's
# ``__main__`` is not re-run) with its own duplex pipe and a 3-double shared slot
# ``[position in chunk, start time (monotonic), in solve_batch]``. Workers are not
# daemonic (a restart may start processes of its own) and exit within ~0.2 s when
# their parent is gone (a thread watches ``os.getppid()``). The parent gives a worker
# one chunk at a time, so it always knows what each worker holds; the worker sends
# finished records every ``FLUSH_S`` ("part") and at the end ("done"). The parent
# waits on all pipes and process sentinels at once, with a deadline from the slots
# when a ``timeout`` is set. A worker that dies or overruns is replaced; of its chunk,
# restarts finished but not yet sent and those not started are run again as if
# nothing happened; the one that was running is retried once alone (``attempts=2``),
# then recorded as ``WorkerDied``; an overrun is ``RestartTimeout``.

_SLOT_BYTES = 24
_PARENT_POLL_S = 0.2


def _cloudpickle() -> Any:
    try:
        import cloudpickle
    except ImportError:  # older joblib vendors it
        from joblib.externals import cloudpickle
    return cloudpickle


def _mappingproxy(d: dict) -> Any:
    import types

    return types.MappingProxyType(d)


def _dumps(obj: Any, cloudpickle: Any) -> bytes:
    """Pickle records fast (C pickler; ``LocalResult.extra`` is a mappingproxy), else
    with cloudpickle (an ``x`` holding lambdas, say)."""
    import copyreg
    import io
    import pickle
    import types

    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table,
                              types.MappingProxyType: lambda m: (_mappingproxy, (dict(m),))}
    try:
        pickler.dump(obj)
    except Exception:
        return cloudpickle.dumps(obj)
    return buf.getvalue()


def _encode(kind: str, records: list[Restart], cloudpickle: Any) -> bytes:
    """A worker's message; a record whose result cannot be pickled becomes an error row."""
    try:
        return _dumps((kind, records), cloudpickle)
    except Exception:
        pass
    safe = []
    for r in records:
        try:
            _dumps(r, cloudpickle)
            safe.append(r)
        except Exception as exc:
            safe.append(Restart(r.index, None, (
                f"UnpicklableResult: the result cannot be sent back from the worker process "
                f"({describe_error(exc)}); return picklable values, or use n_jobs=1 or "
                "backend='threading'"), r.time_s, r.start, r.attempts))
    return _dumps((kind, safe), cloudpickle)


def _timeout_grace(timeout: float) -> float:
    # SIGALRM in the worker stops Python code at ``timeout``; the watchdog only has to
    # catch code that never returns to the interpreter, so give the alarm a head start.
    return max(0.5, 0.25 * timeout)


def _watch_parent(parent_pid: int) -> None:  # pragma: no cover - runs in workers
    """Exit the worker as soon as its parent is gone, however it died."""
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="restarts-parent-watch").start()


def _worker_main(conn: Any, slot_path: str, parent_pid: int) -> None:  # pragma: no cover
    """A worker's life: serve chunks until told to stop or the parent is gone, then
    leave at once (``os._exit``: tearing down an interpreter full of NumPy and SciPy
    takes seconds on a busy machine, and the parent may be dead)."""
    _watch_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        _serve(conn, slot_path)
    except (EOFError, OSError):  # the pipe broke: the parent is gone or gave up on us
        pass
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(0)


def _serve(conn: Any, slot_path: str) -> None:  # pragma: no cover - runs in workers
    import ctypes
    import mmap
    import pickle

    cloudpickle = _cloudpickle()
    fd = os.open(slot_path, os.O_RDWR)
    try:
        mm = mmap.mmap(fd, _SLOT_BYTES)
    finally:
        os.close(fd)
    slot = (ctypes.c_double * 3).from_buffer(mm)
    conn.send_bytes(b"ready")
    token, solver = None, None

    def emit(records: list[Restart]) -> None:
        conn.send_bytes(_encode("part", records, cloudpickle))

    while True:
        msg = conn.recv_bytes()
        if msg == b"stop":
            return
        if msg == b"drop":  # idle after a run: let go of the solver and its data
            token = solver = None  # freed by reference counting (no slow gc.collect())
            continue
        new_token, payload, entropy, spawn_key, items, timeout, threads = pickle.loads(msg)
        try:
            if new_token != token:
                token = solver = None
                solver, token = pickle.loads(payload), new_token
            slot[0] = -1.0
            rest = run_chunk(solver, entropy, spawn_key, items, timeout, True, threads, slot,
                             emit)
            slot[0] = -1.0
            reply = _encode("done", rest, cloudpickle)
        except (EOFError, OSError) as exc:
            if conn.closed or isinstance(exc, (BrokenPipeError, EOFError)):
                raise  # the parent is gone: nobody to reply to
            token = solver = None
            reply = pickle.dumps(("error", describe_error(exc)))
        except BaseException as exc:  # the worker itself failed (unpickling the solver)
            token = solver = None
            reply = pickle.dumps(("error", describe_error(exc)))
        conn.send_bytes(reply)


class _Worker:
    def __init__(self, ctx: Any) -> None:
        import ctypes
        import mmap
        import tempfile

        fd, path = tempfile.mkstemp(prefix="restarts-worker-")
        try:
            os.write(fd, bytes(_SLOT_BYTES))
            self._mm = mmap.mmap(fd, _SLOT_BYTES)
        finally:
            os.close(fd)
        self.slot = (ctypes.c_double * 3).from_buffer(self._mm)
        self.slot[0] = -1.0
        self.path = path
        self.conn, child = ctx.Pipe(duplex=True)
        # Not daemonic: a restart may start processes of its own (daemonic processes
        # may not); the parent stops its workers at exit and they watch for its death.
        self.proc = ctx.Process(target=_worker_main, args=(child, path, os.getpid()),
                                daemon=False, name="restarts-worker")
        self.proc.start()
        child.close()
        self.ready = False
        self.token: Any = None
        self.n_run = 0  # restarts run, for recycling

    def wait_ready(self, deadline: float = 120.0) -> None:
        if self.ready:
            return
        try:
            msg = self.conn.recv_bytes() if self.conn.poll(deadline) else b""
        except (EOFError, OSError):
            msg = b""
        if msg != b"ready":
            self.kill()
            raise RuntimeError("A restarts worker process failed to start.")
        self.ready = True
        self._unlink()

    def _unlink(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def alive(self) -> bool:
        return self.proc.is_alive()

    def drop(self) -> None:
        """Ask an idle worker to let go of the solver it ran last."""
        self.token = None
        with contextlib.suppress(OSError):
            self.conn.send_bytes(b"drop")

    def kill(self) -> None:
        if self.proc.is_alive():
            try:
                os.kill(self.proc.pid, signal.SIGKILL)  # loky's Popen has no kill()
            except ProcessLookupError:
                pass
        self.proc.join(5)
        self.conn.close()
        self._unlink()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send_bytes(b"stop")
        self.proc.join(1)
        self.kill()


class _ProcessPool:
    """Worker processes kept between runs (starting an interpreter costs ~0.5 s)."""

    def __init__(self) -> None:
        from joblib.externals.loky.backend.context import get_context

        self.ctx = get_context("loky")
        self.workers: list[_Worker] = []
        self.pid = os.getpid()  # a forked child must not talk to its parent's workers
        self.recycle_after: int | None = None

    def resize(self, n: int) -> list[_Worker]:
        """``n`` ready workers (new ones start in parallel)."""
        self.workers = [w for w in self.workers if w.alive()]
        while len(self.workers) > n:
            self.workers.pop().stop()
        self.workers += [_Worker(self.ctx) for _ in range(n - len(self.workers))]
        for w in self.workers:
            w.wait_ready()
        return list(self.workers)

    def replace(self, old: _Worker, *, gently: bool = False) -> _Worker:
        """Stop ``old`` and start its successor (not waited for: see ``ready``)."""
        old.stop() if gently else old.kill()
        new = _Worker(self.ctx)
        self.workers[self.workers.index(old)] = new
        return new

    def shutdown(self, *, now: bool = False) -> None:
        for w in self.workers:
            w.kill() if now else w.stop()
        self.workers = []


_POOL: _ProcessPool | None = None


def _pool() -> _ProcessPool:
    global _POOL
    if _POOL is None or _POOL.pid != os.getpid():
        import atexit

        _POOL = _ProcessPool()
        atexit.register(_POOL.shutdown)
    return _POOL


def shutdown_workers() -> None:
    """Stop the worker processes that parallel runs keep for the next run.

    Process workers (``n_jobs > 1`` with a process backend) take about half a second
    each to start, so they stay alive between runs, holding no solver while idle. They
    stop at interpreter exit, and within a fraction of a second if this process dies.
    Call this to free them now; the next parallel run starts new ones.

    Examples
    --------
    >>> import restarts as rs
    >>> rs.shutdown_workers()
    """
    if _POOL is not None and _POOL.pid == os.getpid():
        _POOL.shutdown()


@contextlib.contextmanager
def workers(*, recycle_after: int | None = None) -> Iterator[None]:
    """A block whose worker processes are stopped at its end (and recycled within it).

    Parameters
    ----------
    recycle_after : int, optional
        Replace a process worker by a fresh one once it has run this many restarts:
        for solvers that leak memory. ``None`` keeps workers for as long as they live.

    Raises
    ------
    ValueError
        If ``recycle_after`` is not a positive int or None.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> with rs.workers(recycle_after=2):
    ...     res = rs.multistart(lambda s, rng: (s, float(s @ s)), 4, n_jobs=2,
    ...                         starts=np.ones((4, 1)), rng=0)
    >>> len(res)
    4
    """
    from ._validation import check_int

    recycle_after = check_int(recycle_after, "recycle_after", "workers()", low=1,
                              allow_none=True)
    pool = _pool()
    before = pool.recycle_after
    pool.recycle_after = recycle_after
    try:
        yield
    finally:
        pool.recycle_after = before
        shutdown_workers()


class _Job:
    """What a busy worker holds: its restarts, their attempt, when it got them and how
    many of their records have come back."""

    __slots__ = ("items", "attempts", "t_sent", "received")

    def __init__(self, items: list, attempts: int) -> None:
        self.items, self.attempts = items, attempts
        self.t_sent, self.received = time.monotonic(), 0


class _PoolRun:
    """One run's restarts on the pool: size chunks, dispatch, receive, replace the dead,
    enforce timeouts. :func:`process_chunks` drives it."""

    def __init__(self, pool: _ProcessPool, payload: bytes, entropy: Any, spawn_key: tuple,
                 chunks: list, n_workers: int, timeout: float | None, threads: int | None,
                 batched: bool) -> None:
        self.pool, self.payload = pool, payload
        self.entropy, self.spawn_key, self.timeout, self.threads = (entropy, spawn_key,
                                                                     timeout, threads)
        self.token = (os.getpid(), id(self), time.monotonic())
        self.batched = batched
        self.queue: deque = deque((c, 1) for c in chunks)  # (items, attempts)
        self.n_queued = sum(len(c) for c in chunks)
        self.busy: dict[_Worker, _Job] = {}
        self.idle = pool.resize(max(1, min(n_workers, len(chunks))))
        self.n_workers = len(self.idle)
        self.starting: list[_Worker] = []  # replacements booting while the others work
        self.grace = None if timeout is None else _timeout_grace(timeout)
        self.sizer = ChunkSizer(self.n_workers)

    def unfinished(self) -> bool:
        return bool(self.queue or self.busy)

    # -- sending work -------------------------------------------------------------------
    def _take(self, w: _Worker) -> tuple[list, int]:
        """The next chunk for ``w``: :class:`ChunkSizer`'s size, no more than ``w`` may
        run before it is recycled; ``solve_batch`` chunks and retries go as they are."""
        items, attempts = self.queue.popleft()
        if not (self.batched or attempts > 1 or len(items) == 1):
            k = self.sizer.size(self.n_queued)
            if self.pool.recycle_after is not None:
                k = max(1, min(k, self.pool.recycle_after - w.n_run))
            if k < len(items):
                self.queue.appendleft((items[k:], attempts))
                items = items[:k]
        self.n_queued -= len(items)
        return items, attempts

    def fill(self) -> None:
        import pickle

        while self.queue and self.idle:
            w = self.idle.pop()
            items, attempts = self._take(w)
            send = self.payload if w.token != self.token else None
            w.conn.send_bytes(pickle.dumps((self.token, send, self.entropy, self.spawn_key,
                                            items, self.timeout, self.threads)))
            w.token = self.token
            self.busy[w] = _Job(items, attempts)

    def _requeue(self, items: list, attempts: int) -> None:
        self.queue.appendleft((items, attempts))
        self.n_queued += len(items)

    # -- waiting ------------------------------------------------------------------------
    def _deadline(self, w: _Worker) -> float | None:
        """When the restart ``w`` runs must be abandoned (``None``: none running)."""
        if self.timeout is None or w.slot[0] < 0:
            return None
        n = len(self.busy[w].items) if w.slot[2] > 0 else 1
        return w.slot[1] + self.timeout * n + self.grace

    def wait(self) -> None:
        """Block until a worker replies, dies, boots or overruns its timeout."""
        from multiprocessing.connection import wait

        wait_for = None
        if self.timeout is not None and self.busy:
            deadlines = [d for d in map(self._deadline, self.busy) if d is not None]
            # A worker between restarts has no deadline yet: look again soon.
            wait_for = (max(0.0, min(deadlines) - time.monotonic()) if deadlines else 0.05)
        watched = list(self.busy) + self.starting
        wait([w.conn for w in watched] + [w.proc.sentinel for w in watched],
             timeout=wait_for)

    def admit_started(self) -> None:
        for w in list(self.starting):
            if w.conn.poll() or not w.alive():
                self.starting.remove(w)
                w.wait_ready(0)  # raises if it died while starting
                self.idle.append(w)

    # -- receiving ----------------------------------------------------------------------
    def receive(self, w: _Worker) -> list[Restart]:
        """Every message waiting from busy worker ``w``."""
        import dataclasses
        import pickle

        job = self.busy[w]
        out: list[Restart] = []
        while w.conn.poll():
            try:
                kind, value = pickle.loads(w.conn.recv_bytes())
            except (EOFError, OSError):
                return out + self.lost(w, _exit_text(w), False)
            if kind == "error":
                raise RuntimeError(
                    f"A worker process could not run restarts: {value}. The solver must be "
                    "picklable, and its module importable in a fresh interpreter."
                )
            if job.attempts > 1:
                value = [dataclasses.replace(r, attempts=job.attempts) for r in value]
            job.received += len(value)
            self.sizer.measure(value)
            out += value
            if kind == "done":
                del self.busy[w]
                w.n_run += len(job.items)
                self._release(w)
                break
        return out

    def _release(self, w: _Worker) -> None:
        """``w`` finished a chunk: idle again, or replaced if it ran its share."""
        limit = self.pool.recycle_after
        if limit is not None and w.n_run >= limit:
            self.starting.append(self.pool.replace(w, gently=True))
        else:
            self.idle.append(w)

    def lost(self, w: _Worker, how: str, timed_out: bool) -> list[Restart]:
        """The worker ``w`` is gone: requeue its chunk, return the failed restart(s)."""
        job = self.busy.pop(w)
        items, attempts, r = job.items, job.attempts, job.received
        pos, t_start, in_batch = int(w.slot[0]), w.slot[1], w.slot[2] > 0
        elapsed = time.monotonic() - (job.t_sent if pos < 0 else t_start)
        self.starting.append(self.pool.replace(w))
        if pos < r or in_batch or pos >= len(items):
            culprits, others = items[r:], []
        else:  # finished-but-unsent and not-started restarts run again as if nothing happened
            culprits, others = [items[pos]], items[r:pos] + items[pos + 1:]
        if others:
            self._requeue(others, attempts)
        if timed_out:
            return [Restart(i, None, (
                f"RestartTimeout: abandoned after {elapsed:.3g} s (timeout={self.timeout:g} s); "
                "it did not return to Python, so its worker process was replaced"),
                elapsed, s, attempts) for i, s in culprits]
        if attempts < MAX_ATTEMPTS:
            for c in reversed(culprits):  # alone, so a second death names the culprit
                self._requeue([c], attempts + 1)
            return []
        return [Restart(i, None, (
            f"WorkerDied: the worker process {how} while running this restart, "
            f"{attempts} times"), elapsed, s, attempts) for i, s in culprits]

    def collect(self) -> list[Restart]:
        """One round: records from every worker that replied; the dead and the overdue
        replaced."""
        out: list[Restart] = []
        for w in list(self.busy):
            if w.conn.poll():
                out += self.receive(w)
            elif not w.alive():
                out += self.lost(w, _exit_text(w), False)
            else:
                deadline = self._deadline(w)
                if deadline is not None and time.monotonic() > deadline:
                    w.kill()
                    out += self.lost(w, "was stopped", True)
        return out

    def drain(self) -> list[Restart]:
        """After an interrupt: the records already sent, without waiting for more."""
        import pickle

        out: list[Restart] = []
        for w in list(self.busy):
            try:
                while w.conn.poll():
                    kind, value = pickle.loads(w.conn.recv_bytes())
                    if kind != "error":
                        out += value
            except (EOFError, OSError, pickle.UnpicklingError):
                pass
        return out

    def close(self) -> None:
        """Abandon unfinished work (a stop rule fired, or an error); idle workers drop
        the solver."""
        for w in list(self.busy):
            del self.busy[w]
            w.kill()
        for w in self.idle:
            if w.alive():
                w.drop()
        self.pool.workers = [w for w in self.pool.workers if w.alive()]


def process_chunks(solver: Any, entropy: Any, spawn_key: tuple, chunks: list,
                    n_workers: int, timeout: float | None, threads: int | None,
                    ) -> Iterator[list[Restart]]:
    try:
        payload = _cloudpickle().dumps(solver)
    except Exception as exc:
        raise TypeError(
            "The 'solver' parameter of multistart() must be picklable (by cloudpickle) to "
            f"run in worker processes: {describe_error(exc)}. Use backend='threading' "
            "or n_jobs=1."
        ) from exc
    pool = _pool()
    run = _PoolRun(pool, payload, entropy, spawn_key, chunks, n_workers, timeout, threads,
                   getattr(solver, "solve_batch", None) is not None)
    try:
        while run.unfinished():
            run.fill()
            run.wait()
            run.admit_started()
            out = run.collect()
            if out:
                yield out
    except KeyboardInterrupt:
        saved = run.drain()
        run.busy.clear()
        pool.shutdown(now=True)  # the user asked to stop: stop every worker
        yield from handed_over_then_interrupted(saved)
    finally:
        run.close()


def _exit_text(w: _Worker) -> str:
    w.proc.join(1)
    code = w.proc.exitcode
    if code is None:
        return "stopped responding"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"
