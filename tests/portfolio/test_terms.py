"""Why each purchase has its term (portfolio.terms.term_reasons), on a small plan checked by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.portfolio.terms import REASON_COLUMNS, term_reasons

Q0 = pd.Timestamp("2027-01-01", tz="UTC")
P5, G6 = "aws us-east-1 p5.48xlarge", "aws us-east-1 g6.12xlarge"


def _line(instrument, family, scope, term, u, p10, be, quarter_start=Q0):
    return dict(instrument=instrument, family=family, scope=scope, term_months=term, payment_option="no_upfront",
                quarter_start=quarter_start, expected_utilization=u, utilization_p10=p10, break_even_utilization=be)


@pytest.fixture()
def plan():
    purchases = pd.DataFrame([
        _line("ri36", "aws_standard_ri", P5, 36, 0.75, 0.60, 0.47),
        _line("ri36b", "aws_standard_ri", P5, 36, 0.60, 0.30, 0.47),
        _line("sp12", "aws_compute_sp", "aws all regions", 12, 0.80, 0.70, 0.70),
        _line("cb", "aws_capacity_block", P5, np.nan, 1.0, 1.0, np.nan),
    ])
    instruments = pd.DataFrame([
        dict(id="ri36", family="aws_standard_ri", scope=P5, term_months=36, payment_option="no_upfront", discount=0.53),
        dict(id="ri12", family="aws_standard_ri", scope=P5, term_months=12, payment_option="no_upfront", discount=0.35),
        dict(id="sp12", family="aws_compute_sp", scope="aws all regions", term_months=12, payment_option="no_upfront",
             discount=0.30),
        dict(id="sp36", family="aws_compute_sp", scope="aws all regions", term_months=36, payment_option="no_upfront",
             discount=0.50),
    ])
    # p5: scenario 0 cut to 0.8 from quarter 8 on, scenario 1 flat; g6 flat
    rows = []
    for q in range(12):
        start = Q0 + pd.DateOffset(months=3 * q)
        rows += [dict(quarter_start=start, pool=P5, scenario=0, on_demand=0.8 if q >= 8 else 1.0, spot=1.0),
                 dict(quarter_start=start, pool=P5, scenario=1, on_demand=1.0, spot=1.0),
                 dict(quarter_start=start, pool=G6, scenario=0, on_demand=1.0, spot=1.0),
                 dict(quarter_start=start, pool=G6, scenario=1, on_demand=1.0, spot=1.0)]
    return purchases, instruments, pd.DataFrame(rows)


def test_numbers_by_hand(plan):
    purchases, instruments, pp = plan
    r = term_reasons(purchases, instruments, pp, migration={"p5.48xlarge": 0.3}).set_index("instrument")
    assert list(r.reset_index().columns) == REASON_COLUMNS
    a = r.loc["ri36"]
    assert a["od_multiplier_last_year"] == pytest.approx(0.9)  # quarters 8-11: (0.8 + 1) / 2
    assert a["break_even_last_year"] == pytest.approx(0.47 / 0.9)
    assert a["od_multiplier_term"] == pytest.approx((8 + 4 * 0.9) / 12)
    assert a["break_even_outlook"] == pytest.approx(0.47 / ((8 + 4 * 0.9) / 12))
    assert a["other_term_months"] == 12 and a["other_break_even"] == pytest.approx(0.65)
    assert a["renewed_short_term"] == pytest.approx(0.65 * (8 + 4 * 0.9) / 12)
    assert a["migration_per_year"] == 0.3
    assert a["verdict"] == "outlives" and "60%" in a["reason"] and "49%" in a["reason"] and "52%" in a["reason"]
    assert "stays on the pool" in a["reason"]
    b = r.loc["ri36b"]
    assert b["verdict"] == "expected" and "worst-10% utilization 30%" in b["reason"]
    c = r.loc["sp12"]  # a 12-month spend plan: its year is quarters 0-3, flat; the 36-month plan breaks even at 50%
    assert c["od_multiplier_last_year"] == pytest.approx(1.0)
    assert c["verdict"] == "short" and c["other_break_even"] == pytest.approx(0.5)
    assert c["migration_per_year"] == 0.0
    # renewed at the prices over the 36 months it is compared with (P5 and G6, two scenarios: one P5 path at 0.8
    # in quarters 8-11): 0.70 x (1 + 1 + 1 + (8 + 4 x 0.8) / 12) / 4, dearer than the 3-year rate 0.50
    assert c["renewed_short_term"] == pytest.approx(0.70 * (3 + (8 + 4 * 0.8) / 12) / 4)
    assert "would not be used enough" in c["reason"]
    assert r.loc["cb", "verdict"] == "dated"


def test_today_prices_and_review(plan):
    purchases, instruments, _ = plan
    r = term_reasons(purchases, instruments).set_index("instrument")
    assert (r.loc[["ri36", "ri36b"], "od_multiplier_last_year"] == 1.0).all()
    assert r.loc["ri36", "break_even_last_year"] == pytest.approx(0.47)
    low = purchases.assign(expected_utilization=0.4, utilization_p10=0.2)
    assert term_reasons(low.iloc[:1], instruments)["verdict"].iat[0] == "review"


def test_a_deeper_cut_turns_outlives_into_expected(plan):
    """The same line under a deeper expected cut: its break-even at the expected prices rises above the worst-10%
    utilization (0.47 / (1 - 4 x 0.4 / 24) = 0.504 > 0.5)."""
    purchases, instruments, pp = plan
    deep = pp.assign(on_demand=np.where(pp["on_demand"] < 1, 0.2, pp["on_demand"]))  # scenario 0 at 0.2
    line = purchases.iloc[:1].assign(utilization_p10=0.5)
    assert term_reasons(line, instruments, pp)["verdict"].iat[0] == "outlives"
    r = term_reasons(line, instruments, deep).iloc[0]
    assert r["od_multiplier_last_year"] == pytest.approx(0.6)
    assert r["break_even_outlook"] == pytest.approx(0.47 / (1 - 4 * 0.4 / 12))
    assert r["verdict"] == "expected"


def test_gpu_scoped_line_finds_its_pools():
    pp = pd.DataFrame([dict(quarter_start=Q0, pool="gcp us-central1 a3-highgpu-8g", scenario=0, on_demand=0.5, spot=1),
                       dict(quarter_start=Q0, pool="gcp us-central1 g2-standard-48", scenario=0, on_demand=1.0,
                            spot=1)])
    line = pd.DataFrame([_line("cud", "gcp_resource_cud", "gcp us-central1 H100", 12, 0.9, 0.8, 0.6)])
    gpu = {"gcp us-central1 a3-highgpu-8g": "H100", "gcp us-central1 g2-standard-48": "L4"}
    assert term_reasons(line, None, pp, pool_gpu=gpu)["od_multiplier_last_year"].iat[0] == pytest.approx(0.5)
    assert term_reasons(line, None, pp)["od_multiplier_last_year"].iat[0] == pytest.approx(0.75)


def test_plan_term_reasons_on_a_solved_plan(tmp_path):
    """Steady demand on p5: flat prices buy the 3-year RI (its worst-10% use stays above its break-even); a CSV
    outlook cutting on demand (and new commitments) to 30% after a year makes the plan buy 1-year terms, and
    the reasons say so with the outlook's multiplier."""
    from finops_forecast.portfolio import PortfolioConfig, Scenarios, optimize
    from finops_forecast.portfolio.terms import plan_term_reasons
    from tests.portfolio.pf_helpers import P5, catalog_rows, keys, make_catalog

    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.6, 36: 1.8}))
    d = np.full((1, 4, 24 * 1096), 80.0)  # (series, paths, hours): three years of steady demand
    s = Scenarios(keys=keys(P5 + ("training",)), ds=pd.date_range("2027-01-01", periods=d.shape[2], freq="h",
                                                                   tz="UTC"), paths=d)
    base = dict(quarters=12, frontier_lambdas=(0.0,), curve_factors=(1.0,))
    flat = plan_term_reasons(optimize(s, cat, config=PortfolioConfig(**base)), cat)
    assert set(flat["term_months"]) == {36} and set(flat["verdict"]) == {"outlives"}
    assert (flat["od_multiplier_last_year"] == 1.0).all()
    csv = tmp_path / "cut.csv"
    csv.write_text("provider,instance_type,pricing_model,effective_from,multiplier\naws,*,on_demand,2028-01-01,0.3\n")
    plan = optimize(s, cat, config=PortfolioConfig(**base, price_outlook=str(csv)))
    cut = plan_term_reasons(plan, cat, migration="rule")
    assert len(cut) and set(cut["term_months"]) == {12} and set(cut["verdict"]) == {"short"}
    # the new rates at the first renewal (x0.30) are far below the waiting threshold: (2.6 / 1.8 - 1) / 2 = 22%
    assert cut["flip_cut"].iat[0] == pytest.approx((2.6 / 1.8 - 1) / 2)
    assert cut["reason"].iat[0].startswith("12-month: new commitment rates are expected at x0.30 of today's at the "
                                           "first renewal, a cut of 70%, deeper than the 22% that makes waiting")
    pp = plan.price_paths
    year1 = pd.to_datetime(pp["quarter_start"]) < pd.Timestamp("2028-01-01", tz="UTC")
    assert cut["od_multiplier_last_year"].iat[0] == pytest.approx(pp.loc[year1, "on_demand"].mean())
    assert pp.loc[~year1, "on_demand"].max() == pytest.approx(0.3)


