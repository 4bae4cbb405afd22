"""Issue 17: a capacity reservation billed at a discount instrument's rate; GCP spot for planned runs follows the
price outlook."""
from __future__ import annotations

import pandas as pd
import pytest

from finops_forecast.errors import PortfolioError
from finops_forecast.portfolio.capacity import AvailabilitySettings, decide_capacity, outlook_multipliers
from finops_forecast.pricing.capacity import load_capacity, validate_capacity
from finops_forecast.pricing.spot import job_nodes, spot_effective_cost

from .pf_helpers import catalog_rows, make_catalog

ND = ("azure", "eastus", "Standard_ND96isr_H100_v5")
OD = 12.29  # USD/GPU-h (test fixture)
START = pd.Timestamp("2027-01-11", tz="UTC")


def _run(pool, gpus=256, days=14, cls="training"):
    return pd.DataFrame([dict(start=START, duration_hours=days * 24, gpus=gpus, provider=pool[0], region=pool[1],
                              instance_type=pool[2], workload_class=cls, name="r")])


def _azure_reservation():
    return validate_capacity(pd.DataFrame([dict(
        provider="azure", region="*", instance_type="*", product="azure_capacity_reservation", kind="reservation",
        rate_basis="on_demand_multiple", rate=1.0, durations_days="1-3650/1", max_instances=None,
        max_purchases=None, lead_min_days=0, lead_max_days=None, hold_ahead_days=7, guaranteed=True,
        effective_date="2024-06-01", is_assumption=False, source="test row")]))


def _discount(gpus):
    return pd.DataFrame([dict(provider=ND[0], region=ND[1], instance_type=ND[2], usd_per_gpu_hour=7.5, gpus=gpus,
                              source="azure_reservation 1y (owned)")])


@pytest.mark.parametrize("covered, rate", [(None, OD), (128, (128 * 7.5 + 128 * OD) / 256), (float("nan"), 7.5)])
def test_a_capacity_reservation_is_billed_at_the_discount_where_one_covers_it(covered, rate):
    cat = make_catalog(catalog_rows(ND, 8, OD))
    # on demand never there, and a delay of 10 days: the reservation wins in every case
    settings = AvailabilitySettings(probability={ND + ("on_demand",): 0.0}, delay_days=10)
    disc = None if covered is None else _discount(covered)
    d, opts = decide_capacity(_run(ND), cat, _azure_reservation(), settings, discounts=disc)
    row = opts.set_index("option").loc["azure_capacity_reservation"]
    held_h = (14 + 7) * 24  # the run's 14 days plus the 7 days it is held ahead
    assert row["usd_per_gpu_hour"] == pytest.approx(rate)
    assert row["fee_usd"] == pytest.approx(rate * 256 * held_h)
    assert d["held_by"].iat[0] == "azure_capacity_reservation" and d["cost_usd"].iat[0] == pytest.approx(
        rate * 256 * held_h)
    # the numbers: 256 GPUs x 504 h at 12.29 = 1,585,704.96 USD; half of them at 7.5: 1,276,692.48 USD; all of
    # them at 7.5: 967,680 USD
    expected = {None: 1_585_704.96, 128: 1_276_692.48}.get(covered, 967_680.0)
    assert row["fee_usd"] == pytest.approx(expected)
    if covered is not None:
        assert "by azure_reservation 1y (owned)" in row["source"]


def test_a_discount_never_raises_the_reservation_and_bad_rows_are_named():
    cat = make_catalog(catalog_rows(ND, 8, OD))
    dear = _discount(256).assign(usd_per_gpu_hour=20.0)
    _, opts = decide_capacity(_run(ND), cat, _azure_reservation(), discounts=dear)
    assert opts.set_index("option").loc["azure_capacity_reservation", "usd_per_gpu_hour"] == pytest.approx(OD)
    # the on-demand option is not discounted by the reservation's instrument (it is not held)
    assert opts.set_index("option").loc["on_demand", "usd_per_gpu_hour"] == pytest.approx(OD)
    with pytest.raises(PortfolioError, match=r"lacks \['gpus'\]"):
        decide_capacity(_run(ND), cat, _azure_reservation(), discounts=_discount(1).drop(columns="gpus"))
    with pytest.raises(PortfolioError, match="not a number >= 0"):
        decide_capacity(_run(ND), cat, _azure_reservation(), discounts=_discount(-1))


