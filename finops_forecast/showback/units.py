"""Unit metrics: cost per run, per experiment and per 1,000 inferences, week by week with the change."""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.errors import suggest
from finops_forecast.showback.common import UNALLOCATED, ShowbackError, first_row, week_start
from finops_forecast.showback.priced import pool_rates
from finops_forecast.usage.schema import POOL_KEYS, parse_numbers, parse_timestamps

RUN_COLUMNS = ["run_id", "team", "start", "gpus", "provider", "region", "instance_type"]


def read_runs(runs, *, now=None, source=None) -> pd.DataFrame:
    """Read and validate training / experiment run records.

    Parameters
    ----------
    runs : path or pandas.DataFrame
        One row per run (or per segment of a run that was restarted): ``run_id``, ``team``, ``start``, ``end``
        (empty while running), ``gpus`` [GPU], ``provider``, ``region``, ``instance_type``; optional ``model``,
        ``model_family``, ``experiment``, ``workload_class`` (default ``training``).
    now : timestamp, optional
        End of running runs (default: the latest start or end in the file).

    Returns
    -------
    pandas.DataFrame
        The runs with UTC ``start``/``end``, ``running`` (bool), ``hours`` [h], ``gpu_hours`` [GPU-h], ``model``
        and ``experiment`` (``__unallocated__`` when absent), ``model_family`` (the model name without a trailing
        version such as ``-v3`` or ``-7b`` unless given).

    Raises
    ------
    ShowbackError
        On missing columns, unreadable times or GPU counts, an end before its start, or two records of the same
        run that overlap in time (a run counted twice), naming the rows.
    """
    if not isinstance(runs, pd.DataFrame):
        source = str(runs)
        try:
            runs = pd.read_csv(runs, dtype=str, keep_default_na=False)
        except (OSError, pd.errors.EmptyDataError) as exc:
            raise ShowbackError(f"cannot read the run file ({exc}).", path=source) from None
    df = runs.copy().reset_index(drop=True)
    missing = [c for c in RUN_COLUMNS if c not in df.columns]
    if missing:
        raise ShowbackError(f"the run file is missing column(s) {missing}; expected {RUN_COLUMNS} + end, found "
                            f"{list(df.columns)}.", path=source, column=missing[0])
    df["start"] = parse_timestamps(df["start"], column="start", source=source)
    end_text = df["end"].astype("string").str.strip() if "end" in df.columns else pd.Series(pd.NA, index=df.index)
    running = (end_text.isna() | (end_text == "")).to_numpy()
    end = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]")
    if (~running).any():
        end[~running] = parse_timestamps(df.loc[~running, "end"], column="end", source=source)
    now = (pd.Timestamp(now).tz_localize("UTC") if now is not None and pd.Timestamp(now).tzinfo is None
           else pd.Timestamp(now) if now is not None else max(df["start"].max(), end.max() if end.notna().any()
                                                                else df["start"].max()))
    df["end"] = end.where(~running, now)
    df["running"] = running
    back = (df["end"] < df["start"]).to_numpy()
    if back.any():
        i, n = first_row(back)
        raise ShowbackError(f"run '{df['run_id'].iloc[i - 1]}' ends before it starts ({n} rows in all). Fix the "
                            f"times.", path=source, row=i, column="end")
    df["gpus"] = parse_numbers(df["gpus"], column="gpus", source=source, unit="GPUs")
    df["provider"] = df["provider"].astype(str).str.strip().str.lower()
    for col in ("model", "experiment"):
        if col not in df.columns:
            df[col] = UNALLOCATED
        df[col] = df[col].replace("", UNALLOCATED).fillna(UNALLOCATED)
    df["team"] = df["team"].replace("", UNALLOCATED).fillna(UNALLOCATED)
    if "workload_class" not in df.columns:
        df["workload_class"] = "training"
    df["workload_class"] = df["workload_class"].replace("", "training").fillna("training")
    if "model_family" not in df.columns or (df["model_family"] == "").all():
        df["model_family"] = df["model"].astype(str).str.replace(
            r"[-_.]?(v\d+(\.\d+)*|\d+(\.\d+)?[bBmM])$", "", regex=True)
    df = df.assign(_row=np.arange(1, len(df) + 1)).sort_values(["run_id", "start"], kind="stable")
    same = df["run_id"].to_numpy()
    overlap = np.zeros(len(df), bool)
    overlap[1:] = (same[1:] == same[:-1]) & (df["start"].to_numpy()[1:] < df["end"].to_numpy()[:-1])
    if overlap.any():
        k = int(np.flatnonzero(overlap)[0])
        a, b = int(df["_row"].iloc[k - 1]), int(df["_row"].iloc[k])
        raise ShowbackError(f"run '{same[k]}' has overlapping records (rows {a} and {b}: {df['start'].iloc[k]} is "
                            f"before the earlier record's end {df['end'].iloc[k - 1]}); its GPU-hours would be "
                            f"counted twice. Merge the records or fix the times.", path=source, row=b,
                            column="start")
    df = df.sort_values("_row").drop(columns="_row").reset_index(drop=True)
    df["hours"] = (df["end"] - df["start"]).dt.total_seconds() / 3600.0
    df["gpu_hours"] = df["hours"] * df["gpus"]
    return df


