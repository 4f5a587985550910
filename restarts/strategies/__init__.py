"""Restart strategies: which restarts to run, from where, in what order.

``"independent"`` runs every restart from its own start point; adaptive
strategies (``"tiktak"``, ``"mlsl"``) choose later start points from earlier
results, deterministically, so they keep the same reproducibility guarantees;
``"racing"`` gives more budget to the restarts of a resumable solver that lead.
"""

from __future__ import annotations

from typing import Any

from ._base import Independent, Strategy, StrategyContext, Task, as_task
from .mlsl import MLSL
from .portfolio import Auto, Portfolio, SolverSet
from .racing import Racing
from .schedules import BIPOP, IPOP, BudgetSchedule
from .tiktak import TikTak

__all__ = ["Strategy", "StrategyContext", "Task", "as_task", "Independent", "TikTak", "MLSL",
           "Racing", "get_strategy", "STRATEGIES", "IPOP", "BIPOP", "BudgetSchedule", "Portfolio",
           "Auto", "SolverSet"]

STRATEGIES: dict[str, type[Strategy]] = {"independent": Independent, "tiktak": TikTak,
                                         "mlsl": MLSL, "racing": Racing,
                                         "ipop": IPOP, "bipop": BIPOP, "portfolio": Portfolio,
                                         "auto": Auto}


def get_strategy(strategy: Any, owner: str = "multistart()") -> Strategy:
    """A strategy object from a name in :data:`STRATEGIES` or a :class:`Strategy` instance."""
    if isinstance(strategy, Strategy):
        return strategy
    if isinstance(strategy, str) and strategy in STRATEGIES:
        return STRATEGIES[strategy]()
    names = sorted(STRATEGIES)
    exc = ValueError if isinstance(strategy, str) else TypeError
    raise exc(
        f"The 'strategy' parameter of {owner} must be one of {names} or a Strategy instance. "
        f"Got {strategy!r} instead."
    )
