"""Issue 17: spot at the job's scale in the market, and how each planned run is held (capacity decision)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.portfolio.instruments import SpotSettings, build_market
from finops_forecast.pricing.spot import expected_rework, interruption_rate, with_profile

from .pf_helpers import P5, catalog_rows, keys, make_catalog


def test_market_spot_rate_uses_the_series_job_size():
    cat = make_catalog(catalog_rows(P5, 8, 6.88, ri={12: 4.5}, spot=2.0, spot_label=">20%"))
    k = keys(P5 + ("training",))
    default = build_market(cat, k).series["spot_rate"].iat[0]
    lam = float(interruption_rate(">20%"))
    assert default == pytest.approx(2.0 * (1 + float(expected_rework(lam, with_profile("training", nodes=8)))))
    small = build_market(cat, k, spot=SpotSettings(job_nodes={P5 + ("training",): 1})).series["spot_rate"].iat[0]
    assert small == pytest.approx(2.0 * (1 + float(expected_rework(lam, with_profile("training", nodes=1)))))
    # a 128-node job: rework eats the discount, so spot is not offered at all (NaN)
    big = build_market(cat, k, spot=SpotSettings(job_nodes={P5 + ("training",): 128})).series["spot_rate"]
    assert small < default and np.isnan(big.iat[0])


# ------------------------------------------------------------------------------- capacity decision per planned run

from finops_forecast.errors import PricingError  # noqa: E402
from finops_forecast.portfolio.capacity import AvailabilitySettings, decide_capacity, held_run_hours  # noqa: E402
from finops_forecast.pricing.capacity import load_capacity, validate_capacity  # noqa: E402

START = pd.Timestamp("2027-01-11", tz="UTC")
OD = 6.88  # p5.48xlarge us-east-1 after the 2025-06 cut [USD/GPU-h]


def _run(gpus=512, days=3, pool=P5, start=START):
    return pd.DataFrame([dict(start=start, duration_hours=days * 24, gpus=gpus, provider=pool[0], region=pool[1],
                              instance_type=pool[2], workload_class="training", name="r")])


def _block(rate):
    return validate_capacity(pd.DataFrame([dict(
        provider="aws", region="*", instance_type="p5*", product="aws_capacity_block", kind="prepaid",
        rate_basis="usd_per_gpu_hour", rate=rate, durations_days="1-14/1;21-182/7", max_instances=64,
        max_purchases=4, lead_min_days=0, lead_max_days=56, hold_ahead_days=0, guaranteed=True,
        effective_date="2026-11-01", is_assumption=False, source="test quote")]))


@pytest.mark.parametrize("p_od, winner", [(0.5, "aws_capacity_block"), (1.0, "on_demand")])
def test_3_day_64_instance_run_block_vs_on_demand_by_availability(p_od, winner):
    cat = make_catalog(catalog_rows(P5, 8, OD, ri={12: 4.5}))
    block = 7.5  # USD/GPU-h, above on-demand
    settings = AvailabilitySettings(probability={P5 + ("on_demand",): p_od})
    d, opts = decide_capacity(_run(), cat, _block(block), settings)
    gpu_h = 64 * 8 * 72
    delay = 7 * OD * 512 * 24  # default: 7 days, each costing the run's on-demand day
    od_expected = OD * gpu_h + (1 - p_od) * delay
    assert opts.set_index("option").loc["on_demand", "expected_cost_usd"] == pytest.approx(od_expected)
    assert opts.set_index("option").loc["aws_capacity_block", "expected_cost_usd"] == pytest.approx(block * gpu_h)
    assert d["held_by"].iat[0] == winner
    assert (block * gpu_h < od_expected) == (winner == "aws_capacity_block")


def test_a_capacity_block_holds_nothing_outside_its_run_window():
    cat = make_catalog(catalog_rows(P5, 8, OD, ri={12: 4.5}))
    d, _ = decide_capacity(_run(), cat, _block(5.0), AvailabilitySettings())
    assert d["held_by"].iat[0] == "aws_capacity_block"
    assert d["window_start"].iat[0] == START and d["window_end"].iat[0] == START + pd.Timedelta(days=3)
    ds = pd.date_range(START - pd.Timedelta(days=2), periods=24 * 8, freq="h")
    held = held_run_hours(d, keys(P5 + ("training",)), ds)
    inside = (ds >= START) & (ds < START + pd.Timedelta(days=3))
    assert np.all(held[0, inside] == 512) and np.all(held[0, ~inside] == 0)
    # a run longer than the longest block (182 days) cannot be held by one
    _, opts = decide_capacity(_run(days=200), cat, _block(5.0), AvailabilitySettings())
    row = opts.set_index("option").loc["aws_capacity_block"]
    assert not row["feasible"] and "longer than the longest booking (182 d)" in row["why_not"]


def test_booking_rules_round_up_and_split_into_blocks_of_64():
    cat = make_catalog(catalog_rows(P5, 8, OD, ri={12: 4.5}))
    d, opts = decide_capacity(_run(gpus=1024, days=16), cat, _block(5.0), AvailabilitySettings())
    row = opts.set_index("option").loc["aws_capacity_block"]
    assert row["booked_hours"] == 21 * 24 and row["purchases"] == 2  # 16 d -> 21 d (7-day steps); 128 inst
    assert row["fee_usd"] == pytest.approx(5.0 * 1024 * 21 * 24)
    assert d["book_from"].iat[0] == START - pd.Timedelta(weeks=8)


def test_neocloud_reserved_contract_from_a_user_file(tmp_path):
    cw = ("coreweave", "us-east-04", "gd-8xh100ib-i128")
    cat = pd.DataFrame(catalog_rows(("aws",) + cw[1:], 8, 4.25)).assign(provider=cw[0])
    f = tmp_path / "contracts.csv"
    f.write_text("provider,region,instance_type,term_weeks,usd_per_gpu_hour,effective_date,source\n"
                 f"{cw[0]},{cw[1]},{cw[2]},4,2.2,2026-10-01,negotiated quote\n")
    cap = load_capacity(f)
    d, _ = decide_capacity(_run(gpus=256, days=21, pool=cw), cat, cap, AvailabilitySettings())
    assert d["held_by"].iat[0] == "reserved_contract"
    assert d["cost_usd"].iat[0] == pytest.approx(2.2 * 256 * 28 * 24)  # 3 weeks booked as one 4-week term
    f.write_text("provider,region,instance_type,term_weeks,usd_per_gpu_hour,effective_date,source\n"
                 f"{cw[0]},{cw[1]},{cw[2]},0,2.2,2026-10-01,q\n")
    with pytest.raises(PricingError, match=r"row 1, column 'term_weeks'.*whole number of weeks"):
        load_capacity(f)


def test_bundled_capacity_rows_are_sourced_and_assumptions_marked():
    cap = load_capacity()
    assert {"aws_capacity_block", "aws_odcr", "gcp_calendar_reservation", "gcp_flex_start",
            "azure_capacity_reservation"} <= set(cap["product"])
    assert cap["source"].str.contains("https://").all()
    assert (cap["is_assumption"] == cap["source"].str.startswith("ASSUMPTION")).all()
