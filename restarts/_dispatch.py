"""Where restarts run, and when their results come back: in this process, in threads,
in our own worker processes, on Dask, or via joblib.

This module owns the worker processes kept between runs (:func:`workers`,
:func:`shutdown_workers`) and the promise that finished restarts reach the driver —
and so the store — at least every quarter of a second, whatever the backend
(``_FLUSH_S``); a kill loses only the restarts in flight and those of that last
moment. A task receives only the solver, the run's seed root and ``(index, start)``
pairs, and returns :class:`~restarts._result.Restart` records; the driver orders them.
Each restart's generator is rebuilt from ``(entropy, spawn_key, index)``, so where a
restart runs cannot change it, and re-running it after its worker died is safe.

- one worker: a plain loop in this process;
- threads (``backend="threading"``): threads pulling restarts from one queue;
- processes (``"loky"``, ``"multiprocessing"``, joblib's default): :class:`_ProcessPool`,
  loky-launched interpreters; a dead worker costs only its restart (retried once), a
  restart stuck in C code is abandoned by a watchdog, workers exit when the parent dies;
- Dask: futures on a ``distributed.Client``; other joblib backends: ``joblib.Parallel``.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ._result import Restart, as_local_result
from ._seeding import restart_rng

__all__ = ["run_chunk", "iter_chunks", "chunk_size", "effective_workers", "RestartTimeout",
           "workers", "shutdown_workers", "report_interrupt", "cpu_count"]

# Finished restarts are handed to the driver at least this often (seconds).
_FLUSH_S = 0.25
# A dispatched chunk of restarts should take about this long (joblib's auto batching
# aims at 0.2-2 s): long enough to amortise dispatch, short enough to balance load.
_CHUNK_S = 0.2


class RestartTimeout(Exception):
    """Raised inside a restart that exceeded the run's ``timeout``."""


def _describe_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _own_copy(start: Any) -> Any:
    """The solver's own copy of a start: changing it in place changes neither the
    caller's array nor the start recorded in the table."""
    return start.copy() if isinstance(start, np.ndarray) else start


def _finish(index: int, start: Any, outcome: Any, elapsed: float,
            timeout: float | None) -> Restart:
    try:
        result = as_local_result(outcome)
    except TypeError as exc:
        return Restart(index, None, _describe_error(exc), elapsed, start)
    if timeout is not None and elapsed > timeout:
        return Restart(index, result,
                       f"RestartTimeout: took {elapsed:.3g} s, more than timeout={timeout:g} s",
                       elapsed, start)
    if not math.isfinite(result.fun):
        return Restart(index, result, f"NonFiniteObjective: fun = {result.fun!r}", elapsed, start)
    return Restart(index, result, None, elapsed, start)


class _Alarm:
    """Interrupt a restart after ``timeout`` seconds with ``SIGALRM`` where possible.

    Only the main thread of a process can receive the signal (the in-process
    sequential path and process-based workers such as loky's). In threads the
    restart runs to its end and the overrun is recorded afterwards.
    """

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self.active = (
            timeout is not None
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        )

    def __enter__(self) -> _Alarm:
        if self.active:
            def handler(signum: int, frame: Any) -> None:
                raise RestartTimeout(f"exceeded timeout={self.timeout:g} s")

            self._old = signal.signal(signal.SIGALRM, handler)
            signal.setitimer(signal.ITIMER_REAL, self.timeout)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old)


def _run_one(solver: Any, entropy: Any, spawn_key: tuple, index: int, start: Any,
             timeout: float | None) -> Restart:
    rng = restart_rng(entropy, spawn_key, index)
    t0 = time.perf_counter()
    try:
        if timeout is None:
            outcome = solver(_own_copy(start), rng)
        else:
            with _Alarm(timeout):
                outcome = solver(_own_copy(start), rng)
    except RestartTimeout:
        elapsed = time.perf_counter() - t0
        return Restart(index, None,
                       f"RestartTimeout: stopped after {elapsed:.3g} s (timeout={timeout:g} s)",
                       elapsed, start)
    except Exception as exc:  # a failing restart is a row, never the end of the run
        return Restart(index, None, _describe_error(exc), time.perf_counter() - t0, start)
    return _finish(index, start, outcome, time.perf_counter() - t0, timeout)