def test_generic_reserved_lines_stay_on_their_pool_under_migration(plan):
    """A generic ``reserved`` family (a user's own catalog) is not moved by migration (migration.py copies only
    the flexible families to the successor pool), so its reason says it stays on the pool."""
    purchases, instruments, pp = plan
    generic = purchases.iloc[:1].assign(family="reserved")
    generic_instruments = instruments.assign(family=instruments["family"].replace("aws_standard_ri", "reserved"))
    r = term_reasons(generic, generic_instruments, pp, migration={"p5.48xlarge": 0.3})
    assert "stays on the pool" in r["reason"].iat[0] and "which this line follows" not in r["reason"].iat[0]


def test_the_cut_that_flips_a_3_year_line_by_hand(plan):
    """ri36 (3-year at 47% of on demand) against ri12 (65%). Waiting: 0.65 for the first year, then 3 years at
    0.47 (1 - c); the 3-year now: 3 x 0.47, then its fourth year at 0.47 (1 - c). Equal at c = (0.65 / 0.47 - 1)
    / 2 = 19.1%."""
    from finops_forecast.portfolio.terms import flip_cut

    purchases, instruments, pp = plan
    c = (0.65 / 0.47 - 1) / 2
    assert 0.65 + 3 * 0.47 * (1 - c) == pytest.approx(3 * 0.47 + 0.47 * (1 - c))
    assert flip_cut(0.47, 0.65) == pytest.approx(c)
    assert flip_cut(0.70, 0.65) == 0.0  # the 1-year rate is cheaper: nothing to repay
    assert flip_cut(0.20, 0.65) == 1.0  # no cut repays a year at 3x the rate
    r = term_reasons(purchases, instruments, pp).set_index("instrument")
    assert r.loc["ri36", "flip_cut"] == pytest.approx(c)
    # the fixture's only cut (to 0.8) comes in quarter 8, after the first renewal
    assert r.loc["ri36", "flip_cut_probability"] == 0.0
    assert "at steady demand waiting (a 1-year term now, then 3 years at the new rate) would win only if new " \
        "commitment rates fell by 19% or more before the first renewal" in r.loc["ri36", "reason"]
    assert "(none of the price outlook's scenarios has one that large)" in r.loc["ri36", "reason"]
    # a short line has the same threshold the other way round: sp12 (70%) against sp36 (50%), no cut in its year
    assert r.loc["sp12", "flip_cut"] == pytest.approx(0.2) and r.loc["sp12", "flip_cut_probability"] == 0.0
    # from month 9 on: scenario 1 cut to 0.75 (in effect at the renewal, month 12), scenario 0 to 0.85 (not
    # deep enough: 1 - 0.191 = 0.809)
    later = pd.to_datetime(pp["quarter_start"]) >= Q0 + pd.DateOffset(months=9)
    cut = pp.assign(on_demand=np.where(later & (pp["pool"] == P5), np.where(pp["scenario"] == 1, 0.75, 0.85),
                                       pp["on_demand"]))
    r = term_reasons(purchases, instruments, cut).set_index("instrument")
    assert r.loc["ri36", "flip_cut_probability"] == 0.5
    # without a price outlook there are no odds, the threshold stays
    r = term_reasons(purchases, instruments).set_index("instrument")
    assert np.isnan(r.loc["ri36", "flip_cut_probability"]) and "fell by 19%" in r.loc["ri36", "reason"]
    assert "scenarios" not in r.loc["ri36", "reason"]


