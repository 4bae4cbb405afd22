"""Report: parameters, analysis (results computed once), presentation, charts and the papermill renderer of the
quarterly commitment report."""
from __future__ import annotations

from finops_forecast._lazy import lazy_exports

_EXPORTS = {
    "ReportParams": "finops_forecast.report.params",
    "ReportParamsError": "finops_forecast.report.params",
    "quarterly_analysis": "finops_forecast.report.analysis",
    "QuarterlyAnalysis": "finops_forecast.report.results",
    "present": "finops_forecast.report.present",
    "render_report": "finops_forecast.report.render",
    "ReportError": "finops_forecast.report.render",
    "charts": "finops_forecast.report.charts",
    "explorer": "finops_forecast.report.explorer",
    "NotebookParams": "finops_forecast.notebook_params",
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
