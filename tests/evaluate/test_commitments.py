"""Realized commitment performance and the inventory read from the bill (issue 18).

Known answers: the FOCUS standard's commitment scenarios carry their utilization in their file names; the ESR
of each is computed by hand below from the numbers in its rows (NOTES.md / MANIFEST.tsv of the dataset).
"""
from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from finops_forecast.evaluate.commitments import commitment_performance
from finops_forecast.portfolio.inventory import inventory_from_focus
from finops_forecast.usage.focus_commitments import commitment_inventory
from finops_forecast.usage.readers import read_focus
from tests.conftest import TEST_DATA

# file -> (utilization, pool ESR by hand, unused cost [USD] by hand)
SCENARIOS = {
    # 24 Used rows: EffectiveCost 52.85, ListCost 79.28
    "aws_savings_plan_no_upfront_100pct.csv": (1.0, (24 * 79.28 - 24 * 52.85) / (24 * 79.28), 0.0),
    # 24 Used (71.69 vs 107.54) + 3 on-demand EC2 rows at 3.84
    "aws_savings_plan_all_upfront_100pct.csv": (1.0, (24 * 107.54 - 24 * 71.69) / (24 * 107.54 + 3 * 3.84), 0.0),
    # 12 Used + 12 Unused rows at EffectiveCost 79.11; the Used rows' ListCost 118.67
    "aws_underutilized_50pct.csv": (0.5, (12 * 118.67 - 24 * 79.11) / (12 * 118.67), 12 * 79.11),
    # 24 Unused rows at 40.30, no usage in the pool: ESR undefined
    "aws_zero_utilization.csv": (0.0, None, 24 * 40.30),
    # 24 Used (24.20 vs 36.30) + 12 overflow hours billed on demand at 36.30
    "aws_overflow_150pct.csv": (1.0, (36 * 36.30 - (24 * 24.20 + 12 * 36.30)) / (36 * 36.30), 0.0),
    # 24 Used (50.23 vs 75.35) + 3 on-demand EC2 rows at 3.84
    "aws_reserved_instance_partial_upfront_100pct.csv": (1.0, (24 * 75.35 - 24 * 50.23) / (24 * 75.35 + 3 * 3.84),
                                                         0.0),
    # 24 Used (75.80 vs 113.70); the on-demand rows are other services (not eligible)
    "azure_reservation_no_upfront_100pct.csv": (1.0, (24 * 113.70 - 24 * 75.80) / (24 * 113.70), 0.0),
    # 24 Used (52.74 vs 79.11) + 3 on-demand VM rows at 3.07
    "azure_savings_plan_all_upfront_100pct.csv": (1.0, (24 * 79.11 - 24 * 52.74) / (24 * 79.11 + 3 * 3.07), 0.0),
    # 24 Used (29.45 vs 44.18) + 3 on-demand Compute Engine rows at 2.70
    "gcp_resource_cud_no_upfront_100pct.csv": (1.0, (24 * 44.18 - 24 * 29.45) / (24 * 44.18 + 3 * 2.70), 0.0),
    # 24 Used (63.13 vs 94.70) + 3 on-demand rows at 2.70
    "gcp_flex_cud_no_upfront_100pct.csv": (1.0, (24 * 94.70 - 24 * 63.13) / (24 * 94.70 + 3 * 2.70), 0.0),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_spec_scenarios_utilization_and_esr(datasets, name):
    util, esr, unused = SCENARIOS[name]
    perf = commitment_performance(datasets / "billing" / "focus-spec-scenarios" / name)
    assert len(perf.commitments) == 1
    row = perf.commitments.iloc[0]
    assert row["utilization"] == pytest.approx(util, abs=1e-9)
    assert perf.summary["utilization"] == pytest.approx(util, abs=1e-9)
    assert perf.summary["unused_cost_usd"] == pytest.approx(unused, abs=1e-6)
    if esr is None:
        assert perf.summary["effective_savings_rate"] is None
    else:
        assert perf.summary["effective_savings_rate"] == pytest.approx(esr, abs=1e-9)


def test_overflow_is_billed_on_demand_and_lowers_coverage(datasets):
    perf = commitment_performance(datasets / "billing" / "focus-spec-scenarios" / "aws_overflow_150pct.csv")
    pool = perf.pools.iloc[0]
    assert pool["on_demand_list_cost_usd"] == pytest.approx(12 * 36.30)
    assert perf.summary["coverage"] == pytest.approx(24 * 36.30 / (36 * 36.30))


def test_inventory_from_the_bill_on_spec_scenarios(datasets):
    folder = datasets / "billing" / "focus-spec-scenarios"
    ri = commitment_inventory(folder / "aws_reserved_instance_partial_upfront_100pct.csv").iloc[0]
    # One-Time 220007.40 over 2026-02-01..2027-02-01 + Recurring 18333.95 over February (672 h)
    assert (ri["payment_option"], ri["term_months"], ri["hourly_amount"], ri["amount_unit"]) == (
        "partial_upfront", 12, 1.0, "instances")
    assert ri["expires"] == pd.Timestamp("2027-02-01", tz="UTC")
    assert ri["fee_usd_per_hour"] == pytest.approx(220007.40 / 8760 + 18333.95 / 672)
    sp = commitment_inventory(folder / "azure_savings_plan_all_upfront_100pct.csv").iloc[0]
    assert (sp["payment_option"], sp["term_months"], sp["amount_unit"]) == ("all_upfront", 12, "USD/h")
    assert sp["hourly_amount"] == pytest.approx(52.74) and sp["fee_usd_per_hour"] == pytest.approx(462002.40 / 8760)
    cud = commitment_inventory(folder / "gcp_flex_cud_no_upfront_100pct.csv").iloc[0]
    # a recurring fee does not tell the term: said, not guessed
    assert cud["payment_option"] == "no_upfront" and "term_months" in cud["unknown"] and pd.isna(cud["expires"])


def test_finops_sample_two_savings_plans_found_without_error(focus_sample):
    inv = commitment_inventory(focus_sample)
    assert sorted(inv["commitment_discount_id"].str.rsplit("/", n=1).str[-1]) == [
        "37985e61-4fcb-4023-9dd7-e524c80342a2", "493f5705-db1c-4867-8e5c-ee9a66fa6d3f"]
    assert set(inv["provider"]) == {"aws"} and set(inv["type"]) == {"Savings Plan"}
    assert set(inv["category"]) == {"spend"}
    # EffectiveCost 0, no quantity, no purchase row: the amount, payment and term are unknown, not guessed
    assert inv["hourly_amount"].isna().all()
    assert all("hourly_amount" in u and "expires" in u for u in inv["unknown"])
    perf = commitment_performance(focus_sample)
    assert perf.summary["utilization"] is None and perf.summary["effective_savings_rate"] is None


def test_azure_daily_grain_gives_the_hourly_commitment():
    """A 10 USD/h savings plan exported at daily grain is 10 USD/h, not 240 (tests/data/focus/make_dialect_files.py)."""
    hourly = TEST_DATA / "focus" / "azure_focuscost_1.0_sp_hourly.csv"
    daily = TEST_DATA / "focus" / "azure_focuscost_1.0_sp_daily.csv"
    for path in (hourly, daily):
        inv = inventory_from_focus(path, expires="2027-10-01")
        assert inv["family"].iat[0] == "azure_sp" and inv["quantity"].iat[0] == pytest.approx(10.0)
        perf = commitment_performance(path)
        assert perf.summary["utilization"] == pytest.approx(0.75)  # 7.5 of 10 USD/h used
        assert perf.summary["unused_cost_usd"] == pytest.approx(48 * 2.5)
    (u1, r1), (u2, r2) = read_focus(hourly), read_focus(daily)
    assert u1["gpu_hours"].sum() == pytest.approx(u2["gpu_hours"].sum()) == pytest.approx(48 * 0.75 * 8)
    assert r1.is_balanced() and r2.is_balanced()


def test_a_folder_with_one_export_twice_is_counted_once(tmp_path, datasets):
    src = datasets / "billing" / "focus-spec-scenarios" / "aws_underutilized_50pct.csv"
    (tmp_path / "a.csv").write_bytes(src.read_bytes())
    (tmp_path / "copy.csv").write_bytes(src.read_bytes())
    once, twice = commitment_performance(src), commitment_performance(tmp_path)
    assert twice.summary == once.summary
    assert any("byte-identical" in n for n in twice.notes)


def test_commitments_command_writes_json(tmp_path, datasets):
    from finops_forecast.cli import app

    out = tmp_path / "perf.json"
    path = datasets / "billing" / "focus-spec-scenarios" / "aws_underutilized_50pct.csv"
    res = CliRunner().invoke(app, ["commitments", str(path), "--period", "2026-01", "--json", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    c = doc["commitments"][0]
    assert {"commitment_discount_id", "provider", "type", "utilization", "unused_cost_usd"} <= set(c)
    assert c["utilization"] == pytest.approx(0.5) and c["provider"] == "aws"
    assert set(doc["summary"]) >= {"utilization", "coverage", "effective_savings_rate", "unused_cost_usd"}
    bad = CliRunner().invoke(app, ["commitments", str(path), "--period", "2026-13"])
    assert bad.exit_code != 0 and "2026-13" in bad.output


@pytest.mark.parametrize(("name", "util", "unused", "hourly"), [
    # 12 Used rows at 40 + 12 Unused rows at 10 of a 50 USD/h Savings Plan: 480 / 600
    ("aws_focus_1.0_sp_hourly.csv", 12 * 40 / (12 * 40 + 12 * 10), 12 * 10, 50.0),
    # Google's view has no CommitmentDiscountStatus: the 24 fee rows (55) and the covered rows (0) are all Used,
    # 1320 / 1320; the unused part is unknown, and said
    ("gcp_focus_view_cud_hourly.csv", (24 * 55 + 0) / (24 * 55), 0.0, None),
])
def test_provider_dialect_commitment_utilization(name, util, unused, hourly):
    """tests/data/focus/make_dialect_files.py: AWS FOCUS 1.0 and Google's FOCUS view."""
    perf = commitment_performance(TEST_DATA / "focus" / name)
    assert len(perf.commitments) == 1
    assert perf.summary["utilization"] == pytest.approx(util)
    assert perf.summary["unused_cost_usd"] == pytest.approx(unused)
    if hourly is not None:
        assert perf.inventory["hourly_amount"].iat[0] == pytest.approx(hourly)
        assert perf.inventory["payment_option"].iat[0] == "no_upfront"  # 12 Recurring purchase rows
    else:
        assert any("no CommitmentDiscountStatus" in n for n in perf.notes)
