"""Named data sets for the command line and the demo: ``load_data(name) -> (X, y)``.

``xor`` is built in; ``digits``, ``iris``, ``wine`` and ``breast_cancer`` come from
scikit-learn (an optional extra, imported on use with an install hint); a ``.npy`` or
``.csv`` path loads a file. ``restarts run --data`` and ``restarts demo`` both load
through here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_data", "DATASETS"]

#: Names :func:`load_data` knows (besides file paths).
DATASETS: tuple[str, ...] = ("xor", "digits", "iris", "wine", "breast_cancer")


def load_data(name: str) -> tuple[Any, Any]:
    """``(X, y)`` of a named data set or a file (``.npy``: X only; ``.csv``: last column y).

    Names: ``xor`` (4 points), and scikit-learn's ``digits`` (pixels scaled to
    [0, 1]), ``iris``, ``wine``, ``breast_cancer`` (standardised).

    Raises
    ------
    ImportError
        A scikit-learn data set without scikit-learn (the message says what to install).
    ValueError
        An unknown name, or a file that does not exist.

    Examples
    --------
    >>> from restarts.datasets import load_data
    >>> X, y = load_data("xor")
    >>> X.shape, y.tolist()
    ((4, 2), [0, 1, 1, 0])
    """
    if name == "xor":
        return np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1, 0])
    if name in DATASETS:
        try:
            from sklearn import datasets
        except ImportError:
            raise ImportError(f"data set {name!r} needs scikit-learn: pip install "
                              "'restarts[sklearn]' (or 'restarts[demo]')") from None
        bunch = getattr(datasets, f"load_{name}")()
        X = np.asarray(bunch.data, dtype=float)
        if name == "digits":
            X = X / 16.0
        else:
            X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        return X, np.asarray(bunch.target)
    path = Path(name)
    if path.suffix in (".npy", ".csv"):
        if not path.exists():
            raise ValueError(f"data file {name!r} does not exist")
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False), None
        arr = np.loadtxt(path, delimiter=",", ndmin=2)
        return arr[:, :-1], arr[:, -1]
    raise ValueError(f"unknown data {name!r}: use one of {list(DATASETS)} or a .npy/.csv file")
