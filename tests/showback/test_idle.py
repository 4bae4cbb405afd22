"""Idle cost (allocated but unused GPU-hours x price) and idle GPUs (under a threshold for a set time)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finops_forecast.showback.common import IDLE, ShowbackError
from finops_forecast.showback.idle import idle_cost, idle_resources

from .conftest import gpu_rate


def test_idle_cost_per_team_matches_samples_times_price(attributed, catalog):
    out = idle_cost(attributed, catalog)
    # conservation: allocated = used + idle, cost = used cost + idle cost
    assert np.allclose(out["gpu_hours"], out["used_gpu_hours"] + out["idle_gpu_hours"])
    assert out["gpu_hours"].sum() == pytest.approx(attributed["hours"].sum())
    risk = attributed[attributed["team"] == "risk"]
    rate = gpu_rate(catalog, "aws", "us-east-1", "p5.48xlarge")
    row = out[out["team"] == "risk"].iloc[0]
    assert row["gpu_cost_idle"] == pytest.approx((risk["hours"] * (1 - risk["util_pct"] / 100)).sum() * rate)
    assert row["gpu_cost"] == pytest.approx(risk["hours"].sum() * rate)
    assert row["idle_rate"] == pytest.approx(1 - risk["util_pct"].mean() / 100)
    idle = out[out["team"] == IDLE].iloc[0]
    assert idle["idle_rate"] == 1.0 and idle["efficiency"] == 0.0
    assert (out["idle_rate"].between(0, 1)).all()


def test_idle_resources_on_the_nvidia_smi_host(attributed, catalog, data_dir):
    res = idle_resources(attributed, catalog, threshold_pct=5, min_hours=2)
    # the nvidia-smi log's GPU 0 reads 0 % from its 6th to its 16th sample (15-minute loop)
    lines = (data_dir / "nvidia_smi_gpu-node-2.csv").read_text().splitlines()[1:]
    zero = [ln.split(",")[0] for ln in lines if ", 0," in ln and ", 0 %," in ln]
    r = res[res["gpu_id"] == "GPU-3b8d1e2f-0000-4000-8000-000000000000"].iloc[0]
    assert r["start"] == pd.Timestamp(zero[0].replace("/", "-"), tz="UTC")
    assert r["idle_hours"] == pytest.approx(len(zero) * 0.25)
    assert r["hours_until_detection"] == pytest.approx(2.0)
    assert r["detected_at"] == r["start"] + pd.Timedelta(hours=2)
    assert not r["ongoing"] and r["team"] == "search-serving"
    assert r["gpu_cost_idle"] == pytest.approx(len(zero) * 0.25 * gpu_rate(catalog, "aws", "us-west-2", "g5.12xlarge"))
    # the GPU no pod holds is idle the whole 6 hours and still idle at the end
    assert res.loc[res["team"] == IDLE, "ongoing"].all()
    # busy GPUs are never reported
    busy = attributed.groupby("gpu_id")["util_pct"].min()
    assert not set(res["gpu_id"]) & set(busy[busy >= 5].index)
    # a longer minimum drops the 2.75-hour stretch
    assert "GPU-3b8d1e2f-0000-4000-8000-000000000000" not in set(
        idle_resources(attributed, catalog, threshold_pct=5, min_hours=3)["gpu_id"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=60), st.integers(1, 20), st.integers(1, 12))
def test_idle_stretches_are_exactly_the_long_low_runs(utils, threshold, min_samples):
    t0 = pd.Timestamp("2026-10-05", tz="UTC")
    n = len(utils)
    att = pd.DataFrame({"gpu_id": "g", "hostname": "h", "provider": "aws", "region": "us-east-1",
                        "instance_type": "p5.48xlarge", "team": "t", "workload_class": "inference", "model": "m",
                        "pod": "p", "ts": [t0 + pd.Timedelta(hours=i) for i in range(n)], "hours": 1.0,
                        "util_pct": np.array(utils, float), "fb_used_mib": 0.0})
    res = idle_resources(att, threshold_pct=threshold, min_hours=min_samples)
    # brute force: maximal runs of low samples of length >= min_samples
    low = np.array(utils) < threshold
    runs, i = [], 0
    while i < n:
        if low[i]:
            j = i
            while j < n and low[j]:
                j += 1
            if j - i >= min_samples:
                runs.append((i, j - i))
            i = j
        else:
            i += 1
    assert sorted(res["idle_hours"].tolist()) == sorted(float(k) for _, k in runs)
    assert (res["hours_until_detection"] == min_samples).all()
    assert sorted(res["start"]) == sorted(t0 + pd.Timedelta(hours=s) for s, _ in runs)


def test_allocation_only_input_cannot_show_idle(catalog):
    usage = pd.DataFrame({"ts": [pd.Timestamp("2026-10-05", tz="UTC")], "provider": "aws", "region": "us-east-1",
                          "instance_type": "p5.48xlarge", "workload_class": "inference", "team": "t",
                          "gpu_hours": 8.0})
    with pytest.raises(ShowbackError, match="cannot show idle GPUs"):
        idle_cost(usage, catalog)
    with pytest.raises(ShowbackError, match="cannot show idle GPUs"):
        idle_resources(usage)