def run_costs(runs: pd.DataFrame, catalog: pd.DataFrame, *, pricing_model: str = "on_demand") -> pd.DataFrame:
    """Cost of each run: its GPU-hours x its pool's rate.

    Parameters
    ----------
    runs : pandas.DataFrame
        Output of :func:`read_runs` (several records of one run are summed).
    catalog : pandas.DataFrame
        Pricing catalog.

    Returns
    -------
    pandas.DataFrame
        One row per run: ``run_id``, ``team``, ``model``, ``model_family``, ``experiment``, ``workload_class``,
        POOL_KEYS, ``gpu_type``, ``gpus`` [GPU], ``start``, ``end``, ``running``, ``hours`` [h], ``gpu_hours``
        [GPU-h], ``usd_per_gpu_hour`` [USD/GPU-h], ``cost_usd`` [USD].
    """
    rates = pool_rates(catalog, runs, pricing_model)
    r = runs.merge(rates[POOL_KEYS + ["gpu_type", "usd_per_gpu_hour"]], on=POOL_KEYS, how="left")
    r["cost_usd"] = r["gpu_hours"] * r["usd_per_gpu_hour"]
    keys = ["run_id", "team", "model", "model_family", "experiment", "workload_class", *POOL_KEYS, "gpu_type"]
    out = r.groupby(keys, sort=False).agg(
        gpus=("gpus", "max"), start=("start", "min"), end=("end", "max"), running=("running", "any"),
        hours=("hours", "sum"), gpu_hours=("gpu_hours", "sum"), usd_per_gpu_hour=("usd_per_gpu_hour", "mean"),
        cost_usd=("cost_usd", "sum")).reset_index()
    return out


def week_over_week(frame: pd.DataFrame, keys, value: str = "value", week: str = "week") -> pd.DataFrame:
    """Add ``previous`` (the same key's value the week before; NaN when that week has none) and ``wow_change``
    (value / previous - 1) to a weekly frame."""
    keys = list(keys)
    f = frame.sort_values(keys + [week], kind="stable").copy()
    prev = f[keys + [week, value]].copy()
    prev[week] = prev[week] + pd.Timedelta(days=7)
    prev = prev.rename(columns={value: "previous"})
    f = f.merge(prev, on=keys + [week], how="left")
    f["wow_change"] = f[value] / f["previous"].where(f["previous"] > 0) - 1.0
    return f


def weekly_unit_costs(runs_costed: pd.DataFrame) -> pd.DataFrame:
    """Cost per training run and per experiment, per team and week, with the week-over-week change.

    A run counts in the week it ended (still-running runs are left out); an experiment's cost in a week is the
    cost of its runs that ended that week.

    Returns
    -------
    pandas.DataFrame
        Long: ``week`` (Monday, UTC), ``metric`` (``cost_per_run`` | ``cost_per_experiment``), ``team``,
        ``value`` [USD per unit], ``units`` (runs or experiments), ``cost_usd`` [USD], ``previous``,
        ``wow_change``.
    """
    done = runs_costed[~runs_costed["running"]].assign(week=lambda d: week_start(d["end"]))
    if done.empty:
        return pd.DataFrame(columns=["week", "metric", "team", "value", "units", "cost_usd", "previous",
                                     "wow_change"])
    per_run = done.groupby(["week", "team"]).agg(cost_usd=("cost_usd", "sum"), units=("run_id", "nunique"))
    per_run = per_run.reset_index().assign(metric="cost_per_run")
    exps = done[done["experiment"] != UNALLOCATED]
    per_exp = exps.groupby(["week", "team"]).agg(cost_usd=("cost_usd", "sum"), units=("experiment", "nunique"))
    per_exp = per_exp.reset_index().assign(metric="cost_per_experiment")
    out = pd.concat([per_run, per_exp], ignore_index=True)
    out["value"] = out["cost_usd"] / out["units"]
    out = week_over_week(out, ["metric", "team"])
    return out[["week", "metric", "team", "value", "units", "cost_usd", "previous", "wow_change"]]


