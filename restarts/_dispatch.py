"""Running chunks of restarts: in-process, in worker processes, on Dask, or via joblib.

A task receives only what it needs — the solver, the run's seed root, a chunk of
``(index, start)`` pairs — and returns :class:`~restarts._result.Restart` records.
The parent orders them. Each restart's generator is rebuilt in the worker from
``(entropy, spawn_key, index)``, so where a restart runs cannot change it — which is
also what makes retrying a restart after its worker died safe.

- in-process (one worker): a plain loop, nothing per restart beyond the restart;
- process backends: :class:`_ProcessPool`, our own pool of loky-launched workers, so
  that a dead worker costs only the restart it was running (retried once) and a
  restart stuck in C code can be abandoned (a watchdog reads a shared
  ``[position, start time]`` slot per worker) — joblib's executor would abort the run;
- Dask: futures on a ``distributed.Client`` (``KilledWorker`` chunks retried alone);
- threads and other joblib backends: ``joblib.Parallel``.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from threadpoolctl import threadpool_limits

from ._result import Restart, as_local_result
from ._seeding import restart_rng

__all__ = ["run_chunk", "iter_chunks", "chunk_size", "effective_workers", "RestartTimeout"]


class RestartTimeout(Exception):
    """Raised inside a restart that exceeded the run's ``timeout``."""


def _describe_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


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
            outcome = solver(start, rng)
        else:
            with _Alarm(timeout):
                outcome = solver(start, rng)
    except RestartTimeout:
        elapsed = time.perf_counter() - t0
        return Restart(index, None,
                       f"RestartTimeout: stopped after {elapsed:.3g} s (timeout={timeout:g} s)",
                       elapsed, start)
    except Exception as exc:  # a failing restart is a row, never the end of the run
        return Restart(index, None, _describe_error(exc), time.perf_counter() - t0, start)
    return _finish(index, start, outcome, time.perf_counter() - t0, timeout)


def run_chunk(
    solver: Any,
    entropy: Any,
    spawn_key: tuple,
    items: Sequence[tuple[int, Any]],
    timeout: float | None = None,
    use_batch: bool = True,
    threads: int | None = 1,
    slot: Any = None,
) -> list[Restart]:
    """Run restarts ``items`` (``(index, start)`` pairs); one record per item, same order.

    With ``use_batch`` and a solver that defines ``solve_batch``, the chunk runs as
    one vectorised call; if that call raises (or returns the wrong number of
    outcomes) the chunk is re-run one restart at a time, so one bad restart costs
    only itself. ``slot`` (process workers only) is a shared ``[position, start time,
    batch]`` triple the parent's watchdog reads to know which restart is running.
    """
    limits = threadpool_limits(threads) if threads is not None else _null()
    with limits:
        batch = getattr(solver, "solve_batch", None) if use_batch else None
        if batch is not None and len(items) > 1:
            rngs = [restart_rng(entropy, spawn_key, i) for i, _ in items]
            t0 = time.perf_counter()
            if slot is not None:
                slot[1], slot[2], slot[0] = time.monotonic(), 1.0, 0.0
            try:
                with _Alarm(None if timeout is None else timeout * len(items)):
                    outcomes = list(batch([s for _, s in items], rngs))
                if len(outcomes) != len(items):
                    raise ValueError("solve_batch returned the wrong number of outcomes")
            except Exception:
                outcomes = None
            if slot is not None:
                slot[2] = 0.0
            if outcomes is not None:
                each = (time.perf_counter() - t0) / len(items)
                return [_finish(i, s, o, each, None)
                        for (i, s), o in zip(items, outcomes, strict=True)]
        if slot is None:
            return [_run_one(solver, entropy, spawn_key, i, s, timeout) for i, s in items]
        out = []
        monotonic = time.monotonic
        for k, (i, s) in enumerate(items):
            # Start time first, then position: the watchdog reads position first, so
            # the time it sees is never older than the restart it attributes it to.
            slot[1] = monotonic()
            slot[0] = k
            out.append(_run_one(solver, entropy, spawn_key, i, s, timeout))
        return out


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def chunk_size(n_tasks: int, n_workers: int, solver: Any, requested: int | str) -> int:
    """Restarts per task: enough to amortise dispatch, small enough to balance load."""
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


