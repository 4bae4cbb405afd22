"""Plans a buyer can sign (issue 15): whole units, the numbers signed on, payment option by present value."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.portfolio import PortfolioConfig, Scenarios, optimize
from finops_forecast.portfolio.api import npv_price, prepare, signing_numbers
from finops_forecast.portfolio.billing import bill
from tests.portfolio.pf_helpers import P4, P5, catalog_rows, hourly_paths, keys, make_catalog

ONE_Q = dict(quarters=1, ladder=False, frontier_lambdas=(0.0,), curve_factors=(1.0,))


def scen(paths, ks, start="2027-01-01"):
    ds = pd.date_range(start, periods=paths.shape[2], freq="h", tz="UTC")
    return Scenarios(keys=ks, ds=ds, paths=paths)


# ---- 1. whole units by default ----------------------------------------------------------------------------
def test_default_plan_is_in_whole_units_and_the_table_is_what_was_billed(rng, two_pool_catalog):
    d = hourly_paths(6, 2160, [37.0, 21.0], [3.0, 2.0], rng)
    ks = keys(P5 + ("training",), P4 + ("inference",))
    plan = optimize(scen(d, ks), two_pool_catalog, config=PortfolioConfig(**ONE_Q, terms_months=(12,)))
    q = plan.buy_now["quantity"].to_numpy()
    assert len(q) and np.array_equal(q, np.round(q)) and (q >= 1).all()  # no line below one unit
    # the purchase table is exactly what the engine billed: bill the table's quantities on every path
    mk = prepare(scen(d, ks), two_pool_catalog, config=PortfolioConfig(**ONE_Q, terms_months=(12,))).market
    held = np.zeros(mk.n_instruments)
    for r in plan.buy_now.itertuples():
        held[mk.instrument_index(r.instrument)] = r.quantity
    flat = np.transpose(d, (1, 2, 0)).reshape(-1, 2)
    cost = bill(flat, mk, held).cost.reshape(6, 2160).sum(axis=1).mean()
    assert plan.expected_cost_usd == pytest.approx(cost, rel=1e-9)
    assert any("whole units" in n for n in plan.notes)


def test_fractional_units_on_request(rng, two_pool_catalog):
    d = hourly_paths(6, 2160, [37.0, 21.0], [3.0, 2.0], rng)
    ks = keys(P5 + ("training",), P4 + ("inference",))
    plan = optimize(scen(d, ks), two_pool_catalog,
                    config=PortfolioConfig(**ONE_Q, terms_months=(12,), integer_ri=False))
    q = plan.buy_now["quantity"].to_numpy()
    assert not np.array_equal(q, np.round(q))


# ---- 3. the numbers a buyer signs on ----------------------------------------------------------------------
@pytest.mark.parametrize("term, ri, level, n, util, be_u, walk", [
    # 16 GPU flat on 8-GPU p5 instances, on demand 1.0 USD/GPU-h: two instances fully used
    (12, 0.65, 16.0, 2, 1.0, 0.65, 12 * 0.65),       # 7.8 months of use pay for a 12-month term
    (36, 0.45, 16.0, 2, 1.0, 0.45, 36 * 0.45),       # 16.2 months pay for 36
    # 12 GPU flat: at 0.4 two instances are best (known answer of test_model), used 12/16 = 75%
    (12, 0.40, 12.0, 2, 0.75, 0.40, 12 * 0.40 / 0.75),  # 6.4 months
])
def test_break_even_utilization_walk_away_and_obligation(term, ri, level, n, util, be_u, walk):
    cat = make_catalog(catalog_rows(P5, 8, 1.0, ri={term: ri}))
    d = np.full((1, 2, 2160), level)
    plan = optimize(scen(d, keys(P5 + ("inference",))), cat,
                    config=PortfolioConfig(**ONE_Q, terms_months=(term,), mip_rel_gap=1e-4,
                                           fees_after_horizon="ignore"))  # the quarter's known answer
    r = plan.buy_now.iloc[0]
    assert r["quantity"] == n
    assert r["expected_utilization"] == pytest.approx(util, rel=1e-9)
    assert r["break_even_utilization"] == pytest.approx(be_u, rel=1e-9)
    assert r["walk_away_month"] == pytest.approx(walk, rel=1e-9)
    obligation = n * ri * 8 * 730 * term  # every hour of the term, used or not [USD]
    assert r["obligation_usd"] == pytest.approx(obligation, rel=1e-9)
    assert plan.obligation_usd == pytest.approx(obligation, rel=1e-9)
    assert plan.break_even_utilization == pytest.approx(be_u, rel=1e-9)
    assert np.isnan(r["payback_month"])  # nothing paid upfront: no payback month
    assert "break_even_month" not in plan.purchases.columns
    assert plan.to_dict()["obligation_usd"] == pytest.approx(obligation, rel=1e-9)


def test_walk_away_is_never_when_utilization_is_below_break_even():
    """3 GPU flat on one 8-GPU instance at 0.3 USD/GPU-h (on demand 1.0): 2.4 USD/h against 3 USD/h on demand,
    bought and used 3/8 = 37.5% > 30% break-even: 12 x 0.3 / 0.375 = 9.6 months. Used 20%, it never pays."""
    cat = make_catalog(catalog_rows(P5, 8, 1.0, ri={12: 0.3}))
    d = np.full((1, 2, 2160), 3.0)
    plan = optimize(scen(d, keys(P5 + ("inference",))), cat,
                    config=PortfolioConfig(**ONE_Q, terms_months=(12,), mip_rel_gap=1e-4,
                                           fees_after_horizon="ignore"))  # the quarter's known answer
    r = plan.buy_now.iloc[0]
    assert r["quantity"] == 1 and r["break_even_utilization"] == pytest.approx(0.3)
    assert r["walk_away_month"] == pytest.approx(9.6)
    mk = prepare(scen(d, keys(P5 + ("inference",))), cat, config=PortfolioConfig(**ONE_Q, terms_months=(12,))).market
    s = signing_numbers(mk, 0, float(mk.price[0]), 0.2)
    assert s["break_even_utilization"] == pytest.approx(0.3) and np.isnan(s["walk_away_month"])


# ---- 4. payment option by net present value ---------------------------------------------------------------
def _p5_catalog_rows():
    from finops_forecast.pricing import load_pricing

    cat = load_pricing()
    return cat[(cat["region"] == "us-east-1") & (cat["instance_type"] == "p5.48xlarge")
               & cat["pricing_model"].isin(["on_demand", "reserved"])]


@pytest.mark.parametrize("rate, winner", [(0.0, "all_upfront"), (0.20, "no_upfront")])
def test_payment_option_flips_with_the_cost_of_capital(rate, winner):
    """p5.48xlarge 3-year standard RI of the bundled catalog: all upfront 592,706.97 USD (22.55 USD/h
    amortized), partial 315,262.88 USD + 12.00 USD/h, no upfront 25.91 USD/h. At 0% all upfront is cheapest in
    sum; at 20%/yr the 36-month annuity factor is (1 - 1.2^-3) / (1.2^(1/12) - 1) = 27.52 months, so all
    upfront is worth 592,706.97 / 27.52 / 730 = 29.50 USD/h and partial 15.69 + 12.00 = 27.69 USD/h, both
    above 25.91: no upfront wins."""
    cat = _p5_catalog_rows()
    d = np.full((1, 2, 2160), 16.0)  # two instances, always used
    cfg = PortfolioConfig(**ONE_Q, terms_months=(36,), families=("aws_standard_ri",),
                          payment_options=("no_upfront", "partial_upfront", "all_upfront"), cost_of_capital=rate)
    plan = optimize(scen(d, keys(P5 + ("inference",))), cat, config=cfg)
    assert list(plan.buy_now["payment_option"]) == [winner]
    assert plan.buy_now["quantity"].iloc[0] == 2


def test_equivalent_hourly_rate_of_the_p5_all_upfront_ri_at_20_percent():
    cat = _p5_catalog_rows()
    prep = prepare(scen(np.full((1, 2, 48), 16.0), keys(P5 + ("inference",))), cat,
                   config=PortfolioConfig(**ONE_Q, terms_months=(36,), families=("aws_standard_ri",),
                                          payment_options=("no_upfront", "all_upfront"), cost_of_capital=0.2))
    mk = prep.market
    i = mk.instrument_index("aws_standard_ri:us-east-1:p5.48xlarge:36m:all_upfront")
    factor = (1 - 1.2 ** -3) / (1.2 ** (1 / 12) - 1)  # 27.52 months
    assert npv_price(mk, 0.2)[i] == pytest.approx(592706.969083 / factor / 730, rel=1e-9)
    assert npv_price(mk, 0.0)[i] == pytest.approx(592706.969083 / (36 * 730), rel=1e-9)
    j = mk.instrument_index("aws_standard_ri:us-east-1:p5.48xlarge:36m:no_upfront")
    assert npv_price(mk, 0.2)[j] == pytest.approx(25.910214, rel=1e-6)  # no upfront: unchanged


# ---- 2. GCP resource CUDs in GPUs -------------------------------------------------------------------------
A2_1G = ("gcp", "us-central1", "a2-highgpu-1g")
A2_8G = ("gcp", "us-central1", "a2-highgpu-8g")


def _a100_catalog():
    """Two A100 machine shapes in one region, on demand 3.67 and CUD 2.0 USD/GPU-h on both (as GCP prices
    them per GPU), plus an H100 shape whose CUD must not cover A100 usage."""
    rows = catalog_rows(A2_1G, 1, 3.67, ri={12: 2.0}) + catalog_rows(A2_8G, 8, 3.67, ri={12: 2.0}) + \
        catalog_rows(("gcp", "us-central1", "a3-highgpu-8g"), 8, 11.0, ri={12: 7.0})
    cat = make_catalog(rows)
    cat["gpu_type"] = ["A100"] * (len(rows) - 2) + ["H100"] * 2
    return cat


def test_gcp_resource_cud_is_bought_in_gpus_and_covers_every_a100_shape():
    """8 A100s running as 8 x a2-highgpu-1g under a CUD of 8 GPUs (the size of one a2-highgpu-8g): all covered,
    fee 8 x 2.0 = 16 USD/h, nothing on demand; the H100 CUD does not cover them."""
    from finops_forecast.portfolio.instruments import build_market

    ks = keys(A2_1G + ("inference",), A2_8G + ("inference",), ("gcp", "us-central1", "a3-highgpu-8g", "inference"))
    mk = build_market(_a100_catalog(), ks)
    i = mk.instrument_index("gcp_resource_cud:us-central1:A100:12m:no_upfront")
    r = mk.instruments.iloc[i]
    assert (r["unit"], r["kind"], r["price"]) == ("GPU", "gpu", 2.0)
    held = np.zeros(mk.n_instruments)
    held[i] = 8.0
    b = bill(np.array([[8.0, 0.0, 0.0]]), mk, held)
    assert b.covered[0].sum() == pytest.approx(8.0) and b.on_demand_cost[0] == pytest.approx(0.0)
    assert b.cost[0] == pytest.approx(16.0) and b.utilization()[i] == pytest.approx(1.0)
    # mixed shapes: 3 GPUs on 1g machines and 5 GPU-h on an 8g machine, still 8 GPUs: all covered
    b = bill(np.array([[3.0, 5.0, 0.0]]), mk, held)
    assert b.cost[0] == pytest.approx(16.0)
    # H100 usage is not covered by the A100 CUD: on demand 8 x 11.0 = 88 USD/h on top of the fee
    b = bill(np.array([[0.0, 0.0, 8.0]]), mk, held)
    assert b.cost[0] == pytest.approx(16.0 + 88.0) and b.utilization()[i] == pytest.approx(0.0)


def test_optimizer_buys_gcp_cuds_in_whole_gpus():
    """12 A100s flat split across two shapes: the CUD at 2.0 < 3.67 covers all of them, 12 GPUs, one line."""
    ks = keys(A2_1G + ("inference",), A2_8G + ("inference",))
    d = np.stack([np.full((2, 2160), 4.0), np.full((2, 2160), 8.0)])
    plan = optimize(scen(d, ks), _a100_catalog(), config=PortfolioConfig(**ONE_Q, terms_months=(12,)))
    now = plan.buy_now
    assert list(now["instrument"]) == ["gcp_resource_cud:us-central1:A100:12m:no_upfront"]
    assert now["quantity"].iloc[0] == 12 and now["unit"].iloc[0] == "GPU" and now["gpu_capacity"].iloc[0] == 12
    assert plan.expected_cost_usd == pytest.approx(12 * 2.0 * 2160, rel=1e-9)
    assert now["break_even_utilization"].iloc[0] == pytest.approx(2.0 / 3.67)


# ---- 6. what-if -------------------------------------------------------------------------------------------
def test_whatif_bill_equals_the_billing_engine_on_the_same_paths(rng, two_pool_catalog):
    from finops_forecast.portfolio.whatif import whatif

    d = hourly_paths(5, 720, [37.0, 21.0], [3.0, 2.0], rng)
    ks = keys(P5 + ("training",), P4 + ("inference",))
    buys = ["aws_standard_ri:us-east-1:p5.48xlarge:12m:no_upfront=4", "aws_compute_sp:aws:all:regions:36m:no_upfront=30"]
    w = whatif(scen(d, ks), two_pool_catalog, buys)
    mk = prepare(scen(d, ks), two_pool_catalog, config=PortfolioConfig(**ONE_Q, terms_months=(12, 36))).market
    held = np.zeros(mk.n_instruments)
    held[mk.instrument_index("aws_standard_ri:us-east-1:p5.48xlarge:12m:no_upfront")] = 4
    held[mk.instrument_index("aws_compute_sp:aws:all:regions:36m:no_upfront")] = 30
    b = bill(np.transpose(d, (1, 2, 0)).reshape(-1, 2), mk, held)
    per_path = b.cost.reshape(5, 720).sum(axis=1)
    np.testing.assert_allclose(w.path_cost_usd, per_path, rtol=1e-9)
    assert w.expected_cost_usd == pytest.approx(per_path.mean(), rel=1e-9)
    assert w.coverage == pytest.approx(b.coverage(), rel=1e-9)
    # obligation: 4 x 2.6 x 8 USD/h x 12 x 730 h + 30 USD/h x 36 x 730 h
    assert w.obligation_usd == pytest.approx(4 * 2.6 * 8 * 8760 + 30 * 36 * 730, rel=1e-9)
    r = w.lines.set_index("instrument").loc["aws_standard_ri:us-east-1:p5.48xlarge:12m:no_upfront"]
    assert r["break_even_utilization"] == pytest.approx(2.6 / 4.0)
    assert 0 <= r["utilization_p10"] <= 1 and r["expected_utilization"] == pytest.approx(
        b.utilization()[mk.instrument_index("aws_standard_ri:us-east-1:p5.48xlarge:12m:no_upfront")], rel=1e-9)


def test_whatif_names_a_mistyped_instrument_and_a_bad_quantity(rng, two_pool_catalog):
    from finops_forecast.errors import PortfolioError
    from finops_forecast.portfolio.whatif import whatif

    d = hourly_paths(2, 48, [37.0, 21.0], [3.0, 2.0], rng)
    ks = keys(P5 + ("training",), P4 + ("inference",))
    with pytest.raises(PortfolioError, match="aws_standard_ri:us-east-1:p5.48xlarge:12m:no_upfront"):
        whatif(scen(d, ks), two_pool_catalog, ["aws_standard_ri:us-east-1:p5.48xlarge:12m:no_upfrnt=4"])
    with pytest.raises(PortfolioError, match="INSTRUMENT=QUANTITY"):
        whatif(scen(d, ks), two_pool_catalog, ["aws_standard_ri:us-east-1:p5.48xlarge:12m:no_upfront"])


def test_whatif_command_rejects_a_bad_buy_before_forecasting():
    from typer.testing import CliRunner

    from finops_forecast.cli import app

    res = CliRunner().invoke(app, ["whatif", "--sample", "--buy", "aws_standard_ri:us-east-1:p5.48xlarge=-3"])
    assert res.exit_code == 2 and "INSTRUMENT=QUANTITY" in " ".join(res.output.split())


# ---- 5. the ladder ----------------------------------------------------------------------------------------
def test_ladder_buys_a_slice_a_month_and_replaces_each_slice_when_it_expires():
    """Target 12 held for 5 quarters, 12-month term, 12 rungs: one unit a month; months 0-11 hold 1..12, so the
    quarters hold (1+2+3)/3 = 2, 5, 8, 11; at month 12 the first slice expires and one unit is bought again:
    every month one slice expires and is replaced (12 in the fifth quarter)."""
    from finops_forecast.portfolio.ladder import ladder_buys, monthly_held, quarter_mean

    target = np.full((5, 1), 12.0)
    b = ladder_buys(target, [12], rungs=12)
    np.testing.assert_array_equal(b[:, 0], np.ones(15))
    np.testing.assert_allclose(quarter_mean(monthly_held(b, [12]))[:, 0], [2, 5, 8, 11, 12])
    # 78 instances in 12 rungs: 6.5 a month becomes 6 and 7 alternately (whole units), 78 after a year
    b = ladder_buys(np.full((4, 1), 78.0), [36], rungs=12)
    assert set(b[:12, 0]) <= {6.0, 7.0} and b[:12, 0].sum() == 78 and b[12:, 0].sum() == 0


def test_plan_counts_fees_after_the_horizon_and_compares_the_ladder(rng, two_pool_catalog):
    """A 36-month purchase in a 1-quarter plan: its fee is billed for the quarter's 2,160 hours and the other
    36 x 730 - 2,160 = 24,120 hours are counted after the horizon."""
    d = np.full((2, 2, 2160), 16.0)
    ks = keys(P5 + ("inference",), P4 + ("inference",))
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={36: 1.8}), catalog_rows(P4, 8, 2.5, ri={36: 1.1}))
    plan = optimize(scen(d, ks), cat, config=PortfolioConfig(quarters=1, ladder=False, terms_months=(36,),
                                                             frontier_lambdas=(0.0,), curve_factors=(1.0,)))
    assert list(plan.buy_now["quantity"]) == [2, 2]
    fee_h = 2 * 8 * 1.8 + 2 * 8 * 1.1  # [USD/h]
    assert plan.fees_after_horizon_usd == pytest.approx(fee_h * (36 * 730 - 2160), rel=1e-9)
    assert plan.expected_cost_usd == pytest.approx(fee_h * 2160, rel=1e-9)
    lc = plan.ladder_comparison.set_index("policy")
    opt, lad = lc.iloc[0], lc.iloc[1]
    # the ladder signs 1/12 of the plan in its first month (2 instances in 12 rungs: 0 or 1 a month)
    assert opt["obligation_now_usd"] == pytest.approx(plan.obligation_usd, rel=1e-9)
    assert lad["obligation_now_usd"] < opt["obligation_now_usd"] / 4
    # ramping up, it covers less in the first quarter and costs more under flat demand
    assert lad["first_quarter_usd_per_hour"] < opt["first_quarter_usd_per_hour"]
    assert lad["expected_cost_usd"] > opt["expected_cost_usd"]
    assert opt["largest_expiry_share"] == pytest.approx(1.0)  # everything expires on one day