def cost_per_inference(priced: pd.DataFrame, requests: pd.DataFrame, *, key: str | None = None,
                       source=None) -> pd.DataFrame:
    """Cost per 1,000 inferences per model (or team) and week, from a request-count series.

    Parameters
    ----------
    priced : pandas.DataFrame
        Priced usage (:func:`~finops_forecast.showback.priced.price_usage`); its ``inference`` rows are the
        serving cost. It needs a ``model`` column when requests are given per model.
    requests : pandas.DataFrame or path
        ``ts`` (any resolution, UTC), ``model`` or ``team``, ``requests`` (count >= 0).
    key : str, optional
        ``"model"`` or ``"team"``; default: ``model`` if the requests have it, else ``team``.

    Returns
    -------
    pandas.DataFrame
        ``week``, ``key`` (the column name), ``name``, ``team``, ``requests``, ``gpu_cost`` [USD],
        ``usd_per_1k_inferences`` [USD per 1,000 requests], ``previous``, ``wow_change``.

    Raises
    ------
    ShowbackError
        When a model (or team) has requests in a week but no inference cost in it (a misspelt name, or a model
        the usage does not label), naming it and its first row.
    """
    if not isinstance(requests, pd.DataFrame):
        source = str(requests)
        requests = pd.read_csv(requests, dtype=str, keep_default_na=False)
    req = requests.reset_index(drop=True)
    key = key or ("model" if "model" in req.columns else "team")
    for col in ("ts", key, "requests"):
        if col not in req.columns:
            raise ShowbackError(f"the request counts need columns ts, model (or team) and requests; found "
                                f"{list(req.columns)}.", path=source, column=col)
    req = req.assign(ts=parse_timestamps(req["ts"], source=source),
                     requests=parse_numbers(req["requests"], column="requests", source=source, unit="requests"),
                     _row=np.arange(1, len(req) + 1))
    inf = priced[priced["workload_class"] == "inference"]
    if key not in inf.columns:
        raise ShowbackError(f"requests are given per {key} but the usage has no '{key}' column to find their "
                            f"serving cost. Add a {key} column (e.g. from a FOCUS tag), or give requests per team.",
                            path=source, column=key)
    grp = inf.assign(week=week_start(inf["ts"])).groupby(["week", key])
    cost = grp["gpu_cost"].sum().reset_index()
    if key != "team":
        cost["team"] = grp["team"].agg(lambda s: ",".join(sorted(set(s)))).to_numpy()
    r = req.assign(week=week_start(req["ts"])).groupby(["week", key]).agg(
        requests=("requests", "sum"), _row=("_row", "min")).reset_index()
    out = r.merge(cost, on=["week", key], how="left")
    orphan = out["gpu_cost"].isna() | (out["gpu_cost"] <= 0)
    if orphan.any():
        i, n = first_row(orphan)
        name = out[key].iloc[i - 1]
        known = sorted(set(inf[key]))
        raise ShowbackError(f"{key} '{name}' has {out['requests'].iloc[i - 1]:,.0f} requests in the week of "
                            f"{out['week'].iloc[i - 1].date()} but no inference cost that week ({n} "
                            f"{key}-weeks in all).{suggest(str(name), known)} Known {key}s with inference cost: "
                            f"{', '.join(map(str, known[:20]))}. Fix the name, or label its serving usage.",
                            path=source, row=int(out["_row"].iloc[i - 1]), column=key)
    out["usd_per_1k_inferences"] = out["gpu_cost"] / out["requests"].where(out["requests"] > 0) * 1000.0
    out = out.rename(columns={key: "name"}).assign(key=key)
    if key == "team":
        out["team"] = out["name"]
    out = week_over_week(out, ["key", "name"], value="usd_per_1k_inferences")
    return out[["week", "key", "name", "team", "requests", "gpu_cost", "usd_per_1k_inferences", "previous",
                "wow_change"]]


