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
    decided_on = pd.Timestamp("2026-10-31 23:00", tz="UTC")
    text, table = capacity_section(ReportParams(price_outlook="flat"), catalog, decided_on=decided_on)
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
    # the report's default outlook ('history'): on demand and the products priced as a multiple of it (the
    # Capacity Blocks' assumed price, the ODCR) at the expected on-demand rate over the run; the same holdings
    from finops_forecast.portfolio.capacity import outlook_multipliers
    from finops_forecast.usage.sample import sample_planned_runs

    run = sample_planned_runs().iloc[0]
    od_mult, _ = outlook_multipliers("history", catalog[catalog["instance_type"] == "p5.48xlarge"], run, decided_on)
    text_h, _ = capacity_section(ReportParams(), catalog, decided_on=decided_on)
    assert 0.9 < od_mult < 1.0
    assert f"**{md_text('aws_capacity_block')}** (2 purchase(s), 128 instances" in text_h
    assert f"**{fee * od_mult:,.0f} USD** against {fee * od_mult:,.0f} USD on demand" in text_h


def test_user_strings_are_escaped(tmp_path, catalog):
    runs = tmp_path / "runs.csv"
    runs.write_text("start,duration_hours,gpus,provider,region,instance_type,workload_class,name\n"
                    "2027-01-11,72,64,aws,us-east-1,p5.48xlarge,training,<script>alert(1)</script>\n")
    text, _ = capacity_section(ReportParams(planned_runs=str(runs)), catalog)
    assert "<script>" not in text and md_text("<script>alert(1)</script>") in text


def test_no_planned_runs_says_so(catalog):
    text, table = capacity_section(ReportParams(planned_runs=""), catalog)
    assert table is None and "No planned runs" in text


def test_scenarios_net_of_capacity_remove_the_held_run_inside_its_window_only():
    """A prepaid capacity block pays for its run: the commitments' demand loses exactly the run's GPU-hours in the
    run's window (clipped at 0), and nothing outside it."""
    import numpy as np

    from finops_forecast.portfolio import Scenarios
    from finops_forecast.report.analysis import scenarios_net_of_capacity

    ds = pd.date_range("2027-01-01", periods=48, freq="h", tz="UTC")
    keys = pd.DataFrame({"provider": ["aws", "aws"], "region": ["us-east-1"] * 2,
                         "instance_type": ["p5.48xlarge"] * 2, "workload_class": ["training", "inference"]})
    paths = np.full((2, 3, 48), 100.0)
    paths[0, 0, 12] = 30.0  # below the run's size: clipped at 0, never negative
    dec = pd.DataFrame({"kind": ["prepaid", "on_demand"], "run_start": [ds[10], ds[0]],
                        "run_end": [ds[10] + pd.Timedelta(hours=5), ds[47]], "gpus": [64.0, 999.0],
                        "provider": ["aws"] * 2, "region": ["us-east-1"] * 2, "instance_type": ["p5.48xlarge"] * 2,
                        "workload_class": ["training"] * 2})
    net = scenarios_net_of_capacity(Scenarios(keys=keys, ds=ds, paths=paths), dec)
    x = net.slice_major(0, 48)
    expect = paths.copy()
    expect[0, :, 10:15] = np.maximum(expect[0, :, 10:15] - 64.0, 0.0)
    np.testing.assert_array_equal(x, expect)
    assert x[0, 0, 12] == 0.0 and x[1].min() == 100.0
    same = scenarios_net_of_capacity(Scenarios(keys=keys, ds=ds, paths=paths), dec.iloc[1:])
    assert same.paths is paths  # nothing prepaid: the scenarios as they were
