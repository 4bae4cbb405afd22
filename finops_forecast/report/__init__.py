"""Report: parameters, analysis, charts and the papermill renderer of the quarterly commitment report."""
from __future__ import annotations

import importlib

_EXPORTS = {
    "ReportParams": "finops_forecast.report.params",
    "ReportParamsError": "finops_forecast.report.params",
    "quarterly_analysis": "finops_forecast.report.analysis",
    "QuarterlyAnalysis": "finops_forecast.report.analysis",
    "render_report": "finops_forecast.report.render",
    "ReportError": "finops_forecast.report.render",
    "charts": "finops_forecast.report.charts",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'finops_forecast.report' has no attribute '{name}'")
    module = importlib.import_module(_EXPORTS[name])
    value = module if name == "charts" else getattr(module, name)
    globals()[name] = value
    return value
