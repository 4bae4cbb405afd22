"""The outlook laid onto a market: a quarter billed at its expected prices, the backtest's scaled markets."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.portfolio import priced
from finops_forecast.portfolio.billing import bill

Q = pd.Timestamp("2027-01-01", tz="UTC")
POOL = "aws us-east-1 p4d.24xlarge"


@pytest.fixture(scope="module")
def market():
    from finops_forecast.portfolio.instruments import build_market
    from finops_forecast.pricing import load_pricing

    keys = pd.DataFrame([dict(provider="aws", region="us-east-1", instance_type="p4d.24xlarge",
                              workload_class="inference")])
    return build_market(load_pricing("aws"), keys, terms_months=(12,), payment_options=("no_upfront",),
                        families=("aws_standard_ri",))


def _paths(od=(0.5, 0.7), commitment=(0.8, 0.8), start=Q):
    return pd.DataFrame([dict(quarter_start=start, pool=POOL, scenario=k, on_demand=o, spot=1.0, commitment=c)
                         for k, (o, c) in enumerate(zip(od, commitment))])


def test_quarter_billed_at_expected_prices_by_hand(market):
    demand = np.full((10, 1), 16.0)  # two p4d instances busy for 10 hours
    od = market.od_rate[0] * 8  # [USD/h] per instance
    price = market.price[0]
    b = priced.bill_at_outlook(demand, market, owned=[1.0], bought=[0.0], price_paths=_paths(), quarter_start=Q)
    assert b.cost.sum() == pytest.approx(10 * (price + 0.6 * od))  # the owned instance at today's price
    assert b.list_cost.sum() == pytest.approx(10 * 2 * 0.6 * od)
    b = priced.bill_at_outlook(demand, market, owned=[0.0], bought=[1.0], price_paths=_paths(), quarter_start=Q)
    assert b.fee.sum() == pytest.approx(10 * 0.8 * price)  # bought this quarter: the quarter's commitment price
    assert b.used.sum() / b.committed.sum() == pytest.approx(1.0)
    flat = bill(demand, market, [1.0])
    same = priced.bill_at_outlook(demand, market, [0.0], [1.0], None, Q)
    assert same.cost.sum() == pytest.approx(flat.cost.sum())
    other_quarter = priced.bill_at_outlook(demand, market, [0.0], [1.0], _paths(), Q + pd.DateOffset(months=3))
    assert other_quarter.cost.sum() == pytest.approx(flat.cost.sum())


def test_commitment_follows_on_demand_without_its_column(market):
    od, spot, cm = priced.quarter_multipliers(_paths().drop(columns="commitment"), market, Q)
    assert od[0] == pytest.approx(0.6) and cm[0] == pytest.approx(0.6) and spot[0] == 1.0


def test_scaled_market_caps_spot_at_on_demand(market):
    m = priced.scaled_market(market, np.array([0.5]), np.array([3.0]), np.array([0.9]))
    assert m.od_rate[0] == pytest.approx(0.5 * market.od_rate[0])
    assert m.price[0] == pytest.approx(0.9 * market.price[0])
    assert np.all(m.chunk_value <= m.od_rate[m.chunk_pool] + 1e-12)
    assert market.od_rate[0] != m.od_rate[0]  # the original is not modified
