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
    with pytest.raises(PricingError, match="is not an outlook: give 'flat', 'history'"):
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


def test_history_variant_settings_and_errors():
    from finops_forecast.pricing.outlook import bundled_fit, check_outlook, fit_for, parse_outlook

    assert parse_outlook("history") == {} and parse_outlook("flat") is None and parse_outlook("a.csv") is None
    assert parse_outlook("history:hazard=0.05, cut=0.45") == {"hazard": 0.05, "cut": 0.45}
    fitted = bundled_fit()
    f = fit_for("history:hazard=0.1")
    assert f.hazard_per_month == 0.1 and np.array_equal(f.cut_sizes, fitted.cut_sizes)
    assert fit_for("history:cut=0.3").cut_sizes.tolist() == [0.3]
    assert fit_for("history:cut=0.3").hazard_per_month == fitted.hazard_per_month  # the bundled fit is untouched
    for bad, match in (("history:hazrd=0.1", "'hazrd=0.1' is not <setting>=<number>.*hazard, cut"),
                       ("history:hazard=1.5", r"hazard = '1.5' must be a monthly probability of a cut in \[0, 1\]"),
                       ("history:cut=0", r"cut = '0' must be a cut's size in \(0, 1\)"),
                       ("history:cut=abc", "cut = 'abc'"), ("history:", "is not <setting>=<number>")):
        with pytest.raises(PricingError, match=match):
            parse_outlook(bad)
        with pytest.raises(PricingError, match=match):  # every entry point checks it the same way
            check_outlook(bad)
    with pytest.raises(PricingError, match="is not an outlook: give 'flat', 'history', 'history:hazard"):
        check_outlook("histroy")


def test_history_variant_draws_the_users_cuts():
    from finops_forecast.pricing.outlook import price_paths

    pools = pd.DataFrame([dict(provider="aws", instance_type="p5.48xlarge", gpu_type="H100"),
                          dict(provider="aws", instance_type="g6.12xlarge", gpu_type="L4")])
    starts = pd.date_range("2027-01-01", periods=13, freq="MS", tz="UTC")
    ends = starts + pd.offsets.MonthBegin(1)
    # a 50% cut every month after the first: H100 on demand halves each month; L4 (no cut in the history) stays
    pp = price_paths("history:hazard=1,cut=0.5", pools, starts, ends, n_scenarios=4)
    assert pp.od[:, :, 0] == pytest.approx(np.tile(0.5 ** np.arange(13), (4, 1)))
    assert pp.commitment[:, :, 0] == pytest.approx(pp.od[:, :, 0]) and np.all(pp.od[:, :, 1] == 1)
    assert "user's cut and hazard" in pp.notes[0]
    assert np.all(price_paths("history:hazard=0", pools, starts, ends).od == 1)
    # expected multiplier at month 12: no cut in month 0, then 12 months at hazard h of a cut c
    h, c = 0.05, 0.3
    pp = price_paths(f"history:hazard={h},cut={c}", pools, starts, ends, n_scenarios=4000)
    assert pp.od[:, 12, 0].mean() == pytest.approx((1 - h * c) ** 12, rel=0.01)


def test_a_history_variant_reaches_every_entry_point(tmp_path):
    from finops_forecast.evaluate.rolling import BacktestSettings
    from finops_forecast.report.params import ReportParams, ReportParamsError

    assert PortfolioConfig(price_outlook="history:hazard=0.05").price_outlook == "history:hazard=0.05"
    assert BacktestSettings(price_outlook="history:cut=0.4").price_outlook == "history:cut=0.4"
    ReportParams(price_outlook="history:hazard=0.05,cut=0.45").validate()
    with pytest.raises(ValueError, match="hazard = '2'"):
        PortfolioConfig(price_outlook="history:hazard=2")
    with pytest.raises(ReportParamsError, match="parameter 'price_outlook'.*hazard = '2'"):
        ReportParams(price_outlook="history:hazard=2").validate()
    with pytest.raises(ReportParamsError, match="parameter 'price_outlook' = 'histroy' must be 'flat'"):
        ReportParams(price_outlook="histroy").validate()


@pytest.mark.slow
def test_cli_cuts_sooner_than_the_history_buy_fewer_3_year_terms_on_the_philly_trace(tmp_path):
    """A user who expects cuts far more often than the history (``history:hazard=0.12``: a cut within a year in 3
    scenarios of 4) signs less 36-month commitment now than under the fitted history, on a real trace (measured:
    1,331 USD/h under ``history``, none under the variant, which buys 12-month terms from the next quarter)."""
    from typer.testing import CliRunner

    from finops_forecast.cli import app
    from finops_forecast.evaluate.traces import trace_usage

    up = tmp_path / "philly.csv"
    trace_usage("philly").to_csv(up, index=False)  # real trace: p4d.24xlarge (A100), 2017-10-03 .. 2017-12-15
    long_now, notes = {}, {}
    for o in ("history", "history:hazard=0.12"):
        out = tmp_path / "plan.json"
        r = CliRunner().invoke(app, ["optimize", str(up), "--price-outlook", o, "--n-paths", "40",
                                     "--json", str(out)])
        assert r.exit_code == 0, r.output
        plan = json.loads(out.read_text())
        p = pd.DataFrame(plan["purchases"])
        now = p[p["quarter"] == 0]
        long_now[o] = now.loc[now["term_months"] == 36, "commitment_usd_per_hour"].sum()
        notes[o] = " ".join(plan["notes"])
    assert long_now["history"] > 500 and long_now["history:hazard=0.12"] < 0.5 * long_now["history"]
    assert "user's hazard: hazard 12.00%/month" in notes["history:hazard=0.12"]
    r = CliRunner().invoke(app, ["optimize", str(up), "--price-outlook", "history:hazard=12"])
    assert r.exit_code != 0 and "hazard = '12' must be a monthly probability" in r.output
