"""Small pure pieces of the report's analysis."""
from __future__ import annotations

import pandas as pd
import pytest

from finops_forecast.report.present import quantity_cell, signing_text
from finops_forecast.report.results import showback_period
from finops_forecast.usage.instances import instance_registry


@pytest.mark.parametrize("last, period", [("2026-10-31 23:00", "2026-10"), ("2026-11-15 05:00", "2026-10"),
                                          ("2026-12-31 23:00", "2026-12"), ("2027-01-01 00:00", "2026-12")])
def test_showback_period_is_the_last_full_month(last, period):
    assert showback_period(pd.DataFrame({"ts": [pd.Timestamp(last, tz="UTC")]})) == period


def test_signing_text_gives_break_even_utilization_and_walk_away_months():
    buy = pd.DataFrame({"break_even_utilization": [0.45, 0.65, 0.7], "walk_away_month": [16.2, 7.8, float("nan")]})
    assert signing_text(buy) == ("Each line loses money against on demand below its break-even utilization, "
                                  "45% to 70% at today's prices. At their expected utilization the lines pay for "
                                  "their whole term after 8 to 16 months of use; 1 line would not within its term. ")
    assert signing_text(buy.iloc[:0]) == ""


def test_quantity_cell_shows_whole_units_as_bought():
    row = pd.DataFrame({"quantity": [78.0, 28.0, 1234.0, 77.774], "unit": ["instance", "GPU", "USD/h", "instance"]})
    assert [quantity_cell(r) for r in row.itertuples()] == ["78", "28 GPU", "1,234 USD/h", "77.77"]


def test_registry_memory_is_per_gpu():
    reg = instance_registry().set_index(["provider", "instance_type"])["gpu_memory_gb"].astype(float)
    assert reg[("aws", "g5.12xlarge")] == 24 and reg[("aws", "g6.12xlarge")] == 24  # the source says 24 per GPU
    assert reg[("aws", "p4d.24xlarge")] == 40 and reg[("aws", "p4de.24xlarge")] == 80  # the source gives totals
    assert reg[("aws", "p5.48xlarge")] == 80


@pytest.mark.slow
def test_owned_commitments_show_in_the_ladder_and_expire(tmp_path):
    """An inventory file: the ladder holds what is owned until it expires, and the plan counts it."""
    from finops_forecast.report.analysis import quarterly_analysis
    from finops_forecast.report.charts import ladder_chart, to_svg
    from finops_forecast.report.params import ReportParams

    inv = tmp_path / "owned.csv"
    inv.write_text("commitment_id,family,provider,region,instance_type,term_months,payment_option,quantity,expires\n"
                   "ri-1,aws_standard_ri,aws,us-east-1,p5.48xlarge,12,no_upfront,20,2027-05-15T00:00:00Z\n")
    analysis = quarterly_analysis(ReportParams.from_mapping(
        {"commitments": str(inv), "n_paths": 20, "quarters": 4, "quarter": "2027Q1", "track_record_weeks": 0}))
    owned = analysis.plan.ladder.groupby("quarter")["owned"].sum()
    assert owned[0] == pytest.approx(20)           # held the whole first quarter
    assert 0 < owned[1] < 20                        # expires mid-May: part of the second quarter
    assert owned[2] == 0 and owned[3] == 0         # gone after
    assert "<svg" in to_svg(ladder_chart(analysis.plan, analysis.instrument_prices))
    # the comparison counts the owned RIs for every policy, so "no commitments" still pays for them
    assert analysis.comparison["commitment_usd_per_hour"].min() > 0
    # the forecast's paths are freed once billed (peak memory); the fan chart reads the quantiles kept for it
    from finops_forecast.report.charts import fan_frame
    assert analysis.forecast.paths is None
    assert set(fan_frame(analysis).query("kind == 'forecast'")["workload_class"]) == set(analysis.usage["workload_class"])


def test_top_drivers_table_formats_shares_and_unit_costs():
    """Shares of cost in percent and unit costs in cents, not rounded to 0 (which showed every share as 0)."""
    import pandas as pd

    from finops_forecast.report.present import top_drivers_table

    top = pd.DataFrame({"rank": [1, 2], "team": ["a", "b"], "gpu_hours": [148056.4, 10.0],
                        "gpu_cost": [1819608.2, 21.5], "usd_per_gpu_hour": [12.29, 2.15], "share": [0.372, 0.004]})
    html = top_drivers_table({"top_drivers": top}).to_html()
    assert "37.2%" in html and "0.4%" in html and "12.29" in html and "148,056" in html
    assert "share of cost" in html and "USD/GPU-h" in html