def effective_workers(n_jobs: int, backend: str | None) -> int:
    """How many restarts can run at once (sizes the chunks)."""
    if backend == "sequential":
        return 1
    if backend == "dask" and n_jobs < 0:
        client = _current_dask_client()
        if client is not None:
            return max(1, sum(client.nthreads().values()) + 1 + n_jobs)
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return n_jobs


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
    """Yield the records of each chunk of restarts as it finishes (closing stops dispatch).

    Chunks may arrive out of order; the caller orders restarts by index.

    - one worker (``n_jobs=1``, no backend or ``"sequential"``): in this process, no
      per-restart overhead;
    - ``"loky"``, ``"multiprocessing"``, or no backend while joblib's default is a
      process backend: :class:`_ProcessPool`, which survives dead workers and enforces
      ``timeout`` on restarts stuck in C code;
    - ``"dask"`` (or joblib's active Dask backend): futures on a ``distributed.Client``;
    - anything else (``"threading"``, custom joblib backends): joblib.
    """
    chunks = [list(tasks[k:k + size]) for k in range(0, len(tasks), size)]
    if not chunks:  # e.g. a resumed run that is already complete: start no workers
        return
    workers = effective_workers(n_jobs, backend)
    in_process = workers == 1 and backend in (None, "sequential")
    if in_process or backend == "threading":
        # Thread limits are process-wide: set them once here, never per chunk, or
        # concurrent chunks would save and restore each other's limits.
        with threadpool_limits(threads) if threads is not None else _null():
            if in_process:
                for chunk in chunks:
                    yield run_chunk(solver, entropy, spawn_key, chunk, timeout, True, None)
                return
            yield from _joblib(solver, entropy, spawn_key, chunks, n_jobs, backend, timeout, None)
        return
    kind = _route(backend)
    if kind == "process":
        yield from _process_chunks(solver, entropy, spawn_key, chunks, workers, timeout,
                                   threads)
    elif kind == "dask":
        yield from _dask_chunks(solver, entropy, spawn_key, chunks, n_jobs, timeout, threads)
    else:
        yield from _joblib(solver, entropy, spawn_key, chunks, n_jobs, backend, timeout,
                           threads)


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
# ``[position in chunk, start time (monotonic), in solve_batch]``. The parent gives a
# worker one chunk at a time, so it always knows what each worker holds; it waits on
# all pipes and process sentinels at once, with a deadline from the slots when a
# ``timeout`` is set. A worker that dies or overruns is replaced; its chunk is split:
# restarts it had finished (their results died with it) and those not started are run
# again as if nothing happened; the one that was running is retried once alone
# (``attempts=2``), then recorded as ``WorkerDied``; an overrun is ``RestartTimeout``.

_MAX_ATTEMPTS = 2
_SLOT_BYTES = 24


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


def _timeout_grace(timeout: float) -> float:
    # SIGALRM in the worker stops Python code at ``timeout``; the watchdog only has to
    # catch code that never returns to the interpreter, so give the alarm a head start.
    return max(0.5, 0.25 * timeout)


def _worker_main(conn: Any, slot_path: str) -> None:  # pragma: no cover - runs in workers
    import ctypes
    import mmap
    import pickle

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
    while True:
        try:
            msg = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if msg == b"stop":
            return
        new_token, payload, entropy, spawn_key, items, timeout, threads = pickle.loads(msg)
        try:
            if new_token != token:
                solver, token = pickle.loads(payload), new_token
            slot[0] = -1.0
            records = run_chunk(solver, entropy, spawn_key, items, timeout, True, threads, slot)
            slot[0] = -1.0
            reply = _dumps(("ok", records), cloudpickle)
        except BaseException as exc:  # the worker itself failed (unpickling, pickling)
            token = None
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
        self.proc = ctx.Process(target=_worker_main, args=(child, path), daemon=True,
                                name="restarts-worker")
        self.proc.start()
        child.close()
        self.ready = False
        self.token: Any = None
        self.job: tuple | None = None  # (items, attempts, t_dispatch)

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
        try:
            self.conn.send_bytes(b"stop")
        except OSError:
            pass
        self.proc.join(1)
        self.kill()


class _ProcessPool:
    """Worker processes kept between runs (starting an interpreter costs ~0.5 s)."""

    def __init__(self) -> None:
        from joblib.externals.loky.backend.context import get_context

        self.ctx = get_context("loky")
        self.workers: list[_Worker] = []
        self.pid = os.getpid()  # a forked child must not talk to its parent's workers

    def resize(self, n: int) -> list[_Worker]:
        """``n`` ready workers (new ones start in parallel)."""
        self.workers = [w for w in self.workers if w.alive()]
        while len(self.workers) > n:
            self.workers.pop().stop()
        self.workers += [_Worker(self.ctx) for _ in range(n - len(self.workers))]
        for w in self.workers:
            w.wait_ready()
        return list(self.workers)

    def replace(self, old: _Worker) -> _Worker:
        """Kill ``old`` and start its successor (not waited for: see ``ready``)."""
        old.kill()
        new = _Worker(self.ctx)
        self.workers[self.workers.index(old)] = new
        return new

    def shutdown(self) -> None:
        for w in self.workers:
            w.stop()
        self.workers = []


_POOL: _ProcessPool | None = None


def _pool() -> _ProcessPool:
    global _POOL
    if _POOL is None or _POOL.pid != os.getpid():
        import atexit

        _POOL = _ProcessPool()
        atexit.register(_POOL.shutdown)
    return _POOL


