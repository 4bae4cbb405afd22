"""The real demand traces of ``../shared/datasets/demand/`` as usage tables (for tests, benchmarks, docs).

The traces are not shipped with the package: they are found next to the repository
(``<repo>/../shared/datasets``) or where the environment variable ``FINOPS_SHARED_DATASETS`` points.

``philly``        Microsoft Philly training cluster, Oct-Dec 2017: hourly mean active NODES (not GPUs; Philly
                  nodes hold 2 or 8 GPUs), 1,771 hours. Used as class ``training``. The 9 hours
                  2017-10-25 15:00-23:00 are missing in the trace (the cluster was nearly idle on the 26th,
                  an outage); their rows are dropped, so ``forecast(gaps=...)`` decides how to treat them.
``alibaba-dlrm``  Alibaba DLRM inference fleet (cluster-trace-gpu-v2025), 31 days: hourly GPUs in use, 744 hours.
                  Used as class ``inference``; the trace has no calendar date, it is placed from 2025-01-06.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from finops_forecast.errors import unknown_name

__all__ = ["TRACES", "shared_datasets", "load_trace"]

TRACES = ("philly", "alibaba-dlrm")


def shared_datasets() -> Path:
    """Folder of the shared datasets: ``$FINOPS_SHARED_DATASETS`` or ``<repo>/../shared/datasets``."""
    env = os.environ.get("FINOPS_SHARED_DATASETS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"


def load_trace(name: str, root: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load a demand trace as a usage table (one series, team ``unallocated``).

    Parameters
    ----------
    name : {"philly", "alibaba-dlrm"}
    root : path, optional
        The datasets folder; default :func:`shared_datasets`.

    Returns
    -------
    DataFrame
        Usage-table columns; ``gpu_hours`` holds node-hours for Philly [node-h] and GPU-hours for DLRM [GPU-h].

    Raises
    ------
    FileNotFoundError
        When the trace is not there (says where it looked and how to point elsewhere).
    """
    if name not in TRACES:
        raise unknown_name("trace", name, TRACES)
    base = Path(root) if root is not None else shared_datasets()
    if name == "philly":
        path = base / "demand" / "philly" / "philly_hourly_active_nodes.csv"
    else:
        path = base / "demand" / "alibaba-dlrm" / "dlrm_hourly_gpu_demand.csv"
    if not path.exists():
        raise FileNotFoundError(f"Trace '{name}' not found at {path.resolve()}. Clone the shared datasets beside "
                                "the repository or set FINOPS_SHARED_DATASETS to their folder.")
    raw = pd.read_csv(path)
    if name == "philly":
        ts = pd.to_datetime(raw["time"]).dt.tz_localize("UTC")
        y, pool, cls = raw["active"], ("philly", "msr", "philly-node"), "training"
    else:
        ts = pd.Timestamp("2025-01-06", tz="UTC") + pd.to_timedelta(raw["hour_index"], unit="h")
        y, pool, cls = raw["gpus_total"], ("alibaba", "cn", "dlrm-gpu"), "inference"
    out = pd.DataFrame({"ts": ts, "provider": pool[0], "region": pool[1], "instance_type": pool[2],
                         "workload_class": cls, "team": "unallocated", "gpu_hours": y.astype(float)})
    return out[out["gpu_hours"].notna()].reset_index(drop=True)