@pytest.mark.slow
def test_track_record_replays_both_rules_on_recent_usage():
    """Two weeks replayed on the sample: four rules billed on the same weeks, perfect foresight never beaten
    and capturing 1; the text compares the two rules with the table's numbers; 0 weeks and a usage too short for
    the warm-up say why there is no track record instead of failing."""
    import dataclasses

    from finops_forecast.report import present
    from finops_forecast.report.analysis import quarterly_analysis, track_record
    from finops_forecast.report.params import ReportParams

    a = quarterly_analysis(ReportParams.from_mapping({"n_paths": 20, "quarters": 1, "quarter": "2027Q1",
                                                      "track_record_weeks": 2}))
    r = a.track  # computed once, by the orchestrator
    s = r.summary.set_index("policy")
    assert set(s.index) == {"forecast", "lookback", "hindsight", "on_demand"} and r.settings["windows"] == 2
    assert s.loc["hindsight", "savings_capture"] == pytest.approx(1.0)
    assert (s["cost_usd"] >= s.loc["hindsight", "cost_usd"] * (1 - 1e-9)).all()
    # the weeks replayed are the last two of the usage
    end = a.usage["ts"].max() + pd.Timedelta(hours=1)
    assert pd.Timestamp(r.settings["first_decision"]) == end - pd.Timedelta(days=14)
    text = present.track_record_text(a)
    assert f"{s.loc['forecast', 'savings_capture']:.1%}" in text and f"{s.loc['lookback', 'savings_capture']:.1%}" in text
    assert "forecast-driven (this method)" in present.track_record_table(a).to_html()
    off_params = dataclasses.replace(a.params, track_record_weeks=0)
    off = dataclasses.replace(a, params=off_params, track=track_record(a.usage, a.catalog, off_params))
    assert "off" in present.track_record_text(off) and present.track_record_table(off) is None
    recent = a.usage[a.usage["ts"] >= end - pd.Timedelta(days=20)]
    short = dataclasses.replace(a, track=track_record(recent, a.catalog, a.params))
    assert present.track_record_text(short).startswith("No track record:") and present.track_record_table(short) is None


def test_plan_quantities_refuses_a_purchase_the_market_does_not_have():
    """Purchases are placed on the market they are billed on; one the market lacks is an error, never dropped
    (a market rebuilt beside the plan's silently left such purchases out of the comparison)."""
    from finops_forecast.errors import FinopsError
    from finops_forecast.portfolio.instruments import build_market
    from finops_forecast.pricing import load_pricing
    from finops_forecast.report.analysis import plan_quantities

    keys = pd.DataFrame({"provider": ["aws"], "region": ["us-east-1"], "instance_type": ["p5.48xlarge"],
                         "workload_class": ["training"]})
    market = build_market(load_pricing(), keys, terms_months=(12,), payment_options=("no_upfront",))
    ids = market.instruments["id"].tolist()
    buy = pd.DataFrame({"instrument": [ids[0], ids[-1], ids[0]], "quantity": [2.0, 150.0, 1.0]})
    q = plan_quantities(buy, market)
    assert q[0] == 3.0 and q[-1] == 150.0 and q.sum() == 153.0
    other = ids[0].replace("no_upfront", "all_upfront")
    with pytest.raises(FinopsError, match="all_upfront"):
        plan_quantities(pd.DataFrame({"instrument": [other], "quantity": [1.0]}), market)


@pytest.mark.slow
def test_the_comparison_bills_on_the_plans_market_with_owned_commitments_of_any_payment(tmp_path):
    """An owned all-upfront RI while the plan may buy no-upfront only: the plan's market holds it, the comparison
    bills on that market and every row pays for it (a market rebuilt from the purchase settings had no such
    instrument, so the report failed)."""
    from finops_forecast.report.analysis import quarterly_analysis
    from finops_forecast.report.params import ReportParams

    inv = tmp_path / "owned.csv"
    inv.write_text("commitment_id,family,provider,region,instance_type,term_months,payment_option,quantity,expires\n"
                   "ri-1,aws_standard_ri,aws,us-east-1,p5.48xlarge,12,all_upfront,5,2028-01-01T00:00:00Z\n")
    a = quarterly_analysis(ReportParams.from_mapping(
        {"commitments": str(inv), "n_paths": 20, "quarters": 1, "quarter": "2027Q1", "track_record_weeks": 0}))
    owned = a.plan.ladder[a.plan.ladder["owned"] > 0]
    assert owned["instrument"].tolist() == ["aws_standard_ri:us-east-1:p5.48xlarge:12m:all_upfront"]
    price = a.instrument_prices[owned["instrument"].iat[0]]
    rows = a.comparison.set_index("policy")["commitment_usd_per_hour"]
    assert rows.iloc[2] == pytest.approx(5 * price)  # no new commitments: the owned RI only
    assert (rows >= 5 * price - 1e-9).all()


def test_presentation_computes_nothing():
    """report/present.py shows the results object: it imports no stage that computes (usage, forecast, pricing,
    portfolio, evaluate, showback) nor the orchestrator, only formatting and file writing."""
    import ast

    from tests.conftest import REPO

    tree = ast.parse((REPO / "finops_forecast" / "report" / "present.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    internal = {m for m in imported if m and m.startswith("finops_forecast")}
    assert internal == {"finops_forecast._io", "finops_forecast.report.safe"}
