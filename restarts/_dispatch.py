"""Where restarts run, and when their results come back to the driver.

What it owns: choosing where a run's restarts go — this process (``n_jobs=1``),
threads (``backend="threading"``), worker processes (:mod:`restarts._pool`), a Dask
cluster, or another joblib backend — how many run at once (``n_jobs=-1``: the CPUs
this process may use), and the promise that finished restarts reach the driver, and
so the store, at least every ``FLUSH_S`` seconds: a kill loses only the restarts in
flight and those of that last moment. Ctrl-C or ``SIGTERM`` during a run hands over
what finished, stops the workers and raises ``KeyboardInterrupt``
(:func:`report_interrupt` prints the one line). Running a restart itself is
:mod:`restarts._running`.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

from threadpoolctl import threadpool_limits

from ._pool import process_chunks, shutdown_workers, workers
from ._result import Restart
from ._running import (
    FLUSH_S,
    MAX_ATTEMPTS,
    ChunkSizer,
    RestartTimeout,
    describe_error,
    handed_over_then_interrupted,
    run_chunk,
    run_one,
)

__all__ = ["run_chunk", "iter_chunks", "chunk_size", "effective_workers", "RestartTimeout",
           "workers", "shutdown_workers", "report_interrupt", "cpu_count"]


def chunk_size(n_tasks: int, n_workers: int, solver: Any, requested: int | str) -> int:
    """Restarts per task (at most): enough to amortise dispatch, small enough to balance
    load. The process pool and Dask shrink chunks further to about ``CHUNK_S`` seconds
    of restarts each (:class:`~restarts._running.ChunkSizer`)."""
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
    at least every ``FLUSH_S`` seconds while restarts finish (``size`` at most at a
    time in this process). Ctrl-C (or ``SIGTERM``) first yields the restarts that
    finished, then raises ``KeyboardInterrupt`` with the workers stopped.

    - one worker (``n_jobs=1``, no backend or ``"sequential"``): in this process;
    - ``"threading"``: threads of this process;
    - ``"loky"``, ``"multiprocessing"``, or no backend while joblib's default is a
      process backend: the worker processes of :mod:`restarts._pool`, which survive
      dead workers and enforce ``timeout`` on restarts stuck in C code;
    - ``"dask"`` (or joblib's active Dask backend): futures on a ``distributed.Client``;
    - anything else (custom joblib backends): joblib.
    """
    if not tasks:  # e.g. a resumed run that is already complete: start no workers
        return
    chunks = [list(tasks[k:k + size]) for k in range(0, len(tasks), size)]
    n_workers = effective_workers(n_jobs, backend)
    in_process = n_workers == 1 and backend in (None, "sequential")
    with _sigterm_interrupts():
        if in_process or backend == "threading":
            # Thread limits are process-wide: set them once here, never per chunk, or
            # concurrent chunks would save and restore each other's limits.
            with threadpool_limits(threads) if threads is not None else contextlib.nullcontext():
                if in_process:
                    yield from _in_process(solver, entropy, spawn_key, chunks, size, timeout)
                else:
                    yield from _in_threads(solver, entropy, spawn_key, chunks, n_workers, size,
                                           timeout)
            return
        kind = _route(backend)
        if kind == "process":
            yield from process_chunks(solver, entropy, spawn_key, chunks, n_workers, timeout,
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
                pending.append(run_one(solver, entropy, spawn_key, i, s, timeout))
                if len(pending) >= size or time.monotonic() - last >= FLUSH_S:
                    out, pending, last = pending, [], time.monotonic()
                    yield out
        if pending:
            out, pending = pending, []
            yield out
    except KeyboardInterrupt:
        out, pending = pending, []
        yield from handed_over_then_interrupted(out)


def _in_threads(solver: Any, entropy: Any, spawn_key: tuple, chunks: list, n_threads: int,
                size: int, timeout: float | None) -> Iterator[list[Restart]]:
    """Threads of this process, each taking the next restart (or ``solve_batch``
    chunk) from one queue; finished records are handed over every ``FLUSH_S``."""
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
                kind, value = results.get(timeout=max(0.01, FLUSH_S - (time.monotonic() - last)))
            except queue.Empty:
                kind, value = "wait", None
            if kind == "ok":
                pending += value
            elif kind == "exit":
                running -= 1
            elif kind == "error":
                raise value
            if pending and (not running or len(pending) >= size
                            or time.monotonic() - last >= FLUSH_S):
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
        yield from handed_over_then_interrupted(out)
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

        batched = getattr(solver, "solve_batch", None) is not None
        sizer = ChunkSizer(limit)
        n_queued = sum(len(c) for c in chunks)

        def submit() -> None:
            nonlocal n_queued
            chunk, attempts = todo.popleft()
            if not (batched or attempts > 1):  # short chunks: results come back often
                k = sizer.size(n_queued)
                if k < len(chunk):
                    todo.appendleft((chunk[k:], attempts))
                    chunk = chunk[:k]
            n_queued -= len(chunk)
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
                        reason = describe_error(exc)
                elif fut.status == "error":
                    exc = fut.exception()
                    if type(exc).__name__ != "KilledWorker":
                        raise RuntimeError(
                            f"Restarts could not run on the Dask workers: "
                            f"{describe_error(exc)}. restarts and the solver's module must "
                            "be importable on every worker."
                        ) from exc
                    reason = describe_error(exc)
                else:
                    reason = f"the Dask task was {fut.status}"
                if reason is not None:
                    if attempts < MAX_ATTEMPTS:
                        # Retry each restart of the chunk once, alone (see fill()).
                        n_queued += len(chunk)
                        for item in reversed(chunk):
                            todo.appendleft(([item], attempts + 1))
                    else:
                        records = [Restart(i, None, f"WorkerDied: {reason}", 0.0, s, attempts)
                                   for i, s in chunk]
                elif attempts > 1:
                    records = [dataclasses.replace(r, attempts=attempts) for r in records]
                sizer.measure(records)
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