def test_renewal_draws_follow_the_fitted_history():
    """Draws of a fit with a 5% monthly hazard and one cut size: a cut by the renewal month in 1 - 0.95^12 = 46.0% of
    draws (13 months would give 48.7%), and the multiplier is then 1 - 0.3; an L4 (no cut in the history) never
    moves; the bundled fit's draws rise with its own hazard."""
    from finops_forecast.portfolio.terms import renewal_draws
    from finops_forecast.pricing.outlook import OutlookFit, bundled_fit

    pools = pd.DataFrame([("aws", "us-east-1", "p5.48xlarge", "H100"), ("gcp", "us-central1", "g2-standard-48", "L4")],
                         columns=["provider", "region", "instance_type", "gpu_type"])
    fit = OutlookFit(hazard_per_month=0.05, cut_sizes=np.array([0.3]), exposure_months=100.0,
                     spot_log_changes=np.array([0.0]))
    d = renewal_draws(pools, Q0, n=20000, fit=fit)
    h100 = d[d["pool"] == P5]["commitment"]
    assert len(h100) == 20000 and d["scenario"].nunique() == 20000
    assert (h100 < 1).mean() == pytest.approx(1 - 0.95 ** 12, abs=0.01)
    k = np.log(h100) / np.log(0.7)  # the number of cuts: whole
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)
    assert (d[d["pool"] == "gcp us-central1 g2-standard-48"]["commitment"] == 1).all()
    h = bundled_fit().hazard_per_month
    assert (renewal_draws(pools, Q0).query("pool == @P5")["commitment"] < 1).mean() == \
        pytest.approx(1 - (1 - h) ** 12, abs=0.02)


