"""Rightsizing hints: inference pools on large GPUs that stay lightly used get a cheaper GPU class that fits."""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.pricing.schema import HOURS_PER_MONTH
from finops_forecast.showback.common import GPU_SPECS, ShowbackError
from finops_forecast.usage.instances import instance_registry
from finops_forecast.usage.schema import POOL_KEYS

LARGE_GPUS = ("A100", "A100-80GB", "H100", "H200", "B200")
HINT_COLUMNS = [*POOL_KEYS, "team", "model", "gpu_type", "gpus", "p95_util_pct", "p95_mem_gb", "target_instance_type",
                "target_gpu_type", "target_gpu_count", "projected_util_pct", "usd_per_gpu_hour",
                "target_usd_per_gpu_hour", "monthly_saving_usd", "message"]


def rightsizing_hints(attributed: pd.DataFrame, catalog: pd.DataFrame, *, util_threshold_pct: float = 15.0,
                      large_gpus=LARGE_GPUS, memory_headroom: float = 1.2, max_projected_util_pct: float = 60.0,
                      workload_class: str = "inference") -> pd.DataFrame:
    """Cheaper GPU classes for lightly used inference pools on large GPUs.

    A group (pool x team x model) qualifies when its GPU type is in ``large_gpus`` and its 95th percentile
    utilization is under ``util_threshold_pct``. A target is an on-demand instance type of the same provider and
    region whose GPU memory (NVIDIA data sheet, :data:`~finops_forecast.showback.common.GPU_SPECS`) holds the
    95th percentile memory used x ``memory_headroom`` and whose throughput keeps the projected utilization
    (p95 util x source TFLOPS / target TFLOPS) under ``max_projected_util_pct``; the cheapest per GPU-hour
    wins. GPUs are replaced one for one.

    Returns
    -------
    pandas.DataFrame
        :data:`HINT_COLUMNS`; ``gpus`` is the mean number of GPUs in the group [GPU], ``monthly_saving_usd``
        = (rate - target rate) x gpus x 730 h [USD/month], largest first.
    """
    if "util_pct" not in attributed.columns:
        raise ShowbackError("rightsizing needs GPU utilization and memory samples (attribute_metrics()).",
                            column="util_pct")
    m = attributed[attributed["workload_class"] == workload_class]
    od = catalog[(catalog["pricing_model"] == "on_demand") & (catalog["term_months"] == 0)]
    od = od.sort_values("usd_per_gpu_hour").drop_duplicates(POOL_KEYS)
    reg = instance_registry()[["provider", "instance_type", "gpu_type", "gpu_count"]]
    rows = []
    for (prov, region, inst, team, model), g in m.groupby([*POOL_KEYS, "team", "model"], sort=False):
        cur = od[(od["provider"] == prov) & (od["region"] == region) & (od["instance_type"] == inst)]
        if cur.empty:
            continue
        gtype = str(cur["gpu_type"].iloc[0])
        if gtype not in large_gpus or gtype not in GPU_SPECS:
            continue
        p95u = float(np.quantile(g["util_pct"], 0.95))
        if p95u >= util_threshold_pct:
            continue
        p95m = float(np.quantile(g["fb_used_mib"].fillna(0), 0.95)) * 1.048576 / 1000  # MiB -> GB
        span = (g["ts"].max() - g["ts"].min()) / pd.Timedelta(hours=1) + float(g["hours"].median())
        gpus = float(g["hours"].sum() / span) if span > 0 else float(g["gpu_id"].nunique())
        rate = float(cur["usd_per_gpu_hour"].iloc[0])
        cands = od[(od["provider"] == prov) & (od["region"] == region) & (od["usd_per_gpu_hour"] < rate)]
        cands = cands.drop(columns=["gpu_type", "gpu_count"]).merge(reg, on=["provider", "instance_type"])
        best = None
        for c in cands.sort_values("usd_per_gpu_hour").to_dict("records"):
            spec = GPU_SPECS.get(str(c["gpu_type"]))
            if spec is None or c["gpu_count"] < 1:
                continue
            proj = p95u * GPU_SPECS[gtype][1] / spec[1]
            if spec[0] >= p95m * memory_headroom and proj <= max_projected_util_pct:
                best = (c, proj)
                break
        if best is None:
            continue
        c, proj = best
        saving = (rate - c["usd_per_gpu_hour"]) * gpus * HOURS_PER_MONTH
        rows.append({"provider": prov, "region": region, "instance_type": inst, "team": team, "model": model,
                     "gpu_type": gtype, "gpus": gpus, "p95_util_pct": p95u, "p95_mem_gb": p95m,
                     "target_instance_type": c["instance_type"], "target_gpu_type": c["gpu_type"],
                     "target_gpu_count": c["gpu_count"], "projected_util_pct": proj, "usd_per_gpu_hour": rate,
                     "target_usd_per_gpu_hour": c["usd_per_gpu_hour"], "monthly_saving_usd": saving,
                     "message": f"team {team}: {model} on {gpus:.1f} {gtype} ({inst}) peaks at {p95u:.0f}% "
                                f"utilization and {p95m:.1f} GB; {c['gpu_type']} ({c['instance_type']}, "
                                f"{GPU_SPECS[c['gpu_type']][0]} GB) fits at ~{proj:.0f}% and saves "
                                f"{saving:,.0f} USD/month."})
    out = pd.DataFrame(rows, columns=HINT_COLUMNS)
    return out.sort_values("monthly_saving_usd", ascending=False, kind="stable").reset_index(drop=True)
