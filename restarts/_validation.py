"""``check_*`` helpers sharing one message template.

"The 'n_starts' parameter of multistart() must be an int >= 1. Got 0 instead."
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "fail",
    "check_int",
    "check_real",
    "check_choice",
    "check_bounds",
    "check_array",
    "check_callable",
    "check_bool",
    "check_shaped",
]


def _got(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = f"{type(value).__name__} {text[:40]}..."
    return text


def fail(name: str, owner: str, expected: str, value: Any, exc: type = ValueError) -> Exception:
    """Build the standard error: names the parameter, the owner, what was expected."""
    return exc(f"The {name!r} parameter of {owner} must be {expected}. Got {_got(value)} instead.")


def check_bool(value: Any, name: str, owner: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise fail(name, owner, "a bool", value, TypeError)
    return bool(value)


def check_int(
    value: Any,
    name: str,
    owner: str,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: bool = False,
) -> int | None:
    """An integer (not a bool, not a float) within ``[low, high]``."""
    if value is None and allow_none:
        return None
    expected = "an int"
    if low is not None and high is not None:
        expected += f" in [{low}, {high}]"
    elif low is not None:
        expected += f" >= {low}"
    elif high is not None:
        expected += f" <= {high}"
    if allow_none:
        expected += " or None"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise fail(name, owner, expected, value, TypeError)
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise fail(name, owner, expected, value)
    return value


def check_real(
    value: Any,
    name: str,
    owner: str,
    *,
    low: float | None = None,
    high: float | None = None,
    strict_low: bool = False,
    allow_none: bool = False,
) -> float | None:
    """A finite real number within bounds (``strict_low`` makes the lower bound exclusive)."""
    if value is None and allow_none:
        return None
    expected = "a finite real number"
    if low is not None:
        expected += f" {'>' if strict_low else '>='} {low}"
    if high is not None:
        expected += f" <= {high}"
    if allow_none:
        expected += " or None"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise fail(name, owner, expected, value, TypeError)
    value = float(value)
    if not np.isfinite(value):
        raise fail(name, owner, expected, value)
    if low is not None and (value < low or (strict_low and value == low)):
        raise fail(name, owner, expected, value)
    if high is not None and value > high:
        raise fail(name, owner, expected, value)
    return value


def check_choice(value: Any, name: str, owner: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        exc = ValueError if isinstance(value, str) else TypeError
        raise fail(name, owner, f"one of {choices}", value, exc)
    return value


def check_callable(value: Any, name: str, owner: str) -> Any:
    if not callable(value):
        raise fail(name, owner, "callable", value, TypeError)
    return value


def check_bounds(bounds: Any, name: str = "bounds", owner: str = "Uniform()") -> np.ndarray:
    """A sequence of ``(low, high)`` pairs, finite, with ``low < high``; returns ``(d, 2)``."""
    if isinstance(bounds, (str, bytes)) or bounds is None:
        raise fail(name, owner, "a sequence of (low, high) pairs", bounds, TypeError)
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):  # scipy.optimize.Bounds
        bounds = list(zip(np.atleast_1d(bounds.lb), np.atleast_1d(bounds.ub), strict=False))
    try:
        arr = np.asarray(bounds, dtype=float)
    except (TypeError, ValueError) as exc:
        expected = "a sequence of numeric (low, high) pairs"
        raise fail(name, owner, expected, bounds, TypeError) from exc
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise fail(name, owner, "a non-empty sequence of (low, high) pairs (shape (d, 2))", bounds)
    if not np.all(np.isfinite(arr)):
        raise fail(name, owner, "finite (low, high) pairs without NaN or inf", bounds)
    bad = np.flatnonzero(arr[:, 0] >= arr[:, 1])
    if bad.size:
        raise ValueError(
            f"The {name!r} parameter of {owner} must have low < high in every pair. "
            f"Got low >= high in dimension {int(bad[0])}: {tuple(arr[bad[0]])}."
        )
    return arr


def check_array(
    value: Any,
    name: str,
    owner: str,
    *,
    ndim: int | tuple[int, ...] = 2,
    finite: bool = True,
    min_rows: int = 1,
    min_cols: int = 0,
    dtype: Any = float,
) -> np.ndarray:
    """A numeric array of the given dimensionality, finite unless told otherwise.

    ``min_cols`` applies to 2-d arrays (e.g. at least one feature in a data matrix).
    """
    ndims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if isinstance(value, (str, bytes)) or value is None:
        raise fail(name, owner, f"a numeric array with {ndims[0]} dimension(s)", value, TypeError)
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise fail(name, owner, "a numeric array", value, TypeError) from exc
    if arr.ndim not in ndims:
        raise ValueError(
            f"The {name!r} parameter of {owner} must be an array with "
            f"{' or '.join(map(str, ndims))} dimension(s). Got shape {arr.shape} instead."
        )
    if arr.shape[0] < min_rows:
        raise ValueError(
            f"The {name!r} parameter of {owner} must have at least {min_rows} row(s). "
            f"Got shape {arr.shape} instead."
        )
    if arr.ndim == 2 and arr.shape[1] < min_cols:
        raise ValueError(
            f"The {name!r} parameter of {owner} must have at least {min_cols} column(s). "
            f"Got shape {arr.shape} instead."
        )
    if finite and arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise ValueError(
            f"The {name!r} parameter of {owner} must contain only finite values. "
            "Got NaN or inf instead."
        )
    return arr


def check_shaped(
    value: Any, name: str, owner: str, shape: tuple[int, int], what: str
) -> np.ndarray:
    """A finite numeric ``shape`` array, also accepted flat (e.g. centres or means).

    ``what`` names the expected content in the message, e.g.
    ``"initial centres of shape (n_clusters, n_features)"``.
    """
    arr = check_array(value, name, owner, ndim=(1, 2))
    if arr.ndim == 1 and arr.size == shape[0] * shape[1]:
        arr = arr.reshape(shape)
    if arr.shape != shape:
        raise ValueError(
            f"The {name!r} parameter of {owner} must be {what} = {shape}. "
            f"Got shape {arr.shape} instead."
        )
    return arr
