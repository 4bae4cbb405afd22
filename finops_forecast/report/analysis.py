"""The analysis behind the quarterly commitment report (everything the notebook shows is computed here).

:func:`quarterly_analysis` is the thin orchestrator the notebook calls: it loads usage, forecasts demand paths to
the end of the planned quarter, prices each pool from the catalog and recommends a commitment per pool.

This first version recommends, per pool, the **newsvendor** commitment: with on-demand price ``p`` and an
effective commitment rate ``c`` (1-year, no upfront), committing ``q`` instances costs ``c q`` every hour and
saves ``p`` for each instance-hour of demand it covers, so the expected cost is minimal at the ``1 - c/p``
quantile of hourly demand (in instances, pooled over the forecast paths and the hours of the quarter). The
portfolio optimizer (``finops_forecast.portfolio``) deepens this with ladders, savings plans, spot and risk.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from finops_forecast.errors import FinopsError
from finops_forecast.report.params import ReportParams, next_quarter, quarter_bounds
from finops_forecast.usage.schema import POOL_KEYS

COMMITMENT_MODELS = ("reserved", "cud")


def load_report_usage(params: ReportParams) -> pd.DataFrame:
    """Load the usage the report is about: the sample, a usage table, or a FOCUS export (detected by columns)."""
    if params.usage == "sample":
        from finops_forecast.usage.sample import load_sample
        usage = load_sample()
    else:
        usage = read_any(params.usage)
    if params.provider_list():
        usage = usage[usage["provider"].isin(params.provider_list())]
    if params.class_list():
        usage = usage[usage["workload_class"].isin(params.class_list())]
    if usage.empty:
        raise FinopsError(f"no usage left after filtering providers={params.providers!r} and "
                          f"workload_classes={params.workload_classes!r}; loosen the filters.")
    return usage.reset_index(drop=True)


def read_any(path) -> pd.DataFrame:
    """Read a usage table or a FOCUS export, deciding by the file's columns."""
    import duckdb

    from finops_forecast.usage.readers import read_focus, read_usage

    p = str(path)
    scan = f"read_parquet('{p}')" if p.lower().endswith((".parquet", ".pq")) else f"read_csv('{p}', all_varchar=true)"
    try:
        cols = {r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
    except duckdb.Error:
        cols = set()
    reader = read_focus if "ChargePeriodStart" in cols else read_usage
    usage, _ = reader(path)
    return usage


def newsvendor_level(demand: np.ndarray, rate_ratio: float) -> float:
    """Commitment level that minimizes expected cost: the ``1 - rate_ratio`` quantile of demand.

    Parameters
    ----------
    demand : ndarray
        Hourly demand samples [instances] (any shape; pooled).
    rate_ratio : float
        Effective commitment rate / on-demand rate, in (0, 1).

    Returns
    -------
    float
        The smallest whole number of instances ``q`` with ``P(demand <= q) >= 1 - rate_ratio`` [instances].
    """
    if not 0 < rate_ratio < 1:
        return 0.0
    values = np.sort(np.asarray(demand, dtype=float).ravel())
    q = np.quantile(values, 1 - rate_ratio, method="inverted_cdf")
    return float(np.ceil(q - 1e-9))


@dataclass
class QuarterlyAnalysis:
    """Everything the report shows. Built by :func:`quarterly_analysis`.

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
        Demand forecast per series from the hour after the history to the end of the quarter.
    recommendations : pandas.DataFrame
        One row per pool: the commitment to buy and its expected economics.
    summary : dict
        Headline numbers of the recommendation.
    provenance : pandas.DataFrame
        Every price used: source, effective date, assumption flag.
    """

    params: ReportParams
    quarter: str
    start: pd.Timestamp
    end: pd.Timestamp
    usage: pd.DataFrame
    history: pd.DataFrame
    forecast: object
    recommendations: pd.DataFrame
    summary: dict
    provenance: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def recommendation_text(self) -> str:
        """The recommendation in one paragraph (Markdown)."""
        s = self.summary
        buys = self.recommendations[self.recommendations["commit_instances"] > 0]
        lines = ", ".join(f"{int(r.commit_instances)} x {r.instance_type} ({r.provider} {r.region}, {r.instrument})"
                          for r in buys.itertuples())
        return (
            f"For **{self.quarter}**, buy **{len(buys)} commitments** ({self.params.term_months}-month, no upfront): "
            f"{lines or 'none'}. Under the forecast, they cut the quarter's expected GPU bill from "
            f"**{s['on_demand_cost_usd']:,.0f} USD** (all on-demand) to **{s['expected_cost_usd']:,.0f} USD**, "
            f"saving **{s['savings_usd']:,.0f} USD** (effective savings rate **{s['effective_savings_rate']:.1%}**). "
            f"Each commitment breaks even when it is used more than its rate ratio (shown per line, "
            f"{s['min_break_even']:.0%}-{s['max_break_even']:.0%} of the hours); the expected utilization is "
            f"{s['utilization']:.1%} and in the 10% worst forecast paths {s['utilization_p10']:.1%}. "
            f"Commitments run for {self.params.term_months} months while this version sizes them on the "
            f"quarter's forecast: with the fleet growing, the quarter's floor is a conservative level.")

    def recommendation_table(self):
        """The purchase table as shown in the report (a pandas Styler)."""
        cols = {"provider": "provider", "region": "region", "instance_type": "instance type", "gpu_type": "GPU",
                "instrument": "instrument", "commit_instances": "buy [instances]",
                "monthly_commitment_usd": "monthly [USD]", "break_even_utilization": "break-even utilization",
                "expected_utilization": "expected utilization", "p10_utilization": "utilization, worst 10%",
                "coverage": "coverage", "savings_usd": "expected savings in quarter [USD]"}
        frame = self.recommendations[list(cols)].rename(columns=cols)
        fmt = {c: "{:.0%}" for c in ("break-even utilization", "expected utilization", "utilization, worst 10%",
                                     "coverage")}
        fmt.update({"monthly [USD]": "{:,.0f}", "expected savings in quarter [USD]": "{:,.0f}"})
        return frame.style.format(fmt, na_rep="-").hide(axis="index")

    def provenance_table(self):
        """Every price used, with its source, date and whether it is published or an assumption (a Styler)."""
        frame = self.provenance.assign(
            is_assumption=self.provenance["is_assumption"].map({True: "assumption", False: "published"}))
        frame = frame.rename(columns={"instance_type": "instance type", "pricing_model": "pricing model",
                                      "term_months": "term [months]", "payment_option": "payment",
                                      "usd_per_hour": "USD/h", "usd_per_gpu_hour": "USD/GPU-h",
                                      "effective_date": "effective date", "is_assumption": "kind"})
        return frame.style.format({"USD/h": "{:,.4f}", "USD/GPU-h": "{:,.4f}"}).hide(axis="index")

    def write_outputs(self, folder: str | Path = ".") -> list[Path]:
        """Write ``recommendations.csv`` and ``plan.json`` into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        csv = folder / "recommendations.csv"
        self.recommendations.to_csv(csv, index=False)
        plan = folder / "plan.json"
        plan.write_text(json.dumps({
            "quarter": self.quarter, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "parameters": self.params.to_dict(), "summary": self.summary,
            "purchases": json.loads(self.recommendations.to_json(orient="records")),
            "notes": self.notes}, indent=2, default=str))
        return [csv, plan]


def _commitment_row(catalog: pd.DataFrame, provider: str, region: str, instance_type: str, term: int) -> pd.Series:
    """The cheapest resource commitment (RI, reservation or resource CUD) for one pool and term, no upfront."""
    rows = catalog[(catalog["provider"] == provider) & (catalog["region"] == region)
                   & (catalog["instance_type"] == instance_type) & catalog["pricing_model"].isin(COMMITMENT_MODELS)
                   & (catalog["term_months"] == term)]
    no_up = rows[rows["payment_option"] == "no_upfront"]
    rows = no_up if len(no_up) else rows
    if rows.empty:
        raise FinopsError(f"the catalog has no {term}-month reserved/CUD rate for {provider} {region} "
                          f"{instance_type}; add one in a pricing override file (parameter 'pricing').")
    return rows.sort_values("usd_per_hour").iloc[0]


def quarterly_analysis(params: ReportParams, *, catalog: pd.DataFrame | None = None) -> QuarterlyAnalysis:
    """Run the report's analysis.

    Parameters
    ----------
    params : ReportParams
        Validated report parameters.
    catalog : pandas.DataFrame, optional
        Pricing catalog; default :func:`finops_forecast.pricing.load_pricing` with ``params.pricing`` overrides.

    Returns
    -------
    QuarterlyAnalysis
    """
    from finops_forecast.forecast import forecast
    from finops_forecast.pricing import check_pools, load_pricing, price
    from finops_forecast.usage.decompose import decompose
    from finops_forecast.usage.instances import instance_registry

    usage = load_report_usage(params)
    last = usage["ts"].max()
    quarter = params.quarter if params.quarter != "next" else next_quarter(last)
    start, end = quarter_bounds(quarter)
    if start <= last:
        raise FinopsError(f"parameter 'quarter': {quarter} starts on {start:%Y-%m-%d}, before the usage ends "
                          f"({last:%Y-%m-%d %H:%M}); plan a quarter after the history, e.g. {next_quarter(last)}.")
    if catalog is None:
        files = params.pricing_files()
        catalog = load_pricing(path=files) if files else load_pricing()
    pools = usage[POOL_KEYS].drop_duplicates().reset_index(drop=True)
    check_pools(catalog, pools)

    history = decompose(usage)
    horizon = int((end - last) / pd.Timedelta(hours=1)) - 1
    planned = None
    if params.planned_runs == "sample":
        from finops_forecast.usage.sample import sample_planned_runs
        planned = sample_planned_runs() if params.usage == "sample" else None
    elif params.planned_runs:
        planned = pd.read_csv(params.planned_runs, parse_dates=["start"])
    fc = forecast(usage, horizon, models="seasonal_naive", n_paths=params.n_paths, seed=params.seed,
                  planned_runs=planned)
    pool_fc = fc.pools()
    in_q = (pool_fc.ds >= start) & (pool_fc.ds < end)
    hours = int(in_q.sum())

    reg = instance_registry().set_index(["provider", "instance_type"])["gpu_count"]
    rows, prov = [], []
    for i, key in enumerate(pool_fc.keys[POOL_KEYS].itertuples(index=False)):
        provider, region, instance_type = key
        gpus = float(reg[(provider, instance_type)])
        demand = pool_fc.paths[i][:, in_q] / gpus  # [path, hour] instances
        od = price(catalog, provider, region, instance_type, "on_demand")
        com = _commitment_row(catalog, provider, region, instance_type, params.term_months)
        ratio = float(com["usd_per_hour"]) / od
        q = newsvendor_level(demand, ratio)
        covered = np.minimum(demand, q)
        od_cost = od * demand.sum(axis=1)                          # [path] USD
        cost = com["usd_per_hour"] * q * hours + od * (demand - covered).sum(axis=1)
        util = covered.sum(axis=1) / (q * hours) if q > 0 else np.full(len(demand), np.nan)
        rows.append({
            "provider": provider, "region": region, "instance_type": instance_type,
            "gpu_type": com["gpu_type"], "instrument": f"{com['commitment_family']}",
            "term_months": params.term_months, "payment_option": com["payment_option"],
            "commit_instances": int(q), "commit_gpus": q * gpus,
            "on_demand_usd_per_hour": od, "commit_usd_per_hour": float(com["usd_per_hour"]),
            "break_even_utilization": ratio,
            "monthly_commitment_usd": float(com["usd_per_hour"]) * q * 730.0,
            "expected_demand_instances": float(demand.mean()),
            "p10_demand_instances": float(np.quantile(demand, 0.1)),
            "expected_utilization": float(np.nanmean(util)) if q > 0 else np.nan,
            "p10_utilization": float(np.nanquantile(util, 0.1)) if q > 0 else np.nan,
            "coverage": float(covered.sum() / demand.sum()) if demand.sum() > 0 else 0.0,
            "on_demand_cost_usd": float(od_cost.mean()), "expected_cost_usd": float(cost.mean()),
            "savings_usd": float((od_cost - cost).mean()),
            "price_source": com["source"], "price_date": str(com["effective_date"])[:10],
            "price_is_assumption": bool(com["is_assumption"]),
        })
        od_row = catalog[(catalog["provider"] == provider) & (catalog["region"] == region)
                         & (catalog["instance_type"] == instance_type) & (catalog["pricing_model"] == "on_demand")]
        for r in (od_row.iloc[0], com):
            prov.append({"provider": provider, "region": region, "instance_type": instance_type,
                         "pricing_model": r["pricing_model"], "term_months": int(r["term_months"]),
                         "payment_option": r["payment_option"], "usd_per_hour": float(r["usd_per_hour"]),
                         "usd_per_gpu_hour": float(r["usd_per_gpu_hour"]),
                         "effective_date": str(r["effective_date"])[:10], "source": r["source"],
                         "is_assumption": bool(r["is_assumption"])})
    rec = pd.DataFrame(rows).sort_values("savings_usd", ascending=False).reset_index(drop=True)
    committed = rec[rec["commit_instances"] > 0]
    weights = committed["commit_instances"] * committed["commit_usd_per_hour"]
    summary = {
        "quarter": quarter, "hours": hours, "n_pools": len(rec), "n_purchases": int(len(committed)),
        "on_demand_cost_usd": float(rec["on_demand_cost_usd"].sum()),
        "expected_cost_usd": float(rec["expected_cost_usd"].sum()),
        "savings_usd": float(rec["savings_usd"].sum()),
        "effective_savings_rate": float(rec["savings_usd"].sum() / rec["on_demand_cost_usd"].sum()),
        "utilization": float(np.average(committed["expected_utilization"], weights=weights)) if len(committed)
        else float("nan"),
        "utilization_p10": float(np.average(committed["p10_utilization"], weights=weights)) if len(committed)
        else float("nan"),
        "min_break_even": float(committed["break_even_utilization"].min()) if len(committed) else float("nan"),
        "max_break_even": float(committed["break_even_utilization"].max()) if len(committed) else float("nan"),
        "monthly_commitment_usd": float(committed["monthly_commitment_usd"].sum()),
        "forecast_model": "seasonal_naive", "n_paths": params.n_paths,
    }
    notes = [f"Forecast: seasonal naive with {params.n_paths} sample paths from {fc.ds[0]:%Y-%m-%d} to "
             f"{fc.ds[-1]:%Y-%m-%d}."]
    if planned is not None and len(planned):
        notes.append(f"{len(planned)} planned runs added to the burst forecast.")
    return QuarterlyAnalysis(params=params, quarter=quarter, start=start, end=end, usage=usage, history=history,
                             forecast=fc, recommendations=rec, summary=summary,
                             provenance=pd.DataFrame(prov).drop_duplicates().reset_index(drop=True), notes=notes)


