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
    assert c["migration_per_year"] == 0.0 and np.isnan(c["renewed_short_term"])
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
    assert "3-year term" in cut["reason"].iat[0]
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
