"""Rightsizing hints for lightly used inference pools on large GPUs, priced from the catalog."""
from __future__ import annotations

import pandas as pd
import pytest

from finops_forecast.showback.common import GPU_SPECS
from finops_forecast.showback.rightsizing import rightsizing_hints

from .conftest import gpu_rate


def test_fraud_model_on_h100_gets_a_cheaper_gpu_that_fits(attributed, catalog):
    hints = rightsizing_hints(attributed, catalog)
    assert hints["model"].tolist() == ["fraud-model"]  # training, busy and small-GPU pools get none
    h = hints.iloc[0]
    assert h["gpu_type"] == "H100" and h["p95_util_pct"] < 15
    mem = GPU_SPECS[h["target_gpu_type"]][0]
    assert mem >= h["p95_mem_gb"] * 1.2 and h["projected_util_pct"] <= 60
    now = gpu_rate(catalog, "aws", "us-east-1", "p5.48xlarge")
    target = gpu_rate(catalog, "aws", "us-east-1", h["target_instance_type"])
    assert h["monthly_saving_usd"] == pytest.approx((now - target) * 2 * 730)
    # no cheaper same-region on-demand instance with a fitting GPU is cheaper than the one chosen
    od = catalog[(catalog["pricing_model"] == "on_demand") & (catalog["provider"] == "aws")
                 & (catalog["region"] == "us-east-1") & (catalog["usd_per_gpu_hour"] < target)]
    fits = [g for g in od["gpu_type"] if g in GPU_SPECS and GPU_SPECS[g][0] >= h["p95_mem_gb"] * 1.2
            and h["p95_util_pct"] * GPU_SPECS["H100"][1] / GPU_SPECS[g][1] <= 60]
    assert fits == []
    assert "USD/month" in h["message"] and "team risk" in h["message"]


def test_no_hint_when_memory_or_load_does_not_fit(attributed, catalog):
    fraud = attributed[attributed["model"] == "fraud-model"]
    big = fraud.assign(fb_used_mib=70_000.0)  # 73.4 GB x 1.2 = 88 GB: only a 96 GB GPU is cheaper and fits
    h = rightsizing_hints(big, catalog)
    assert GPU_SPECS[h["target_gpu_type"].iloc[0]][0] >= 88
    huge = fraud.assign(fb_used_mib=85_000.0)  # 89 GB x 1.2: nothing cheaper than an H100 holds it
    assert rightsizing_hints(huge, catalog).empty
    busy = fraud.assign(util_pct=40.0)
    assert rightsizing_hints(busy, catalog).empty
    # with a higher threshold the pool qualifies, but 40% of an H100 overloads every cheaper GPU
    assert rightsizing_hints(busy, catalog, util_threshold_pct=50).empty
    assert not rightsizing_hints(fraud.assign(util_pct=14.0), catalog).empty
    assert rightsizing_hints(pd.concat([fraud.assign(workload_class="training")]), catalog).empty
