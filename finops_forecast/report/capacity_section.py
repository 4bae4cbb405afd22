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


def decide_report_capacity(params, catalog: pd.DataFrame, runs: pd.DataFrame | None, decided_on=None,
                           discounts: pd.DataFrame | None = None):
    """How each planned run of the report is held: ``(decisions, options)`` of
    :func:`finops_forecast.portfolio.capacity.decide_capacity`, or None without planned runs.

    Rates follow the report's ``price_outlook`` over each run's window; ``discounts`` (owned or planned
    discount instruments with headroom, :func:`finops_forecast.portfolio.capacity.discount_for`) bill capacity
    reservations at their rate where given."""
    from finops_forecast.portfolio.capacity import AvailabilitySettings, decide_capacity
    from finops_forecast.pricing.capacity import load_capacity

    if runs is None or runs.empty:
        return None
    cap = load_capacity(params.capacity_pricing or None)
    settings = AvailabilitySettings(delay_days=params.capacity_delay_days,
                                    delay_cost_usd_per_day=params.capacity_delay_cost_usd_per_day or None,
                                    decided_on=None if decided_on is None else pd.Timestamp(decided_on))
    return decide_capacity(runs, catalog, cap, settings, discounts=discounts,
                           price_outlook=getattr(params, "price_outlook", "flat"))


#: columns of a capacity purchase line (beside the recommendation's own columns)
CAPACITY_LINE_COLUMNS = ["quarter", "quarter_start", "instrument", "family", "provider", "scope", "term_months",
                         "payment_option", "quantity", "unit", "gpu_capacity", "commitment_usd_per_hour",
                         "upfront_usd", "monthly_usd", "obligation_usd", "run", "window_start", "window_end",
                         "book_from", "purchases", "usd_per_gpu_hour", "is_assumption"]


def capacity_purchase_lines(decisions: pd.DataFrame | None) -> pd.DataFrame:
    """The capacity bought for planned runs as purchase lines (prepaid products and capacity reservations; runs
    left on demand or spot buy nothing). A prepaid product is paid upfront: its whole fee is the obligation
    [USD]; a capacity reservation is billed at the pool's rate (less the discount of a covering instrument, where
    one was given) over its window, the obligation too."""
    if decisions is None or decisions.empty:
        return pd.DataFrame(columns=CAPACITY_LINE_COLUMNS)
    held = decisions[decisions["kind"].isin(["prepaid", "reservation"])]
    rows = []
    for d in held.itertuples():
        hours = (d.window_end - d.window_start) / pd.Timedelta(hours=1)
        prepaid = d.kind == "prepaid"
        rows.append(dict(
            quarter=0, quarter_start=d.window_start, instrument=f"{d.held_by}:{d.region}:{d.instance_type}",
            family=d.held_by, provider=d.provider, scope=f"{d.provider} {d.region} {d.instance_type}",
            term_months=float("nan"), payment_option="all_upfront" if prepaid else "as_billed",
            quantity=float(d.instances), unit="instance", gpu_capacity=float(d.gpus),
            commitment_usd_per_hour=d.cost_usd / hours if hours > 0 else float("nan"),
            upfront_usd=d.cost_usd if prepaid else 0.0, monthly_usd=float("nan"), obligation_usd=d.cost_usd,
            run=d.run, window_start=d.window_start, window_end=d.window_end, book_from=d.book_from,
            purchases=int(d.purchases), usd_per_gpu_hour=d.usd_per_gpu_hour, is_assumption=bool(d.is_assumption)))
    return pd.DataFrame(rows, columns=CAPACITY_LINE_COLUMNS)


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


def capacity_section(params, catalog: pd.DataFrame, decided_on=None, decided=None):
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
    decided : (DataFrame, DataFrame), optional
        The decisions already made by the analysis (:func:`decide_report_capacity`); None decides here.

    Returns
    -------
    (markdown, table or None)
    """
    if decided is None:
        decided = decide_report_capacity(params, catalog, report_planned_runs(params), decided_on)
    if decided is None:
        return ("No planned runs were given (parameter `planned_runs`): nothing to hold. Give a CSV of runs "
                "(start, duration_hours, gpus, provider, region, instance_type, workload_class)."), None
    decisions, options = decided
    per_day = params.capacity_delay_cost_usd_per_day or None
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
