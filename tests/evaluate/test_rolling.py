"""The rolling backtest on a small synthetic fleet: billing identities, hindsight bound, no look-ahead,
overlapping terms, bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import FinopsError, PricingError, UnknownNameError
from finops_forecast.evaluate import (POLICIES, BacktestSettings, EvaluateError, backtest, demand_matrix,
                                      parse_hours)

from .conftest import FAST, make_usage

REL = 1e-7  # solver tolerance, relative to a window's cost


def test_shape_and_identities(result):
    s = result.summary.set_index("policy")
    assert list(s.index) == list(POLICIES)
    w = result.windows
    n = result.settings["windows"]
    # 24 days, a 7-day warm-up, 3-day windows: (24 - 7) // 3 = 5 full windows
    assert n == 5 and len(w) == n * len(POLICIES)
    for p, g in w.groupby("policy"):
        assert g["cost_usd"].sum() == pytest.approx(s.loc[p, "cost_usd"], rel=1e-12)
        assert g["on_demand_cost_usd"].sum() == pytest.approx(s.loc[p, "on_demand_cost_usd"], rel=1e-12)
    assert np.allclose(s["savings_usd"], s["on_demand_cost_usd"] - s["cost_usd"])
    assert np.allclose(s["effective_savings_rate"], s["savings_usd"] / s["on_demand_cost_usd"])
    # the same demand for everyone: the all-on-demand cost does not depend on the policy
    assert s["on_demand_cost_usd"].nunique() == 1 or np.ptp(s["on_demand_cost_usd"]) < 1e-6
    assert s.loc["hindsight", "savings_capture"] == pytest.approx(1.0)
    assert s.loc["on_demand", "coverage"] == 0 and np.isnan(s.loc["on_demand", "utilization"])
    assert s.loc["on_demand", "commitment_capture"] == pytest.approx(0.0, abs=1e-12)
    for col in ("coverage", "utilization"):
        v = w[col].dropna()
        assert ((v >= -1e-12) & (v <= 1 + 1e-9)).all()
    # the demand is well above zero all the time: committing pays, the forecast and lookback policies buy
    assert s.loc["forecast", "coverage"] > 0.3 and s.loc["lookback", "coverage"] > 0.3


def test_hindsight_is_never_beaten(result):
    w = result.windows
    hs = w[w["policy"] == "hindsight"].set_index("window")["cost_usd"]
    for r in w.itertuples():
        assert r.cost_usd >= hs[r.window] * (1 - REL), (r.policy, r.window, r.cost_usd, hs[r.window])
    caps = result.summary.set_index("policy")["savings_capture"]
    assert (caps <= 1 + 1e-6).all()


def test_bill_recomputed_from_purchases(usage, catalog, result):
    """The result's costs equal a fresh bill of the demand under the quantities the purchase table says were held."""
    from finops_forecast.portfolio.billing import bill
    from finops_forecast.portfolio.instruments import SpotSettings, build_market

    keys, ts, D = demand_matrix(usage)
    m = build_market(catalog, keys, terms_months=(12,), payment_options=("no_upfront",),
                     spot=SpotSettings(cap=0.3))
    ids = list(m.instruments["id"])
    first = ts.get_loc(pd.Timestamp(result.settings["first_decision"]))
    hours = result.settings["hours_evaluated"]
    for p in ("forecast", "lookback", "stable"):
        held = np.zeros((len(ts), len(ids)))
        for r in result.purchases[result.purchases["policy"] == p].itertuples():
            a, b = ts.get_loc(r.start), min(ts.searchsorted(r.expires), len(ts))
            held[a:b, ids.index(r.instrument)] += r.quantity
        b = bill(D[first:first + hours], m, held[first:first + hours])
        assert b.cost.sum() == pytest.approx(result.summary.set_index("policy").loc[p, "cost_usd"], rel=1e-9)