def _run_batch(solver: Any, entropy: Any, spawn_key: tuple, items: Sequence[tuple[int, Any]],
               timeout: float | None, slot: Any) -> list[Restart] | None:
    """``items`` as one ``solve_batch`` call; ``None`` if that call failed."""
    rngs = [restart_rng(entropy, spawn_key, i) for i, _ in items]
    t0 = time.perf_counter()
    if slot is not None:
        slot[1], slot[2], slot[0] = time.monotonic(), 1.0, 0.0
    try:
        with _Alarm(None if timeout is None else timeout * len(items)):
            outcomes = list(solver.solve_batch([_own_copy(s) for _, s in items], rngs))
        if len(outcomes) != len(items):
            raise ValueError("solve_batch returned the wrong number of outcomes")
    except Exception:
        outcomes = None
    if slot is not None:
        slot[2] = 0.0
    if outcomes is None:
        return None
    each = (time.perf_counter() - t0) / len(items)
    return [_finish(i, s, o, each, None) for (i, s), o in zip(items, outcomes, strict=True)]


def _each(solver: Any, entropy: Any, spawn_key: tuple, items: Sequence[tuple[int, Any]],
          timeout: float | None, slot: Any) -> Iterator[Restart]:
    """The records of ``items``, one restart at a time, as each finishes."""
    if slot is None:
        for i, s in items:
            yield _run_one(solver, entropy, spawn_key, i, s, timeout)
        return
    monotonic = time.monotonic
    for k, (i, s) in enumerate(items):
        # Start time first, then position: the watchdog reads position first, so
        # the time it sees is never older than the restart it attributes it to.
        slot[1] = monotonic()
        slot[0] = k
        yield _run_one(solver, entropy, spawn_key, i, s, timeout)


def run_chunk(
    solver: Any,
    entropy: Any,
    spawn_key: tuple,
    items: Sequence[tuple[int, Any]],
    timeout: float | None = None,
    use_batch: bool = True,
    threads: int | None = 1,
    slot: Any = None,
    emit: Any = None,
) -> list[Restart]:
    """Run restarts ``items`` (``(index, start)`` pairs); one record per item, same order.

    With ``use_batch`` and a solver that defines ``solve_batch``, the chunk runs as
    one vectorised call; if that call raises (or returns the wrong number of
    outcomes) the chunk is re-run one restart at a time, so one bad restart costs
    only itself. ``slot`` (process workers only) is a shared ``[position, start time,
    batch]`` triple the parent's watchdog reads to know which restart is running.
    ``emit(records)``, if given, receives finished records at least every ``_FLUSH_S``
    seconds; the returned list then holds only the records not yet emitted.
    """
    limits = threadpool_limits(threads) if threads is not None else contextlib.nullcontext()
    with limits:
        if use_batch and len(items) > 1 and getattr(solver, "solve_batch", None) is not None:
            out = _run_batch(solver, entropy, spawn_key, items, timeout, slot)
            if out is not None:
                return out
        records = _each(solver, entropy, spawn_key, items, timeout, slot)
        if emit is None:
            return list(records)
        pending: list[Restart] = []
        last = time.monotonic()
        for rec in records:
            pending.append(rec)
            if time.monotonic() - last >= _FLUSH_S:
                emit(pending)
                pending, last = [], time.monotonic()
        return pending


def chunk_size(n_tasks: int, n_workers: int, solver: Any, requested: int | str) -> int:
    """Restarts per task (at most): enough to amortise dispatch, small enough to balance
    load. Process workers shrink chunks further so that each takes about ``_CHUNK_S``."""
    if requested != "auto":
        return int(requested)
    if getattr(solver, "solve_batch", None) is not None:
        return max(1, min(int(getattr(solver, "restarts_per_batch", 32)),
                          math.ceil(n_tasks / max(1, n_workers))))
    if n_workers <= 1:
        return max(1, min(256, n_tasks))
    # ~8 chunks per worker keeps workers busy to the end without drowning cheap
    # solvers in scheduling overhead.
    return max(1, min(256, math.ceil(n_tasks / (8 * n_workers))))


