"""The quarterly report's results: everything the report shows, computed once.

:class:`QuarterlyAnalysis` holds the numbers and frames (the plan with the market it was built on, the forecast,
the comparisons, the track record, unit economics, capacity decisions, pricing provenance); it is built by the thin
orchestrator :func:`finops_forecast.report.analysis.quarterly_analysis` and read by the presentation module
:mod:`finops_forecast.report.present` (text, tables, Markdown, files), which computes nothing of its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class QuarterlyAnalysis:
    """Everything the report shows. Built by :func:`~finops_forecast.report.analysis.quarterly_analysis`.

    Attributes
    ----------
    params : ReportParams
    quarter : str
    start, end : pandas.Timestamp
        The planned quarter [UTC, end exclusive].
    usage : pandas.DataFrame
        The usage table analysed.
    history : pandas.DataFrame
        Baseline / burst decomposition per series and hour [GPU-h].
    forecast : ForecastResult
        Demand forecast per series from the hour after the history to the end of the planning horizon, without
        its sample paths (``paths`` is None): they are dropped once the plan and the comparison are billed on
        them (~190 MB on the sample; the report's peak memory, docs/performance.md).
    forecast_fan : pandas.DataFrame
        What the fan chart shows of the paths (:func:`forecast_fan`): quantiles of the daily mean GPUs per
        workload class.
    plan : Plan
        The optimizer's plan (purchases, ladder, quarters, savings curve, frontier, ladder comparison).
    market : Market
        The market the plan was built on (its instruments in billing order), the one every comparison bills.
    comparison : pandas.DataFrame
        The plan, the clouds' lookback rule and all on-demand, billed on the same forecast paths of the quarter.
    inventory : pandas.DataFrame
        Commitments already owned (empty when none).
    provenance : pandas.DataFrame
        Every price the plan uses: source, effective date, assumption flag.
    catalog : pandas.DataFrame
        The pricing catalog the analysis used.
    notes : list of str
    capacity : (DataFrame, DataFrame) or None
        How each planned run is held (:func:`finops_forecast.portfolio.capacity.decide_capacity`: decisions and
        every option), None without planned runs.
    capacity_purchases : pandas.DataFrame
        Capacity bought for planned runs as purchase lines
        (:func:`~finops_forecast.report.capacity_section.capacity_purchase_lines`).
    track : BacktestResult or str
        The track record (:func:`~finops_forecast.report.analysis.track_record`), or the sentence saying why
        there is none.
    unit_economics : (dict, dict)
        Showback of :attr:`showback_period`: tables and charts (:func:`finops_forecast.showback.report_section`).
    showback_period : str
        The last full calendar month of usage, e.g. ``2026-10`` (:func:`showback_period`).
    summary : dict
        Headline numbers (:func:`headline_numbers`).
    term_reasons : pandas.DataFrame
        Why each purchase of this quarter has its term, with numbers
        (:func:`finops_forecast.portfolio.terms.plan_term_reasons`, at the report's outlook and migration).
    """

    params: object
    quarter: str
    start: pd.Timestamp
    end: pd.Timestamp
    usage: pd.DataFrame = field(repr=False)
    history: pd.DataFrame = field(repr=False)
    forecast: object = field(repr=False)
    plan: object = field(repr=False)
    market: object = field(repr=False)
    comparison: pd.DataFrame
    inventory: pd.DataFrame
    provenance: pd.DataFrame = field(repr=False)
    catalog: pd.DataFrame = field(repr=False)
    notes: list = field(default_factory=list)
    capacity: tuple | None = None
    capacity_purchases: pd.DataFrame = field(default_factory=pd.DataFrame)
    track: object = None
    unit_economics: tuple = field(default=({}, {}), repr=False)
    showback_period: str = ""
    summary: dict = field(default_factory=dict)
    forecast_fan: pd.DataFrame | None = field(default=None, repr=False)
    term_reasons: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def purchases(self) -> pd.DataFrame:
        """What to buy this quarter (the plan's first-stage purchases)."""
        return self.plan.buy_now

    @property
    def instrument_prices(self) -> pd.Series:
        """Price of one unit of each instrument of the plan's market [USD/h per instance, or 1 per USD/h]."""
        return self.market.instruments.set_index("id")["price"]


def showback_period(usage: pd.DataFrame) -> str:
    """The last full calendar month of usage, e.g. ``2026-10`` (the unit-economics section's period)."""
    after = (usage["ts"].max() + pd.Timedelta(hours=1)).tz_convert(None)
    return str(after.to_period("M") - 1)  # the month holding `after` is not complete


#: quantiles of the fan chart, and their columns
FAN_QUANTILES = {"lo95": 0.025, "lo80": 0.1, "median": 0.5, "hi80": 0.9, "hi95": 0.975}


def forecast_fan(fc) -> pd.DataFrame:
    """The forecast's fan per workload class: quantiles over the sample paths of the daily mean GPUs in use
    (weekly past 200 days of horizon) [GPU].

    Parameters
    ----------
    fc : ForecastResult
        With its paths (series x path x hour) [GPU-h per hour].

    Returns
    -------
    pandas.DataFrame
        One row per class and day: ``workload_class``, ``day`` (naive UTC), ``lo95``, ``lo80``, ``median``,
        ``hi80``, ``hi95`` (:data:`FAN_QUANTILES`), ``kind`` = "forecast"; weekly, a last week with fewer than
        7 days is left out.
    """
    weekly = len(fc.ds) > 200 * 24
    day = fc.ds.tz_convert(None).floor("D")
    if weekly:
        day = day.to_period("W").start_time
    # a last week of a few days would show those weekdays' level as the week's (a spike or dip at the horizon's
    # end: a Monday-heavy class on a horizon ending on a Monday)
    short_last = weekly and (day == day[-1]).sum() < 7 * 24
    rows = []
    for cls in sorted(fc.keys["workload_class"].unique()):
        idx = np.flatnonzero(fc.keys["workload_class"].to_numpy() == cls)
        paths = fc.paths[idx].sum(axis=0)  # [path, hour]
        daily = pd.DataFrame(paths.T).groupby(day).mean()  # mean GPUs in use per day or week [day, path]
        if short_last:
            daily = daily.iloc[:-1]
        q = np.quantile(daily.to_numpy(), list(FAN_QUANTILES.values()), axis=1)
        rows.append(pd.DataFrame({"workload_class": cls, "day": daily.index, **dict(zip(FAN_QUANTILES, q)),
                                  "kind": "forecast"}))
    return pd.concat(rows, ignore_index=True)


def headline_numbers(quarter: str, plan, comparison: pd.DataFrame, capacity_purchases: pd.DataFrame) -> dict:
    """Headline numbers: the quarter's expected cost, savings and risk under the plan [USD, shares].

    Parameters
    ----------
    quarter : str
    plan : Plan
    comparison : pandas.DataFrame
        :func:`~finops_forecast.report.analysis.compare_policies` (rows "this plan" and "cloud lookback rule").
    capacity_purchases : pandas.DataFrame
        Capacity bought for planned runs (column ``obligation_usd`` [USD]).
    """
    q0 = plan.quarters.iloc[0]
    buy = plan.buy_now
    fc = comparison.set_index("policy")
    capacity_obligation = capacity_purchases["obligation_usd"].sum()
    return {
        "quarter": quarter, "n_purchases": len(buy),
        "commitment_usd_per_hour": float(buy["commitment_usd_per_hour"].sum()),
        "upfront_usd": float(buy["upfront_usd"].sum()), "monthly_usd": float(buy["monthly_usd"].sum()),
        "obligation_usd": float(plan.obligation_usd),
        "break_even_utilization": float(plan.break_even_utilization),
        "quarter_expected_cost_usd": float(q0["expected_cost_usd"]),
        "quarter_on_demand_cost_usd": float(q0["on_demand_cost_usd"]),
        "quarter_savings_usd": float(q0["on_demand_cost_usd"] - q0["expected_cost_usd"]),
        "quarter_effective_savings_rate": float(1 - q0["expected_cost_usd"] / q0["on_demand_cost_usd"]),
        "horizon_quarters": len(plan.quarters),
        "horizon_expected_cost_usd": float(plan.expected_cost_usd),
        "horizon_savings_usd": float(plan.savings_usd),
        "horizon_effective_savings_rate": float(plan.effective_savings_rate),
        "coverage": float(plan.coverage), "utilization": float(plan.utilization),
        "cvar_usd": float(plan.cvar_usd), "alpha": float(plan.alpha),
        "risk_lambda": float(plan.risk_lambda),
        "lookback_quarter_cost_usd": float(fc.loc["cloud lookback rule", "expected_cost_usd"]),
        "plan_vs_lookback_usd": float(fc.loc["cloud lookback rule", "expected_cost_usd"]
                                      - fc.loc["this plan", "expected_cost_usd"]),
        "status": str(plan.status), "solver": str(plan.solver),
        "capacity_purchases": len(capacity_purchases),
        "capacity_obligation_usd": float(capacity_obligation),
        "total_obligation_usd": float(plan.obligation_usd + capacity_obligation),
    }
