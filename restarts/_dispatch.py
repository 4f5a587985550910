"""Running chunks of restarts: in-process, or through a joblib backend.

A task receives only what it needs — the solver, the run's seed root, a chunk of
``(index, start)`` pairs — and returns :class:`~restarts._result.Restart` records.
The parent orders them. Each restart's generator is rebuilt in the worker from
``(entropy, spawn_key, index)``, so where a restart runs cannot change it.
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

__all__ = ["run_chunk", "iter_chunks", "chunk_size", "RestartTimeout"]


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
) -> list[Restart]:
    """Run restarts ``items`` (``(index, start)`` pairs); one record per item, same order.

    With ``use_batch`` and a solver that defines ``solve_batch``, the chunk runs as
    one vectorised call; if that call raises (or returns the wrong number of
    outcomes) the chunk is re-run one restart at a time, so one bad restart costs
    only itself.
    """
    limits = threadpool_limits(threads) if threads is not None else _null()
    with limits:
        batch = getattr(solver, "solve_batch", None) if use_batch else None
        if batch is not None and len(items) > 1:
            rngs = [restart_rng(entropy, spawn_key, i) for i, _ in items]
            t0 = time.perf_counter()
            try:
                with _Alarm(None if timeout is None else timeout * len(items)):
                    outcomes = list(batch([s for _, s in items], rngs))
                if len(outcomes) != len(items):
                    raise ValueError("solve_batch returned the wrong number of outcomes")
            except Exception:
                outcomes = None
            if outcomes is not None:
                each = (time.perf_counter() - t0) / len(items)
                return [_finish(i, s, o, each, None)
                        for (i, s), o in zip(items, outcomes, strict=True)]
        return [_run_one(solver, entropy, spawn_key, i, s, timeout) for i, s in items]


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
        return max(1, min(int(getattr(solver, "batch_size", 32)),
                          math.ceil(n_tasks / max(1, n_workers))))
    if n_workers <= 1:
        return max(1, min(256, n_tasks))
    # ~8 chunks per worker keeps workers busy to the end without drowning cheap
    # solvers in scheduling overhead.
    return max(1, min(256, math.ceil(n_tasks / (8 * n_workers))))


def effective_workers(n_jobs: int, backend: str | None) -> int:
    if backend == "sequential":
        return 1
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
    """Yield each chunk's records, chunks in task order (lazily: closing stops dispatch)."""
    chunks = [tasks[k:k + size] for k in range(0, len(tasks), size)]
    in_process = effective_workers(n_jobs, backend) == 1 and backend in (None, "sequential")
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
    yield from _joblib(solver, entropy, spawn_key, chunks, n_jobs, backend, timeout, threads)


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
