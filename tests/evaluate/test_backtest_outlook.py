"""The backtest priced with a price outlook (flat, a CSV path, the history's expected path), checked by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import PricingError
from finops_forecast.evaluate import backtest
from finops_forecast.evaluate.rolling import EvaluateError

HEADER = "provider,instance_type,pricing_model,effective_from,multiplier\n"
#: one p4d.24xlarge (8 GPUs) busy every hour on inference (no spot); weekly windows from 2026-01-18 to 2026-02-15
KW = dict(policies="on_demand,hindsight", decision_every="7D", term="7D", lookback="7D", warmup="14D",
          families=("aws_standard_ri",))


@pytest.fixture(scope="module")
def catalog():
    from finops_forecast.pricing import load_pricing
    return load_pricing("aws")


@pytest.fixture(scope="module")
def usage():
    ts = pd.date_range("2026-01-04", periods=24 * 42, freq="h", tz="UTC")
    return pd.DataFrame({"ts": ts, "provider": "aws", "region": "us-east-1", "instance_type": "p4d.24xlarge",
                         "workload_class": "inference", "team": "unallocated", "gpu_hours": 8.0})


def _outlook(tmp_path, rows: str):
    p = tmp_path / "outlook.csv"
    p.write_text(HEADER + rows)
    return str(p)


def _costs(res):
    return res.summary.set_index("policy")


def test_on_demand_cut_after_month_one_is_billed_by_hand(usage, catalog, tmp_path):
    flat = backtest(usage, catalog, **KW)
    cut = backtest(usage, catalog, price_outlook=_outlook(tmp_path, "aws,*,on_demand,2026-02-01,0.55\n"), **KW)
    od = cut.settings["pools"][0]["od_rate"] * 8  # [USD/h] of the instance on demand
    ri = cut.settings["instruments"][0]["usd_per_hour_per_unit"]  # [USD/h] of one reserved instance
    # 336 h before the cut (2026-01-18 .. 02-01), 336 h after at 55% of the price
    assert _costs(flat).loc["on_demand", "cost_usd"] == pytest.approx(od * 672, rel=1e-9)
    assert _costs(cut).loc["on_demand", "cost_usd"] == pytest.approx(od * 336 * 1.55, rel=1e-9)
    assert _costs(cut).loc["hindsight", "on_demand_cost_usd"] == pytest.approx(od * 336 * 1.55, rel=1e-9)
    # new commitments follow on demand (no commitment rows): the instance bought after the cut costs 55%
    assert _costs(cut).loc["hindsight", "cost_usd"] == pytest.approx(ri * 336 * 1.55, rel=1e-6)
    assert _costs(cut).loc["hindsight", "cost_usd"] < _costs(flat).loc["hindsight", "cost_usd"]
    pur = cut.purchases.set_index("window")["usd_per_hour"]
    assert pur.loc[0] == pytest.approx(ri) and pur.loc[3] == pytest.approx(0.55 * ri)
    assert any("outlook" in n for n in cut.notes)


def test_cut_inside_a_window_is_billed_hour_by_hour(usage, catalog, tmp_path):
    res = backtest(usage, catalog, price_outlook=_outlook(tmp_path, "aws,p4d.24xlarge,on_demand,2026-02-04 12:00,"
                                                                     "0.55\n"), **{**KW, "policies": "on_demand"})
    od = res.settings["pools"][0]["od_rate"] * 8
    before = 17 * 24 + 12  # 2026-01-18 00:00 .. 2026-02-04 12:00
    assert _costs(res).loc["on_demand", "cost_usd"] == pytest.approx(od * (before + 0.55 * (672 - before)), rel=1e-9)


def test_a_commitment_that_keeps_its_price_is_not_bought_after_the_cut(usage, catalog, tmp_path):
    """On demand cut 45%, new commitments at today's price: the reserved instance (37% off) costs more than on
    demand after the cut, so the hindsight limit stops buying it, and the instance bought before keeps its fee."""
    res = backtest(usage, catalog, price_outlook=_outlook(
        tmp_path, "aws,*,on_demand,2026-02-01,0.55\naws,*,commitment,2026-02-01,1.0\n"), **KW)
    od = res.settings["pools"][0]["od_rate"] * 8
    ri = res.settings["instruments"][0]["usd_per_hour_per_unit"]
    assert 0.55 * od < ri < od
    assert sorted(res.purchases["window"]) == [0, 1]
    assert _costs(res).loc["hindsight", "cost_usd"] == pytest.approx(ri * 336 + 0.55 * od * 336, rel=1e-6)


def test_history_expected_path_is_the_mean_decline(usage, catalog):
    """Month m after the first decision's: E[od multiplier] = (1 - hazard x mean cut)^m (independent months)."""
    from finops_forecast.evaluate.rolling import demand_matrix
    from finops_forecast.portfolio import priced
    from finops_forecast.portfolio.instruments import build_market
    from finops_forecast.pricing.outlook import fit_history

    long = pd.concat([usage.assign(ts=usage["ts"] + pd.Timedelta(days=42 * k)) for k in range(6)])
    keys, ts, _ = demand_matrix(long)
    market = build_market(catalog, keys, terms_months=(12,), payment_options=("no_upfront",))
    pp = priced.hourly_outlook("history", catalog, market, ts, 336)
    assert pp.od.shape == (1, len(ts), 1)
    f = fit_history()
    step = 1 - f.hazard_per_month * float(np.mean(f.cut_sizes))
    month = (ts.tz_localize(None).to_period("M") - pd.Period("2026-01", "M")).map(lambda d: d.n).to_numpy()
    for m in (0, 2, 5, 8):
        assert pp.od[0, month == m, 0] == pytest.approx(step ** m, abs=0.01)
    assert pp.od[0, month == 8, 0].max() < 1.0
    assert (np.diff(pp.od[0, :, 0]) != 0).sum() <= month.max()  # constant within a month


