"""The plan's periods: the first quarter's months, quarters cut at owned commitments' expiry dates, the term cover
of unequal periods, and the fees after the horizon (issue 15, "A ladder that expires in rungs")."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.portfolio import PortfolioConfig, Scenarios, optimize
from finops_forecast.portfolio.api import plan_periods, prepare, term_cover
from finops_forecast.portfolio.billing import bill
from finops_forecast.portfolio.model import as_cover
from tests.portfolio.pf_helpers import P5, catalog_rows, keys, make_catalog

RI12 = "aws_standard_ri:us-east-1:p5.48xlarge:12m:no_upfront"
EXPIRY = pd.Timestamp("2028-08-15", tz="UTC")


def _scen(paths, start):
    ds = pd.date_range(start, periods=paths.shape[2], freq="h", tz="UTC")
    return Scenarios(keys=keys(P5 + ("inference",)), ds=ds, paths=paths)


def test_first_quarter_months_and_expiry_cuts_with_an_exact_term_cover():
    ds = pd.date_range("2027-01-01", "2030-01-01", freq="h", tz="UTC", inclusive="left")
    per = plan_periods(ds, 12, splits=[EXPIRY, pd.Timestamp("2031-01-05", tz="UTC")])
    # Jan, Feb, Mar 2027, then quarters; 2028Q3 cut on 2028-08-15; the date after the horizon is ignored
    assert list(per.hours[:3]) == [744, 672, 744] and per.T == 12 + 2 + 1
    assert per.start[9] == EXPIRY and list(per.quarter[8:11]) == [6, 6, 7]
    assert per.hours.sum() == (pd.Timestamp("2030-01-01", tz="UTC") - ds[0]) / pd.Timedelta(hours=1)
    cover = term_cover(per, [12, 36])
    held_h = np.einsum("k,kti->ti", per.hours, cover)
    # a 12-month term bought on 2027-02-01 holds until 2028-02-01: 8,760 hours, a third of 2028Q1 pro rata
    assert held_h[1, 0] == 8760 and cover[6, 1, 0] == pytest.approx(744 / 2184)
    # bought on the expiry date: 12 months to 2029-08-15, the hours of the horizon after it
    assert held_h[9, 0] == (pd.Timestamp("2029-08-15", tz="UTC") - EXPIRY) / pd.Timedelta(hours=1)
    assert held_h[0, 1] == per.hours.sum()  # 36 months from the start: the whole horizon
    # on a grid of calendar quarters the cover is the band of term / 3 quarters
    q = plan_periods(ds, 12, first_quarter_months=False)
    np.testing.assert_array_equal(term_cover(q, [12, 36]), as_cover(np.array([4, 12]), 12, 2))


def _real_p5_catalog():
    """The bundled catalog's p5.48xlarge us-east-1 rows: on demand and the 12-month no-upfront standard RI."""
    from finops_forecast.pricing import load_pricing

    c = load_pricing()
    c = c[(c["instance_type"] == "p5.48xlarge") & (c["region"] == "us-east-1")]
    keep = (c["pricing_model"] == "on_demand") | ((c["commitment_family"] == "aws_standard_ri")
                                                   & (c["term_months"] == 12)
                                                   & (c["payment_option"] == "no_upfront"))
    return c[keep].reset_index(drop=True)


def _hourly_cost(market, demand, ds, owned, buys) -> float:
    """Bill every hour with the billing engine: ``owned`` RI instances until EXPIRY, plus each (date, quantity)
    of ``buys`` from its date [USD]."""
    i = market.instrument_index(RI12)
    held = np.zeros((len(ds), market.n_instruments))
    held[ds < EXPIRY, i] += owned
    for date, q in buys:
        held[ds >= date, i] += q
    return float(bill(demand, market, held).cost.sum())


