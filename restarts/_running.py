"""Running restarts here, in the current process or worker: one restart, or a chunk.

What it owns: restart ``i``'s generator rebuilt from ``(entropy, spawn_key, i)``; the
solver's own copy of its start; exceptions, non-finite ``fun`` and overruns of
``timeout`` turned into rows (``SIGALRM`` where a restart runs in a main thread);
``solve_batch`` with a fallback to one restart at a time; and handing finished records
over at least every ``FLUSH_S`` seconds. Used by :mod:`restarts._dispatch` (this
process, threads, Dask) and :mod:`restarts._pool` (worker processes).
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ._result import Restart, as_local_result
from ._seeding import restart_rng

__all__ = ["RestartTimeout", "run_one", "run_chunk", "describe_error",
           "handed_over_then_interrupted", "ChunkSizer", "FLUSH_S", "MAX_ATTEMPTS"]

# Finished restarts are handed to the driver at least this often (seconds).
FLUSH_S = 0.25
# A restart whose worker died is run once more, alone, before it is recorded as failed.
MAX_ATTEMPTS = 2
# A dispatched chunk of restarts should take about this long (joblib's auto batching
# aims at 0.2-2 s): long enough to amortise dispatch, short enough to balance load.
CHUNK_S = 0.2


class RestartTimeout(Exception):
    """Raised inside a restart that exceeded the run's ``timeout``."""


def describe_error(exc: BaseException) -> str:
    """``"TypeName: first line of the message"``: how an exception reads in a row."""
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
        return Restart(index, None, describe_error(exc), elapsed, start)
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


def run_one(solver: Any, entropy: Any, spawn_key: tuple, index: int, start: Any,
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
        return Restart(index, None, describe_error(exc), time.perf_counter() - t0, start)
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
            yield run_one(solver, entropy, spawn_key, i, s, timeout)
        return
    monotonic = time.monotonic
    for k, (i, s) in enumerate(items):
        # Start time first, then position: the watchdog reads position first, so
        # the time it sees is never older than the restart it attributes it to.
        slot[1] = monotonic()
        slot[0] = k
        yield run_one(solver, entropy, spawn_key, i, s, timeout)


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
    ``emit(records)``, if given, receives finished records at least every ``FLUSH_S``
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
            if time.monotonic() - last >= FLUSH_S:
                emit(pending)
                pending, last = [], time.monotonic()
        return pending


def handed_over_then_interrupted(saved: list[Restart]) -> Iterator[list[Restart]]:
    """After Ctrl-C: hand over what finished, then raise ``KeyboardInterrupt`` whether
    the caller asks for more or closes."""
    try:
        if saved:
            yield saved
    finally:
        raise KeyboardInterrupt


class ChunkSizer:
    """How many restarts the next dispatched chunk gets: about ``CHUNK_S`` seconds' worth
    by the restart durations measured so far (one until there is a measurement), and
    no more than a fair share of what is left for ``n_workers``. Chunks stay short, so
    records come back often and a kill loses little, whatever ``batch_size`` allows."""

    def __init__(self, n_workers: int) -> None:
        self.n_workers = max(1, n_workers)
        self.time_sum, self.time_n = 0.0, 0

    def measure(self, records: list[Restart]) -> None:
        self.time_sum += sum(r.time_s for r in records)
        self.time_n += len(records)

    def size(self, n_queued: int) -> int:
        if self.time_n == 0:
            return 1
        k = int(CHUNK_S / max(self.time_sum / self.time_n, 1e-9))
        return max(1, min(k, math.ceil(n_queued / (2 * self.n_workers))))