def test_history_outlook_bills_the_expected_decline(usage, catalog):
    flat = _costs(backtest(usage, catalog, **KW))
    hist = backtest(usage, catalog, price_outlook="history", **KW)
    h = _costs(hist)
    od = hist.settings["pools"][0]["od_rate"] * 8
    # January (month 0) at today's prices, February at the expected multiplier (A100: cuts possible)
    assert od * 336 < h.loc["on_demand", "cost_usd"] < flat.loc["on_demand", "cost_usd"]
    assert hist.settings["price_outlook"] == "history"
    assert any("expected price path" in n for n in hist.notes)


def test_flat_outlook_is_the_default(usage, catalog):
    a, b = backtest(usage, catalog, **KW), backtest(usage, catalog, price_outlook="flat", **KW)
    pd.testing.assert_frame_equal(a.summary.drop(columns="seconds"), b.summary.drop(columns="seconds"))
    assert a.settings["price_outlook"] == "flat"


@pytest.mark.parametrize("value, err, match", [
    ("hist", PricingError, "'hist' is not an outlook: give 'flat', 'history', 'history:hazard"),
    ("history:hazard=-1", PricingError, "hazard = '-1' must be a monthly probability"),
    ("", PricingError, "price_outlook must be"),
    (None, PricingError, "price_outlook must be"),
])
def test_bad_price_outlook(usage, catalog, value, err, match):
    with pytest.raises(err, match=match):
        backtest(usage, catalog, price_outlook=value, **KW)


def test_bad_outlook_file_names_row_and_column(usage, catalog, tmp_path):
    with pytest.raises(PricingError, match="multiplier"):
        backtest(usage, catalog, price_outlook=_outlook(tmp_path, "aws,*,on_demand,2026-02-01,-1\n"), **KW)
    p = tmp_path / "bad.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(PricingError, match="missing column"):
        backtest(usage, catalog, price_outlook=str(p), **KW)


def test_hourly_csv_multipliers_match_the_period_means():
    from finops_forecast.pricing.outlook import _csv_paths, csv_hourly

    df = pd.DataFrame({"provider": ["aws"], "instance_type": ["*"], "pricing_model": ["on_demand"],
                       "effective_from": ["2026-02-01"], "multiplier": [0.5]})
    pools = pd.DataFrame({"provider": ["aws", "gcp"], "instance_type": ["p5.48xlarge", "a3-highgpu-8g"]})
    hours = pd.date_range("2026-01-31", periods=48, freq="h", tz="UTC")
    m = csv_hourly(df, pools, hours)
    assert m.shape == (3, 48, 2)
    assert (m[0, :24, 0] == 1).all() and (m[0, 24:, 0] == 0.5).all() and (m[:, :, 1] == 1).all()
    assert (m[2] == m[0]).all() and (m[1] == 1).all()  # commitments follow on demand, spot untouched
    per = _csv_paths(df, pools, hours[[0]], hours[[0]] + pd.Timedelta(hours=48))
    assert per[0, 0, 0] == pytest.approx(0.75)
    assert np.all(per[:, :, 1] == 1)
