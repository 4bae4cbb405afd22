"""Closed-form newsvendor commitment: the known-answer oracle for one pool and one commitment.

Holding ``y`` GPUs of commitment at rate ``c`` [USD/GPU-h] against hourly demand ``D`` with on-demand rate
``o`` costs ``c y + o E[(D - y)+]`` per hour. Its derivative ``c - o P(D > y)`` vanishes at
``P(D > y) = c / o``, so the optimal commitment is the ``1 - c / o`` quantile of hourly demand.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from finops_forecast.errors import PortfolioError


@dataclass(frozen=True)
class Newsvendor:
    """Optimal single commitment.

    Attributes
    ----------
    quantile : float
        The critical ratio ``1 - commit_rate / od_rate``.
    gpus : float
        Committed capacity [GPU] (the demand quantile [GPU-h per hour]).
    usd_per_hour : float
        The same as an hourly spend commitment ``gpus x commit_rate`` [USD/h].
    cost_per_hour : float
        Expected cost per hour at the optimum [USD/h].
    """

    quantile: float
    gpus: float
    usd_per_hour: float
    cost_per_hour: float


def newsvendor_commitment(demand, od_rate: float, commit_rate: float) -> Newsvendor:
    """Optimal commitment for samples of hourly demand (closed form).

    Parameters
    ----------
    demand : array
        Samples of hourly demand [GPU-h per hour] (any shape; flattened).
    od_rate : float
        On-demand rate [USD/GPU-h].
    commit_rate : float
        Commitment rate [USD/GPU-h], below ``od_rate``.

    Returns
    -------
    Newsvendor
    """
    if not 0 < commit_rate < od_rate:
        raise PortfolioError(f"newsvendor needs 0 < commit_rate ({commit_rate}) < od_rate ({od_rate}) [USD/GPU-h].")
    d = np.asarray(demand, dtype=float).ravel()
    q = 1.0 - commit_rate / od_rate
    y = float(np.quantile(d, q))
    cost = commit_rate * y + od_rate * float(np.mean(np.maximum(d - y, 0.0)))
    return Newsvendor(quantile=q, gpus=y, usd_per_hour=y * commit_rate, cost_per_hour=cost)
