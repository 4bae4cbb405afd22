"""Idle cost (OpenCost style) and idle resources from attributed GPU metrics."""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.showback.common import ShowbackError
from finops_forecast.showback.priced import pool_rates
from finops_forecast.usage.schema import POOL_KEYS


def _need(m: pd.DataFrame, what: str) -> None:
    need = ["gpu_id", "ts", "hours", "util_pct", "team", "workload_class"] + POOL_KEYS
    missing = [c for c in need if c not in m.columns]
    if missing:
        raise ShowbackError(f"{what} needs GPU utilization samples from attribute_metrics(); the input lacks "
                            f"{missing}. A usage table or an allocation trace (requests only, such as the DLRM "
                            f"trace) cannot show idle GPUs: give DCGM or nvidia-smi metrics.", column=missing[0])


def _with_rates(m: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    rates = pool_rates(catalog, m)
    return m.merge(rates[POOL_KEYS + ["usd_per_gpu_hour"]], on=POOL_KEYS, how="left")


def idle_cost(attributed: pd.DataFrame, catalog: pd.DataFrame, by=("team", "workload_class")) -> pd.DataFrame:
    """Allocated-but-unused GPU-hours and their cost per owner.

    Each sample of ``hours`` [h] on one GPU counts ``hours`` allocated GPU-hours, of which
    ``hours x util_pct / 100`` were used and the rest idle; costs use the pool's on-demand rate.

    Parameters
    ----------
    attributed : pandas.DataFrame
        Output of :func:`finops_forecast.showback.metrics.attribute_metrics`.
    catalog : pandas.DataFrame
        Pricing catalog.
    by : sequence of str
        Owner columns.

    Returns
    -------
    pandas.DataFrame
        ``by`` + ``gpu_hours`` (allocated) [GPU-h], ``used_gpu_hours`` [GPU-h], ``idle_gpu_hours`` [GPU-h],
        ``gpu_cost`` [USD], ``gpu_cost_idle`` [USD], ``idle_rate`` (= gpu_cost_idle / gpu_cost),
        ``efficiency`` (= used / allocated GPU-hours), sorted by idle cost. The ``__idle__`` team (GPUs no pod
        held) is idle by definition.
    """
    _need(attributed, "idle_cost")
    m = _with_rates(attributed, catalog)
    used = m["hours"] * m["util_pct"] / 100.0
    m = m.assign(gpu_hours=m["hours"], used_gpu_hours=used, idle_gpu_hours=m["hours"] - used,
                 gpu_cost=m["hours"] * m["usd_per_gpu_hour"],
                 gpu_cost_idle=(m["hours"] - used) * m["usd_per_gpu_hour"])
    out = m.groupby(list(by), sort=False)[["gpu_hours", "used_gpu_hours", "idle_gpu_hours", "gpu_cost",
                                           "gpu_cost_idle"]].sum().reset_index()
    out["idle_rate"] = out["gpu_cost_idle"] / out["gpu_cost"].where(out["gpu_cost"] > 0)
    out["efficiency"] = out["used_gpu_hours"] / out["gpu_hours"].where(out["gpu_hours"] > 0)
    return out.sort_values("gpu_cost_idle", ascending=False, kind="stable").reset_index(drop=True)


def idle_resources(attributed: pd.DataFrame, catalog: pd.DataFrame | None = None, *, threshold_pct: float = 5.0,
                   min_hours: float = 2.0) -> pd.DataFrame:
    """GPUs under ``threshold_pct`` utilization for at least ``min_hours`` in a row.

    Parameters
    ----------
    attributed : pandas.DataFrame
        Output of ``attribute_metrics``.
    catalog : pandas.DataFrame, optional
        Prices the idle stretches (``gpu_cost_idle``); without it the column is NaN.
    threshold_pct : float, default 5
        A sample below this utilization [%] is idle.
    min_hours : float, default 2
        Shortest idle stretch reported [h]; also the detection delay of a monitor using this rule.

    Returns
    -------
    pandas.DataFrame
        One row per idle stretch: ``gpu_id``, ``hostname``, POOL_KEYS, ``team``, ``workload_class``, ``model``,
        ``pod``, ``start``, ``end`` (UTC), ``idle_hours`` [h], ``mean_util_pct`` [%], ``max_fb_used_mib`` [MiB],
        ``detected_at`` (the end of the first sample at which the stretch reached ``min_hours``),
        ``hours_until_detection`` [h] (detected_at - start), ``ongoing`` (still idle at the last sample) and
        ``gpu_cost_idle`` [USD] (the whole stretch at the pool's on-demand rate), longest first.
    """
    _need(attributed, "idle_resources")
    if not (0 <= threshold_pct <= 100) or min_hours <= 0:
        raise ShowbackError(f"threshold_pct must be in 0-100 and min_hours > 0 (got {threshold_pct}, {min_hours}).")
    m = attributed.sort_values(["gpu_id", "ts"], kind="stable").reset_index(drop=True)
    if catalog is not None:
        m = _with_rates(m, catalog)
    else:
        m = m.assign(usd_per_gpu_hour=np.nan)
    low = (m["util_pct"] < threshold_pct).to_numpy()
    gid = m["gpu_id"].to_numpy()
    new = np.ones(len(m), bool)
    new[1:] = (gid[1:] != gid[:-1]) | (low[1:] != low[:-1])
    m["stretch"] = np.cumsum(new)
    last_of_gpu = m.groupby("gpu_id")["ts"].transform("max")
    rows = []
    for _, g in m[low].groupby("stretch", sort=False):
        dur = g["hours"].to_numpy()
        cum = np.cumsum(dur)
        if cum[-1] + 1e-9 < min_hours:
            continue
        k = int(np.argmax(cum + 1e-9 >= min_hours))
        start = g["ts"].iloc[0]
        detected = g["ts"].iloc[k] + pd.Timedelta(hours=float(dur[k]))
        first = g.iloc[0]
        rows.append({"gpu_id": first["gpu_id"], "hostname": first["hostname"], "provider": first["provider"],
                     "region": first["region"], "instance_type": first["instance_type"], "team": first["team"],
                     "workload_class": first["workload_class"], "model": first["model"], "pod": first["pod"],
                     "start": start, "end": g["ts"].iloc[-1] + pd.Timedelta(hours=float(dur[-1])),
                     "idle_hours": float(cum[-1]), "mean_util_pct": float(np.average(g["util_pct"], weights=dur)),
                     "max_fb_used_mib": float(g["fb_used_mib"].max()), "detected_at": detected,
                     "hours_until_detection": (detected - start) / pd.Timedelta(hours=1),
                     "ongoing": bool(g["ts"].iloc[-1] == last_of_gpu.loc[g.index[-1]]),
                     "gpu_cost_idle": float((dur * (1 - g["util_pct"].to_numpy() / 100)
                                             * g["usd_per_gpu_hour"].to_numpy()).sum())})
    cols = ["gpu_id", "hostname", *POOL_KEYS, "team", "workload_class", "model", "pod", "start", "end",
            "idle_hours", "mean_util_pct", "max_fb_used_mib", "detected_at", "hours_until_detection", "ongoing",
            "gpu_cost_idle"]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values("idle_hours", ascending=False, kind="stable").reset_index(drop=True)
