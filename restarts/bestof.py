"""``BestOf``: "best of N initialisations" as a scikit-learn meta-estimator.

``BestOf(estimator, n_init)`` fits ``n_init`` clones of ``estimator`` with different
random states through :func:`restarts.multistart` (one restart per clone, seeded
from ``(random_state, restart index)``), keeps the best fit and every restart's row.
It behaves like the estimator it wraps, so it fits into ``Pipeline``,
``GridSearchCV`` and ``clone``. ``restarts`` loads this module (and scikit-learn, an
optional extra) on first use of ``rs.BestOf``.
"""

from __future__ import annotations

import copy
import inspect
import numbers
from typing import Any

import numpy as np

from ._driver import multistart
from ._validation import check_int, fail
from .solvers import Estimator

__all__ = ["BestOf"]

_OWNER = "BestOf()"
_HINT = "pip install 'restarts[sklearn]'"


try:
    from sklearn import config_context
    from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
    from sklearn.metrics import get_scorer
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.validation import check_is_fitted
except ImportError as exc:  # pragma: no cover - scikit-learn is installed in CI
    raise ImportError(
        f"restarts.BestOf needs scikit-learn, which is not installed: {_HINT}."
    ) from exc


def _inner_has(attr: str) -> Any:
    """``available_if`` check: the fitted best estimator (or, before fit, the
    unfitted one) has ``attr`` — an ``AttributeError`` otherwise."""

    def check(self: BestOf) -> bool:
        inner = self.__dict__.get("best_estimator_", self.estimator)
        getattr(inner, attr)
        return True

    return check


class _Objective:
    """``fun`` of one fitted clone (lower is better), picklable for worker processes.

    ``scorer`` is a scikit-learn scorer (greater is better) or ``None`` for the
    default: the training loss ``loss_`` when the estimator has one (MLP, SGD), else
    minus ``score(X, y)`` (KMeans: the inertia; GaussianMixture: minus the mean
    log-likelihood; classifiers and regressors: minus their default score).
    """

    def __init__(self, scorer: Any, sample_weight: Any = None) -> None:
        self.scorer, self.sample_weight = scorer, sample_weight

    def __call__(self, est: Any, X: Any, y: Any) -> float:
        # A weighted fit is judged by its weighted score, as scikit-learn scores it.
        w = {} if self.sample_weight is None else {"sample_weight": self.sample_weight}
        if self.scorer is not None:
            return -float(self.scorer(est, X, y, **w))
        loss = getattr(est, "loss_", None)
        if loss is not None:
            return float(loss)
        if w and "sample_weight" not in inspect.signature(est.score).parameters:
            w = {}
        return -float(est.score(X, y, **w))


def _root_rng(random_state: Any) -> Any:
    """scikit-learn's ``random_state`` as the run's ``rng`` (a ``RandomState`` is drawn
    from once, as scikit-learn estimators do)."""
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if random_state is None or isinstance(random_state, np.random.Generator) or (
            isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)):
        return random_state
    raise fail("random_state", _OWNER, "None, an int, a numpy RandomState or Generator",
               random_state, TypeError)


