"""Showback: unit economics, idle cost and guardrails for GPU spend.

What each team, model and run costs, what a thousand inferences cost, how much of the bill pays for idle GPUs,
and which inference pools could move to a cheaper GPU class. OpenCost words throughout: ``gpu_hours``,
``gpu_cost``, ``gpu_cost_idle``, ``__idle__`` (GPUs no workload held) and ``__unallocated__`` (cost no owner
could be found for). See docs/showback.md.

Importing this package does no I/O; the public names are imported on first use.
"""
from __future__ import annotations

from finops_forecast._lazy import lazy_exports

_EXPORTS = {
    "ShowbackError": "finops_forecast.showback.common",
    "IDLE": "finops_forecast.showback.common",
    "UNALLOCATED": "finops_forecast.showback.common",
    "price_usage": "finops_forecast.showback.priced",
    "breakdown": "finops_forecast.showback.priced",
    "top_cost_drivers": "finops_forecast.showback.priced",
    "read_dcgm": "finops_forecast.showback.metrics",
    "read_nvidia_smi": "finops_forecast.showback.metrics",
    "read_gpu_metrics": "finops_forecast.showback.metrics",
    "attribute_metrics": "finops_forecast.showback.metrics",
    "idle_cost": "finops_forecast.showback.idle",
    "idle_resources": "finops_forecast.showback.idle",
    "read_runs": "finops_forecast.showback.units",
    "run_costs": "finops_forecast.showback.units",
    "weekly_unit_costs": "finops_forecast.showback.units",
    "cost_per_inference": "finops_forecast.showback.units",
    "week_over_week": "finops_forecast.showback.units",
    "attribute_runs": "finops_forecast.showback.units",
    "estimate_run_cost": "finops_forecast.showback.guardrails",
    "flag_overruns": "finops_forecast.showback.guardrails",
    "flag_unit_cost_rises": "finops_forecast.showback.guardrails",
    "rightsizing_hints": "finops_forecast.showback.rightsizing",
    "read_dlrm": "finops_forecast.showback.dlrm",
    "dlrm_usage": "finops_forecast.showback.dlrm",
    "showback": "finops_forecast.showback.api",
    "ShowbackResult": "finops_forecast.showback.api",
    "report_section": "finops_forecast.showback.api",
    "ShowbackParams": "finops_forecast.showback.params",
    "validate_params": "finops_forecast.showback.params",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
