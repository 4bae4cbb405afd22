"""Baseline / burst decomposition of GPU demand.

The *baseline* of a series is its persistent floor: the demand that is there hour after hour and that a
commitment can cover at full utilization. The *burst* is the remainder (training runs, traffic peaks,
experiments): what spot or on-demand capacity should absorb.

Definition (per series = pool x workload class, summed over teams)::

    baseline_t = min(demand_t, Q_q(demand_{t-w+1..t}))
    burst_t    = demand_t - baseline_t

with ``Q_q`` the ``q``-quantile over a trailing window of ``w`` hours (default one week, ``q = 0.05``). The
window is trailing (causal), so a decomposition at time t never looks at later hours, and a backtest that
decomposes its history sees no future. Both parts are >= 0 and sum to the demand exactly.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.errors import UsageError
from finops_forecast.usage.schema import SERIES_KEYS, aggregate_series


def decompose(usage: pd.DataFrame, window_hours: int = 168, quantile: float = 0.05,
              keys: list[str] | None = None) -> pd.DataFrame:
    """Split each series' hourly demand into baseline and burst.

    Parameters
    ----------
    usage : pandas.DataFrame
        A validated usage table (see :func:`finops_forecast.usage.schema.validate_usage`).
    window_hours : int, default 168
        Length of the trailing window of the floor [h].
    quantile : float, default 0.05
        Quantile of demand in the window taken as the floor, in [0, 1).
    keys : list of str, default ``SERIES_KEYS``
        Columns that identify a series.

    Returns
    -------
    pandas.DataFrame
        ``keys + ["ts", "gpu_hours", "baseline", "burst"]`` [GPU-h], one row per series and hour, with missing
        hours filled with zero demand.
    """
    if not isinstance(window_hours, int) or window_hours < 1:
        raise UsageError(f"window_hours must be a whole number of hours >= 1, got {window_hours!r}.")
    if not 0 <= quantile < 1:
        raise UsageError(f"quantile must be in [0, 1), got {quantile!r}.")
    keys = list(SERIES_KEYS if keys is None else keys)
    series = aggregate_series(usage, keys)
    grouped = series.groupby(keys, sort=False, observed=True)["gpu_hours"]
    floor = grouped.transform(lambda s: s.rolling(window_hours, min_periods=1).quantile(quantile,
                                                                                       interpolation="lower"))
    series["baseline"] = np.minimum(floor.clip(lower=0.0).to_numpy(), series["gpu_hours"].to_numpy())
    series["burst"] = series["gpu_hours"] - series["baseline"]
    return series
