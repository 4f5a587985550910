"""Any scikit-learn-style estimator with a ``random_state``, as a local solver.

This brings ``n_init``-style restarts to estimators that have none (``MLPClassifier``)
and keeps every restart, not just the winner. Owns :class:`Estimator` and
:class:`FitState` (a warm-started restart between two ``advance`` calls).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._digest import data_digest
from .._result import LocalResult
from .._validation import fail
from ._base import Resumable, openmp_like_blas

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


@dataclass(eq=False)
class FitState:
    """A warm-started restart (it pickles): the clone, the seed of its random state,
    the iterations granted so far, the last fit's convergence and its warnings."""

    estimator: Any
    seed: int
    used: int = 0
    converged: bool = False
    notes: list[str] = field(default_factory=list)


class Estimator(Resumable):
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
    fit_params : mapping of str, optional
        Keyword arguments of every ``fit`` call (``sample_weight=...``, ...), passed
        unchanged; their values are digested with the data for stores.

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

    Estimators with ``warm_start`` and an integer ``max_iter`` (``MLPClassifier``,
    ``MLPRegressor``, ``SGDClassifier``, ``GaussianMixture``, ``LogisticRegression``,
    ...) make the solver resumable (the incremental protocol of ``begin``, ``advance``,
    ``current``, ``finished``):
    ``max_budget`` is ``max_iter`` (epochs for the networks and SGD, EM iterations
    for mixtures), and ``advance(state, b)`` refits the warm-started clone with
    ``max_iter=b``; ``nit`` counts the iterations granted, and a fit without a
    ``ConvergenceWarning`` (or with ``converged_``) finishes the restart. The whole
    budget in one ``advance`` equals the plain call. Pieces equal one fit only where
    a fit keeps no state beyond the parameters (EM); scikit-learn re-creates its
    optimizers at every fit (Adam's moments, learning-rate schedules), so for
    networks and SGD 10 + 20 iterations approximate 30.

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
                 scoring: Callable[..., float] | str | None = None,
                 fit_params: Mapping[str, Any] | None = None) -> None:
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
        if fit_params is None:
            fit_params = {}
        if not isinstance(fit_params, Mapping) or not all(isinstance(k, str)
                                                          for k in fit_params):
            raise fail("fit_params", _OWNER, "None or a mapping of str to fit() arguments",
                       fit_params, TypeError)
        self.estimator = estimator
        self._X, self._y = X, y
        self._fit_params = dict(fit_params)

    def describe(self) -> dict:
        """Settings for stores, including the wrapped estimator and its parameters."""
        out = super().describe() | {"estimator": repr(self.estimator)}
        if self._fit_params:
            names = sorted(self._fit_params)
            out["fit_params"] = names
            out["fit_params_sha1"] = data_digest(*[self._fit_params[k] for k in names])
        return out

    def __call__(self, start: Any, rng: np.random.Generator) -> LocalResult:
        """Fit one clone seeded from ``rng`` (with parameters ``start`` if given)."""
        est, seed = self._prepare(start, rng)
        notes = self._fit(est)
        n_iter = getattr(est, "n_iter_", None)
        nit = None if n_iter is None else int(np.max(n_iter))
        return self._result(est, seed, notes, nit)

    # -- the incremental protocol, for estimators with warm_start and max_iter ---------
    budget_unit = "iterations"

    @property
    def max_budget(self) -> int | None:
        """The estimator's ``max_iter`` if it can be warm-started (else ``None``: the
        solver is then not resumable)."""
        params = self.estimator.get_params(deep=False)
        budget = params.get("max_iter")
        if "warm_start" not in params or isinstance(budget, bool) or not isinstance(
                budget, (int, np.integer)) or budget < 1:
            return None
        return int(budget)

    def begin(self, start: Any, rng: np.random.Generator) -> FitState:
        """A clone set up for warm-started fits (not fitted yet).

        Its ``random_state`` is a ``numpy.random.RandomState`` seeded like the plain
        call's integer, so the draws of later fits (shuffles) continue that stream.
        """
        if self.max_budget is None:
            raise TypeError(
                f"{_OWNER[:-2]}.begin() needs an estimator with 'warm_start' and an "
                f"integer 'max_iter' parameter. Got {type(self.estimator).__name__} "
                "instead; use the plain call solver(start, rng)."
            )
        est, seed = self._prepare(start, rng)
        est.set_params(random_state=np.random.RandomState(seed), warm_start=True)
        return FitState(estimator=est, seed=seed)

    def _advance(self, state: FitState, budget: int) -> None:
        budget = min(budget, self.max_budget - state.used)
        state.estimator.set_params(max_iter=budget)
        state.notes = self._fit(state.estimator)
        state.used += budget
        est = state.estimator
        state.converged = bool(getattr(est, "converged_", not state.notes))

    def finished(self, state: FitState) -> bool:
        """Whether the last fit converged or ``max_iter`` iterations were granted."""
        return state.converged or state.used >= self.max_budget

    def current(self, state: FitState) -> LocalResult:
        """The estimator fitted so far; ``nit`` counts the iterations granted."""
        if state.used == 0:
            raise ValueError(
                f"{_OWNER[:-2]}.current() needs a fitted estimator: advance the state "
                "by a budget >= 1 first."
            )
        return self._result(state.estimator, state.seed, state.notes, state.used)

    # -- one fit ------------------------------------------------------------------------
    def _prepare(self, start: Any, rng: np.random.Generator) -> tuple[Any, int]:
        """A clone with parameters ``start`` and a random state drawn from ``rng``."""
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
        return est, seed

    def _fit(self, est: Any) -> list[str]:
        """Fit ``est`` in place; the texts of its convergence warnings."""
        sk = _sklearn()
        # OpenMP follows the BLAS limit the driver set, also in worker threads
        with openmp_like_blas(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", sk.exceptions.ConvergenceWarning)
            if self._y is None:
                est.fit(self._X, **self._fit_params)
            else:
                est.fit(self._X, self._y, **self._fit_params)
        notes = [str(w.message) for w in caught
                 if issubclass(w.category, sk.exceptions.ConvergenceWarning)]
        for w in caught:  # pass every other warning on
            if not issubclass(w.category, sk.exceptions.ConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return notes

    def _result(self, est: Any, seed: int, notes: list[str], nit: int | None) -> LocalResult:
        success = bool(getattr(est, "converged_", not notes))
        return LocalResult(
            x=est,
            fun=self._objective(est),
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