def test_a_short_line_bought_because_prices_fall_says_so(plan):
    """A 12-month RI on p5 (65% of on demand) against the 3-year (47%) when on demand falls to x0.55 from month 12
    in every scenario: renewed yearly (months 0, 12, 24) it costs 0.65 x (1 + 0.55 + 0.55) / 3 = 45.5% < 47%: falling
    rates are why."""
    _, instruments, pp = plan
    q = pd.to_datetime(pp["quarter_start"])
    cut = pp.assign(on_demand=np.where((q >= Q0 + pd.DateOffset(months=12)) & (pp["pool"] == P5), 0.55, 1.0))
    line = pd.DataFrame([_line("ri12", "aws_standard_ri", P5, 12, 0.95, 0.9, 0.65)])
    r = term_reasons(line, instruments, cut).iloc[0]
    assert r["verdict"] == "short"
    assert r["renewed_short_term"] == pytest.approx(0.65 * (4 + 8 * 0.55) / 12)
    assert r["od_multiplier_last_year"] == pytest.approx(1.0)  # its own year: before the cut
    # waiting pays: x0.55 at the first renewal is a 45% cut, deeper than (0.65 / 0.47 - 1) / 2 = 19%
    assert r["reason"].startswith("12-month: new commitment rates are expected at x0.55 of today's at the first "
                                  "renewal, a cut of 45%, deeper than the 19% that makes waiting (this term now, then "
                                  "3 years at the new rate) cheaper than 3 years now at 47% of today's on demand")
    # no cut at the first renewal, one from month 24: waiting does not pay; yearly renewals cost
    # 0.65 x (1 + 1 + 0.3) / 3 = 49.8% against 47% (the line is short for another reason), with x0.1 45.5% (it is
    # short because rates fall)
    later = pp.assign(on_demand=np.where((q >= Q0 + pd.DateOffset(months=24)) & (pp["pool"] == P5), 0.3, 1.0))
    r = term_reasons(line, instruments, later).iloc[0]
    assert r["renewed_short_term"] == pytest.approx(0.65 * (1 + 1 + 0.3) / 3)
    assert "would not be used enough" in r["reason"]
    deeper = pp.assign(on_demand=np.where((q >= Q0 + pd.DateOffset(months=24)) & (pp["pool"] == P5), 0.1, 1.0))
    r = term_reasons(line, instruments, deeper).iloc[0]
    assert ("commitment rates are expected to fall (new terms at x0.70 of today's rate on average over the 3 yearly "
            "purchases") in r["reason"] and "cost 46% of today's on demand per committed hour against 47%" in r["reason"]
    # without the cut the same line is short for another reason, and says that one
    assert "would not be used enough" in term_reasons(line, instruments, pp)["reason"].iat[0]


