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
    """Daily history and forecast quantiles per workload class [GPU], for :func:`forecast_fan_chart`."""
    fc = analysis.forecast
    day = fc.ds.tz_convert(None).floor("D")
    rows = []
    for cls in sorted(fc.keys["workload_class"].unique()):
        idx = np.flatnonzero(fc.keys["workload_class"].to_numpy() == cls)
        paths = fc.paths[idx].sum(axis=0)  # [path, hour]
        daily = pd.DataFrame(paths.T).groupby(day).sum() / 24.0  # [day, path]
        q = np.quantile(daily.to_numpy(), [0.025, 0.1, 0.5, 0.9, 0.975], axis=1)
        rows.append(pd.DataFrame({"workload_class": cls, "day": daily.index, "lo95": q[0], "lo80": q[1],
                                  "median": q[2], "hi80": q[3], "hi95": q[4], "kind": "forecast"}))
    hist = _daily(analysis.usage, ["gpu_hours"], ["workload_class"]).rename(columns={"gpu_hours": "median"})
    hist = hist[hist["day"] >= hist["day"].max() - pd.Timedelta(days=days)].assign(kind="history")
    return pd.concat([hist, *rows], ignore_index=True)


def forecast_fan_chart(analysis, days: int = 90):
    """History and forecast fan (median, 80% and 95% intervals) per workload class [GPU]."""
    import altair as alt

    frame = fan_frame(analysis, days).assign(quarter_start=analysis.start.tz_convert(None))
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
        y="independent").properties(title=f"Forecast to the end of {analysis.quarter} (median, 80% and 95% "
                                          f"intervals; dashed: quarter start)")


def commitment_chart(recommendations: pd.DataFrame):
    """Per pool: the recommended commitment against expected and 10th-percentile demand [instances]."""
    import altair as alt

    rec = recommendations.assign(pool=recommendations["provider"] + " " + recommendations["instance_type"])
    long = rec.melt(id_vars=["pool"], value_vars=["commit_instances", "p10_demand_instances",
                                                  "expected_demand_instances"], var_name="measure",
                    value_name="instances")
    names = {"commit_instances": "commitment", "p10_demand_instances": "demand, 10th percentile",
             "expected_demand_instances": "demand, mean"}
    long["measure"] = long["measure"].map(names)
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("pool:N", title=None, sort="-x"),
        x=alt.X("instances:Q", title="instances"),
        yOffset="measure:N",
        color=alt.Color("measure:N", scale=alt.Scale(domain=list(names.values()),
                                                     range=["#1f4e79", "#9ecae1", "#c6dbef"]), title=None),
    ).properties(width=640, title="Recommended commitment per pool vs forecast hourly demand in the quarter")