def cpu_count() -> int:
    """CPUs this process may use: its affinity mask and cgroup quota (joblib's count,
    which also honours ``LOKY_MAX_CPU_COUNT``), not the machine's ``os.cpu_count()``."""
    from joblib import cpu_count as joblib_cpu_count

    return max(1, int(joblib_cpu_count()))


def effective_workers(n_jobs: int, backend: str | None) -> int:
    """How many restarts can run at once (sizes the chunks and the pool)."""
    if backend == "sequential":
        return 1
    if backend == "dask" and n_jobs < 0:
        client = _current_dask_client()
        if client is not None:
            return max(1, sum(client.nthreads().values()) + 1 + n_jobs)
    if n_jobs < 0:
        return max(1, cpu_count() + 1 + n_jobs)
    return n_jobs


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While restarts run, ``SIGTERM`` stops the run as Ctrl-C does: a
    ``KeyboardInterrupt`` after finished restarts are handed over (and saved). Only in
    the main thread, and only if nobody else handles ``SIGTERM``."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):  # closed from another thread
            signal.signal(signal.SIGTERM, old)


def iter_chunks(
    solver: Any,
    entropy: Any,
    spawn_key: tuple,
    tasks: Sequence[tuple[int, Any]],
    *,
    n_jobs: int,
    backend: str | None,
    timeout: float | None,
    size: int,
    threads: int | None,
) -> Iterator[list[Restart]]:
    """Yield finished restarts' records as they arrive (closing stops dispatch).

    Records may arrive out of order; the caller orders restarts by index. They arrive
    at least every ``_FLUSH_S`` seconds while restarts finish (``size`` at most at a
    time in this process). Ctrl-C (or ``SIGTERM``) first yields the restarts that
    finished, then raises ``KeyboardInterrupt`` with the workers stopped.

    - one worker (``n_jobs=1``, no backend or ``"sequential"``): in this process;
    - ``"threading"``: threads of this process;
    - ``"loky"``, ``"multiprocessing"``, or no backend while joblib's default is a
      process backend: :class:`_ProcessPool`, which survives dead workers and enforces
      ``timeout`` on restarts stuck in C code;
    - ``"dask"`` (or joblib's active Dask backend): futures on a ``distributed.Client``;
    - anything else (custom joblib backends): joblib.
    """
    if not tasks:  # e.g. a resumed run that is already complete: start no workers
        return
    chunks = [list(tasks[k:k + size]) for k in range(0, len(tasks), size)]
    workers = effective_workers(n_jobs, backend)
    in_process = workers == 1 and backend in (None, "sequential")
    with _sigterm_interrupts():
        if in_process or backend == "threading":
            # Thread limits are process-wide: set them once here, never per chunk, or
            # concurrent chunks would save and restore each other's limits.
            with threadpool_limits(threads) if threads is not None else contextlib.nullcontext():
                if in_process:
                    yield from _in_process(solver, entropy, spawn_key, chunks, size, timeout)
                else:
                    yield from _in_threads(solver, entropy, spawn_key, chunks, workers, size,
                                           timeout)
            return
        kind = _route(backend)
        if kind == "process":
            yield from _process_chunks(solver, entropy, spawn_key, chunks, workers, timeout,
                                       threads)
        elif kind == "dask":
            yield from _dask_chunks(solver, entropy, spawn_key, chunks, n_jobs, timeout,
                                    threads)
        else:
            yield from _joblib(solver, entropy, spawn_key, chunks, n_jobs, backend, timeout,
                               threads)


def report_interrupt(n_total: int, sink: Any = None, n_done: int = 0) -> None:
    """Print the one line an interrupted run ends with (then ``KeyboardInterrupt``)."""
    import sys

    if sink is not None:
        try:
            n = sink.n_saved()
        except Exception:  # the store itself failed: do not hide the interrupt
            n = None
        what = (f"saved in {sink.path}; run again to resume" if n is not None
                else f"may be saved in {sink.path}; run again to resume")
    else:
        n = n_done
        what = "finished (not saved: pass store=... to resume an interrupted run)"
    count = "some" if n is None else f"{n:,}"
    print(f"interrupted: {count} of {n_total:,} restarts {what}", file=sys.stderr, flush=True)