def test_no_look_ahead(usage, catalog, result):
    """Changing the demand after the first decision does not change what non-hindsight policies bought then."""
    first = pd.Timestamp(result.settings["first_decision"])
    changed = usage.copy()
    later = changed["ts"] >= first
    changed.loc[later, "gpu_hours"] *= 0.2
    other = backtest(changed, catalog, max_windows=1, **FAST)
    for p in ("forecast", "lookback", "stable"):
        a = result.purchases[(result.purchases["policy"] == p) & (result.purchases["window"] == 0)]
        b = other.purchases[(other.purchases["policy"] == p) & (other.purchases["window"] == 0)]
        assert a["instrument"].tolist() == b["instrument"].tolist()
        assert np.allclose(a["quantity"], b["quantity"], rtol=1e-6), p
    # hindsight sees the window: it buys less for the smaller demand
    ha = result.purchases.query("policy == 'hindsight' and window == 0")["usd_per_hour"].sum()
    hb = other.purchases.query("policy == 'hindsight' and window == 0")["usd_per_hour"].sum()
    assert hb < 0.5 * ha


def test_overlapping_terms_expire(usage, catalog):
    """term = 2 x decision_every: each purchase is held over two windows, then expires."""
    res = backtest(usage, catalog, policies="lookback,hindsight", **{**FAST, "term": "6D"})
    pur = res.purchases
    assert ((pur["expires"] - pur["start"]) == pd.Timedelta(days=6)).all()
    assert any("overlap" in n for n in res.notes)
    # the second lookback decision already holds the first purchase: it buys less than the first
    lb = pur[pur["policy"] == "lookback"].groupby("window")["usd_per_hour"].sum()
    assert lb.loc[1] < lb.loc[0]
    # fees of a window: what was bought in it and the window before (constant per window: exact check)
    w = res.windows.set_index(["policy", "window"])
    hours = res.settings["decision_every"]
    for k in range(1, res.settings["windows"]):
        fee = (lb.get(k, 0.0) + lb.get(k - 1, 0.0)) * hours
        assert w.loc[("lookback", k), "committed_usd"] == pytest.approx(fee, rel=1e-9)
    assert w.loc[("lookback", 0), "committed_usd"] == pytest.approx(lb.loc[0] * hours, rel=1e-9)


def test_short_term_leaves_hours_uncommitted(usage, catalog):
    res = backtest(usage, catalog, policies="lookback", **{**FAST, "term": "1D"})
    assert any("uncommitted" in n for n in res.notes)
    assert res.summary.set_index("policy").loc["lookback", "coverage"] < 0.5


def test_unpriced_pool_is_an_error(catalog):
    u = make_usage(days=12)
    u.loc[u["instance_type"] == "g6.xlarge", "region"] = "eu-nowhere-1"
    with pytest.raises(PricingError, match="eu-nowhere-1 g6.xlarge"):
        backtest(u, catalog, **FAST)


@pytest.mark.parametrize("kw, err, match", [
    (dict(decision_every="3X"), EvaluateError, "decision_every"),
    (dict(term="90min"), EvaluateError, "whole number of hours"),
    (dict(lookback=0), EvaluateError, "lookback"),
    (dict(policies="forecast,lokback"), UnknownNameError, "Did you mean 'lookback'"),
    (dict(policies=""), EvaluateError, "policies is empty"),
    (dict(spot_cap=1.5), EvaluateError, "spot_cap"),
    (dict(n_paths=0), EvaluateError, "n_paths"),
    (dict(decision_every="30D"), EvaluateError, "needs warmup"),
    (dict(n_path=3), UnknownNameError, "Did you mean .n_paths."),
    (dict(forecast_candidates=("forecast", "lokback")), UnknownNameError, "Did you mean 'lookback'"),
    (dict(forecast_candidates=()), EvaluateError, "forecast_candidates is empty"),
    (dict(select_default="ets"), EvaluateError, "select_default must be one of"),
    (dict(select_alpha=1.5), EvaluateError, "select_alpha"),
    (dict(risk_lambda=float("inf")), EvaluateError, "risk_lambda must be a finite number"),
    (dict(risk_lambda=float("nan")), EvaluateError, "risk_lambda must be a finite number"),
])
def test_bad_settings(usage, catalog, kw, err, match):
    args = {**FAST, **kw}
    with pytest.raises(err, match=match):
        backtest(usage, catalog, **args)


