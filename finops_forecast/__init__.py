"""finops_forecast: forecast GPU demand and recommend cloud GPU commitments.

The package is a pipeline, usage -> forecast -> pricing -> portfolio -> evaluate -> report, with showback beside
report (what each team, model and run costs). Importing it does no I/O and loads no heavy dependency: the public
names below are imported on first use.
"""
from __future__ import annotations

from finops_forecast._lazy import lazy_exports
from finops_forecast._version import __version__

# public name -> module that defines it (lazy, so `import finops_forecast` stays fast and side-effect free)
_EXPORTS = {
    "FinopsError": "finops_forecast.errors",
    "UsageError": "finops_forecast.errors",
    "validate_usage": "finops_forecast.usage.schema",
    "USAGE_COLUMNS": "finops_forecast.usage.schema",
    "WORKLOAD_CLASSES": "finops_forecast.usage.schema",
    "read_usage": "finops_forecast.usage.readers",
    "read_focus": "finops_forecast.usage.readers",
    "read_jobs": "finops_forecast.usage.readers",
    "Reconciliation": "finops_forecast.usage.readers",
    "read_focus_commitments": "finops_forecast.usage.focus_commitments",
    "commitment_inventory": "finops_forecast.usage.focus_commitments",
    "detect_focus_version": "finops_forecast.usage.focus_dialects",
    "classify": "finops_forecast.usage.classify",
    "decompose": "finops_forecast.usage.decompose",
    "load_sample": "finops_forecast.usage.sample",
    "forecast": "finops_forecast.forecast",
    "cross_validate": "finops_forecast.forecast",
    "ForecastResult": "finops_forecast.forecast",
    "Backtest": "finops_forecast.forecast",
    "ForecastWarning": "finops_forecast.forecast",
    "load_pricing": "finops_forecast.pricing",
    "price": "finops_forecast.pricing",
    "backtest": "finops_forecast.evaluate",
    "commitment_performance": "finops_forecast.evaluate.commitments",
    "optimize": "finops_forecast.portfolio",
    "showback": "finops_forecast.showback",
    "ReportParams": "finops_forecast.report",
    "render_report": "finops_forecast.report",
}

__getattr__, __dir__, _names = lazy_exports(__name__, _EXPORTS)
__all__ = _names + ["__version__"]
