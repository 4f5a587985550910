"""Optimizer settings for :class:`~restarts.solvers.MLP`: ``Adam(...)`` and ``SGD(...)``.

One object carries what belongs together (the learning rate and the optimizer's own
constants), so ``MLP(X, y, optimizer=Adam(lr=1e-3, beta2=0.99))`` says it in one place.
The string form (``optimizer="adam", lr=...``) keeps working; both build the same
network trainer.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._validation import check_real, fail

__all__ = ["Adam", "SGD"]


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba 2015) in its efficient form, as scikit-learn.

    Parameters
    ----------
    lr : float, default=1e-2
        Learning rate (> 0).
    beta1 : float, default=0.9
        Decay rate of the first moment, in ``[0, 1)``.
    beta2 : float, default=0.999
        Decay rate of the second moment, in ``[0, 1)``.
    epsilon : float, default=1e-8
        Added to the root of the uncorrected second moment (> 0).

    Examples
    --------
    >>> from restarts.solvers.optimizers import Adam
    >>> Adam(lr=1e-3).name, Adam(lr=1e-3).settings()["beta2"]
    ('adam', 0.999)
    """

    lr: float = 1e-2
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8

    name = "adam"

    def __post_init__(self) -> None:
        owner = "Adam()"
        check_real(self.lr, "lr", owner, low=0.0, strict_low=True)
        for key in ("beta1", "beta2"):
            value = check_real(getattr(self, key), key, owner, low=0.0, high=1.0)
            if value == 1.0:
                raise fail(key, owner, "in [0, 1)", value)
        check_real(self.epsilon, "epsilon", owner, low=0.0, strict_low=True)

    def settings(self) -> dict[str, float]:
        """The settings as ``MLP`` keywords."""
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2,
                "epsilon": self.epsilon}


@dataclass(frozen=True)
class SGD:
    """Gradient descent; heavy-ball momentum (``v = momentum v - lr g``) when
    ``momentum > 0``.

    Parameters
    ----------
    lr : float, default=1e-2
        Learning rate (> 0).
    momentum : float, default=0.0
        Momentum in ``[0, 1]``; ``0`` is plain gradient descent.

    Examples
    --------
    >>> from restarts.solvers.optimizers import SGD
    >>> SGD(lr=0.1).name, SGD(lr=0.1, momentum=0.9).name
    ('sgd', 'momentum')
    """

    lr: float = 1e-2
    momentum: float = 0.0

    def __post_init__(self) -> None:
        owner = "SGD()"
        check_real(self.lr, "lr", owner, low=0.0, strict_low=True)
        check_real(self.momentum, "momentum", owner, low=0.0, high=1.0)

    @property
    def name(self) -> str:
        """``"momentum"`` with momentum, else ``"sgd"`` (the string forms)."""
        return "momentum" if self.momentum > 0 else "sgd"

    def settings(self) -> dict[str, float]:
        """The settings as ``MLP`` keywords."""
        return {"lr": self.lr, "momentum": self.momentum}