def test_errors_are_value_errors():
    assert issubclass(EvaluateError, FinopsError) and issubclass(EvaluateError, ValueError)


@pytest.mark.parametrize("v, h", [("7D", 168), ("36h", 36), ("2W", 336), (5, 5)])
def test_parse_hours(v, h):
    assert parse_hours(v) == h


def test_demand_matrix_fills_missing_hours():
    u = make_usage(days=2)
    _, ts, D = demand_matrix(u[u["ts"] != u["ts"].iloc[5]])
    assert len(ts) == 48 and D.shape == (48, 2) and (D[5] == 0).all()
    assert D.sum() == pytest.approx(u[u["ts"] != u["ts"].iloc[5]]["gpu_hours"].sum())


def test_teams_are_summed(usage, catalog):
    """The same demand split over two teams bills exactly the same."""
    a = usage.assign(gpu_hours=usage["gpu_hours"] * 0.25, team="a")
    b = usage.assign(gpu_hours=usage["gpu_hours"] * 0.75, team="b")
    split = pd.concat([a, b], ignore_index=True)
    kw = {**FAST, "max_windows": 2}
    one = backtest(usage, catalog, policies="lookback,hindsight", **kw).summary.set_index("policy")
    two = backtest(split, catalog, policies="lookback,hindsight", **kw).summary.set_index("policy")
    assert np.allclose(one["cost_usd"], two["cost_usd"], rtol=1e-9)


def test_selection_has_no_look_ahead(usage, catalog):
    """The forecast policy's choice of rule at window k is scored on windows that ended by its decision time:
    changing the demand from window k on changes nothing decided up to k, and changes the scores after it."""
    full = backtest(usage, catalog, **FAST)
    k = 3
    t_k = pd.Timestamp(full.settings["forecast_selection"][k]["start"])
    changed = usage.copy()
    changed.loc[changed["ts"] >= t_k, "gpu_hours"] *= 0.2
    other = backtest(changed, catalog, **FAST)
    sel_a, sel_b = full.settings["forecast_selection"], other.settings["forecast_selection"]
    assert sel_a[k]["origins_scored"] > 0  # the choice at k was made on scored history
    for w in range(k + 1):
        assert sel_a[w] == sel_b[w], w
        for p in ("forecast", "lookback"):
            a = full.purchases[(full.purchases["policy"] == p) & (full.purchases["window"] == w)]
            b = other.purchases[(other.purchases["policy"] == p) & (other.purchases["window"] == w)]
            assert a["instrument"].tolist() == b["instrument"].tolist()
            assert np.allclose(a["quantity"], b["quantity"], rtol=1e-9), (p, w)
    # the next decision scores the window that started at k: its scores see the change
    assert sel_a[k + 1]["cost_usd_lookback"] != pytest.approx(sel_b[k + 1]["cost_usd_lookback"], rel=1e-6)


def test_selection_records_and_forecast_alone(usage, catalog, result):
    sel = result.settings["forecast_selection"]
    assert [r["window"] for r in sel] == list(range(result.settings["windows"]))
    assert all(r["chosen"] in ("forecast", "lookback") for r in sel)
    # no scorable origin before the first decision (7-day warm-up = select_min_history): the default decides
    assert result.settings["select_default"] == "forecast"  # the first candidate (issue 20)
    assert sel[0]["chosen"] == "forecast" and sel[0]["origins_scored"] == 0
    # the forecast policy is the lookback rule exactly where it chose it
    p = result.purchases
    for r in sel:
        if r["chosen"] == "lookback":
            a = p[(p["policy"] == "forecast") & (p["window"] == r["window"])]["quantity"].to_numpy()
            b = p[(p["policy"] == "lookback") & (p["window"] == r["window"])]["quantity"].to_numpy()
            assert np.allclose(a, b, rtol=1e-9)
    alone = backtest(usage, catalog, policies="forecast,hindsight", forecast_candidates=("forecast",), **FAST)
    assert {r["chosen"] for r in alone.settings["forecast_selection"]} == {"forecast"}


