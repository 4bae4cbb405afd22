"""The price outlook: fit on the bundled history, CSV outlooks, and commitments that lock their rate."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import PricingError
from finops_forecast.portfolio import PortfolioConfig, Scenarios, optimize
from finops_forecast.portfolio.api import _solve, make_plan, prepare
from finops_forecast.pricing.outlook import fit_history, price_paths, read_outlook_csv
from tests.portfolio.pf_helpers import P5, catalog_rows, hourly_paths, keys, make_catalog


def scen(paths, ks, start="2027-01-01"):
    ds = pd.date_range(start, periods=paths.shape[2], freq="h", tz="UTC")
    return Scenarios(keys=ks, ds=ds, paths=paths)


def write_outlook(tmp_path, rows):
    p = tmp_path / "outlook.csv"
    pd.DataFrame(rows, columns=["provider", "instance_type", "pricing_model", "effective_from",
                                "multiplier"]).to_csv(p, index=False)
    return str(p)


def test_fit_history_finds_the_2025_cuts():
    fit = fit_history()
    ev = fit.events.set_index("gpu_type")
    # p5.48xlarge 98.32 -> 55.04 USD/h, p4d.24xlarge 32.7726 -> 21.957642 on 2025-06-23 (AWS us-east-1)
    assert ev.loc["H100", "ratio"] == pytest.approx(55.04 / 98.32, abs=1e-4)
    assert ev.loc["A100", "ratio"] == pytest.approx(21.957642 / 32.7726, abs=1e-4)
    assert set(ev["date"]) == {"2025-06-23"}
    assert fit.hazard_per_month == pytest.approx(len(ev) / fit.exposure_months)
    assert np.all((fit.cut_sizes > 0.05) & (fit.cut_sizes < 1))


def test_csv_outlook_is_hour_weighted_and_validated(tmp_path):
    path = write_outlook(tmp_path, [("aws", "*", "on_demand", "2027-02-15", 0.5)])
    pools = pd.DataFrame([dict(provider="aws", instance_type="p5.48xlarge", gpu_type="H100")])
    starts = pd.DatetimeIndex(["2027-01-01", "2027-04-01"], tz="UTC")
    ends = pd.DatetimeIndex(["2027-04-01", "2027-07-01"], tz="UTC")
    pp = price_paths(path, pools, starts, ends)
    # Q1 2027: 45 days at 1.0, 45 days at 0.5 (2160 h); Q2 all at 0.5; spot unchanged; commitments follow
    assert pp.od[0, :, 0] == pytest.approx([(45 * 1.0 + 45 * 0.5) / 90, 0.5])
    assert pp.spot[0, :, 0] == pytest.approx([1.0, 1.0])
    assert pp.commitment[0, :, 0] == pytest.approx(pp.od[0, :, 0])
    bad = write_outlook(tmp_path, [("aws", "*", "on_demand", "2027-02-15", -1)])
    with pytest.raises(PricingError, match="row 1.*multiplier"):
        read_outlook_csv(bad)
    with pytest.raises(PricingError, match="neither 'flat', 'history'"):
        price_paths("histroy", pools, starts, ends)


def test_on_demand_follows_the_outlook_in_the_bill(tmp_path):
    # no commitment bought: 10 GPU on demand at 4.0 USD/GPU-h, halved from 2027-02-15 00:00 (day 45 of 90)
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 3.99}))
    d = np.full((1, 2, 2160), 10.0)
    path = write_outlook(tmp_path, [("aws", "*", "on_demand", "2027-02-15", 0.5)])
    cfg = PortfolioConfig(quarters=1, ladder=False, terms_months=(12,), price_outlook=path,
                          frontier_lambdas=(0.0,), curve_factors=(1.0,))
    prep = prepare(scen(d, keys(P5 + ("inference",))), cat, config=cfg)
    sol = _solve(prep)
    sol.x[:] = 0.0
    sol.active[:] = 0.0
    plan = make_plan(prep, sol, frontier=False, curve=False)
    assert plan.expected_cost_usd == pytest.approx(10 * 4.0 * (1080 + 1080 * 0.5))


def test_flat_csv_reproduces_todays_plan(rng, tmp_path):
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.6, 36: 1.8}, sp={12: 2.8, 36: 2.0}, spot=2.0))
    d = hourly_paths(12, 24 * 90, (60.0, 30.0), (5.0, 3.0), rng)
    s = scen(d, keys(P5 + ("inference",), P5 + ("training",)))
    base = optimize(s, cat, config=PortfolioConfig(quarters=4, frontier_lambdas=(0.0,)))
    ones = write_outlook(tmp_path, [("aws", "*", "on_demand", "2027-01-01", 1.0)])
    same = optimize(s, cat, config=PortfolioConfig(quarters=4, frontier_lambdas=(0.0,), price_outlook=ones))
    pd.testing.assert_frame_equal(base.purchases, same.purchases)
    assert same.expected_cost_usd == pytest.approx(base.expected_cost_usd, rel=1e-12)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_a_cut_after_month_12_buys_fewer_3_year_terms(rng, tmp_path):
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.6, 36: 1.8}))
    d = hourly_paths(12, 24 * 90, (100.0,), (3.0,), rng, common=0.05)
    s = scen(d, keys(P5 + ("inference",)))
    cut = write_outlook(tmp_path, [("aws", "*", "on_demand", "2028-01-01", 0.55)])
    share = {}
    for name, o in (("flat", "flat"), ("cut", cut)):
        p = optimize(s, cat, config=PortfolioConfig(quarters=12, frontier_lambdas=(0.0,), price_outlook=o))
        now = p.buy_now
        share[name] = now.loc[now["term_months"] == 36, "commitment_usd_per_hour"].sum() / \
            now["commitment_usd_per_hour"].sum()
    assert share["flat"] == pytest.approx(1.0) and share["cut"] < 0.5


@pytest.mark.slow
def test_cli_cut_after_month_12_on_the_philly_trace(tmp_path):
    from typer.testing import CliRunner

    from finops_forecast.cli import app
    from finops_forecast.evaluate.traces import trace_usage

    usage = trace_usage("philly")  # real trace: p4d.24xlarge, 2017-10-03 .. 2017-12-15
    up = tmp_path / "philly.csv"
    usage.to_csv(up, index=False)
    start = usage["ts"].max() + pd.Timedelta(hours=1)
    cut = write_outlook(tmp_path, [("aws", "*", "on_demand", (start + pd.DateOffset(months=12)).date(), 0.55)])
    share = {}
    for name, o in (("flat", "flat"), ("cut", cut)):
        out = tmp_path / f"{name}.json"
        r = CliRunner().invoke(app, ["optimize", str(up), "--price-outlook", o, "--n-paths", "40",
                                     "--json", str(out)])
        assert r.exit_code == 0, r.output
        # strict JSON (no NaN token: the flat outlook's lines have no odds)
        plan = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"invalid JSON token {c}"))
        assert "expected_unused_commitment_usd" in plan
        p = pd.DataFrame(plan["purchases"])
        now = p[p["quarter"] == 0]
        # why each line of this quarter has its term, printed and in the JSON
        why = pd.DataFrame(plan["term_reasons"])
        assert len(why) == len(now) and why["reason"].str.len().gt(40).all()
        assert "Why these terms" in r.output
        if name == "cut":  # the 12-month lines say the price decline is why
            short = why[why["term_months"] == 12]
            assert len(short) and short["reason"].str.startswith("12-month: new commitment rates are expected at x0.55 of today's at the "
                                                               "first renewal, a cut of 45%, deeper than").all()
        share[name] = now.loc[now["term_months"] == 36, "commitment_usd_per_hour"].sum() / \
            now["commitment_usd_per_hour"].sum()
    assert share["cut"] < share["flat"]
