"""The plan on the bundled catalog (the sample fleet's pools), its export, and the FOCUS inventory."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import PortfolioError
from finops_forecast.portfolio import PortfolioConfig, Scenarios, inventory_from_focus, optimize
from finops_forecast.portfolio.plan import PURCHASE_COLUMNS
from tests.portfolio.pf_helpers import hourly_paths

SAMPLE_POOLS = [("aws", "us-east-1", "p5.48xlarge", "training"), ("aws", "us-east-1", "p4d.24xlarge", "training"),
                ("aws", "us-west-2", "g5.12xlarge", "inference"), ("aws", "us-east-1", "g6.12xlarge", "inference"),
                ("gcp", "us-central1", "a3-highgpu-8g", "training"), ("gcp", "us-central1", "a2-highgpu-8g", "experimentation"),
                ("gcp", "us-central1", "g2-standard-48", "inference"),
                ("azure", "eastus", "Standard_ND96isr_H100_v5", "training"),
                ("azure", "eastus", "Standard_NC24ads_A100_v4", "inference")]
FOCUS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "billing" / "focus-sample-1.0" / "focus_sample.csv"


@pytest.fixture(scope="module")
def catalog():
    from finops_forecast.pricing import load_pricing
    return load_pricing()


@pytest.fixture(scope="module")
def plan(catalog):
    rng = np.random.default_rng(3)
    ks = pd.DataFrame(SAMPLE_POOLS, columns=["provider", "region", "instance_type", "workload_class"])
    d = hourly_paths(24, 24 * 120, tuple(rng.uniform(16, 160, len(ks))), tuple(rng.uniform(2, 12, len(ks))), rng,
                     trend=0.2)
    ds = pd.date_range("2027-01-01", periods=d.shape[2], freq="h", tz="UTC")
    return optimize(Scenarios(ks, ds, d), catalog, config=PortfolioConfig(quarters=4, risk_lambda=0.5,
                                                                              risk_measure="cost"))


def test_plan_on_bundled_catalog(plan):
    assert plan.status == "optimal"
    assert list(plan.purchases.columns) == PURCHASE_COLUMNS
    now = plan.buy_now
    assert len(now) > 0 and set(now["provider"]) <= {"aws", "gcp", "azure"}
    assert 0 < plan.effective_savings_rate < 1 and plan.savings_usd > 0
    assert 0 <= plan.coverage <= 1 and 0 <= plan.utilization <= 1
    assert plan.cvar_usd >= plan.expected_cost_usd
    u = now["expected_utilization"]
    # (the 10th percentile may exceed the mean when a few paths use a line much less: left-skewed)
    p10 = now["utilization_p10"]
    assert ((u >= 0) & (u <= 1 + 1e-9)).all() and ((p10 >= 0) & (p10 <= 1 + 1e-9)).all()
    # compression error on the bundled-catalog plan: compressed promise vs billed on every path and hour
    assert plan.model_cost_usd == pytest.approx(plan.expected_cost_usd, rel=0.02)
    # the recommendation is the best point of its own savings curve (expected cost + lambda x CVaR)
    c = plan.savings_curve
    assert c.loc[c["recommended"], "objective_usd"].iloc[0] <= c["objective_usd"].min() * (1 + 1e-6)
    assert c["savings_usd"].iloc[0] >= 0  # no commitment bought now: still no worse than all on demand
    q = plan.quarters
    served = q[["reserved_gpu_hours", "savings_plan_gpu_hours", "spot_gpu_hours", "on_demand_gpu_hours"]]
    np.testing.assert_allclose(served.sum(axis=1), q["demand_gpu_hours"], rtol=1e-9)
    alloc = plan.allocation.set_index("workload_class")
    assert alloc.loc["inference", "spot_gpu_hours"] == 0
    tot = alloc[["committed_gpu_hours", "spot_gpu_hours", "on_demand_gpu_hours"]].sum(axis=1)
    np.testing.assert_allclose(tot, alloc["demand_gpu_hours"], rtol=1e-6)


def test_export_round_trip(plan, tmp_path):
    plan.to_csv(tmp_path / "p.csv")
    plan.to_json(tmp_path / "p.json")
    back = pd.read_csv(tmp_path / "p.csv")
    assert list(back.columns) == PURCHASE_COLUMNS and len(back) == len(plan.purchases)
    np.testing.assert_allclose(back["quantity"], plan.purchases["quantity"])
    j = json.loads((tmp_path / "p.json").read_text())
    assert j["status"] == "optimal" and j["expected_cost_usd"] == pytest.approx(plan.expected_cost_usd)
    assert {"purchases", "ladder", "quarters", "allocation", "savings_curve", "frontier", "model_size"} <= set(j)
    assert "Buy now:" in plan.summary()


def _focus_rows(cid, hours, used, unused, provider="AWS", category="Spend"):
    rows = []
    for h, u, n in zip(hours, used, unused):
        for status, cost in (("Used", u), ("Unused", n)):
            rows.append(dict(CommitmentDiscountId=cid, CommitmentDiscountCategory=category,
                             CommitmentDiscountType="Savings Plan", CommitmentDiscountStatus=status,
                             ChargePeriodStart=h, ChargePeriodEnd=h + pd.Timedelta(hours=1), ChargeCategory="Usage",
                             EffectiveCost=cost, PricingQuantity=1.0, ProviderName=provider,
                             RegionId="us-east-1"))
    return rows


def test_inventory_from_focus_spend_commitment(catalog):
    hours = pd.date_range("2026-09-01", periods=48, freq="h", tz="UTC")
    used = np.linspace(20, 50, 48)
    df = pd.DataFrame(_focus_rows("arn:sp/1", hours, used, 50 - used))
    inv = inventory_from_focus(df, expires="2027-09-01")
    assert len(inv) == 1 and inv["family"].iat[0] == "aws_compute_sp"
    assert inv["quantity"].iat[0] == pytest.approx(50.0)
    assert any("Compute Savings Plan" in n for n in inv.attrs["notes"])
    with pytest.raises(PortfolioError, match="expires="):
        inventory_from_focus(df)


@pytest.mark.skipif(not FOCUS.exists(), reason="shared FOCUS sample not present")
def test_inventory_from_real_focus_sample_says_what_is_missing():
    """The FinOps Foundation sample's 2 Savings Plans carry EffectiveCost 0 (anonymized), no quantity and no
    purchase row: they are left out of the plan with a note naming each, rather than invented or an error."""
    df = pd.read_csv(FOCUS, dtype=str, keep_default_na=False)  # the text NULL stays text here
    inv = inventory_from_focus(df, expires="2027-01-01")
    assert inv.empty
    left_out = [n for n in inv.attrs["notes"] if "left out of the plan" in n]
    assert len(left_out) == 2 and not any("'NULL'" in n for n in inv.attrs["notes"])


def test_plan_files_are_replaced_whole_or_not_at_all(plan, tmp_path):
    """A full disk (RLIMIT_FSIZE: writes past the limit fail) while writing leaves the previous files as they
    were and no temporary file behind."""
    from tests.conftest import file_size_limit

    for name, write in (("plan.json", plan.to_json), ("plan.csv", plan.to_csv)):
        path = tmp_path / name
        path.write_text("previous\n")
        with file_size_limit(len(write()) // 2), pytest.raises(OSError):
            write(path)
        assert path.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.csv", "plan.json"]
