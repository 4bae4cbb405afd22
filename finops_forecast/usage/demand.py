"""Realized demand as one array: series keys + hourly timestamps + values, built once from the usage table.

The usage table is long (one row per hour x pool x class x team); the stages after it work on arrays. This is the
one conversion between the two for realized demand (the forecast's sample paths keep the same layout with a path
axis, :class:`finops_forecast.portfolio.Scenarios`):

=========  ==========================================================================================
``keys``   DataFrame of :data:`~finops_forecast.constants.SERIES_KEYS`, one row per series, sorted
``ts``     DatetimeIndex of every hour from the first to the last (UTC); an hour with no row is 0 demand
``values`` ndarray (series, hours), series-major [GPU-h per hour]
=========  ==========================================================================================

Series-major is the layout the billing engine and the scenarios use (one contiguous row per series); code that
wants hours first (``bill(demand)``) takes :meth:`Demand.hours_major`, a transpose at the edge.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from finops_forecast.constants import SERIES_KEYS
from finops_forecast.errors import FinopsError

__all__ = ["Demand", "hourly_demand"]


@dataclass(frozen=True)
class Demand:
    """Hourly realized demand per series (see the module docstring for the layout).

    Attributes
    ----------
    keys : pandas.DataFrame
        One row per series (``SERIES_KEYS``), aligned with the first axis of ``values``.
    ts : pandas.DatetimeIndex
        Every hour (UTC), aligned with the second axis of ``values``.
    values : numpy.ndarray (series, hours)
        Demand [GPU-h per hour], >= 0.
    """

    keys: pd.DataFrame
    ts: pd.DatetimeIndex
    values: np.ndarray

    @property
    def n_series(self) -> int:
        return len(self.keys)

    def hours_major(self) -> np.ndarray:
        """The values as (hours, series) [GPU-h per hour] (a contiguous copy)."""
        return np.ascontiguousarray(self.values.T)

    def select(self, keys: pd.DataFrame) -> Demand:
        """The series of ``keys`` in that order; a series the demand does not have is all zeros.

        Parameters
        ----------
        keys : pandas.DataFrame
            ``SERIES_KEYS`` columns, e.g. a market's or a forecast's series.
        """
        index = {tuple(map(str, k)): i for i, k in enumerate(self.keys[SERIES_KEYS].itertuples(index=False))}
        rows = [index.get(tuple(map(str, k)), -1) for k in keys[SERIES_KEYS].itertuples(index=False)]
        out = np.zeros((len(rows), len(self.ts)), dtype=self.values.dtype)
        have = [j for j, i in enumerate(rows) if i >= 0]
        out[have] = self.values[[rows[j] for j in have]]
        return Demand(keys=keys[SERIES_KEYS].reset_index(drop=True), ts=self.ts, values=out)

    def last(self, hours: int) -> Demand:
        """The last ``hours`` hours (all of them when there are fewer)."""
        h = max(0, int(hours))
        return Demand(keys=self.keys, ts=self.ts[-h:] if h else self.ts[:0], values=self.values[:, -h:] if h
                      else self.values[:, :0])


def hourly_demand(usage: pd.DataFrame, keys: list | None = None) -> Demand:
    """Sum the usage table over teams (and any other column) into :class:`Demand`.

    Parameters
    ----------
    usage : pandas.DataFrame
        A usage table (docs/CONTRACTS.md): ``ts`` (hour start, UTC), the series keys and ``gpu_hours`` [GPU-h].
    keys : list of str, optional
        The series key columns (default :data:`~finops_forecast.constants.SERIES_KEYS`; the forecast passes its
        ``id_cols``).

    Returns
    -------
    Demand
        Series sorted by their keys; every hour from the table's first to its last.

    Raises
    ------
    FinopsError
        When the table has no rows or lacks a column.
    """
    key_cols = list(SERIES_KEYS if keys is None else keys)
    missing = [c for c in key_cols + ["ts", "gpu_hours"] if c not in usage.columns]
    if missing:
        raise FinopsError(f"the usage table lacks column(s) {missing}; expected {key_cols + ['ts', 'gpu_hours']} "
                          f"(docs/CONTRACTS.md).")
    if len(usage) == 0:
        raise FinopsError("the usage table has no rows: there is no demand to build.")
    grp = usage.groupby(key_cols, sort=True, observed=True)
    series = grp.ngroup().to_numpy()
    keys = pd.DataFrame(list(grp.groups.keys()), columns=key_cols)
    ts = pd.DatetimeIndex(usage["ts"])
    first, last = ts.min(), ts.max()
    hours = pd.date_range(first, last, freq="h")
    col = ((ts - first) // pd.Timedelta(hours=1)).to_numpy(np.int64)
    values = np.zeros((len(keys), len(hours)))
    np.add.at(values, (series, col), usage["gpu_hours"].to_numpy(float))
    return Demand(keys=keys, ts=hours, values=values)
