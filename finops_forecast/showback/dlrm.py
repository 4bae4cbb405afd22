"""The Alibaba GPU-disaggregated DLRM trace (NSDI'25) as per-application showback input.

The trace lists 23,871 instances of 156 latency-sensitive inference services over ~31 days; its 7,386 HN rows are
GPU instances (``gpu_request`` = 1) with creation and deletion times in seconds from the trace start. It gives
*allocations*: which application held how many GPUs when. It has no GPU utilization, no memory use, no request
counts, no prices, no teams and no calendar dates. So it supports per-application GPU-hours and cost (at a price
you choose), the top cost drivers, concentration and week-over-week change; it cannot show idle GPUs, cost per
inference or rightsizing (see docs/showback.md).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.showback.common import ShowbackError
from finops_forecast.usage.readers import apportion_to_hours

DLRM_COLUMNS = ["instance_sn", "role", "app_name", "gpu_request", "creation_time", "deletion_time"]
# Pool the trace's GPUs are priced as (an ASSUMPTION: the trace does not say which GPU or cloud; a single-GPU
# inference instance of the bundled catalog).
DEFAULT_POOL = ("aws", "us-east-1", "g6.xlarge")


def read_dlrm(path) -> pd.DataFrame:
    """Read the HN (GPU) instances of ``disaggregated_DLRM_trace.csv``.

    Returns
    -------
    pandas.DataFrame
        ``instance_sn``, ``app_name``, ``gpus`` [GPU], ``start_s``, ``end_s`` (seconds from the trace start;
        NaN creation -> 0, NaN deletion -> the trace end) and the attribute ``attrs["span_s"]``.
    """
    try:
        raw = pd.read_csv(path)
    except OSError as exc:
        raise ShowbackError(f"cannot read the DLRM trace ({exc}). It is in ../shared/datasets/demand/alibaba-dlrm/.",
                            path=str(path)) from None
    missing = [c for c in DLRM_COLUMNS if c not in raw.columns]
    if missing:
        raise ShowbackError(f"not the DLRM trace: missing {missing}.", path=str(path), column=missing[0])
    span = float(np.nanmax(raw[["creation_time", "scheduled_time", "deletion_time"]].to_numpy()))
    hn = raw[(raw["role"] == "HN") & (raw["gpu_request"] > 0)]
    out = pd.DataFrame({"instance_sn": hn["instance_sn"].to_numpy(), "app_name": hn["app_name"].to_numpy(),
                        "gpus": hn["gpu_request"].to_numpy(float),
                        "start_s": hn["creation_time"].fillna(0.0).to_numpy(),
                        "end_s": hn["deletion_time"].fillna(span).to_numpy()})
    out.attrs["span_s"] = span
    return out


def dlrm_usage(instances: pd.DataFrame, *, start="2026-10-01", pool=DEFAULT_POOL) -> pd.DataFrame:
    """Hourly GPU-hours per application, as a usage table with a ``model`` column.

    Parameters
    ----------
    instances : pandas.DataFrame
        Output of :func:`read_dlrm`.
    start : timestamp, default "2026-10-01"
        Calendar date given to the trace start (the trace has none; an assumption).
    pool : (provider, region, instance_type)
        Pool the GPUs are priced as (an assumption, :data:`DEFAULT_POOL`).

    Returns
    -------
    pandas.DataFrame
        Usage columns with ``workload_class`` = ``inference``, ``team`` = ``model`` = the application name.
    """
    t0 = pd.Timestamp(start, tz="UTC").tz_convert(None).to_datetime64()
    s = t0 + (instances["start_s"].to_numpy() * 1e9).astype("timedelta64[ns]")
    e = t0 + (instances["end_s"].to_numpy() * 1e9).astype("timedelta64[ns]")
    idx, hour, amount = apportion_to_hours(s, e, instances["gpus"].to_numpy(float))
    df = pd.DataFrame({"ts": pd.DatetimeIndex(hour).tz_localize("UTC"),
                       "app": instances["app_name"].to_numpy()[idx], "gpu_hours": amount})
    df = df.groupby(["ts", "app"], sort=True)["gpu_hours"].sum().reset_index()
    return pd.DataFrame({"ts": df["ts"], "provider": pool[0], "region": pool[1], "instance_type": pool[2],
                         "workload_class": "inference", "team": df["app"], "gpu_hours": df["gpu_hours"],
                         "model": df["app"]})