def attribute_runs(priced: pd.DataFrame, runs: pd.DataFrame, *, tolerance: float = 1e-6) -> pd.DataFrame:
    """Split priced usage over the runs that used it; what no run explains stays an ``__unallocated__`` line.

    Each run's GPUs are apportioned to the clock hours it ran (exactly, as ``read_jobs`` does) and matched to the
    usage row of the same hour, pool, workload class and team; the run takes ``its GPU-hours x the row's rate``
    of the row's cost. The rest of the row is model and run ``__unallocated__``: never spread over the runs.

    Parameters
    ----------
    priced : pandas.DataFrame
        Priced usage (:func:`~finops_forecast.showback.priced.price_usage`).
    runs : pandas.DataFrame
        Output of :func:`read_runs`.
    tolerance : float, default 1e-6
        Slack [GPU-h] before runs count as exceeding the usage.

    Returns
    -------
    pandas.DataFrame
        ``ts``, POOL_KEYS, ``workload_class``, ``team``, ``model``, ``run_id``, ``experiment``, ``gpu_hours``
        [GPU-h], ``gpu_cost`` [USD]; the totals equal the priced usage's.

    Raises
    ------
    ShowbackError
        When runs claim more GPU-hours in an hour than the usage has for their pool, class and team (overlapping
        or double-counted run records, or a run whose team or pool the usage does not know), naming the hour,
        the pool, the team and the runs.
    """
    from finops_forecast.usage.readers import apportion_to_hours

    keys = ["ts", *POOL_KEYS, "workload_class", "team"]
    idx, hour, amount = apportion_to_hours(runs["start"].dt.tz_convert(None).to_numpy(),
                                           runs["end"].dt.tz_convert(None).to_numpy(), runs["gpus"].to_numpy(float))
    rh = pd.DataFrame({"ts": pd.DatetimeIndex(hour).tz_localize("UTC").astype(priced["ts"].dtype),
                       "gpu_hours": amount})
    for col in [*POOL_KEYS, "workload_class", "team", "model", "run_id", "experiment"]:
        rh[col] = runs[col].to_numpy()[idx]
    lo, hi = priced["ts"].min(), priced["ts"].max()
    rh = rh[(rh["ts"] >= lo) & (rh["ts"] <= hi)]
    rh = rh.groupby(keys + ["model", "run_id", "experiment"], sort=False)["gpu_hours"].sum().reset_index()
    base = priced.groupby(keys, sort=False)[["gpu_hours", "gpu_cost"]].sum().reset_index()
    claimed = rh.groupby(keys, sort=False)["gpu_hours"].sum().rename("claimed").reset_index()
    m = base.merge(claimed, on=keys, how="outer")
    m[["gpu_hours", "gpu_cost", "claimed"]] = m[["gpu_hours", "gpu_cost", "claimed"]].fillna(0.0)
    over = m["claimed"] > m["gpu_hours"] * (1 + tolerance) + tolerance
    if over.any():
        r = m[over].iloc[0]
        sel = rh
        for k in keys:
            sel = sel[sel[k] == r[k]]
        raise ShowbackError(
            f"runs {', '.join(map(str, sel['run_id']))} claim {r['claimed']:,.2f} GPU-h in the hour {r['ts']} on "
            f"{r['provider']}/{r['region']}/{r['instance_type']} ({r['workload_class']}, team {r['team']}), but the "
            f"usage has {r['gpu_hours']:,.2f} GPU-h there ({int(over.sum())} hours in all). Overlapping or duplicated "
            f"run records, or a run with the wrong team, pool or class: fix the run records.", column="run_id")
    rate = (m["gpu_cost"] / m["gpu_hours"].where(m["gpu_hours"] > 0)).fillna(0.0)
    rate_of = m[keys].assign(rate=rate)
    runs_part = rh.merge(rate_of, on=keys, how="left")
    runs_part["gpu_cost"] = runs_part["gpu_hours"] * runs_part.pop("rate")
    rest = m.assign(gpu_hours=m["gpu_hours"] - m["claimed"], gpu_cost=m["gpu_cost"] - m["claimed"] * rate)
    rest = rest[rest["gpu_hours"] > tolerance].drop(columns="claimed")
    rest = rest.assign(model=UNALLOCATED, run_id=UNALLOCATED, experiment=UNALLOCATED)
    cols = keys + ["model", "run_id", "experiment", "gpu_hours", "gpu_cost"]
    return pd.concat([runs_part[cols], rest[cols]], ignore_index=True)