A3 = ("gcp", "us-central1", "a3-highgpu-8g")


def test_gcp_spot_of_a_planned_run_follows_the_price_outlook(tmp_path):
    """A3 spot doubled from 2025-11 to 2026-07 (issue 17): an outlook that doubles spot from before the run
    doubles the spot option's rate; on demand (and products priced from it) follow their own multiplier."""
    cat = make_catalog(catalog_rows(A3, 8, 11.06, spot=2.0, spot_label=">20%"))
    out = tmp_path / "outlook.csv"
    pd.DataFrame([("gcp", "a3-highgpu-8g", "spot", "2026-12-01", 2.0), ("gcp", "*", "on_demand", "2027-01-18",
                                                                          0.5)],
                 columns=["provider", "instance_type", "pricing_model", "effective_from", "multiplier"]
                 ).to_csv(out, index=False)
    run = _run(A3, gpus=16, days=14, cls="experimentation")
    settings = AvailabilitySettings(decided_on=pd.Timestamp("2026-10-31", tz="UTC"))
    flat = decide_capacity(run, cat, load_capacity(), settings)[1].set_index("option")
    moved = decide_capacity(run, cat, load_capacity(), settings, price_outlook=str(out))[1].set_index("option")
    today = float(spot_effective_cost(2.0, ">20%", "experimentation", nodes=job_nodes(16, 8)))
    assert flat.loc["spot", "usd_per_gpu_hour"] == pytest.approx(today)
    assert moved.loc["spot", "usd_per_gpu_hour"] == pytest.approx(2.0 * today)
    # on demand: 7 days at 1.0 and 7 days at 0.5 -> x 0.75; flex-start is priced from on demand
    assert moved.loc["on_demand", "usd_per_gpu_hour"] == pytest.approx(0.75 * 11.06)
    assert moved.loc["gcp_flex_start", "fee_usd"] == pytest.approx(0.75 * flat.loc["gcp_flex_start", "fee_usd"])
    # products priced as a multiple of on demand follow it (a reservation billed at its rate; the calendar
    # reservation's assumed price); a quote in USD per GPU-hour does not move
    assert moved.loc["gcp_reservation_cud", "usd_per_gpu_hour"] == pytest.approx(0.75 * 11.06)
    assert moved.loc["gcp_calendar_reservation", "fee_usd"] == pytest.approx(0.75 * 11.06 * 16 * 14 * 24)
    quote = pd.DataFrame([dict(provider=A3[0], region=A3[1], instance_type=A3[2], term_weeks=2,
                               usd_per_gpu_hour=9.0, effective_date="2026-10-01", source="quote")])
    moved_q = decide_capacity(run, cat, load_capacity(quote), settings, price_outlook=str(out))[1]
    assert moved_q.set_index("option").loc["reserved_contract", "usd_per_gpu_hour"] == pytest.approx(9.0)
    # 'history' moves spot of every GPU type (the bundled fit's spot steps; the fixture's GPU type "X" is no
    # training GPU, so its on demand has no cut), and 'flat' is today's rate
    r = run.iloc[0]
    assert outlook_multipliers("flat", cat, r) == (1.0, 1.0)
    od_m, spot_m = outlook_multipliers("history", cat, r, settings.decided_on)
    assert od_m == pytest.approx(1.0) and spot_m != pytest.approx(1.0)
    # naive times are UTC
    assert outlook_multipliers("history", cat, r, pd.Timestamp("2026-10-31")) == (
        od_m, spot_m)