def test_mid_quarter_expiry_is_replaced_on_its_date():
    """Two owned p5 RIs expire on 2028-08-15, mid-quarter, under flat demand of two instances. The plan buys
    their replacement on that date: billed hour by hour it costs no more than that single purchase, and less
    than the quarterly grid's pro-rata purchase at the quarter start (the owned RIs held 45/92 of the quarter)."""
    cat = _real_p5_catalog()
    d = np.full((1, 2, 2208), 16.0)  # 2028Q3, two 8-GPU instances every hour
    scen = _scen(d, "2028-07-01")
    inv = pd.DataFrame([dict(commitment_id="ri-1", family="aws_standard_ri", provider="aws", region="us-east-1",
                             instance_type="p5.48xlarge", term_months=12, payment_option="no_upfront",
                             quantity=2, expires=EXPIRY)])
    cfg = PortfolioConfig(quarters=1, terms_months=(12,), families=("aws_standard_ri",), frontier_lambdas=(0.0,),
                          curve_factors=(1.0,))
    plan = optimize(scen, cat, inv, cfg)
    buys = plan.purchases
    assert list(buys["buy_date"]) == [EXPIRY] and list(buys["quantity"]) == [2] and list(buys["quarter"]) == [0]
    old = optimize(scen, cat, inv, cfg.replace(split_at_expiry=False, monthly_first_quarter=False))
    assert list(old.purchases["buy_date"]) == [pd.Timestamp("2028-07-01", tz="UTC")]

    mk = prepare(scen, cat, inv, cfg).market
    demand, ds = d[:, 0, :].T, scen.ds
    mine = _hourly_cost(mk, demand, ds, 2, zip(buys["buy_date"], buys["quantity"]))
    single = _hourly_cost(mk, demand, ds, 2, [(EXPIRY, 2)])
    pro_rata = _hourly_cost(mk, demand, ds, 2, zip(old.purchases["buy_date"], old.purchases["quantity"]))
    assert mine <= single * (1 + 1e-12)
    assert mine < pro_rata
    # known answer: every hour two RIs at 34.676411 USD/h each, nothing on demand
    assert mine == pytest.approx(2208 * 2 * 34.676411, rel=1e-6)
    assert plan.expected_cost_usd == pytest.approx(mine, rel=1e-9)


def test_counting_the_fees_after_the_horizon_changes_the_term():
    """Two p5 instances used for three quarters, none in the last of a 4-quarter plan. Fees inside the horizon
    only: the 36-month RI is cheaper (1.8 < 2.6 USD/GPU-h for the same 4 quarters). Every fee counted: the 36-month
    RI owes 24 more months after the horizon for demand that stays at the last quarter's, zero, so the 12-month
    RI is bought; under flat demand the tail is neutral and the plan is the horizon's."""
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.6, 36: 1.8}))
    d = np.full((1, 2, 8760), 16.0)
    d[:, :, 6552:] = 0.0  # 2027Q4: no demand
    cfg = PortfolioConfig(quarters=4, terms_months=(12, 36), frontier_lambdas=(0.0,), curve_factors=(1.0,))
    counted = optimize(_scen(d, "2027-01-01"), cat, config=cfg)
    ignored = optimize(_scen(d, "2027-01-01"), cat, config=cfg.replace(fees_after_horizon="ignore"))
    assert list(ignored.buy_now["term_months"]) == [36] and list(ignored.buy_now["quantity"]) == [2]
    assert list(counted.buy_now["term_months"]) == [12] and list(counted.buy_now["quantity"]) == [2]
    assert ignored.fees_after_horizon_usd == pytest.approx(2 * 8 * 1.8 * (36 * 730 - 8760), rel=1e-9)
    assert counted.fees_after_horizon_usd == 0.0
    flat = np.full((1, 2, 8760), 16.0)
    a = optimize(_scen(flat, "2027-01-01"), cat, config=cfg)
    b = optimize(_scen(flat, "2027-01-01"), cat, config=cfg.replace(fees_after_horizon="ignore"))
    pd.testing.assert_frame_equal(a.purchases, b.purchases)
    assert list(a.buy_now["term_months"]) == [36]


def test_budget_is_per_quarter_over_the_first_quarter_months():
    """The upfront budget caps the sum of the first quarter's three months, not each month."""
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.6}, payment="all_upfront", upfront_share=1.0))
    d = np.full((1, 2, 2160), 16.0)
    one = 8 * 2.6 * 12 * 730  # the upfront of one instance [USD]
    cfg = PortfolioConfig(quarters=1, terms_months=(12,), payment_options=("all_upfront",),
                          upfront_budget_usd=1.5 * one, frontier_lambdas=(0.0,), curve_factors=(1.0,),
                          fees_after_horizon="ignore")
    plan = optimize(_scen(d, "2027-01-01"), cat, config=cfg)
    assert plan.buy_now["upfront_usd"].sum() <= 1.5 * one + 1e-6
    assert plan.buy_now["quantity"].sum() == 1