def test_the_first_quarter_in_months_weighs_as_one_quarter():
    """The plan decides its first quarter month by month: three monthly periods then quarters. The term's mean
    multiplier weighs each period by its months (an unweighted mean of the 3 + 11 periods would give 6 / 14 of
    the weight to the first year's 6 rows instead of 12 / 36)."""
    starts = [Q0 + pd.DateOffset(months=m) for m in (0, 1, 2)] + \
        [Q0 + pd.DateOffset(months=3 * q) for q in range(1, 12)]
    pp = pd.DataFrame([dict(quarter_start=s, pool=P5, scenario=0, on_demand=1.0 if s < Q0 + pd.DateOffset(months=12)
                            else 0.5, spot=1.0) for s in starts])
    line = pd.DataFrame([_line("ri36", "aws_standard_ri", P5, 36, 0.9, 0.8, 0.47)])
    r = term_reasons(line, None, pp).iloc[0]
    assert r["od_multiplier_term"] == pytest.approx((12 + 24 * 0.5) / 36)
    assert r["od_multiplier_last_year"] == pytest.approx(0.5)


def test_the_waiting_cut_on_one_basis_dates_and_edges(plan):
    """A spend plan is compared on its instruments' discounts (its break-even is against the mix it covered); a
    line bought in the quarter's second month renews 12 months after that; a CSV outlook that cuts on demand but
    not new commitment rates gives waiting no chance; no cut and no possible cut say so."""
    purchases, instruments, pp = plan
    sp = pd.DataFrame([_line("sp36", "aws_compute_sp", "aws all regions", 36, 0.9, 0.8, 0.66)])
    r = term_reasons(sp, instruments, pp).iloc[0]  # sp36 50% off, sp12 30% off: (0.70 / 0.50 - 1) / 2 = 20%
    assert r["flip_cut"] == pytest.approx(0.2) and r["break_even"] == 0.66
    assert r["renewed_short_term"] == pytest.approx(0.70 * (1 + 1 + 0.95) / 3)  # P5 and G6, month 24: (0.9 + 1) / 2
    assert "against 50%" in r["reason"]
    # bought 2027-02-01: its first renewal falls in 2028-02 (quarter 4, months 12-15), a cut from 2028-01-01 on
    # reaches it; bought 2027-01-01 the renewal is on 2028-01-01, in the same quarter
    q = pd.to_datetime(pp["quarter_start"])
    cut = pp.assign(on_demand=np.where((q >= Q0 + pd.DateOffset(months=12)) & (pp["pool"] == P5), 0.5, 1.0))
    feb = purchases.iloc[:1].assign(buy_date=Q0 + pd.DateOffset(months=1))
    assert term_reasons(feb, instruments, cut)["flip_cut_probability"].iat[0] == 1.0
    # the same cut on demand with new commitment rates unchanged (a CSV outlook's commitment rows at 1)
    fixed = cut.assign(commitment=1.0)
    r = term_reasons(feb, instruments, fixed).iloc[0]
    assert r["flip_cut_probability"] == 0.0 and r["renewed_short_term"] == pytest.approx(0.65)
    # a 1-year rate not dearer than the 3-year: nothing to repay, no odds; one 3x dearer: no cut makes it win
    cheap = instruments.assign(discount=np.where(instruments["id"] == "ri12", 0.6, instruments["discount"]))
    r = term_reasons(purchases.iloc[:1], cheap, cut).iloc[0]
    assert r["flip_cut"] == 0.0 and np.isnan(r["flip_cut_probability"]) and "waiting" not in r["reason"]
    dear = instruments.assign(discount=np.where(instruments["id"] == "ri36", 0.9, instruments["discount"]))
    r = term_reasons(purchases.iloc[:1], dear, cut).iloc[0]
    assert r["flip_cut"] == 1.0 and "would not win whatever the cut" in r["reason"]
