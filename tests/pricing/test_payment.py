"""Payment options and terms: amortization, cost of capital, checked against the real 2017 AWS RI rates."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finops_forecast.errors import PricingError
from finops_forecast.pricing import price
from finops_forecast.pricing import assumptions as A
from finops_forecast.pricing.payment import (
    amortized_rate, annuity_factor, equivalent_hourly_rate, implied_annual_rate, split_payment,
)

RI_COLS = {(cls, 12 * y, pay): f"yrTerm{y}{cls.capitalize()}.{p}_effective_usd_per_hour"
           for cls in ("standard", "convertible") for y in (1, 3)
           for pay, p in (("no_upfront", "noUpfront"), ("partial_upfront", "partialUpfront"),
                          ("all_upfront", "allUpfront"))}


@pytest.fixture(scope="module")
def ri2017(raw):
    d = pd.read_csv(raw / "aws-ri-2017" / "aws_gpu_ondemand_and_ri_rates_2017-11-12.csv")
    return d[d.os == "linux"].reset_index(drop=True)


def test_assumption_ratios_are_the_medians_of_the_raw_2017_file(ri2017):
    base = ri2017[RI_COLS[("standard", 12, "no_upfront")]]
    for key, col in RI_COLS.items():
        assert A.AWS_RI_RATIO_2017[key] == pytest.approx((ri2017[col] / base).median(), abs=5e-5), key


def test_ri_to_on_demand_ratio_is_the_median_of_the_raw_2026_file(raw):
    v = pd.read_csv(raw / "aws-vantage-2026-01" / "aws_gpu_instances_2026-01-21.csv")
    r = (v.reserved_usd_per_hour / v.on_demand_usd_per_hour).dropna()
    assert len(r) == 803
    assert A.AWS_RI1Y_TO_OD_2026 == pytest.approx(r.median(), abs=1e-6)


@pytest.mark.parametrize("term, pay", A.AWS_ALL_TERMS)
def test_catalog_term_and_payment_ratios_reproduce_2017(catalog, ri2017, term, pay):
    """The catalog's AWS RI ladder (anchored on the real 2026 1-year rate) has the 2017 file's shape."""
    anchor = price(catalog, "aws", "us-west-2", "g5.12xlarge", "reserved", 12, "no_upfront")
    rate = price(catalog, "aws", "us-west-2", "g5.12xlarge", "reserved", term, pay)
    col, base = RI_COLS[("standard", term, pay)], RI_COLS[("standard", 12, "no_upfront")]
    assert rate / anchor == pytest.approx((ri2017[col] / ri2017[base]).median(), abs=5e-5)
    csp = price(catalog, "aws", "us-west-2", "g5.12xlarge", "savings_plan", term, pay,
                commitment_family="aws_compute_sp")
    col = RI_COLS[("convertible", term, pay)]
    assert csp / anchor == pytest.approx((ri2017[col] / ri2017[base]).median(), abs=5e-5)


def test_2017_upfront_options_imply_a_plausible_interest_rate(ri2017):
    """Paying upfront in 2017 earned a return: all_upfront vs no_upfront implies a positive annual rate."""
    rates = []
    for _, d in ri2017.iterrows():
        for y in (1, 3):
            no_up = d[RI_COLS[("standard", 12 * y, "no_upfront")]]
            all_up = d[RI_COLS[("standard", 12 * y, "all_upfront")]]
            if np.isnan(no_up):
                continue
            up, rec = split_payment(all_up, 12 * y, "all_upfront")
            rates.append(implied_annual_rate(up, rec, no_up, 12 * y))
    rates = np.array(rates)
    assert np.isfinite(rates).all() and len(rates) == 120
    assert 0.05 < np.median(rates) < 0.30
    assert (rates > 0).all()


def test_catalog_payment_options_keep_the_2017_implied_rate(catalog, ri2017):
    col_no, col_all = RI_COLS[("standard", 12, "no_upfront")], RI_COLS[("standard", 12, "all_upfront")]
    r17 = ri2017.iloc[(ri2017[col_all] / ri2017[col_no] - A.AWS_RI_RATIO_2017[("standard", 12, "all_upfront")])
                      .abs().argmin()]
    up17, rec17 = split_payment(r17[col_all], 12, "all_upfront")
    want = implied_annual_rate(up17, rec17, r17[col_no], 12)
    row = catalog[(catalog.instance_type == "p5.48xlarge") & (catalog.region == "us-east-1")
                  & (catalog.commitment_family == "aws_standard_ri") & (catalog.term_months == 12)]
    no_up = row[row.payment_option == "no_upfront"].iloc[0]
    all_up = row[row.payment_option == "all_upfront"].iloc[0]
    got = implied_annual_rate(all_up.upfront_usd, all_up.recurring_usd_per_hour, no_up.recurring_usd_per_hour, 12)
    assert got == pytest.approx(want, abs=0.01)
    # at that cost of capital the two options cost the same per hour
    assert equivalent_hourly_rate(all_up.upfront_usd, 0.0, 12, got) == pytest.approx(no_up.usd_per_hour, rel=1e-9)


def test_all_upfront_is_cheaper_amortized_but_not_at_a_high_cost_of_capital(catalog):
    sel = catalog[(catalog.instance_type == "g6.12xlarge") & (catalog.region == "us-east-1")
                  & (catalog.commitment_family == "aws_standard_ri") & (catalog.term_months == 36)]
    by = sel.set_index("payment_option")
    eq = {p: equivalent_hourly_rate(by.loc[p, "upfront_usd"], by.loc[p, "recurring_usd_per_hour"], 36, 0.25)
          for p in by.index}
    assert by.loc["all_upfront", "usd_per_hour"] < by.loc["no_upfront", "usd_per_hour"]
    assert eq["all_upfront"] > eq["no_upfront"]  # at 25 %/year, paying upfront does not pay


@settings(max_examples=50, deadline=None)
@given(rate=st.floats(0.01, 1000), term=st.sampled_from([12, 36]),
       pay=st.sampled_from(["no_upfront", "partial_upfront", "all_upfront"]), r=st.floats(0.0, 0.5))
def test_payment_maths_properties(rate, term, pay, r):
    up, rec = split_payment(rate, term, pay)
    assert amortized_rate(up, rec, term) == pytest.approx(rate, rel=1e-12)
    assert equivalent_hourly_rate(up, rec, term, 0.0) == pytest.approx(rate, rel=1e-12)
    eq = equivalent_hourly_rate(up, rec, term, r)
    if up > 0 and r > 0:
        # money paid earlier weighs more, by at most the capital's growth over the term
        assert rate * (1 - 1e-12) <= eq <= rate * (1 + r) ** (term / 12) * (1 + 1e-12)
        if r > 1e-6:
            assert eq > rate
    else:
        assert eq == pytest.approx(rate, rel=1e-12)
    assert annuity_factor(r, term) <= term + 1e-9


def test_payment_errors():
    with pytest.raises(PricingError, match="Invalid payment_option 'upfront'"):
        split_payment(1.0, 12, "upfront")
    with pytest.raises(PricingError, match="term_months must be > 0"):
        amortized_rate(100.0, 1.0, 0)
    with pytest.raises(PricingError, match="cost_of_capital must be > -1"):
        equivalent_hourly_rate(100.0, 1.0, 12, -2.0)
