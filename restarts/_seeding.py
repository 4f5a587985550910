"""The one module that touches :class:`numpy.random.SeedSequence`.

A run has one root ``SeedSequence``. Restart ``i`` receives the child whose
``spawn_key`` is ``root.spawn_key + (i,)`` — exactly what ``root.spawn(n)[i]`` would
return — built directly so that it depends on ``(entropy, spawn_key, i)`` alone, not
on how many children were spawned before (resume, chunking and worker counts cannot
change it). Start points are drawn from a generator on the root itself, which no
restart ever sees.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["root_seed", "restart_seed", "restart_rng", "starts_rng", "child_seed"]

RngLike = None | int | np.random.SeedSequence | np.random.Generator


def root_seed(rng: Any, owner: str = "multistart()") -> np.random.SeedSequence:
    """Turn the user's ``rng`` into the run's root :class:`~numpy.random.SeedSequence`.

    ``None`` draws fresh entropy; an ``int`` or ``SeedSequence`` seeds the run; a
    ``Generator`` is spawned from (SPEC 7), so two runs given the same generator in
    a row differ, and the generator's state after the call is well defined.
    """
    if rng is None:
        return np.random.SeedSequence()
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        seq = getattr(rng.bit_generator, "seed_seq", None)
        if isinstance(seq, np.random.SeedSequence):
            return seq.spawn(1)[0]
        return np.random.SeedSequence(rng.integers(0, 2**63, size=4).tolist())
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if int(rng) < 0:
            raise ValueError(
                f"The 'rng' parameter of {owner} must be a non-negative int. Got {rng} instead."
            )
        return np.random.SeedSequence(int(rng))
    raise TypeError(
        f"The 'rng' parameter of {owner} must be None, an int >= 0, a "
        f"numpy.random.SeedSequence or a numpy.random.Generator. Got {type(rng).__name__} instead."
    )


def restart_seed(entropy: Any, spawn_key: tuple, index: int) -> np.random.SeedSequence:
    """The seed of restart ``index`` of the run rooted at ``(entropy, spawn_key)``."""
    return np.random.SeedSequence(entropy, spawn_key=tuple(spawn_key) + (int(index),))


def restart_rng(entropy: Any, spawn_key: tuple, index: int) -> np.random.Generator:
    """The private generator of restart ``index``."""
    return np.random.Generator(np.random.PCG64(restart_seed(entropy, spawn_key, index)))


def starts_rng(root: np.random.SeedSequence) -> np.random.Generator:
    """The generator start points are drawn from (the run's root stream)."""
    return np.random.Generator(np.random.PCG64(root))


def child_seed(root: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """The descendant of ``root`` at ``spawn_key + key`` (a child, grandchild, ...).

    ``child_seed(root, i)`` is ``restart_seed(root.entropy, root.spawn_key, i)``; longer
    keys address independent streams of one run without spawning (e.g. ``compare``'s
    ``(repeat, method)`` runs).
    """
    return np.random.SeedSequence(root.entropy,
                                  spawn_key=tuple(root.spawn_key) + tuple(int(k) for k in key))
