"""The showback orchestrator and the quarterly report's unit-economics section."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from finops_forecast.constants import HOURS_PER_MONTH
from finops_forecast.showback.common import IDLE, UNALLOCATED, ShowbackError, period_bounds, week_start
from finops_forecast.showback.guardrails import FLAG_COLUMNS, flag_overruns, flag_unit_cost_rises
from finops_forecast.showback.idle import idle_cost, idle_resources
from finops_forecast.showback.metrics import attribute_metrics
from finops_forecast.showback.priced import breakdown, price_usage, top_cost_drivers
from finops_forecast.showback.rightsizing import rightsizing_hints
from finops_forecast.showback.units import (
    attribute_runs,
    cost_per_inference,
    run_costs,
    week_over_week,
    weekly_unit_costs,
)


@dataclass(frozen=True)
class ShowbackResult:
    """Showback of one period.

    Attributes
    ----------
    period : str
    start, end : pandas.Timestamp
        Period bounds, UTC, end exclusive.
    priced : pandas.DataFrame
        Priced usage rows of the period (``price_usage``).
    by_team, by_model, by_class : pandas.DataFrame
        ``breakdown`` of the period by team x workload class, team x model x class (models from a ``model``
        column, else from the run records via ``attribute_runs``, else ``__unallocated__``), and class.
    weekly : pandas.DataFrame
        Cost and GPU-hours per week x team, ``usd_per_gpu_hour``, ``hours`` observed in the week, ``previous``
        and ``wow_change`` of the cost, ``rate_previous`` and ``rate_wow_change`` of the USD/GPU-h (changes are
        NaN unless both weeks are complete, 168 h).
    top_drivers : pandas.DataFrame
        Largest cost lines (team x pool x class) with owner and share.
    statements : pandas.DataFrame
        One business sentence per team x model x class: ``text``, ``usd_per_month`` [USD/month] (the period's
        cost for a whole month, a third of it for a quarter, scaled by 730 h a month for a partly covered period),
        ``usd_per_prediction`` [USD] where request counts were given.
    inference : pandas.DataFrame or None
        ``cost_per_inference`` per week, when requests were given.
    runs, unit_costs : pandas.DataFrame or None
        ``run_costs`` and ``weekly_unit_costs``, when runs were given.
    idle, idle_resources : pandas.DataFrame or None
        ``idle_cost`` by team x class and ``idle_resources``, when GPU metrics were given.
    rightsizing : pandas.DataFrame or None
        ``rightsizing_hints``, when GPU metrics were given.
    flags : pandas.DataFrame
        Guardrail flags (run overruns, unit-cost rises), ``FLAG_COLUMNS``.
    total_cost, unallocated_cost : float
        Period cost and the part with no owner (team ``__unallocated__``) [USD].
    idle_share : float or None
        gpu_cost_idle / gpu_cost over the metered GPUs (None without metrics).
    notes : tuple of str
        What was assumed or could not be computed.
    """

    period: str
    start: pd.Timestamp
    end: pd.Timestamp
    priced: pd.DataFrame
    by_team: pd.DataFrame
    by_model: pd.DataFrame
    by_class: pd.DataFrame
    weekly: pd.DataFrame
    top_drivers: pd.DataFrame
    statements: pd.DataFrame
    flags: pd.DataFrame
    total_cost: float
    unallocated_cost: float
    inference: pd.DataFrame | None = None
    runs: pd.DataFrame | None = None
    unit_costs: pd.DataFrame | None = None
    idle: pd.DataFrame | None = None
    idle_resources: pd.DataFrame | None = None
    rightsizing: pd.DataFrame | None = None
    idle_share: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """A few lines in business terms."""
        lines = [f"GPU spend {self.period}: {self.total_cost:,.0f} USD over "
                 f"{self.priced['gpu_hours'].sum():,.0f} GPU-h; unallocated {self.unallocated_cost:,.0f} USD "
                 f"({self.unallocated_cost / self.total_cost:.1%})." if self.total_cost else
                 f"GPU spend {self.period}: none."]
        if self.idle_share is not None:
            lines.append(f"Idle share of the metered GPUs: {self.idle_share:.1%} "
                         f"({self.idle['gpu_cost_idle'].sum():,.0f} USD of {self.idle['gpu_cost'].sum():,.0f} USD).")
        lines += list(self.statements["text"].head(8))
        lines += list(self.flags["message"].head(8))
        return "\n".join(lines)


def _weekly(priced_all: pd.DataFrame, start, end) -> pd.DataFrame:
    first = week_start(pd.Series([start]))[0] - pd.Timedelta(days=7)  # the week before, whole, for the change
    df = priced_all[(priced_all["ts"] >= first) & (priced_all["ts"] < end)]
    df = df.assign(week=week_start(df["ts"]))
    hours = df.groupby("week")["ts"].nunique().rename("hours")
    w = df.groupby(["week", "team"])[["gpu_hours", "gpu_cost"]].sum().reset_index()
    w = w.merge(hours, on="week")
    w["usd_per_gpu_hour"] = w["gpu_cost"] / w["gpu_hours"].where(w["gpu_hours"] > 0)
    w = week_over_week(w, ["team"], value="usd_per_gpu_hour").rename(
        columns={"previous": "rate_previous", "wow_change": "rate_wow_change"})
    w = week_over_week(w, ["team"], value="gpu_cost")
    prev_hours = w[["week", "hours"]].drop_duplicates().assign(week=lambda d: d["week"] + pd.Timedelta(days=7))
    w = w.merge(prev_hours.rename(columns={"hours": "prev_hours"}), on="week", how="left")
    partial = (w["hours"] < 168) | (w["prev_hours"] < 168) | w["prev_hours"].isna()
    w.loc[partial, ["wow_change", "rate_wow_change"]] = np.nan
    w = w.drop(columns="prev_hours")
    return w[w["week"] + pd.Timedelta(days=7) > start].reset_index(drop=True)


def _statements(priced: pd.DataFrame, inference: pd.DataFrame | None, months: float) -> pd.DataFrame:
    df = priced if "model" in priced.columns else priced.assign(model=UNALLOCATED)
    g = df.groupby(["team", "model", "workload_class"])[["gpu_hours", "gpu_cost"]].sum().reset_index()
    g["usd_per_month"] = g["gpu_cost"] / months
    g["usd_per_prediction"] = np.nan
    if inference is not None and len(inference):
        key = inference["key"].iloc[0]
        per = inference.groupby("name")[["gpu_cost", "requests"]].sum()
        unit = (per["gpu_cost"] / per["requests"]).to_dict()
        col = "model" if key == "model" else "team"
        mask = g["workload_class"] == "inference"
        g.loc[mask, "usd_per_prediction"] = g.loc[mask, col].map(unit)
    texts = []
    for r in g.itertuples():
        what = f"{r.model} model" if r.model != UNALLOCATED else f"{r.workload_class}"
        verb = " to serve" if r.workload_class == "inference" else ""
        who = "Unallocated usage (no team label)" if r.team == UNALLOCATED else f"team {r.team}'s {what}"
        t = f"{who} costs {r.usd_per_month:,.0f} USD/month{verb} ({r.gpu_hours:,.0f} GPU-h, " \
            f"{r.gpu_cost / r.gpu_hours if r.gpu_hours else float('nan'):.2f} USD/GPU-h)"
        if r.usd_per_prediction == r.usd_per_prediction:
            t += f", {r.usd_per_prediction:.4g} USD per prediction"
        texts.append(t[0].upper() + t[1:] + ".")
    g["text"] = texts
    return g.sort_values("gpu_cost", ascending=False, kind="stable").reset_index(drop=True)


def showback(usage: pd.DataFrame, catalog: pd.DataFrame | None = None, *, period: str,
             metrics: pd.DataFrame | None = None, inventory: pd.DataFrame | None = None,
             owners: pd.DataFrame | None = None, runs: pd.DataFrame | None = None,
             requests: pd.DataFrame | None = None, bill_column: str | None = "effective_cost",
             idle_threshold_pct: float = 5.0, idle_min_hours: float = 2.0, overrun_factor: float = 3.0,
             rise_threshold: float = 0.20, rightsize_util_pct: float = 15.0, top: int = 10) -> ShowbackResult:
    """Showback of one period: priced usage by team, model and class, unit costs, idle cost and guardrails.

    Parameters
    ----------
    usage : pandas.DataFrame
        Usage table (optionally with ``model`` and FOCUS cost columns).
    catalog : pandas.DataFrame, optional
        Pricing catalog (needed unless every row carries a bill cost and no metrics/runs are given).
    period : str
        Month ``YYYY-MM`` or quarter ``YYYYQn``.
    metrics : pandas.DataFrame, optional
        GPU metrics (a reader's output, or already attributed); needs ``inventory`` unless attributed.
    inventory, owners : pandas.DataFrame, optional
        See :func:`~finops_forecast.showback.metrics.attribute_metrics`.
    runs : pandas.DataFrame or path, optional
        Run records (validated by :func:`~finops_forecast.showback.units.read_runs` when raw).
    requests : pandas.DataFrame, optional
        Request counts (ts, model or team, requests) for cost per 1,000 inferences.
    idle_threshold_pct, idle_min_hours : float
        Idle-resource rule: under this utilization [%] for at least this long [h].
    overrun_factor, rise_threshold : float
        Guardrails: spend > factor x estimate; unit cost up more than this share week over week.
    rightsize_util_pct : float
        Utilization [%] under which a large-GPU inference pool gets a rightsizing hint.
    top : int
        Number of top cost drivers.

    Returns
    -------
    ShowbackResult

    Raises
    ------
    ShowbackError
        When the period has no usage, or an input is malformed (see the readers).
    """
    start, end = period_bounds(period)
    priced_all = price_usage(usage, catalog, bill_column=bill_column)
    priced = priced_all[(priced_all["ts"] >= start) & (priced_all["ts"] < end)].reset_index(drop=True)
    if priced.empty:
        raise ShowbackError(f"no usage in period {period}; the usage runs from {usage['ts'].min()} to "
                            f"{usage['ts'].max()}. Pick a period inside it.", column="period")
    months, notes = _period_months(priced, period, start, end)
    total = float(priced["gpu_cost"].sum())
    unalloc = float(priced.loc[priced["team"] == UNALLOCATED, "gpu_cost"].sum())
    if runs is not None and (not isinstance(runs, pd.DataFrame)
                             or not {"gpu_hours", "running", "model_family"} <= set(runs.columns)):
        from finops_forecast.showback.units import read_runs
        runs = read_runs(runs)  # raw run records (a path or an unvalidated frame)
    by_model_src, note = _model_source(priced, runs)
    if note:
        notes.append(note)
    inference = None if requests is None else _inference(priced_all, requests, start, end)
    weekly = _weekly(priced_all, start, end)
    flags, rc, uc = _flags(weekly, inference, runs, catalog, start, end, rise_threshold, overrun_factor)
    idle, idle_res, hints, share, note = _idle(metrics, inventory, owners, catalog, period, start, end,
                                               idle_threshold_pct, idle_min_hours, rightsize_util_pct)
    if note:
        notes.append(note)
    return ShowbackResult(
        period=str(period), start=start, end=end, priced=priced,
        by_team=breakdown(priced, by=["team", "workload_class"]),
        by_model=breakdown(by_model_src, by=["team", "model", "workload_class"]),
        by_class=breakdown(priced, by=["workload_class"]), weekly=weekly,
        top_drivers=top_cost_drivers(priced, n=top), statements=_statements(priced, inference, months),
        flags=flags, total_cost=total, unallocated_cost=unalloc, inference=inference, runs=rc, unit_costs=uc,
        idle=idle, idle_resources=idle_res, rightsizing=hints, idle_share=share, notes=tuple(notes))


# the steps of showback


def _period_months(priced: pd.DataFrame, period: str, start, end) -> tuple[float, list]:
    """How many months the period's cost stands for, and a note when the usage covers the period in part.

    A whole calendar month counts as one month, a quarter as three, a partly covered period by 730 h a month.
    """
    hours = float((min(end, priced["ts"].max() + pd.Timedelta(hours=1)) - max(start, priced["ts"].min()))
                  / pd.Timedelta(hours=1))
    notes = []
    period_hours = (end - start) / pd.Timedelta(hours=1)
    months = (1.0 if "Q" not in str(period).upper() else 3.0) if hours >= period_hours else hours / HOURS_PER_MONTH
    if hours < period_hours:
        notes.append(f"the usage covers {hours:,.0f} h of the period; USD/month figures are scaled from them "
                     f"(730 h a month).")
    return months, notes


def _model_source(priced: pd.DataFrame, runs: pd.DataFrame | None) -> tuple[pd.DataFrame, str]:
    """The priced usage with a ``model`` column for the by-model breakdown (from the usage, else from the run
    records), and a note saying where it came from ("" when the usage has one)."""
    if "model" in priced.columns:
        return priced, ""
    if runs is not None:
        return (attribute_runs(priced, runs),
                "cost by model comes from the run records; usage no run explains is __unallocated__.")
    return priced, ("the usage has no model column: cost by model is all __unallocated__ (add a model tag or "
                    "give run records).")


def _inference(priced_all: pd.DataFrame, requests, start, end) -> pd.DataFrame:
    """Cost per 1,000 inferences per week of the period (and the week before it, for the change); no
    week-over-week change where either week is covered in part."""
    first = week_start(pd.Series([start]))[0] - pd.Timedelta(days=7)
    req = requests
    if not isinstance(req, pd.DataFrame):
        from finops_forecast.showback.io import _csv
        req = _csv(str(requests), "requests")
        req.attrs["source"] = str(requests)
    inference = cost_per_inference(priced_all[(priced_all["ts"] >= first) & (priced_all["ts"] < end)], req,
                                   source=req.attrs.get("source"))
    # a week the usage covers only in part has a partial cost: no week-over-week change there
    week_hours = priced_all.assign(week=week_start(priced_all["ts"])).groupby("week")["ts"].nunique()
    whole = inference["week"].map(week_hours).fillna(0).ge(168) & \
        (inference["week"] - pd.Timedelta(days=7)).map(week_hours).fillna(0).ge(168)
    inference.loc[~whole.to_numpy(), "wow_change"] = np.nan
    return inference[inference["week"] + pd.Timedelta(days=7) > start].reset_index(drop=True)


def _flags(weekly, inference, runs, catalog, start, end, rise_threshold: float, overrun_factor: float):
    """Guardrail flags (``FLAG_COLUMNS``): team USD/GPU-h rises, inference unit-cost rises, run overruns and run
    unit-cost rises; with the run costs and weekly unit costs (None without runs)."""
    rate = weekly.drop(columns=["previous", "wow_change"]).rename(
        columns={"rate_previous": "previous", "rate_wow_change": "wow_change"})
    flag_frames = [flag_unit_cost_rises(rate, value="usd_per_gpu_hour", name_col="team", threshold=rise_threshold,
                                        unit="USD/GPU-h")]
    if inference is not None:
        flag_frames.append(flag_unit_cost_rises(inference, threshold=rise_threshold, unit="USD/1k"))
    rc = uc = None
    if runs is not None:
        rc = run_costs(runs, catalog)
        uc = weekly_unit_costs(rc)
        flag_frames.append(flag_overruns(rc, factor=overrun_factor))
        if len(uc):
            flag_frames.append(flag_unit_cost_rises(uc[(uc["week"] >= start - pd.Timedelta(days=6))
                                                       & (uc["week"] < end)], threshold=rise_threshold))
    flags = pd.concat([f for f in flag_frames if len(f)], ignore_index=True) if any(len(f) for f in flag_frames) \
        else pd.DataFrame(columns=FLAG_COLUMNS)
    return flags, rc, uc


def _idle(metrics, inventory, owners, catalog, period, start, end, idle_threshold_pct: float,
          idle_min_hours: float, rightsize_util_pct: float):
    """Idle cost by team x class, idle resources, rightsizing hints and the idle share from GPU metrics (all
    None without them), and a note ("" when there is nothing to say)."""
    if metrics is None:
        return None, None, None, None, ("no GPU utilization metrics given: idle cost, idle resources and "
                                        "rightsizing need DCGM or nvidia-smi metrics.")
    att = metrics if "owner_source" in metrics.columns else (
        attribute_metrics(metrics, inventory, owners) if inventory is not None else None)
    if att is None:
        raise ShowbackError("GPU metrics need an inventory (uuid -> provider, region, instance_type) to be "
                            "priced; pass inventory=.", column="inventory")
    att_p = att[(att["ts"] >= start) & (att["ts"] < end)]
    if att_p.empty:
        raise ShowbackError(f"the GPU metrics ({att['ts'].min()} to {att['ts'].max()}) have no sample in "
                            f"period {period}.", column="period")
    idle = idle_cost(att_p, catalog)
    idle_res = idle_resources(att_p, catalog, threshold_pct=idle_threshold_pct, min_hours=idle_min_hours)
    hints = rightsizing_hints(att_p, catalog, util_threshold_pct=rightsize_util_pct)
    share = float(idle["gpu_cost_idle"].sum() / idle["gpu_cost"].sum())
    note = "__idle__ is the cost of metered GPUs that no pod held." if (idle["team"] == IDLE).any() else ""
    return idle, idle_res, hints, share, note


def charts(result: ShowbackResult) -> dict:
    """Altair charts of a showback: weekly cost by team (stacked), cost by team x class, idle cost by team."""
    import altair as alt

    out = {}
    w = result.weekly.copy()
    top = result.by_team.groupby("team")["gpu_cost"].sum().nlargest(8).index
    w["team"] = np.where(w["team"].isin(top), w["team"], "other")
    w = w.groupby(["week", "team"], as_index=False)["gpu_cost"].sum()
    w["week"] = w["week"].dt.tz_convert(None).dt.strftime("%Y-%m-%d")  # one bar per week, labelled by its Monday
    out["weekly_cost"] = alt.Chart(w, title="GPU cost per week by team [USD]").mark_bar().encode(
        x=alt.X("week:O", title="week starting (Monday)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("gpu_cost:Q", title="USD"),
        color=alt.Color("team:N"), tooltip=["week:N", "team:N", alt.Tooltip("gpu_cost:Q", format=",.0f")]
    ).properties(width=max(320, 90 * w["week"].nunique()))
    b = result.by_team.head(30)
    out["cost_by_team"] = alt.Chart(b, title=f"GPU cost {result.period} by team and class [USD]").mark_bar().encode(
        y=alt.Y("team:N", sort="-x"), x=alt.X("gpu_cost:Q", title="USD"), color="workload_class:N",
        tooltip=["team:N", "workload_class:N", alt.Tooltip("gpu_cost:Q", format=",.0f")])
    if result.idle is not None:
        i = result.idle.groupby("team", as_index=False)[["gpu_cost", "gpu_cost_idle"]].sum()
        i = i.assign(used=i["gpu_cost"] - i["gpu_cost_idle"]).melt(
            id_vars="team", value_vars=["used", "gpu_cost_idle"], var_name="part", value_name="usd")
        out["idle_cost"] = alt.Chart(i, title="Metered GPU cost: used vs idle [USD]").mark_bar().encode(
            y=alt.Y("team:N", sort="-x"), x=alt.X("usd:Q", title="USD"), color="part:N",
            tooltip=["team:N", "part:N", alt.Tooltip("usd:Q", format=",.0f")])
    if result.inference is not None and len(result.inference):
        inf = result.inference.assign(week=result.inference["week"].dt.tz_convert(None))
        out["cost_per_1k"] = alt.Chart(inf, title="Cost per 1,000 inferences [USD]").mark_line(point=True).encode(
            x="week:T", y=alt.Y("usd_per_1k_inferences:Q", title="USD per 1,000"), color="name:N")
    return out


def report_section(usage: pd.DataFrame, catalog: pd.DataFrame | None = None, *, period: str,
                   **kwargs) -> tuple[dict[str, pd.DataFrame], dict]:
    """The quarterly report's unit-economics section: tables and Altair charts from :func:`showback`.

    Parameters
    ----------
    usage, catalog, period
        As :func:`showback` (``period`` may be a quarter such as ``2026Q4``).
    **kwargs
        Passed to :func:`showback` (metrics, inventory, owners, runs, requests, thresholds).

    Returns
    -------
    (tables, charts) : (dict of str -> pandas.DataFrame, dict of str -> altair.Chart)
        Tables ``summary`` (one row: period, total_cost_usd, unallocated_cost_usd, idle_share, gpu_hours),
        ``statements``, ``by_team``, ``top_drivers``, ``weekly``, ``flags`` and, when their inputs were given,
        ``inference``, ``unit_costs``, ``idle``, ``idle_resources``, ``rightsizing``. Charts ``weekly_cost``,
        ``cost_by_team`` and, with inputs, ``idle_cost``, ``cost_per_1k``.
    """
    res = showback(usage, catalog, period=period, **kwargs)
    tables = {
        "summary": pd.DataFrame([{"period": res.period, "total_cost_usd": res.total_cost,
                                  "unallocated_cost_usd": res.unallocated_cost, "idle_share": res.idle_share,
                                  "gpu_hours": float(res.priced["gpu_hours"].sum()),
                                  "notes": " ".join(res.notes)}]),
        "statements": res.statements[["team", "model", "workload_class", "usd_per_month", "usd_per_prediction",
                                      "text"]],
        "by_team": res.by_team, "top_drivers": res.top_drivers, "weekly": res.weekly, "flags": res.flags,
    }
    for name in ("inference", "unit_costs", "idle", "idle_resources", "rightsizing"):
        if getattr(res, name) is not None:
            tables[name] = getattr(res, name)
    return tables, charts(res)
