"""Altair charts of the report, rendered to inline SVG so the HTML opens offline with no script.

Every chart function is pure: it takes frames or the :class:`~finops_forecast.report.analysis.QuarterlyAnalysis`
and returns an ``altair.Chart``; :func:`show` displays one as SVG in a notebook, :func:`to_svg` returns the SVG.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

CLASS_COLORS = {"training": "#1f77b4", "inference": "#2ca02c", "experimentation": "#ff7f0e"}
PART_COLORS = {"baseline": "#1f4e79", "burst": "#9ecae1"}


def to_svg(chart) -> str:
    """Render an Altair chart to an SVG string with vl-convert (no browser, no network)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_dict())


def show(chart) -> None:
    """Display a chart in a notebook as inline SVG (what the HTML report embeds)."""
    from IPython.display import SVG, display

    display(SVG(to_svg(chart)))


def _daily(frame: pd.DataFrame, value_cols: list[str], by: list[str]) -> pd.DataFrame:
    """Daily mean GPUs in use: GPU-hours summed per day / 24 [GPU]."""
    day = frame["ts"].dt.tz_convert(None).dt.floor("D")
    out = frame.assign(day=day).groupby(by + ["day"], observed=True)[value_cols].sum() / 24.0
    return out.reset_index()


def demand_history_chart(history: pd.DataFrame, days: int = 120):
    """Demand history per workload class, split into baseline (the floor) and burst [GPU].

    Parameters
    ----------
    history : pandas.DataFrame
        Output of :func:`finops_forecast.usage.decompose.decompose`.
    days : int
        Days of history to show.
    """
    import altair as alt

    recent = history[history["ts"] >= history["ts"].max() - pd.Timedelta(days=days)]
    daily = _daily(recent, ["baseline", "burst"], ["workload_class"])
    long = daily.melt(id_vars=["workload_class", "day"], value_vars=["baseline", "burst"], var_name="part",
                      value_name="gpus")
    return alt.Chart(long).mark_area().encode(
        x=alt.X("day:T", title=None),
        y=alt.Y("gpus:Q", title="GPUs in use (daily mean)", stack="zero"),
        color=alt.Color("part:N", scale=alt.Scale(domain=list(PART_COLORS), range=list(PART_COLORS.values())),
                        title="part"),
        order=alt.Order("part:N", sort="ascending"),
    ).properties(width=760, height=130).facet(
        row=alt.Row("workload_class:N", title=None, sort=["inference", "training", "experimentation"])
    ).resolve_scale(y="independent").properties(title="Demand history: baseline (floor) and burst per class")


def fan_frame(analysis, days: int = 90) -> pd.DataFrame:
    """History and forecast quantiles per workload class [GPU] (daily, or weekly past 200 days of horizon): the
    analysis' ``forecast_fan`` (computed from the paths before they were dropped), or computed from
    ``analysis.forecast``'s paths when it has none."""
    from finops_forecast.report.results import forecast_fan

    fan = getattr(analysis, "forecast_fan", None)
    if fan is None:
        fan = forecast_fan(analysis.forecast)
    hist = _daily(analysis.usage, ["gpu_hours"], ["workload_class"]).rename(columns={"gpu_hours": "median"})
    hist = hist[hist["day"] >= hist["day"].max() - pd.Timedelta(days=days)].assign(kind="history")
    return pd.concat([hist, fan], ignore_index=True)


def forecast_fan_chart(analysis, days: int = 90):
    """History and forecast fan (median, 80% and 95% intervals) per workload class [GPU]."""
    import altair as alt

    frame = fan_frame(analysis, days).assign(quarter_start=analysis.start.tz_convert(None))
    quarters = int(analysis.params.quarters)
    last = analysis.start + pd.DateOffset(months=3 * quarters) - pd.Timedelta(days=1)
    base = alt.Chart().encode(x=alt.X("day:T", title=None))
    forecast_only = alt.datum.kind == "forecast"
    band95 = base.transform_filter(forecast_only).mark_area(opacity=0.18, color="#1f4e79").encode(
        y="lo95:Q", y2="hi95:Q")
    band80 = base.transform_filter(forecast_only).mark_area(opacity=0.3, color="#1f4e79").encode(
        y="lo80:Q", y2="hi80:Q")
    line = base.mark_line(strokeWidth=1.4).encode(
        y=alt.Y("median:Q", title="GPUs in use (daily mean)"),
        color=alt.Color("kind:N", scale=alt.Scale(domain=["history", "forecast"], range=["#333333", "#1f4e79"]),
                        title=None))
    start = alt.Chart().mark_rule(strokeDash=[4, 3], color="#b26a00").encode(x="min(quarter_start):T")
    layer = alt.layer(band95, band80, line, start).properties(width=760, height=140)
    return layer.facet(row=alt.Row("workload_class:N", title=None,
                                   sort=["inference", "training", "experimentation"]), data=frame).resolve_scale(
        y="independent").properties(title=f"Forecast to {last:%Y-%m-%d}, the end of the plan's {quarters} quarters "
                                          f"(median, 80% and 95% intervals; dashed: start of {analysis.quarter})")