def _handed_over_then_interrupted(saved: list[Restart]) -> Iterator[list[Restart]]:
    """After Ctrl-C: hand over what finished, then raise ``KeyboardInterrupt`` whether
    the caller asks for more or closes."""
    try:
        if saved:
            yield saved
    finally:
        raise KeyboardInterrupt


def _in_process(solver: Any, entropy: Any, spawn_key: tuple, chunks: list, size: int,
                timeout: float | None) -> Iterator[list[Restart]]:
    """One restart (or one ``solve_batch`` chunk) after another in this process."""
    pending: list[Restart] = []
    last = time.monotonic()
    batched = getattr(solver, "solve_batch", None) is not None
    try:
        for chunk in chunks:
            if batched:  # one solve_batch call: handed over as soon as it returns
                pending += run_chunk(solver, entropy, spawn_key, chunk, timeout, True, None)
                out, pending, last = pending, [], time.monotonic()
                yield out
                continue
            for i, s in chunk:
                pending.append(_run_one(solver, entropy, spawn_key, i, s, timeout))
                if len(pending) >= size or time.monotonic() - last >= _FLUSH_S:
                    out, pending, last = pending, [], time.monotonic()
                    yield out
        if pending:
            out, pending = pending, []
            yield out
    except KeyboardInterrupt:
        out, pending = pending, []
        yield from _handed_over_then_interrupted(out)


def _in_threads(solver: Any, entropy: Any, spawn_key: tuple, chunks: list, n_threads: int,
                size: int, timeout: float | None) -> Iterator[list[Restart]]:
    """Threads of this process, each taking the next restart (or ``solve_batch``
    chunk) from one queue; finished records are handed over every ``_FLUSH_S``."""
    import queue

    if getattr(solver, "solve_batch", None) is None:
        todo: deque = deque([item] for chunk in chunks for item in chunk)
    else:
        todo = deque(chunks)
    lock = threading.Lock()
    results: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        try:
            while not stop.is_set():
                with lock:
                    if not todo:
                        return
                    chunk = todo.popleft()
                results.put(("ok", run_chunk(solver, entropy, spawn_key, chunk, timeout, True,
                                             None)))
        except BaseException as exc:  # pragma: no cover - run_chunk catches restarts' errors
            results.put(("error", exc))
        finally:
            results.put(("exit", None))

    threads = [threading.Thread(target=work, daemon=True, name="restarts-thread")
               for _ in range(max(1, min(n_threads, len(todo))))]
    for t in threads:
        t.start()
    running = len(threads)
    pending: list[Restart] = []
    last = time.monotonic()
    try:
        while running:
            try:
                kind, value = results.get(timeout=max(0.01, _FLUSH_S - (time.monotonic() - last)))
            except queue.Empty:
                kind, value = "wait", None
            if kind == "ok":
                pending += value
            elif kind == "exit":
                running -= 1
            elif kind == "error":
                raise value
            if pending and (not running or len(pending) >= size
                            or time.monotonic() - last >= _FLUSH_S):
                out, pending, last = pending, [], time.monotonic()
                yield out
    except KeyboardInterrupt:
        stop.set()
        for t in threads:
            t.join()  # a thread cannot be stopped: its restart runs to its end
        while not results.empty():
            kind, value = results.get()
            if kind == "ok":
                pending += value
        out, pending = pending, []
        yield from _handed_over_then_interrupted(out)
    finally:
        stop.set()
        for t in threads:
            t.join()


def _route(backend: str | None) -> str:
    """``"process"``, ``"dask"`` or ``"joblib"`` for a backend name (``None``: joblib's)."""
    if backend in ("loky", "multiprocessing"):
        return "process"
    if backend == "dask":
        return "dask"
    if backend is not None:
        return "joblib"
    from joblib.parallel import get_active_backend

    active = type(get_active_backend()[0]).__name__
    if active in ("LokyBackend", "MultiprocessingBackend"):
        return "process"
    if active == "DaskDistributedBackend":
        return "dask"
    return "joblib"


