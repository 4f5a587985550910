"""Any scikit-learn-style estimator with a ``random_state``, as a local solver.

This brings ``n_init``-style restarts to estimators that have none (``MLPClassifier``)
and keeps every restart, not just the winner.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._result import LocalResult
from .._validation import fail
from ._base import Solver

__all__ = ["Estimator"]

_OWNER = "Estimator()"


def _sklearn() -> Any:
    """Import scikit-learn on first use: it is an optional dependency."""
    try:
        import sklearn.base
        import sklearn.metrics
    except ImportError as exc:
        raise ImportError(
            "restarts.solvers.Estimator needs scikit-learn, which is not installed. "
            "Install it with `pip install scikit-learn` (or `pip install restarts[sklearn]`)."
        ) from exc
    return sklearn


class Estimator(Solver):
    """Restart a scikit-learn-style estimator from different random states.

    Each call clones ``estimator``, sets its ``random_state`` to an integer drawn
    from the restart's generator (``int(rng.integers(2**31 - 1))``), fits it and
    reports an objective to minimise.

    Parameters
    ----------
    estimator : object
        An unfitted estimator with ``fit`` and ``get_params``/``set_params`` that has
        a ``random_state`` parameter (``MLPClassifier``, ``KMeans(n_init=1)``,
        ``GaussianMixture``, ...). It is cloned, never modified.
    X : array_like or sparse matrix
        Training data, passed to ``fit`` unchanged.
    y : array_like, optional
        Targets, passed to ``fit`` when given (same length as ``X``).
    scoring : None, callable or str, default=None
        The objective (lower is better):

        - ``None``: the fitted estimator's ``loss_`` (``MLPClassifier``,
          ``MLPRegressor``, ``SGDClassifier``), else ``inertia_`` (``KMeans``), else
          ``-lower_bound_`` (``GaussianMixture``, ``BayesianGaussianMixture``).
        - a callable ``scoring(estimator, X, y) -> float``: a value to **minimise**,
          used as is.
        - a string: a scikit-learn scorer name (``sklearn.metrics.get_scorer``, e.g.
          ``"accuracy"``, ``"neg_log_loss"``); scorers are "greater is better", so
          ``fun`` is the **negated** score.

    Notes
    -----
    Called directly, ``solver(start, rng)`` accepts a mapping of parameters as
    ``start``, set on the clone before fitting (the random state still comes from
    ``rng``). :func:`restarts.multistart` passes ``start=None`` (its ``starts`` are
    numeric arrays); to restart several settings, build one ``Estimator`` each.

    The result's ``x`` is the fitted estimator; ``nit`` is its ``n_iter_`` (the
    largest entry when it is an array), ``success`` is ``converged_`` when the
    estimator has it and otherwise whether fitting raised no
    ``ConvergenceWarning`` (its text becomes the ``message``); ``extra`` holds the
    ``random_state`` used, so any restart can be refitted alone.

    Examples
    --------
    >>> import numpy as np
    >>> import restarts as rs
    >>> from sklearn.cluster import KMeans
    >>> X = np.array([[0.0], [1.0], [10.0], [11.0]])
    >>> solver = rs.solvers.Estimator(KMeans(2, n_init=1), X)
    >>> res = solver(None, np.random.default_rng(0))
    >>> res.fun, type(res.x).__name__
    (1.0, 'KMeans')
    """

    _data_attrs = ("_X", "_y")

    def __init__(self, estimator: Any, X: Any, y: Any = None,
                 scoring: Callable[..., float] | str | None = None) -> None:
        sk = _sklearn()
        if isinstance(estimator, type) or not all(
            callable(getattr(estimator, m, None)) for m in ("fit", "get_params", "set_params")
        ):
            raise fail("estimator", _OWNER,
                       "an estimator instance with fit, get_params and set_params",
                       estimator, TypeError)
        if "random_state" not in estimator.get_params(deep=False):
            raise TypeError(
                f"The 'estimator' parameter of {_OWNER} must have a 'random_state' "
                f"parameter to seed each restart. Got {type(estimator).__name__}, whose "
                "parameters have none, instead."
            )
        try:
            n = len(X) if not hasattr(X, "shape") else X.shape[0]
        except TypeError:
            raise fail("X", _OWNER, "array-like data with a length", X, TypeError) from None
        if n < 1:
            raise fail("X", _OWNER, "non-empty data", X)
        if y is not None:
            try:
                ny = len(y) if not hasattr(y, "shape") else y.shape[0]
            except TypeError:
                raise fail("y", _OWNER, "array-like targets or None", y, TypeError) from None
            if ny != n:
                raise ValueError(
                    f"The 'y' parameter of {_OWNER} must have one target per sample of X "
                    f"({n}). Got {ny} targets instead."
                )
        self._scorer: Callable[..., float] | None = None
        self._negate = False
        if isinstance(scoring, str):
            try:
                self._scorer = sk.metrics.get_scorer(scoring)
            except ValueError:
                raise fail("scoring", _OWNER,
                           "None, a callable or a scorer name from "
                           "sklearn.metrics.get_scorer_names()", scoring) from None
            self._negate = True
        elif callable(scoring):
            self._scorer = scoring
        elif scoring is not None:
            raise fail("scoring", _OWNER, "None, a callable or a scorer name", scoring,
                       TypeError)
        self.scoring = scoring if isinstance(scoring, str) else None
        self.estimator = estimator
        self._X, self._y = X, y

    def describe(self) -> dict:
        """Settings for stores, including the wrapped estimator and its parameters."""
        return super().describe() | {"estimator": repr(self.estimator)}

    def __call__(self, start: Any, rng: np.random.Generator) -> LocalResult:
        """Fit one clone seeded from ``rng`` (with parameters ``start`` if given)."""
        sk = _sklearn()
        est = sk.base.clone(self.estimator)
        if start is not None:
            if not isinstance(start, Mapping):
                raise TypeError(
                    "A start point of Estimator() must be a mapping of estimator "
                    f"parameters. Got {type(start).__name__} instead."
                )
            est.set_params(**start)
        seed = int(rng.integers(2**31 - 1))
        est.set_params(random_state=seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", sk.exceptions.ConvergenceWarning)
            if self._y is None:
                est.fit(self._X)
            else:
                est.fit(self._X, self._y)
        notes = [str(w.message) for w in caught
                 if issubclass(w.category, sk.exceptions.ConvergenceWarning)]
        for w in caught:  # pass every other warning on
            if not issubclass(w.category, sk.exceptions.ConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        fun = self._objective(est)
        n_iter = getattr(est, "n_iter_", None)
        nit = None if n_iter is None else int(np.max(n_iter))
        success = bool(getattr(est, "converged_", not notes))
        return LocalResult(
            x=est,
            fun=fun,
            success=success,
            nit=nit,
            message="; ".join(notes) if notes else ("converged" if success else ""),
            extra={"random_state": seed},
        )

    def _objective(self, est: Any) -> float:
        if self._scorer is not None:
            value = float(self._scorer(est, self._X, self._y))
            return -value if self._negate else value
        for name, sign in (("loss_", 1.0), ("inertia_", 1.0), ("lower_bound_", -1.0)):
            value = getattr(est, name, None)
            if value is not None:
                return sign * float(value)
        raise ValueError(
            f"Estimator() cannot tell the objective of a fitted {type(est).__name__}: it "
            "has none of loss_, inertia_, lower_bound_. Pass scoring= (a callable to "
            "minimise or a scikit-learn scorer name)."
        )
