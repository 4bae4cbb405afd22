"""Forecasting stage: GPU demand per pool x workload class, with intervals, sample paths and backtests.

Public API::

    forecast(usage, horizon, *, freq="h", models="auto", n_paths=200, seed=0, engine="local", ...)
        -> ForecastResult (.keys, .ds, .paths, .forecasts, .selection, .pools())
    cross_validate(usage, horizon, *, freq="D", models=(...), n_windows=8, ...) -> Backtest (.cv, .scores)

Models (numpy interface, ``fit(y, season_length)`` / ``predict(h)``) are in :mod:`.models`. Importing this
package imports neither statsmodels nor Prophet nor dask; they load when a model or engine is used.
"""
from __future__ import annotations

from finops_forecast.forecast.api import (
    PLAN_SELECTION, POOL_KEYS, SERIES_KEYS, Backtest, ForecastResult, ForecastWarning, cross_validate, forecast,
    planned_run_hours,
)
from finops_forecast.forecast.models import AUTO_CANDIDATES, MODELS, make_model

__all__ = ["forecast", "cross_validate", "ForecastResult", "Backtest", "ForecastWarning", "MODELS",
           "AUTO_CANDIDATES", "make_model", "planned_run_hours", "SERIES_KEYS", "POOL_KEYS", "PLAN_SELECTION"]
