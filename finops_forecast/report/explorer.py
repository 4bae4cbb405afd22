"""The demand explorer notebook's library: slice GPU usage by pool, workload class and team."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from finops_forecast.notebook_params import NotebookParams, param
from finops_forecast.report.params import ReportParamsError

DIMENSIONS = ("workload_class", "team", "provider", "instance_type")


@dataclass(frozen=True)
class ExplorerParams(NotebookParams):
    """Parameters of ``demand_explorer.ipynb``.

    Parameters
    ----------
    usage : str
        ``"sample"`` or a usage table / FOCUS export path.
    providers, workload_classes, teams : str
        Comma-separated filters; ``""`` keeps all.
    by : str
        Dimension the charts split by: one of :data:`DIMENSIONS`.
    days : int
        Days of history shown, >= 1.
    """

    usage: str = param("sample", 'usage table or FOCUS export (CSV/Parquet path), or "sample" for the bundled '
                                 'sample fleet')
    providers: str = param("", "providers to include, comma-separated; empty for all")
    workload_classes: str = param("", "workload classes to include, comma-separated; empty for all")
    teams: str = param("", "teams to include, comma-separated; empty for all")
    by: str = param("workload_class",
                    "dimension to split the charts by: workload_class, team, provider or instance_type")
    days: int = param(90, "days of history to show")

    def validate(self) -> None:
        from pathlib import Path

        from finops_forecast.errors import suggest
        if self.by not in DIMENSIONS:
            raise ReportParamsError(f"parameter 'by': '{self.by}' is not a dimension.{suggest(self.by, DIMENSIONS)} "
                                    f"Use one of {list(DIMENSIONS)}.")
        if self.days < 1:
            raise ReportParamsError(f"parameter 'days' = {self.days} must be >= 1.")
        if self.usage != "sample" and not Path(self.usage).exists():
            raise ReportParamsError(f"parameter 'usage': file '{self.usage}' does not exist.")


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def load(params: ExplorerParams) -> pd.DataFrame:
    """The usage table, filtered as the parameters say; an empty result is an error naming the filters.

    Through :func:`~finops_forecast.usage.load.load_usage` (providers and workload classes), then the teams.
    """
    from finops_forecast.usage.load import load_usage

    usage, _ = load_usage(params.usage, providers=params.providers, workload_classes=params.workload_classes)
    teams = _split(params.teams)
    if teams:
        usage = usage[usage["team"].isin(teams)]
    if usage.empty:
        raise ReportParamsError("no usage left after the filters providers/workload_classes/teams; loosen them.")
    return usage.reset_index(drop=True)


def summary_table(usage: pd.DataFrame, by: str) -> pd.DataFrame:
    """GPU-hours [GPU-h], average and peak GPUs in use [GPU] and share of total, per value of ``by``."""
    hourly = usage.groupby([by, "ts"])["gpu_hours"].sum()
    out = hourly.groupby(level=0).agg(gpu_hours="sum", mean_gpus="mean", peak_gpus="max")
    out["share"] = out["gpu_hours"] / out["gpu_hours"].sum()
    return out.sort_values("gpu_hours", ascending=False).reset_index()


def usage_chart(usage: pd.DataFrame, by: str, days: int = 90):
    """Daily mean GPUs in use, stacked by ``by`` [GPU]."""
    import altair as alt

    recent = usage[usage["ts"] >= usage["ts"].max() - pd.Timedelta(days=days)]
    daily = (recent.assign(day=recent["ts"].dt.tz_convert(None).dt.floor("D"))
             .groupby([by, "day"])["gpu_hours"].sum() / 24.0).rename("gpus").reset_index()
    return alt.Chart(daily).mark_area().encode(
        x=alt.X("day:T", title=None), y=alt.Y("gpus:Q", title="GPUs in use (daily mean)", stack="zero"),
        color=alt.Color(f"{by}:N", title=by)).properties(width=760, height=280,
                                                         title=f"GPUs in use by {by.replace('_', ' ')}")


def heatmap_chart(usage: pd.DataFrame, days: int = 90):
    """Mean GPUs in use by hour of day (UTC) and day of week: where the daily and weekly cycles are [GPU]."""
    import altair as alt

    recent = usage[usage["ts"] >= usage["ts"].max() - pd.Timedelta(days=days)]
    hourly = recent.groupby("ts")["gpu_hours"].sum().reset_index()
    hourly["hour"] = hourly["ts"].dt.hour
    hourly["weekday"] = hourly["ts"].dt.day_name().str[:3]
    grid = hourly.groupby(["weekday", "hour"], as_index=False)["gpu_hours"].mean()
    return alt.Chart(grid).mark_rect().encode(
        x=alt.X("hour:O", title="hour of day (UTC)"),
        y=alt.Y("weekday:N", sort=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], title=None),
        color=alt.Color("gpu_hours:Q", title="GPUs in use", scale=alt.Scale(scheme="blues")),
    ).properties(width=640, height=200, title="Mean GPUs in use by hour and weekday")