def test_selection_switches_to_a_forecast_that_proves_cheaper(catalog):
    """Demand growing 3% a day: the trailing week under-commits, a trend forecast does not; once the scored
    windows show it (paired test at 5%), the forecast decides, and the policy beats the lookback rule."""
    rng = np.random.default_rng(0)
    ts = pd.date_range("2026-01-05", periods=24 * 35, freq="h", tz="UTC")
    h = np.arange(len(ts))
    y = 100 * (1 + 0.03 * h / 24) + 5 * np.sin(2 * np.pi * h / 24) + rng.normal(0, 2, len(h))
    u = pd.DataFrame({"ts": ts, "provider": "aws", "region": "us-east-1", "instance_type": "g6.xlarge",
                      "workload_class": "inference", "team": "unallocated", "gpu_hours": y})
    res = backtest(u, catalog, policies="forecast,lookback,hindsight",
                   **{**FAST, "lookback": "7D", "models": "theta", "select_default": "lookback"})
    sel = res.settings["forecast_selection"]
    assert sel[0]["chosen"] == "lookback"  # nothing scored yet: the default rule
    assert sel[-1]["chosen"] == "forecast" and sel[-1]["p_value_forecast"] < 0.05
    assert all(r["p_value_forecast"] < 0.05 for r in sel if r["chosen"] == "forecast")
    s = res.summary.set_index("policy")["savings_capture"]
    assert s["forecast"] > s["lookback"]


@pytest.mark.parametrize("diff, n_eff, expect", [
    ([-1.0, -2.0, -1.5, -1.2], None, "small"), ([1.0, 2.0, 1.5], None, "large"), ([-1.0], None, "one"),
    ([-1.0, -2.0, -1.5, -1.2], 1.5, "one"), ([-1.0, -1.0, -1.0], None, "zero"),
])
def test_cheaper_p_value(diff, n_eff, expect):
    from finops_forecast.evaluate.rolling import cheaper_p_value
    p = cheaper_p_value(diff, n_eff)
    assert {"small": p < 0.01, "large": p > 0.9, "one": p == 1.0, "zero": p == 0.0}[expect]


def test_selection_history_cap():
    """The selector scores only origins within select_max_history of the decision (bounded work on long
    histories); None scores every origin since select_min_history; a cap shorter than the term is an error."""
    from finops_forecast.evaluate.rolling import BacktestSettings, EvaluateError, _Selector

    capped = _Selector(None, None, None, [], None, None, BacktestSettings(select_max_history="10D"), None, None)
    t = 24 * 60
    o = capped.origins(t)
    assert o[0] == t - 168 and min(o) >= t - 240 and len(o) == len(range(t - 168, t - 240 - 1, -24))
    every = _Selector(None, None, None, [], None, None, BacktestSettings(select_max_history=None), None, None)
    assert min(every.origins(t)) == 168 and len(every.origins(t)) > len(o)
    with pytest.raises(EvaluateError, match="select_max_history"):
        BacktestSettings(select_max_history="3D")


def test_reselect_every_selects_from_the_past_and_refits_after(usage, catalog):
    """With ``reselect_every`` the forecast's models are chosen at the first decision from the history before it
    and only refit later: decisions up to window k do not change when the demand from window k on changes (no
    look-ahead); selecting at every decision (interval shorter than the windows) is the default's result."""
    kw = {**FAST, "models": "auto", "policies": "forecast,hindsight", "forecast_candidates": ("forecast",),
          "max_windows": 4}
    once = backtest(usage, catalog, reselect_every="30D", **kw)
    k = 2
    t_k = pd.Timestamp(once.windows[once.windows["window"] == k]["start"].iloc[0])
    changed = usage.copy()
    changed.loc[changed["ts"] >= t_k, "gpu_hours"] *= 0.3
    other = backtest(changed, catalog, reselect_every="30D", **kw)
    for w in range(k + 1):
        a = once.purchases[(once.purchases["policy"] == "forecast") & (once.purchases["window"] == w)]
        b = other.purchases[(other.purchases["policy"] == "forecast") & (other.purchases["window"] == w)]
        assert np.allclose(a["quantity"], b["quantity"], rtol=1e-9), w
    every = backtest(usage, catalog, reselect_every="1D", **kw)
    default = backtest(usage, catalog, **kw)
    pd.testing.assert_frame_equal(every.purchases, default.purchases)
    assert once.settings["reselect_every"] == 720


