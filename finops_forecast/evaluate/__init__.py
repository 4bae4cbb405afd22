"""Backtests of purchasing policies against realized demand (docs/backtest.md).

Public names::

    backtest(usage, catalog, policies=..., decision_every="7D", term="7D", lookback="14D", ...) -> BacktestResult
    BacktestSettings, BacktestResult, EvaluateError
    trace_usage(name), backtest_trace(name, ...), TRACE_MAPPINGS, TRACE_SETTINGS   (the real traces on cloud pools)
    commitment_performance(focus_export, period=None) -> CommitmentPerformance     (owned commitments, from the bill)
    trend_usage(rate_per_day, days, seed)                                          (a synthetic growing / shrinking cluster)
    validate_params(values) -> BacktestParams                                      (policy_backtest.ipynb)

Imports are lazy: ``import finops_forecast.evaluate`` loads neither cvxpy nor the forecasting models.
"""
from __future__ import annotations

from finops_forecast._lazy import lazy_exports

_EXPORTS = {
    "backtest": "finops_forecast.evaluate.rolling",
    "BacktestSettings": "finops_forecast.evaluate.rolling",
    "BacktestResult": "finops_forecast.evaluate.rolling",
    "EvaluateError": "finops_forecast.evaluate.rolling",
    "POLICIES": "finops_forecast.evaluate.rolling",
    "parse_hours": "finops_forecast.evaluate.rolling",
    "demand_matrix": "finops_forecast.evaluate.rolling",
    "trace_usage": "finops_forecast.evaluate.traces",
    "backtest_trace": "finops_forecast.evaluate.traces",
    "TRACE_MAPPINGS": "finops_forecast.evaluate.traces",
    "trend_usage": "finops_forecast.evaluate.traces",
    "TRACE_SETTINGS": "finops_forecast.evaluate.traces",
    "commitment_performance": "finops_forecast.evaluate.commitments",
    "CommitmentPerformance": "finops_forecast.evaluate.commitments",
    "BacktestParams": "finops_forecast.evaluate.params",
    "validate_params": "finops_forecast.evaluate.params",
    "params_from_namespace": "finops_forecast.evaluate.params",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