def portfolio_stack_chart(plan):
    """GPU-hours per quarter served by reserved/CUD, savings plans, spot and on-demand [GPU-h]."""
    import altair as alt

    q = plan.quarters.assign(quarter_start=pd.to_datetime(plan.quarters["start"]).dt.tz_convert(None))
    parts = {"reserved_gpu_hours": "reserved / CUD", "savings_plan_gpu_hours": "savings plan",
             "spot_gpu_hours": "spot", "on_demand_gpu_hours": "on-demand"}
    long = q.melt(id_vars=["quarter_start"], value_vars=list(parts), var_name="part", value_name="gpu_hours")
    long["part"] = long["part"].map(parts)
    long["order"] = long["part"].map({v: i for i, v in enumerate(parts.values())})
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("yearquarter(quarter_start):O", title=None),
        y=alt.Y("gpu_hours:Q", title="GPU-hours in the quarter (expected)", stack="zero"),
        color=alt.Color("part:N", scale=alt.Scale(domain=list(parts.values()),
                                                  range=["#1f4e79", "#6baed6", "#fdae6b", "#d9d9d9"]), title=None),
        order=alt.Order("order:Q"),
    ).properties(width=760, height=260, title="How demand is served, quarter by quarter (the plan)")


def ladder_chart(plan, prices: pd.Series):
    """Commitments held per quarter by family, already owned (expiring) vs planned [USD/h].

    Parameters
    ----------
    plan : Plan
    prices : pandas.Series
        Instrument id -> price of one unit [USD/h per instance; 1 for spend plans counted in USD/h].
    """
    import altair as alt

    lad = plan.ladder.assign(quarter_start=pd.to_datetime(plan.ladder["quarter_start"]).dt.tz_convert(None))
    unit_price = lad["instrument"].map(prices).astype(float)
    lad = lad.assign(owned_usd=lad["owned"] * unit_price, planned_usd=lad["planned"] * unit_price)
    agg = lad.groupby(["quarter_start", "family"], as_index=False)[["owned_usd", "planned_usd"]].sum()
    long = pd.concat([agg.assign(kind="already owned", value=agg["owned_usd"]),
                      agg.assign(kind="planned", value=agg["planned_usd"])])
    long = long[long["value"] > 1e-9]
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("yearquarter(quarter_start):O", title=None),
        y=alt.Y("sum(value):Q", title="commitments held [USD/h]"),
        color=alt.Color("family:N", title="family"),
        opacity=alt.Opacity("kind:N", scale=alt.Scale(domain=["already owned", "planned"], range=[0.45, 1.0]),
                            title=None),
    ).properties(width=760, height=240, title="Commitment ladder: what is held each quarter, by family "
                                              "(faded: already owned, ending with its term)")


def savings_curve_chart(plan):
    """Expected savings against the size of the commitment, with the recommended point marked [USD]."""
    import altair as alt

    curve = plan.savings_curve
    line = alt.Chart(curve).mark_line(point=True, color="#1f4e79").encode(
        x=alt.X("commitment_usd_per_hour:Q", title="commitments bought now, scaled [USD/h]"),
        y=alt.Y("savings_usd:Q", title="expected savings over the horizon [USD]"),
        tooltip=["factor", "commitment_usd_per_hour", "savings_usd", "cvar_usd"])
    rec = alt.Chart(curve[curve["recommended"]]).mark_point(size=260, shape="diamond", filled=True,
                                                            color="#b26a00").encode(
        x="commitment_usd_per_hour:Q", y="savings_usd:Q")
    label = alt.Chart(curve[curve["recommended"]]).mark_text(dx=12, dy=-12, align="left", color="#b26a00").encode(
        x="commitment_usd_per_hour:Q", y="savings_usd:Q", text=alt.value("recommended"))
    return (line + rec + label).properties(width=600, height=260,
                                           title="Savings versus commitment (the plan's purchases scaled)")


def frontier_chart(plan):
    """Cost-risk frontier: expected cost against the risk the weight lambda penalizes, as lambda grows [USD].

    The x axis is what the plan's ``risk_measure`` weighs: the expected unused commitment (the default), its
    CVaR, or the CVaR of total cost."""
    import altair as alt

    fr = plan.frontier.assign(label=lambda f: "λ=" + f["risk_lambda"].map("{:g}".format))
    measure = plan.settings.get("risk_measure", "expected_unused")
    if measure == "expected_unused" and "expected_unused_usd" in fr:
        x, title = "expected_unused_usd", "expected unused commitment [USD]"
    elif measure == "unused" and "cvar_unused_usd" in fr:
        x, title = "cvar_unused_usd", f"CVaR of unused commitment (worst {1 - plan.alpha:.0%} of paths) [USD]"
    else:
        x, title = "cvar_usd", f"CVaR of cost (worst {1 - plan.alpha:.0%} of paths) [USD]"
    base = alt.Chart(fr).encode(x=alt.X(f"{x}:Q", title=title, scale=alt.Scale(zero=False)),
                                y=alt.Y("expected_cost_usd:Q", title="expected cost [USD]",
                                        scale=alt.Scale(zero=False)))
    chosen = fr[np.isclose(fr["risk_lambda"], plan.risk_lambda)]
    return (base.mark_line(point=True, color="#1f4e79")
            + base.mark_text(dx=8, dy=-8, align="left").encode(text="label:N")
            + alt.Chart(chosen).mark_point(size=260, shape="diamond", filled=True, color="#b26a00").encode(
                x=f"{x}:Q", y="expected_cost_usd:Q")).properties(
        width=600, height=260, title="Cost-risk frontier (diamond: the chosen risk weight)")