CAL = dict(FAST, forecast_candidates=("forecast", "recovery", "lookback"), calibration="spread",
           calibration_grid=(0.0, 0.5, 1.0))


def test_calibration_has_no_look_ahead(usage, catalog):
    """Decision calibration: the spread scale applied at window k is chosen on windows that ended by its decision
    time. Changing the demand from window k on changes no scale, choice or purchase up to k, and changes the
    calibration's evidence after it."""
    full = backtest(usage, catalog, "forecast,lookback,hindsight", **CAL)
    k = 2
    t_k = pd.Timestamp(full.settings["forecast_selection"][k]["start"])
    changed = usage.copy()
    changed.loc[changed["ts"] >= t_k, "gpu_hours"] *= 0.2
    other = backtest(changed, catalog, "forecast,lookback,hindsight", **CAL)
    sel_a, sel_b = full.settings["forecast_selection"], other.settings["forecast_selection"]
    for w in range(k + 1):
        assert sel_a[w] == sel_b[w], w
        a = full.purchases[(full.purchases["policy"] == "forecast") & (full.purchases["window"] == w)]
        b = other.purchases[(other.purchases["policy"] == "forecast") & (other.purchases["window"] == w)]
        assert np.allclose(a["quantity"], b["quantity"], rtol=1e-9), w
    # the next decision scores the window that started at k: the forecast candidates' costs see the change
    assert sel_a[k + 1]["cost_usd_recovery"] != pytest.approx(sel_b[k + 1]["cost_usd_recovery"], rel=1e-6)


def test_calibration_scale_is_recorded_and_on_the_grid(usage, catalog):
    res = backtest(usage, catalog, "forecast,hindsight", **dict(CAL, forecast_candidates=("forecast",)))
    scales = [r["spread_scale"] for r in res.settings["forecast_selection"]]
    assert scales[0] == 1.0  # no completed window before the first decision: the paths as forecast
    assert all(s in (0.0, 0.5, 1.0) for s in scales)


def test_spread_paths_and_choose_scale():
    from finops_forecast.evaluate.rolling import choose_scale, spread_paths

    rng = np.random.default_rng(0)
    p = rng.normal(100, 10, (51, 24, 2))
    med = np.median(p, axis=0)
    np.testing.assert_allclose(spread_paths(p, 0.0), np.broadcast_to(med, p.shape))
    assert spread_paths(p, 1.0) is p
    np.testing.assert_allclose(spread_paths(p, 0.5).std(axis=0), 0.5 * p.std(axis=0), rtol=1e-9)
    costs = [{0.0: 10.0, 0.5: 9.0, 1.0: 9.5}, {0.0: 10.0, 0.5: 9.0, 1.0: 9.4}]
    assert choose_scale([], 1.0, 0.01) == 1.0
    assert choose_scale(costs, 1.0, 0.0) == 0.5
    # smoothing: moving 0.5 must save more than penalty x 18.9 x 0.5; it saves 0.9
    assert choose_scale(costs, 1.0, 0.1) == 1.0


@pytest.mark.parametrize("kw, match", [(dict(calibration="width"), "calibration"),
                                        (dict(calibration_grid=(-1.0, 1.0)), "calibration_grid"),
                                        (dict(calibration_penalty=-0.1), "calibration_penalty")])
def test_bad_calibration_settings(kw, match):
    with pytest.raises(FinopsError, match=match):
        BacktestSettings(**kw)