def _joblib(solver: Any, entropy: Any, spawn_key: tuple, chunks: list, n_jobs: int,
            backend: str | None, timeout: float | None, threads: int | None,
            ) -> Iterator[list[Restart]]:
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator",
                        batch_size=1, pre_dispatch="2*n_jobs")
    gen = parallel(delayed(run_chunk)(solver, entropy, spawn_key, chunk, timeout, True, threads)
                   for chunk in chunks)
    try:
        yield from gen
    finally:
        close = getattr(gen, "close", None)
        if close is not None:
            close()


# -- process workers that may die ---------------------------------------------------------
#
# Each worker is a fresh interpreter (loky's process launcher: no fork, the user's
# ``__main__`` is not re-run) with its own duplex pipe and a 3-double shared slot
# ``[position in chunk, start time (monotonic), in solve_batch]``. Workers are not
# daemonic (a restart may start processes of its own) and exit within ~0.2 s when
# their parent is gone (a thread watches ``os.getppid()``). The parent gives a worker
# one chunk at a time, so it always knows what each worker holds; the worker sends
# finished records every ``_FLUSH_S`` ("part") and at the end ("done"). The parent
# waits on all pipes and process sentinels at once, with a deadline from the slots
# when a ``timeout`` is set. A worker that dies or overruns is replaced; of its chunk,
# restarts finished but not yet sent and those not started are run again as if
# nothing happened; the one that was running is retried once alone (``attempts=2``),
# then recorded as ``WorkerDied``; an overrun is ``RestartTimeout``.

_MAX_ATTEMPTS = 2
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
                f"({_describe_error(exc)}); return picklable values, or use n_jobs=1 or "
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
    import ctypes
    import mmap
    import pickle

    _watch_parent(parent_pid)
    cloudpickle = _cloudpickle()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
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
        try:
            msg = conn.recv_bytes()
        except (EOFError, OSError):
            return
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
        except BaseException as exc:  # the worker itself failed (unpickling the solver)
            token = solver = None
            reply = pickle.dumps(("error", _describe_error(exc)))
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
    enforce timeouts. :func:`_process_chunks` drives it."""

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
        self.time_sum, self.time_n = 0.0, 0  # measured restart durations

    def unfinished(self) -> bool:
        return bool(self.queue or self.busy)

    # -- sending work -------------------------------------------------------------------
    def _take(self, w: _Worker) -> tuple[list, int]:
        """The next chunk for ``w``: as many restarts as take about ``_CHUNK_S`` by the
        durations measured so far (one until there is a measurement), no more than a
        fair share of what is left, nor than ``w`` may run before it is recycled;
        ``solve_batch`` chunks and retries go as they are."""
        items, attempts = self.queue.popleft()
        if not (self.batched or attempts > 1 or len(items) == 1):
            if self.time_n == 0:
                k = 1
            else:
                k = int(_CHUNK_S / max(self.time_sum / self.time_n, 1e-9))
                k = min(k, math.ceil(self.n_queued / (2 * self.n_workers)))
            if self.pool.recycle_after is not None:
                k = min(k, self.pool.recycle_after - w.n_run)
            k = max(1, k)
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
    def _measure(self, records: list[Restart]) -> None:
        self.time_sum += sum(r.time_s for r in records)
        self.time_n += len(records)

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
            self._measure(value)
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
        if attempts < _MAX_ATTEMPTS:
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


def _process_chunks(solver: Any, entropy: Any, spawn_key: tuple, chunks: list,
                    n_workers: int, timeout: float | None, threads: int | None,
                    ) -> Iterator[list[Restart]]:
    try:
        payload = _cloudpickle().dumps(solver)
    except Exception as exc:
        raise TypeError(
            "The 'solver' parameter of multistart() must be picklable (by cloudpickle) to "
            f"run in worker processes: {_describe_error(exc)}. Use backend='threading' "
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
        yield from _handed_over_then_interrupted(saved)
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



# -- Dask ------------------------------------------------------------------------------------
def _identity(x: Any) -> Any:
    return x


def _current_dask_client() -> Any:
    """The current ``distributed.Client`` or ``None`` (never starts a cluster)."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        pass
    from joblib.parallel import get_active_backend

    backend = get_active_backend()[0]
    return getattr(backend, "client", None) if type(backend).__name__ == (
        "DaskDistributedBackend") else None