def _process_chunks(solver: Any, entropy: Any, spawn_key: tuple, chunks: list,
                    n_workers: int, timeout: float | None, threads: int | None,
                    ) -> Iterator[list[Restart]]:
    import dataclasses
    import pickle
    from collections import deque
    from multiprocessing.connection import wait

    cloudpickle = _cloudpickle()
    try:
        payload = cloudpickle.dumps(solver)
    except Exception as exc:
        raise TypeError(
            "The 'solver' parameter of multistart() must be picklable (by cloudpickle) to "
            f"run in worker processes: {_describe_error(exc)}. Use backend='threading' "
            "or n_jobs=1."
        ) from exc
    token = (os.getpid(), id(chunks), time.monotonic())
    pool = _pool()
    workers = pool.resize(max(1, min(n_workers, len(chunks))))
    queue: deque = deque((c, 1) for c in chunks)  # (items, attempts)
    busy: dict[_Worker, tuple] = {}
    grace = None if timeout is None else _timeout_grace(timeout)

    def dispatch(w: _Worker, items: list, attempts: int) -> None:
        send = payload if w.token != token else None
        w.conn.send_bytes(pickle.dumps((token, send, entropy, spawn_key, items, timeout,
                                        threads)))
        w.token = token
        busy[w] = (items, attempts, time.monotonic())

    def lost(w: _Worker, how: str, timed_out: bool) -> list[Restart]:
        """The worker ``w`` is gone: requeue its chunk, return the failed restart(s)."""
        items, attempts, t_sent = busy.pop(w)
        pos, t_start, in_batch = int(w.slot[0]), w.slot[1], w.slot[2] > 0
        elapsed = time.monotonic() - (t_sent if pos < 0 else t_start)
        new = pool.replace(w)
        failed: list[Restart] = []
        if pos < 0 or in_batch or pos >= len(items):
            culprits, others = items, []
        else:
            culprits, others = [items[pos]], items[:pos] + items[pos + 1:]
        starting.append(new)
        if others:
            queue.appendleft((others, attempts))
        if timed_out:
            for i, s in culprits:
                failed.append(Restart(i, None, (
                    f"RestartTimeout: abandoned after {elapsed:.3g} s (timeout={timeout:g} s); "
                    "it did not return to Python, so its worker process was replaced"),
                    elapsed, s, attempts))
        elif attempts < _MAX_ATTEMPTS:
            for c in reversed(culprits):  # alone, so a second death names the culprit
                queue.appendleft(([c], attempts + 1))
        else:
            for i, s in culprits:
                failed.append(Restart(i, None, (
                    f"WorkerDied: the worker process {how} while running this restart, "
                    f"{attempts} times"), elapsed, s, attempts))
        return failed

    idle = list(workers)
    starting: list[_Worker] = []  # replacements booting while the others work
    try:
        while queue or busy:
            while queue and idle:
                items, attempts = queue.popleft()
                dispatch(idle.pop(), items, attempts)
            wait_for = None
            if grace is not None:
                now = time.monotonic()
                wait_for = math.inf
                for w, (items, _, _) in busy.items():
                    pos, t0 = w.slot[0], w.slot[1]
                    if pos >= 0:  # only a running restart has a deadline
                        limit = timeout * (len(items) if w.slot[2] > 0 else 1) + grace
                        wait_for = min(wait_for, max(0.0, t0 + limit - now))
                if wait_for == math.inf and busy:
                    wait_for = 0.05  # a worker is between restarts: look again soon
                wait_for = None if wait_for == math.inf else wait_for
            watched = list(busy) + starting
            wait([w.conn for w in watched] + [w.proc.sentinel for w in watched],
                 timeout=wait_for)
            for w in list(starting):
                if w.conn.poll() or not w.alive():
                    starting.remove(w)
                    w.wait_ready(0)  # raises if it died while starting
                    idle.append(w)
            out: list[Restart] = []
            for w in list(busy):
                if w.conn.poll():
                    try:
                        status, value = pickle.loads(w.conn.recv_bytes())
                    except (EOFError, OSError):
                        out += lost(w, _exit_text(w), False)
                        continue
                    if status == "error":
                        raise RuntimeError(
                            f"A worker process could not run restarts: {value}. The solver "
                            "and what it returns must be picklable, and the solver's module "
                            "importable in a fresh interpreter."
                        )
                    items, attempts, _ = busy.pop(w)
                    idle.append(w)
                    if attempts > 1:
                        value = [dataclasses.replace(r, attempts=attempts) for r in value]
                    out += value
                elif not w.alive():
                    out += lost(w, _exit_text(w), False)
                elif grace is not None:
                    items = busy[w][0]
                    pos, t0 = w.slot[0], w.slot[1]
                    limit = timeout * (len(items) if w.slot[2] > 0 else 1) + grace
                    if pos >= 0 and time.monotonic() - t0 > limit:
                        w.kill()
                        out += lost(w, "was stopped", True)
            if out:
                yield out
    finally:
        for w in list(busy):  # abandoned work (a stop rule fired, or an error)
            busy.pop(w)
            w.kill()
        pool.workers = [w for w in pool.workers if w.alive()]


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
