"""The report section "Capacity for planned runs": how each planned run is held, its cost, the risk left.

Calls :func:`finops_forecast.portfolio.capacity.decide_capacity` (closed form per run: milliseconds) on the
report's planned runs, the catalog the analysis used and the capacity products (bundled plus the report's
``capacity_pricing`` file). User strings reach Markdown only through :func:`~finops_forecast.report.safe.md_text`
and tables through :func:`~finops_forecast.report.safe.safe_style`.
"""
from __future__ import annotations

import pandas as pd

from finops_forecast.report.safe import md_text, safe_style

TABLE_NAMES = {"run": "run", "option": "option", "feasible": "feasible", "why_not": "why not",
               "booked_hours": "booked [h]", "usd_per_gpu_hour": "USD/GPU-h", "fee_usd": "fee [USD]",
               "p_capacity": "P(capacity)", "expected_delay_usd": "expected delay [USD]",
               "expected_cost_usd": "expected cost [USD]"}


def report_planned_runs(params) -> pd.DataFrame | None:
    """The planned runs of a report run (the same rule as the analysis: ``"sample"`` only with the sample)."""
    if params.planned_runs == "sample":
        from finops_forecast.usage.sample import sample_planned_runs
        return sample_planned_runs() if params.usage == "sample" else None
    if params.planned_runs:
        return pd.read_csv(params.planned_runs, parse_dates=["start"])
    return None


def _line(d) -> str:
    held = d.kind in ("prepaid", "reservation")
    what = (f"**{md_text(d.held_by)}** ({d.purchases} purchase(s), {d.instances} instances, "
            f"{d.window_start:%Y-%m-%d} to {d.window_end:%Y-%m-%d}"
            + (f", bookable from {d.book_from:%Y-%m-%d}" if pd.notna(d.book_from) else "") + ")"
            if held else f"**{md_text(d.held_by)}**, no capacity bought")
    risk = ("none left on capacity once booked" if d.p_capacity >= 1 else
            f"{1 - d.p_capacity:.0%} chance the capacity is not there, expected delay cost "
            f"{d.expected_delay_usd:,.0f} USD")
    return (f"- **{md_text(d.run)}**: {d.gpus:,.0f} GPUs of {md_text(d.instance_type)} ({md_text(d.region)}), "
            f"{d.run_start:%Y-%m-%d} to {d.run_end:%Y-%m-%d}. Held by {what} at {d.usd_per_gpu_hour:,.2f} USD/GPU-h: "
            f"**{d.cost_usd:,.0f} USD** against {d.on_demand_cost_usd:,.0f} USD on demand "
            f"({d.on_demand_expected_usd:,.0f} USD expected with the on-demand availability risk); expected saving "
            f"{d.saving_vs_on_demand_usd:,.0f} USD. Risk left: {risk}. Given up: {md_text(d.given_up)}."
            + (" The price is an assumption (see its source below); enter your quote as a `capacity_pricing` row."
               if d.is_assumption and held else ""))


def capacity_section(params, catalog: pd.DataFrame, decided_on=None):
    """Markdown and option table of "Capacity for planned runs".

    Parameters
    ----------
    params : ReportParams
        ``planned_runs``, ``usage``, ``capacity_pricing``, ``capacity_delay_days``,
        ``capacity_delay_cost_usd_per_day`` (0: the run's on-demand cost per day).
    catalog : pandas.DataFrame
        The pricing catalog the analysis used.
    decided_on : timestamp, optional
        Day of the decision (the end of the usage), for booking lead times.

    Returns
    -------
    (markdown, table or None)
    """
    from finops_forecast.portfolio.capacity import AvailabilitySettings, decide_capacity
    from finops_forecast.pricing.capacity import load_capacity

    runs = report_planned_runs(params)
    if runs is None or runs.empty:
        return ("No planned runs were given (parameter `planned_runs`): nothing to hold. Give a CSV of runs "
                "(start, duration_hours, gpus, provider, region, instance_type, workload_class)."), None
    cap = load_capacity(params.capacity_pricing or None)
    per_day = params.capacity_delay_cost_usd_per_day or None
    settings = AvailabilitySettings(delay_days=params.capacity_delay_days, delay_cost_usd_per_day=per_day,
                                    decided_on=None if decided_on is None else pd.Timestamp(decided_on))
    decisions, options = decide_capacity(runs, catalog, cap, settings)
    delay = ("the run's on-demand cost per day" if per_day is None else f"{per_day:,.0f} USD per day")
    head = (f"Each planned run is held by the option of lowest expected cost: its fee plus, for capacity that is "
            f"not reserved, the chance it is not there times a delay of {params.capacity_delay_days:g} days at "
            f"{delay}. P(capacity) halves every 512 GPUs on demand and every 64 GPUs on spot (an assumption; "
            "docs/portfolio.md). Spot is priced at the run's own size (a 1,024-GPU run is 128 nodes).")
    table = options[list(TABLE_NAMES)].rename(columns=TABLE_NAMES)
    styled = safe_style(table, {"booked [h]": "{:,.0f}", "USD/GPU-h": "{:,.2f}", "fee [USD]": "{:,.0f}",
                                "P(capacity)": "{:.0%}", "expected delay [USD]": "{:,.0f}",
                                "expected cost [USD]": "{:,.0f}"})
    return "\n".join([head, ""] + [_line(d) for d in decisions.itertuples()]), styled