def _dask_client() -> tuple[Any, bool]:
    """``(client, owned)``: the current client, else one for ``DASK_SCHEDULER_ADDRESS``."""
    client = _current_dask_client()
    if client is not None:
        return client, False
    import dask
    from distributed import Client

    address = dask.config.get("scheduler-address", None)
    if not address:
        raise ValueError(
            "backend='dask' needs a dask.distributed cluster: create a "
            "distributed.Client(address) before calling multistart(), use "
            "joblib.parallel_config('dask', scheduler_host=address), or set the "
            "DASK_SCHEDULER_ADDRESS environment variable."
        )
    return Client(address, set_as_default=False), True


def _dask_chunks(solver: Any, entropy: Any, spawn_key: tuple, chunks: list, n_jobs: int,
                 timeout: float | None, threads: int | None) -> Iterator[list[Restart]]:
    import dataclasses
    import itertools
    import uuid
    from collections import deque

    from distributed import as_completed

    client, owned = _dask_client()
    try:
        total = sum(client.nthreads().values()) or 1
        limit = total if n_jobs < 0 else max(1, min(n_jobs, total) if n_jobs > 0 else total)
        # Ship the solver once (it may hold a data set) instead of once per chunk, as a
        # task rather than scattered data, so the scheduler can recompute it if the
        # workers holding it die.
        solver_f = client.submit(_identity, solver, pure=False,
                                 key=f"restarts-solver-{uuid.uuid4().hex}")
        todo: deque = deque((c, 1) for c in chunks)  # (items, attempts)
        run_key = uuid.uuid4().hex
        pending = as_completed(loop=client.loop)
        meta: dict = {}
        count = itertools.count()

        def submit() -> None:
            chunk, attempts = todo.popleft()
            fut = client.submit(run_chunk, solver_f, entropy, spawn_key, chunk, timeout, True,
                                threads, key=f"restarts-chunk-{run_key}-{next(count)}",
                                pure=False)
            meta[fut.key] = (chunk, attempts)
            pending.add(fut)

        def fill() -> None:
            # Dask blames every task on a dead worker, not the one that killed it. So a
            # retry runs alone on the cluster: if its worker dies, it was the culprit.
            while todo and len(meta) < 2 * limit:
                if any(a > 1 for _, a in meta.values()):
                    return
                if todo[0][1] > 1:
                    if not meta:
                        submit()
                    return
                submit()

        fill()
        try:
            for fut in pending:
                chunk, attempts = meta.pop(fut.key)
                records: list[Restart] = []
                reason = None
                if fut.status == "finished":
                    try:
                        records = fut.result()
                    except Exception as exc:  # lost between the check and the fetch
                        reason = _describe_error(exc)
                elif fut.status == "error":
                    exc = fut.exception()
                    if type(exc).__name__ != "KilledWorker":
                        raise RuntimeError(
                            f"Restarts could not run on the Dask workers: "
                            f"{_describe_error(exc)}. restarts and the solver's module must "
                            "be importable on every worker."
                        ) from exc
                    reason = _describe_error(exc)
                else:
                    reason = f"the Dask task was {fut.status}"
                if reason is not None:
                    if attempts < _MAX_ATTEMPTS:
                        # Retry each restart of the chunk once, alone (see fill()).
                        for item in reversed(chunk):
                            todo.appendleft(([item], attempts + 1))
                    else:
                        records = [Restart(i, None, f"WorkerDied: {reason}", 0.0, s, attempts)
                                   for i, s in chunk]
                elif attempts > 1:
                    records = [dataclasses.replace(r, attempts=attempts) for r in records]
                fill()
                if records:
                    yield records
        finally:
            for fut in list(pending.futures):
                fut.cancel()
            pending.clear()
            solver_f.release()
    finally:
        if owned:
            client.close()