class BestOf(MetaEstimatorMixin, BaseEstimator):
    """The best of ``n_init`` fits of a scikit-learn estimator, each from its own seed.

    ``fit`` clones ``estimator`` ``n_init`` times, sets each clone's ``random_state``
    to an integer drawn from restart ``i``'s generator (restart ``i`` of a run seeded
    with ``random_state``, so any restart can be refitted alone), fits them through
    :func:`restarts.multistart` (in parallel with ``n_jobs``) and keeps the fit with
    the lowest objective. Prediction methods delegate to that fit and exist only
    when the wrapped estimator has them. This brings ``n_init`` to estimators that
    have none (``MLPClassifier``) and keeps every restart, not only the winner.

    Parameters
    ----------
    estimator : estimator
        An unfitted scikit-learn estimator with a ``random_state`` parameter. It is
        cloned, never modified.
    n_init : int, default=10
        Number of fits (restarts), ``>= 1``.
    scoring : None, str or callable, default=None
        How fits are compared. ``None``: the estimator's own objective — its
        training loss ``loss_`` when it has one (MLP, SGD), else ``score(X, y)``
        (KMeans: minus the inertia; GaussianMixture: the mean log-likelihood;
        classifiers: accuracy). A scorer name (``"neg_log_loss"``) or a callable
        ``scorer(estimator, X, y)``: greater is better, as everywhere in
        scikit-learn. Scores are computed on the training data.
    n_jobs : int or None, default=None
        Parallel fits (joblib meaning; ``None`` = 1).
    random_state : None, int, RandomState or Generator, default=None
        Seeds the whole run; an int makes ``fit`` reproducible.

    Attributes
    ----------
    best_estimator_ : estimator
        The fitted clone with the lowest objective (lowest restart index on ties).
    best_index_ : int
        Its restart index.
    restarts_ : pandas.DataFrame
        One row per fit (the run's table): ``restart``, ``fun`` (the objective,
        lower is better: minus the score or the loss), ``success``, ``nit``,
        ``error``, ``random_state`` (the seed of that fit), ...
    n_features_in_, feature_names_in_, classes_, labels_, ...
        Fitted attributes of ``best_estimator_`` are readable on ``BestOf``.

    Examples
    --------
    >>> import numpy as np, restarts as rs
    >>> from sklearn.cluster import KMeans
    >>> X = np.array([[0.0], [1.0], [10.0], [11.0], [20.0], [21.0]])
    >>> est = rs.BestOf(KMeans(3, n_init=1, init="random"), n_init=5, random_state=0)
    >>> est.fit(X).best_estimator_.inertia_, len(est.restarts_)
    (1.5, 5)
    >>> bool((est.predict(X) == est.best_estimator_.labels_).all())
    True
    """

    def __init__(self, estimator: Any, n_init: int = 10, *, scoring: Any = None,
                 n_jobs: int | None = None, random_state: Any = None) -> None:
        self.estimator = estimator
        self.n_init = n_init
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- fitting -------------------------------------------------------------
    def _check(self) -> tuple[int, Any]:
        n_init = check_int(self.n_init, "n_init", _OWNER, low=1)
        est = self.estimator
        if isinstance(est, type) or not callable(getattr(est, "fit", None)) or not callable(
                getattr(est, "get_params", None)):
            raise fail("estimator", _OWNER, "a scikit-learn estimator instance", est, TypeError)
        if "random_state" not in est.get_params(deep=False):
            raise ValueError(
                f"The 'estimator' parameter of {_OWNER} must have a 'random_state' parameter "
                f"(restarts differ only by their seed). Got {type(est).__name__}, which has "
                "none: its fits would all be equal."
            )
        scoring = self.scoring
        if isinstance(scoring, str):
            try:
                scorer = get_scorer(scoring)
            except ValueError:
                raise fail("scoring", _OWNER, "None, a callable or a scorer name from "
                           "sklearn.metrics.get_scorer_names()", scoring) from None
        elif scoring is None or callable(scoring):
            scorer = scoring
        else:
            raise fail("scoring", _OWNER, "None, a scorer name or a callable "
                       "scorer(estimator, X, y)", scoring, TypeError)
        return n_init, scorer

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> BestOf:
        """Fit ``n_init`` clones and keep the best; returns ``self``.

        ``fit_params`` (``sample_weight=...``, ...) go to every clone's ``fit``. A fit
        that raises is a failed row of ``restarts_``; when every fit fails, the first
        one is repeated here so that its own error is raised unchanged.
        """
        n_init, scorer = self._check()
        rng = _root_rng(self.random_state)
        n_jobs = 1 if self.n_jobs is None else self.n_jobs
        X, y = _sized(X), _sized(y)
        # Fits run on NumPy (in worker processes too), so array API dispatch is off.
        with config_context(array_api_dispatch=False):
            try:
                objective = _Objective(scorer, fit_params.get("sample_weight"))
                solver = Estimator(self.estimator, X, y, scoring=objective,
                                   fit_params=fit_params)
                run = multistart(solver, n_init, rng=rng, n_jobs=n_jobs)
            except (TypeError, ValueError):  # unusable data: the estimator says why
                self._raise_fit_error(X, y, fit_params)
                raise  # the estimator accepts the data: the error is ours
            if run.n_failed == len(run):
                self._raise_fit_error(X, y, fit_params)  # else run.best_restart lists the errors
        best = run.best_restart
        self.best_estimator_ = run.results[best].x
        self.best_index_ = best
        table = run.table
        table.insert(2, "random_state", _seeds(run))
        self.restarts_ = table
        for name in ("n_features_in_", "feature_names_in_"):
            if hasattr(self.best_estimator_, name):
                setattr(self, name, getattr(self.best_estimator_, name))
        return self

    def _raise_fit_error(self, X: Any, y: Any, fit_params: dict) -> None:
        est = clone(self.estimator)
        est.fit(X, y, **fit_params)

    # -- delegation ----------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        # Fitted attributes (labels_, classes_, n_iter_, ...) of the best fit.
        if name.endswith("_") and not name.startswith("__"):
            best = self.__dict__.get("best_estimator_")
            if best is not None:
                return getattr(best, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _best(self) -> Any:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_

    @available_if(_inner_has("predict"))
    def predict(self, X: Any) -> Any:
        """``best_estimator_.predict(X)``."""
        return self._best().predict(X)

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        """``best_estimator_.predict_proba(X)``."""
        return self._best().predict_proba(X)

    @available_if(_inner_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> Any:
        """``best_estimator_.predict_log_proba(X)``."""
        return self._best().predict_log_proba(X)

    @available_if(_inner_has("decision_function"))
    def decision_function(self, X: Any) -> Any:
        """``best_estimator_.decision_function(X)``."""
        return self._best().decision_function(X)

    @available_if(_inner_has("transform"))
    def transform(self, X: Any) -> Any:
        """``best_estimator_.transform(X)``."""
        return self._best().transform(X)

    @available_if(_inner_has("inverse_transform"))
    def inverse_transform(self, X: Any) -> Any:
        """``best_estimator_.inverse_transform(X)``."""
        return self._best().inverse_transform(X)

    @available_if(_inner_has("score_samples"))
    def score_samples(self, X: Any) -> Any:
        """``best_estimator_.score_samples(X)``."""
        return self._best().score_samples(X)

    @available_if(_inner_has("score"))
    def score(self, X: Any, y: Any = None) -> float:
        """``best_estimator_.score(X, y)``."""
        return self._best().score(X, y)

    @available_if(_inner_has("fit_predict"))
    def fit_predict(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit, then the best fit's training labels (``labels_``) or ``predict(X)``."""
        best = self.fit(X, y, **fit_params).best_estimator_
        labels = getattr(best, "labels_", None)
        return labels if labels is not None else best.predict(X)

    @available_if(_inner_has("fit_transform"))
    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit, then ``transform(X)`` with the best fit."""
        return self.fit(X, y, **fit_params).best_estimator_.transform(X)

    def __sklearn_tags__(self) -> Any:
        # BestOf is whatever it wraps: a classifier, a clusterer, a transformer, ...
        from sklearn.utils import get_tags  # scikit-learn >= 1.6, which asks for tags

        tags = copy.deepcopy(get_tags(self.estimator))
        tags.array_api_support = False  # fits run through multistart on NumPy arrays
        return tags


def _sized(data: Any) -> Any:
    """Array-likes without a length (only ``__array__``) as arrays; the rest unchanged
    (sparse matrices and data frames keep their type and feature names)."""
    if data is None or hasattr(data, "shape") or hasattr(data, "__len__"):
        return data
    return np.asarray(data)


def _seeds(run: Any) -> list:
    """The ``random_state`` each restart's clone was fitted with (``None`` if it failed)."""
    return [r.extra.get("random_state") for r in run.results]
