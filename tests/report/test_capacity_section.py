"""The report section "Capacity for planned runs" (issue 17, point 4) on the sample's planned runs."""
from __future__ import annotations

import pandas as pd
import pytest

from finops_forecast.pricing import load_pricing
from finops_forecast.report.capacity_section import capacity_section
from finops_forecast.report.params import ReportParams
from finops_forecast.report.safe import md_text


@pytest.fixture(scope="module")
def catalog():
    return load_pricing()


def test_sample_runs_get_a_capacity_decision_with_numbers(catalog):
    text, table = capacity_section(ReportParams(), catalog, decided_on=pd.Timestamp("2026-10-31 23:00", tz="UTC"))
    od = 55.04 / 8  # p5.48xlarge us-east-1 on demand [USD/GPU-h]
    fee = od * 1024 * 28 * 24
    assert f"**{md_text('foundation-v5-pretrain')}**" in text
    assert f"**{md_text('aws_capacity_block')}** (2 purchase(s), 128 instances" in text
    assert f"**{fee:,.0f} USD**" in text and "bookable from 2026-11-16" in text
    # the ND96 run: no capacity product beats on demand with the defaults, and the section says so with numbers
    nd = [line for line in text.splitlines() if md_text("foundation-v5-posttrain") in line][0]
    assert f"**{md_text('on_demand')}**, no capacity bought" in nd and "50% chance the capacity is not there" in nd.replace("\\%", "%")
    opts = table.data
    assert set(opts.loc[opts["run"] == "foundation-v5-posttrain", "option"]) == {
        "on_demand", "spot", "azure_capacity_reservation"}
    assert not opts.loc[opts["option"] == "spot", "feasible"].any()  # 128 / 64 nodes, or no spot discount


def test_user_strings_are_escaped(tmp_path, catalog):
    runs = tmp_path / "runs.csv"
    runs.write_text("start,duration_hours,gpus,provider,region,instance_type,workload_class,name\n"
                    "2027-01-11,72,64,aws,us-east-1,p5.48xlarge,training,<script>alert(1)</script>\n")
    text, _ = capacity_section(ReportParams(planned_runs=str(runs)), catalog)
    assert "<script>" not in text and md_text("<script>alert(1)</script>") in text


def test_no_planned_runs_says_so(catalog):
    text, table = capacity_section(ReportParams(planned_runs=""), catalog)
    assert table is None and "No planned runs" in text
