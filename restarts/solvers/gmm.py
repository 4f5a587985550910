"""Gaussian mixtures fitted by expectation-maximisation, as a local solver.

Owns :class:`GaussianMixture` (EM, the incremental protocol) and :class:`EMState`,
where a run stands between two ``advance`` calls.

Dempster, Laird & Rubin (1977), "Maximum likelihood from incomplete data via the EM
algorithm". The parametrisation (Cholesky factors of the precisions, the
``reg_covar`` ridge, the initialisations) follows scikit-learn's
``sklearn.mixture.GaussianMixture`` so that both reach the same optimum from the
same start.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._result import LocalResult
from .._validation import check_array, check_choice, check_int, check_real, check_shaped
from ._base import Resumable, one_blas_thread

__all__ = ["GaussianMixture"]

_OWNER = "GaussianMixture()"
_COV_TYPES = ("full", "tied", "diag", "spherical")
_INITS = ("kmeans", "k-means++", "random")
_ADVICE = "Try a larger reg_covar, fewer n_components, or scaling the data."
_EPS10 = 10 * np.finfo(float).eps
_QUAD_MAX_ELEMENTS = 8 * 2**20  # 64 MiB per copy of the quadratic features
_CHUNK_BYTES = 64 * 2**20  # temporaries of the direct (non-quadratic) path
_SMALL_WORK = 2**26  # multiply-adds per E-step below which BLAS runs on one thread


@dataclass(eq=False)
class EMState:
    """Where one restart's EM stands (it pickles): the current mixture (weights,
    centred means, Cholesky factors of the precisions, covariances), the mean
    log-likelihood of the last E-step, the iterations run and whether EM converged."""

    weights: np.ndarray
    means: np.ndarray
    prec_chol: np.ndarray
    covs: np.ndarray
    lower_bound: float = -np.inf
    n_iter: int = 0
    converged: bool = False


class GaussianMixture(Resumable):
    """A Gaussian mixture model fitted by EM, restartable.

    Each call runs EM from an initialisation drawn with the restart's generator and
    returns the negative mean log-likelihood per sample as ``fun``.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        The data, numeric and finite, with ``n_samples >= max(2, n_components)``.
    n_components : int
        Number of mixture components.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        One full covariance per component, one full covariance shared by all,
        one diagonal per component, or one variance per component.
    max_iter : int, default=100
        Maximum number of EM iterations.
    tol : float, default=1e-3
        EM stops when the mean log-likelihood changes by less than ``tol``.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance, so that it stays positive
        definite.
    init : {"kmeans", "k-means++", "random"}, default="kmeans"
        Initial responsibilities: the labels of one k-means run
        (:class:`~restarts.solvers.KMeans`, k-means++ seeding, from the restart's
        generator), hard assignment to ``n_components`` samples chosen by k-means++
        seeding, or uniform random responsibilities normalised per sample (as
        scikit-learn's ``init_params``).
    weights_init : array_like of shape (n_components,), optional
        Fixed initial weights (overriding those estimated from ``init``).
    means_init : array_like of shape (n_components, n_features), optional
        Fixed initial means. A start point passed by :func:`restarts.multistart`
        (``starts=``) is read as the initial means of that restart (or flat).
    precisions_init : array_like, optional
        Fixed initial precision matrices (inverse covariances): shape
        ``(n_components, n_features, n_features)`` for "full", ``(n_features,
        n_features)`` for "tied", ``(n_components, n_features)`` for "diag",
        ``(n_components,)`` for "spherical".

    Notes
    -----
    ``fun`` is ``-lower_bound``, where ``lower_bound`` is, as in scikit-learn, the
    mean log-likelihood at the E-step of the last iteration (the parameters
    returned come from the M-step that follows it).

    The result's ``x`` is one flat vector ``(weights, means, covariances)`` with the
    components sorted in a canonical order (lexicographic on the means), so that
    relabelled components are the same point; :meth:`unpack` splits it,
    :meth:`canonical` sorts any such vector. ``extra`` holds ``converged``,
    ``n_iter`` and ``lower_bound``.

    A collapsing component whose covariance is not positive definite even after
    ``reg_covar``, or a non-finite likelihood, raises a ``ValueError`` or a
    ``FloatingPointError`` that names the remedy (:func:`restarts.multistart`
    records it on the restart's row); no NaN is ever returned.

    On small problems the products run on one BLAS thread whatever the surrounding
    limit (a second thread only adds synchronisation); use
    :func:`restarts.multistart`'s ``n_jobs`` to use several cores.

    There is no ``solve_batch``: an EM iteration is already a few GEMMs over all
    components (with quadratic features ``x_i x_j`` for full and tied covariances),
    so stacking restarts would mostly save Python overhead, and it would change the
    shapes of those GEMMs, whose rounding some BLAS kernels make shape-dependent:
    batched and single runs could then differ.

    Examples
    --------
    >>> import numpy as np
    >>> import restarts as rs
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(-3, 1, (100, 1)), rng.normal(3, 1, (100, 1))])
    >>> gm = rs.solvers.GaussianMixture(X, 2)
    >>> res = gm(None, np.random.default_rng(1))
    >>> w, means, cov = gm.unpack(res.x)
    >>> np.round(means.ravel(), 1).tolist()
    [-2.9, 3.0]
    """

    _data_attrs = ("_X", "_shift")

    def __init__(
        self,
        X: Any,
        n_components: int,
        covariance_type: str = "full",
        max_iter: int = 100,
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        init: str = "kmeans",
        *,
        weights_init: Any = None,
        means_init: Any = None,
        precisions_init: Any = None,
    ) -> None:
        X = check_array(X, "X", _OWNER, ndim=2, min_cols=1, min_rows=2)
        n, d = X.shape
        self.n_components = check_int(n_components, "n_components", _OWNER, low=1, high=n)
        self.covariance_type = check_choice(covariance_type, "covariance_type", _OWNER,
                                            _COV_TYPES)
        self.max_iter = check_int(max_iter, "max_iter", _OWNER, low=1)
        self.tol = check_real(tol, "tol", _OWNER, low=0.0)
        self.reg_covar = check_real(reg_covar, "reg_covar", _OWNER, low=0.0)
        self.init = check_choice(init, "init", _OWNER, _INITS)
        self.n_samples, self.n_features = n, d
        k = self.n_components
        # Centred data: the likelihood is translation invariant and the expanded
        # quadratic forms below lose less to cancellation.
        self._shift = X.mean(axis=0)
        self._X = np.ascontiguousarray(X - self._shift)
        # EM works on (n_components, n_samples) arrays: every elementwise pass then
        # runs along the long, contiguous sample axis.
        self._XT = np.ascontiguousarray(self._X.T)
        self._X2T = self._XT * self._XT
        self._xsq = self._X2T.sum(axis=0)
        # For full/tied covariances, the features [x_i x_j (i <= j), x, 1] turn both
        # the Mahalanobis terms of all components (E-step) and their weighted second
        # moments (M-step) into one GEMM each (when they fit in memory).
        self._iu = np.triu_indices(d)
        m = len(self._iu[0])
        self._quad = (self.covariance_type in ("full", "tied")
                      and n * (m + d + 1) <= _QUAD_MAX_ELEMENTS)
        if self._quad:
            A = np.empty((n, m + d + 1))
            np.multiply(self._X[:, self._iu[0]], self._X[:, self._iu[1]], out=A[:, :m])
            A[:, m : m + d] = self._X
            A[:, -1] = 1.0
            self._A, self._AT = A, np.ascontiguousarray(A.T)
            self._offdiag = np.where(self._iu[0] == self._iu[1], 1.0, 2.0)
        self._weights_init = None
        if weights_init is not None:
            w = check_array(weights_init, "weights_init", _OWNER, ndim=1)
            if w.shape != (k,) or np.any(w < 0) or abs(w.sum() - 1.0) > 1e-6:
                raise ValueError(
                    f"The 'weights_init' parameter of {_OWNER} must be {k} non-negative "
                    f"weights summing to 1. Got {w.tolist()!r} instead."
                )
            self._weights_init = w
        self._means_init = None
        if means_init is not None:
            self._means_init = self._check_means(means_init, "means_init") - self._shift
        self._prec_chol_init = None
        if precisions_init is not None:
            self._prec_chol_init = self._check_precisions(precisions_init)
        scale = float(np.max(np.abs(X)))
        self._round = 1e-8 * (scale if scale > 0 else 1.0)
        self._kmeans = None
        self._small = n * k * (len(self._iu[0]) + d + 1) < _SMALL_WORK

    # -- public --------------------------------------------------------------
    budget_unit = "iterations"

    @property
    def max_budget(self) -> int:
        """The full budget of a restart: ``max_iter`` EM iterations."""
        return self.max_iter

    def _context(self) -> contextlib.ExitStack:
        """Where EM runs: floating-point warnings off (checked explicitly) and, for
        small products, one BLAS thread (a second one only adds synchronisation, and
        spins when cores are shared); large data keeps the surrounding limit."""
        stack = contextlib.ExitStack()
        if self._small:
            stack.enter_context(one_blas_thread())
        stack.enter_context(np.errstate(over="ignore", under="ignore", divide="ignore",
                                        invalid="ignore"))
        return stack

    def begin(self, start: Any, rng: np.random.Generator) -> EMState:
        """The initial mixture of one restart (``start``: initial means; otherwise
        ``init`` with ``rng``); no EM iteration yet."""
        means0 = self._means_init
        if start is not None:
            means0 = self._check_means(start, "start") - self._shift
        with self._context():
            weights, means, prec_chol, covs = self._initial_parameters(rng, means0)
        return EMState(weights=weights, means=means, prec_chol=prec_chol, covs=covs)

    def finished(self, state: EMState) -> bool:
        """Whether EM converged (``tol``) or used ``max_iter`` iterations."""
        return state.converged or state.n_iter >= self.max_iter

    def _advance(self, state: EMState, budget: int) -> None:
        with self._context():
            self._em(state, min(budget, self.max_iter - state.n_iter))

    def current(self, state: EMState) -> LocalResult:
        """The mixture so far; after ``k`` iterations what ``max_iter=k`` returns.

        Before the first iteration, ``fun`` is the negative mean log-likelihood of
        the initial mixture (one E-step, computed without changing the state).
        """
        lower_bound = state.lower_bound
        if state.n_iter == 0:
            with self._context():
                lower_bound = self._e_step(state.weights, state.means, state.prec_chol)[0]
        weights, covs, converged = state.weights, state.covs, state.converged
        means = state.means + self._shift
        order = self._order(means)
        cov_out = covs if self.covariance_type == "tied" else covs[order]
        x = np.concatenate([weights[order], means[order].ravel(), cov_out.ravel()])
        if not np.all(np.isfinite(x)):  # pragma: no cover - guarded by the checks in _em
            raise FloatingPointError(f"EM produced non-finite parameters. {_ADVICE}")
        n_iter = state.n_iter
        if converged:
            message = "converged"
        elif n_iter >= self.max_iter:
            message = f"max_iter={self.max_iter} reached; try a larger max_iter or tol"
        else:
            message = f"stopped after {n_iter} of max_iter={self.max_iter}"
        return LocalResult(
            x=x,
            fun=-lower_bound,
            success=converged,
            nit=n_iter,
            message=message,
            extra={"converged": converged, "n_iter": n_iter, "lower_bound": lower_bound},
        )

    def unpack(self, x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Split a flat parameter vector into ``(weights, means, covariances)``.

        Parameters
        ----------
        x : array_like
            A result's ``x``.

        Returns
        -------
        weights : ndarray of shape (n_components,)
        means : ndarray of shape (n_components, n_features)
        covariances : ndarray
            Shape ``(n_components, n_features, n_features)`` ("full"),
            ``(n_features, n_features)`` ("tied"), ``(n_components, n_features)``
            ("diag") or ``(n_components,)`` ("spherical").
        """
        k, d = self.n_components, self.n_features
        x = np.asarray(x, dtype=float).ravel()
        shape = {"full": (k, d, d), "tied": (d, d), "diag": (k, d),
                 "spherical": (k,)}[self.covariance_type]
        if x.size != k + k * d + math.prod(shape):
            raise ValueError(
                f"A parameter vector of this GaussianMixture has "
                f"{k + k * d + math.prod(shape)} entries. Got {x.size} instead."
            )
        return x[:k], x[k : k + k * d].reshape(k, d), x[k + k * d :].reshape(shape)

    def canonical(self, x: Any) -> np.ndarray:
        """The parameter vector with components in canonical order (flat floats)."""
        w, means, covs = self.unpack(x)
        order = self._order(means)
        cov_out = covs if self.covariance_type == "tied" else covs[order]
        return np.concatenate([w[order], means[order].ravel(), cov_out.ravel()])

    # -- validation ----------------------------------------------------------
    def _check_means(self, value: Any, name: str) -> np.ndarray:
        return check_shaped(value, name, _OWNER, (self.n_components, self.n_features),
                            "means of shape (n_components, n_features)")

    def _check_precisions(self, value: Any) -> np.ndarray:
        k, d, ct = self.n_components, self.n_features, self.covariance_type
        shape = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[ct]
        arr = check_array(value, "precisions_init", _OWNER, ndim=len(shape))
        if arr.shape != shape:
            raise ValueError(
                f"The 'precisions_init' parameter of {_OWNER} must have shape {shape} for "
                f"covariance_type={ct!r}. Got shape {arr.shape} instead."
            )
        if ct in ("diag", "spherical"):
            if np.any(arr <= 0):
                raise ValueError(
                    f"The 'precisions_init' parameter of {_OWNER} must be positive for "
                    f"covariance_type={ct!r}. Got a value <= 0 instead."
                )
            return np.sqrt(arr)
        mats = arr.reshape(-1, d, d)
        if not np.allclose(mats, mats.transpose(0, 2, 1)):
            raise ValueError(
                f"The 'precisions_init' parameter of {_OWNER} must hold symmetric "
                "matrices. Got a non-symmetric matrix instead."
            )
        try:
            # L L^T = precision: ||(x - mu) @ L||^2 is the Mahalanobis term, as with
            # scikit-learn's upper factor.
            chol = np.linalg.cholesky(mats)
        except np.linalg.LinAlgError:
            raise ValueError(
                f"The 'precisions_init' parameter of {_OWNER} must hold positive "
                "definite matrices. Got a matrix that is not instead."
            ) from None
        return chol.reshape(arr.shape)

    def _order(self, means: np.ndarray) -> np.ndarray:
        keys = np.round(means / self._round)
        return np.lexsort(keys.T[::-1])

    # -- EM ------------------------------------------------------------------
    def _responsibilities(self, rng: np.random.Generator) -> np.ndarray:
        """Initial responsibilities, shape (n_components, n_samples)."""
        n, k = self.n_samples, self.n_components
        if self.init == "random":
            resp = rng.uniform(size=(n, k))  # scikit-learn's draw, then transposed
            resp /= resp.sum(axis=1)[:, None]
            return np.ascontiguousarray(resp.T)
        from .kmeans import KMeans

        if self._kmeans is None:
            self._kmeans = KMeans(self._X, k)
        resp = np.zeros((k, n))
        if self.init == "k-means++":
            ids = self._kmeans._kmeanspp([rng])[0]
            resp[np.arange(k), ids] = 1.0
        else:
            ids, lab0, dist0 = self._kmeans._kmeanspp([rng], with_labels=True)
            first = (np.ones(1, dtype=bool), lab0, dist0)
            labels = self._kmeans._lloyd(self._kmeans._X[ids], first)[0][1]
            resp[labels, np.arange(n)] = 1.0
        return resp

    def _initial_parameters(self, rng: np.random.Generator, means0: np.ndarray | None):
        fixed = (self._weights_init, means0, self._prec_chol_init)
        if any(v is None for v in fixed):
            resp = self._responsibilities(rng)
            nk, means, covs = self._m_step_stats(resp)
            weights = nk / self.n_samples
        weights = weights if self._weights_init is None else self._weights_init
        means = means if means0 is None else means0
        if self._prec_chol_init is not None:
            prec_chol = self._prec_chol_init
            covs = self._covariances(prec_chol)
        else:
            prec_chol = self._precision_cholesky(covs)
        return weights, means, prec_chol, covs

    def _covariances(self, prec_chol: np.ndarray) -> np.ndarray:
        """Covariances from Cholesky factors ``P`` of the precisions (``P P^T``)."""
        if self.covariance_type in ("full", "tied"):
            return np.linalg.inv(prec_chol @ np.swapaxes(prec_chol, -1, -2))
        return 1.0 / prec_chol**2

    def _m_step_stats(self, resp: np.ndarray):
        """scikit-learn's ``_estimate_gaussian_parameters`` on (k, n) responsibilities."""
        XT, ct, reg = self._XT, self.covariance_type, self.reg_covar
        d = XT.shape[0]
        if self._quad and ct == "full":
            m = len(self._iu[0])
            S = resp @ self._A  # (k, m + d + 1): second moments, sums, counts
            nk = S[:, -1] + _EPS10
            means = S[:, m : m + d] / nk[:, None]
            covs = np.empty((len(nk), d, d))
            covs[:, self._iu[0], self._iu[1]] = S[:, :m]
            covs[:, self._iu[1], self._iu[0]] = S[:, :m]
            covs /= nk[:, None, None]
            # sum_i r_i (x_i - mu)(x_i - mu)^T = S - (nk + 10 eps) mu mu^T exactly
            covs -= ((1.0 + _EPS10 / nk)[:, None, None] * means[:, :, None]
                     * means[:, None, :])
            covs[:, np.arange(d), np.arange(d)] += reg
            return nk, means, covs
        nk = resp.sum(axis=1) + _EPS10
        means = (resp @ self._X) / nk[:, None]
        if ct == "full":
            covs = np.zeros((len(nk), d, d))
            for c in self._chunks(2 * len(nk) * d):
                diff = XT[None, :, c] - means[:, :, None]  # (k, d, chunk)
                covs += np.matmul(diff * resp[:, None, c], diff.transpose(0, 2, 1))
            covs /= nk[:, None, None]
            covs[:, np.arange(d), np.arange(d)] += reg
        elif ct == "tied":
            covs = XT @ self._X - (nk * means.T) @ means
            covs /= nk.sum()
            covs[np.arange(d), np.arange(d)] += reg
        else:
            covs = (resp @ self._X2T.T) / nk[:, None] - means**2 + reg
            if ct == "spherical":
                covs = covs.mean(axis=1)
        return nk, means, covs

    def _chunks(self, rows: int) -> list[slice]:
        """Sample slices so that a (rows, chunk) temporary stays under 64 MiB."""
        n = self.n_samples
        size = max(256, _CHUNK_BYTES // (8 * rows))
        return [slice(s, min(n, s + size)) for s in range(0, n, size)]

    def _precision_cholesky(self, covs: np.ndarray) -> np.ndarray:
        ct = self.covariance_type
        message = (
            "Fitting the Gaussian mixture failed: a component's covariance is not "
            "positive definite even after adding reg_covar (a component collapsed onto "
            f"too few or duplicated samples). {_ADVICE}"
        )
        if ct in ("full", "tied"):
            if not np.all(np.isfinite(covs)):
                raise FloatingPointError(message)
            try:
                chol = np.linalg.cholesky(covs)
            except np.linalg.LinAlgError:
                raise ValueError(message) from None
            # scikit-learn's precisions_cholesky_: inv(L).T, upper triangular
            return np.swapaxes(np.linalg.inv(chol), -1, -2)
        if not np.all(covs > 0) or not np.all(np.isfinite(covs)):
            raise ValueError(message)
        return 1.0 / np.sqrt(covs)

    def _log_gauss(self, means: np.ndarray, prec_chol: np.ndarray) -> np.ndarray:
        """Log densities (k, n) of every sample under every component."""
        XT, ct = self._XT, self.covariance_type
        d = XT.shape[0]
        k = means.shape[0]
        if self._quad:
            # maha = x'Lx - 2 x'L mu + mu'L mu with L = P P' the precision: one GEMM
            P = prec_chol
            prec = P @ np.swapaxes(P, -1, -2)
            prec = np.broadcast_to(prec, (k, d, d))
            m = len(self._iu[0])
            coef = np.empty((k, m + d + 1))
            coef[:, :m] = prec[:, self._iu[0], self._iu[1]] * self._offdiag
            lin = np.einsum("kde,ke->kd", prec, means)
            coef[:, m : m + d] = -2.0 * lin
            coef[:, -1] = np.einsum("kd,kd->k", lin, means)
            maha = coef @ self._AT
            if ct == "full":
                log_det = np.log(np.diagonal(P, axis1=1, axis2=2)).sum(axis=1)
            else:
                log_det = np.log(np.diagonal(P)).sum()
        elif ct == "full":
            # one GEMM for all components: [P_1 | ... | P_k]^T @ X^T (in sample chunks)
            P = prec_chol.transpose(0, 2, 1).reshape(k * d, d)
            muP = np.einsum("kd,kde->ke", means, prec_chol)[:, :, None]
            maha = np.empty((k, XT.shape[1]))
            for c in self._chunks(k * d):
                Y = (P @ XT[:, c]).reshape(k, d, -1)
                Y -= muP
                np.square(Y, out=Y)
                maha[:, c] = Y.sum(axis=1)
            log_det = np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)
        elif ct == "tied":
            muP = (means @ prec_chol)[:, :, None]
            maha = np.empty((k, XT.shape[1]))
            for c in self._chunks(k * d):
                Y = (prec_chol.T @ XT[:, c])[None, :, :] - muP
                np.square(Y, out=Y)
                maha[:, c] = Y.sum(axis=1)
            log_det = np.log(np.diagonal(prec_chol)).sum()
        elif ct == "diag":
            prec = prec_chol**2
            maha = (np.sum(means**2 * prec, axis=1)[:, None] - 2.0 * ((means * prec) @ XT)
                    + prec @ self._X2T)
            log_det = np.log(prec_chol).sum(axis=1)
        else:
            prec = prec_chol**2
            maha = (np.sum(means**2, axis=1)[:, None] * prec[:, None]
                    - 2.0 * ((means @ XT) * prec[:, None]) + np.outer(prec, self._xsq))
            log_det = d * np.log(prec_chol)
        maha += d * math.log(2 * math.pi)
        maha *= -0.5
        maha += np.broadcast_to(log_det, (k,))[:, None]
        return maha

    def _e_step(self, weights, means, prec_chol):
        """Mean log-likelihood and log responsibilities (k, n), by log-sum-exp."""
        wlp = self._log_gauss(means, prec_chol)
        wlp += np.log(weights)[:, None]
        top = wlp.max(axis=0)
        if not np.all(np.isfinite(top)):
            raise FloatingPointError(
                f"The mixture's log-likelihood is not finite (a component has collapsed "
                f"or a weight vanished). {_ADVICE}"
            )
        wlp -= top
        norm = np.log(np.exp(wlp).sum(axis=0))
        wlp -= norm
        return float(np.mean(norm + top)), wlp

    def _em(self, state: EMState, iterations: int) -> None:
        """Up to ``iterations`` more EM iterations (stops early on ``tol``), in place."""
        weights, means, prec_chol = state.weights, state.means, state.prec_chol
        lower_bound, covs = state.lower_bound, state.covs
        for it in range(state.n_iter + 1, state.n_iter + iterations + 1):
            state.n_iter, prev = it, lower_bound
            lower_bound, log_resp = self._e_step(weights, means, prec_chol)
            nk, means, covs = self._m_step_stats(np.exp(log_resp))
            weights = nk / nk.sum()
            prec_chol = self._precision_cholesky(covs)
            state.weights, state.means, state.prec_chol = weights, means, prec_chol
            state.lower_bound, state.covs = lower_bound, covs
            if abs(lower_bound - prev) < self.tol:
                state.converged = True
                break
