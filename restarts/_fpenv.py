"""Flush subnormal floats to zero around hot numerical loops (x86-64 with glibc).

What: :func:`flush_denormals`, a context manager that sets the FTZ and DAZ bits of
the calling thread's MXCSR register (through the C library's ``fegetenv`` /
``fesetenv``) and restores the caller's environment on exit; elsewhere a no-op.

Why: gradient descent in float32 produces subnormal numbers (below 1.2e-38: softmax
probabilities of wrong classes, Adam moments of stalled weights), and every x86
operation on one costs a microcode assist of about a hundred cycles. NumPy has no
switch for this (compiled frameworks flush them); the values flushed are far below
float32's resolution of weights and gradients. Measurements: ``docs/benchmarks.md``.
The effect is confined to the calling thread and the ``with`` block.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import platform
import struct
from collections.abc import Iterator

__all__ = ["flush_denormals", "flushing_supported"]

_MXCSR_OFFSET = 28  # glibc's x86-64 fenv_t: the x87 environment (28 bytes), then mxcsr
_FTZ_DAZ = 0x8040  # bit 15 flush-to-zero, bit 6 denormals-are-zero
_MASKS = 0x1F80  # the six exception mask bits: all set in a sane default environment
_ENV_BYTES = 64  # larger than sizeof(fenv_t) == 32


@functools.cache
def _libm():
    """glibc's libm with ``fegetenv``/``fesetenv`` typed, or None (loaded on first use)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    try:
        libm = ctypes.CDLL("libm.so.6")  # glibc's soname; musl and others: no flushing
        libm.fegetenv.argtypes = libm.fesetenv.argtypes = [ctypes.c_char_p]
        libm.fegetenv.restype = libm.fesetenv.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    buf = ctypes.create_string_buffer(_ENV_BYTES)
    if libm.fegetenv(buf) != 0:
        return None
    if struct.unpack_from("<I", buf.raw, _MXCSR_OFFSET)[0] & _MASKS != _MASKS:
        return None  # not the layout we know: leave the environment alone
    return libm


def flushing_supported() -> bool:
    """Whether :func:`flush_denormals` changes anything on this platform."""
    return _libm() is not None


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Within the block, subnormal floats read or produced by this thread are zero.

    The caller's floating-point environment is restored on exit, also when the block
    raises. A no-op where :func:`flushing_supported` is false.

    Examples
    --------
    >>> import numpy as np
    >>> from restarts._fpenv import flush_denormals, flushing_supported
    >>> tiny = np.float32(1e-38)  # subnormal products below 1.18e-38
    >>> with flush_denormals():
    ...     inside = float(tiny * np.float32(0.01))
    >>> outside = float(tiny * np.float32(0.01))
    >>> outside > 0.0, inside == 0.0 or not flushing_supported()
    (True, True)
    """
    libm = _libm()
    if libm is None:
        yield
        return
    saved = ctypes.create_string_buffer(_ENV_BYTES)
    if libm.fegetenv(saved) != 0:
        yield
        return
    env = ctypes.create_string_buffer(saved.raw, _ENV_BYTES)
    mxcsr = struct.unpack_from("<I", env.raw, _MXCSR_OFFSET)[0]
    struct.pack_into("<I", env, _MXCSR_OFFSET, mxcsr | _FTZ_DAZ)
    libm.fesetenv(env)
    try:
        yield
    finally:
        libm.fesetenv(saved)
