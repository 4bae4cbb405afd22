"""The real demand traces mapped onto priced cloud pools, for policy backtests.

==============  ==================================================  ==========================================
trace           pool (provider, region, instance type)              demand and settings
==============  ==================================================  ==========================================
``philly``      aws, us-east-1, p4d.24xlarge (8 x A100 40 GB)       active NODES x 8 = GPUs [GPU-h per hour],
                                                                    class ``training``; spot allowed up to 30%
                                                                    of the hourly demand
``alibaba-dlrm`` aws, us-east-1, g6.xlarge (1 x L4 24 GB)           GPUs in use x 1 [GPU-h per hour], class
                                                                    ``inference``; no spot
==============  ==================================================  ==========================================

Philly nodes held 2 or 8 GPUs (P100/P40 era); mapping every node to an 8-GPU A100 node is the issue's
simplification: the shape of the demand is the trace's, the scale is "a p4d fleet of the same node count".
DLRM ran one GPU per serving instance (``gpu_request`` 0/1 in the raw trace), so each GPU becomes one L4
``g6.xlarge``. Hours missing from a trace (9 in Philly, an outage) are 0 demand in the billing and gaps filled
with 0 by the forecast.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from finops_forecast.errors import unknown_name

__all__ = ["TRACE_MAPPINGS", "TRACE_SETTINGS", "TraceMapping", "backtest_trace", "trace_usage", "trend_usage"]


@dataclass(frozen=True)
class TraceMapping:
    """How a demand trace becomes usage of one priced pool.

    Parameters
    ----------
    provider, region, instance_type : str
        The pool the demand runs on.
    gpus_per_unit : float
        GPUs per unit of the trace's measure (8 per Philly node, 1 per DLRM GPU) [GPU].
    workload_class : str
    spot_cap : float
        Largest share of the hourly demand on spot (0: no spot).
    note : str
    """

    provider: str
    region: str
    instance_type: str
    gpus_per_unit: float
    workload_class: str
    spot_cap: float
    note: str


TRACE_MAPPINGS = {
    "philly": TraceMapping("aws", "us-east-1", "p4d.24xlarge", 8.0, "training", 0.3,
                           "Philly active nodes x 8 GPUs on AWS p4d.24xlarge (8 x A100) us-east-1; training, spot "
                           "up to 30% of each hour's demand"),
    "alibaba-dlrm": TraceMapping("aws", "us-east-1", "g6.xlarge", 1.0, "inference", 0.0,
                                 "Alibaba DLRM GPUs in use x 1 on AWS g6.xlarge (1 x L4) us-east-1; inference, "
                                 "no spot"),
}

#: backtest settings per trace, fixed before looking at results: Philly (74 days) is decided weekly on a two-week
#: lookback; DLRM (31 days) every 3 days on a one-week lookback so that it has 5 windows after 14 days of history
TRACE_SETTINGS = {
    "philly": dict(decision_every="7D", term="7D", lookback="14D", warmup="14D"),
    "alibaba-dlrm": dict(decision_every="3D", term="3D", lookback="7D", warmup="14D"),
}


def trace_usage(name: str, root=None) -> pd.DataFrame:
    """A real demand trace as a usage table of its mapped pool (:data:`TRACE_MAPPINGS`).

    Parameters
    ----------
    name : {"philly", "alibaba-dlrm"}
    root : path, optional
        The shared datasets folder (default: beside the repository, or ``$FINOPS_SHARED_DATASETS``).

    Returns
    -------
    DataFrame
        Usage table [GPU-h], one series.
    """
    from finops_forecast.forecast.traces import load_trace

    if name not in TRACE_MAPPINGS:
        raise unknown_name("trace", name, TRACE_MAPPINGS)
    m = TRACE_MAPPINGS[name]
    u = load_trace(name, root)
    u = u.assign(provider=m.provider, region=m.region, instance_type=m.instance_type,
                 workload_class=m.workload_class, gpu_hours=u["gpu_hours"] * m.gpus_per_unit)
    return u


def backtest_trace(name: str, catalog=None, *, root=None, **overrides):
    """Backtest the policies on a real trace with its mapping and default settings.

    Parameters
    ----------
    name : {"philly", "alibaba-dlrm"}
    catalog : DataFrame, optional
        Pricing catalog (default: the bundled one).
    root : path, optional
        The shared datasets folder.
    **overrides
        :func:`finops_forecast.evaluate.backtest` arguments replacing :data:`TRACE_SETTINGS` (policies,
        decision_every, term, lookback, n_paths, max_windows, ...).

    Returns
    -------
    BacktestResult
        Its ``settings`` also hold the trace name and mapping.
    """
    from dataclasses import asdict

    from finops_forecast.evaluate.rolling import backtest
    from finops_forecast.pricing import load_pricing

    usage = trace_usage(name, root)
    m = TRACE_MAPPINGS[name]
    kw = dict(TRACE_SETTINGS[name], spot_cap=m.spot_cap)
    kw.update({k: v for k, v in overrides.items() if v is not None and v != ""})
    res = backtest(usage, load_pricing() if catalog is None else catalog, **kw)
    res.settings.update(trace=name, mapping=asdict(m))
    return res


def trend_usage(rate_per_day: float, days: int = 70, seed: int = 0, level: float = 2400.0) -> pd.DataFrame:
    """A synthetic training cluster whose demand grows or shrinks linearly (a trend a lookback rule must lag).

    Demand is ``level x (1 + rate_per_day x day)`` times a daily (+-5%) and a weekly (+-3%) cycle, plus Gaussian
    noise of 60 GPUs, on Philly's pool (aws us-east-1 p4d.24xlarge, class ``training``); use it with Philly's
    settings (:data:`TRACE_SETTINGS`) and ``spot_cap=0.3``.

    Parameters
    ----------
    rate_per_day : float
        Growth per day as a share of the first day's level (0.01: +1% a day; -0.01: -1% a day) [1/day].
    days : int
        Length [days].
    seed : int
        Seed of the noise.
    level : float
        First day's mean demand [GPU].

    Returns
    -------
    DataFrame
        Usage table [GPU-h], hourly, one series.
    """
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2026-01-05", periods=24 * int(days), freq="h", tz="UTC")
    h = np.arange(len(ts))
    d = h / 24.0
    y = level * (1 + rate_per_day * d) * (1 + 0.05 * np.sin(2 * np.pi * h / 24) + 0.03 * np.sin(2 * np.pi * d / 7))
    y = np.maximum(y + rng.normal(0.0, 60.0, len(h)), 0.0)
    m = TRACE_MAPPINGS["philly"]
    return pd.DataFrame(dict(ts=ts, provider=m.provider, region=m.region, instance_type=m.instance_type,
                             workload_class=m.workload_class, team="synthetic", gpu_hours=y))
