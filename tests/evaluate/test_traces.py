"""Policy backtests on the real traces (slow; they run in CI). Missing data fails, never skips."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.evaluate import TRACE_MAPPINGS, TRACE_SETTINGS, backtest_trace, trace_usage

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def catalog():
    from finops_forecast.pricing import load_pricing
    return load_pricing("aws")


@pytest.fixture(scope="module")
def results(datasets, catalog):
    return {name: backtest_trace(name, catalog, root=datasets) for name in TRACE_MAPPINGS}


def test_mapping(datasets):
    from finops_forecast.forecast.traces import load_trace
    for name, m in TRACE_MAPPINGS.items():
        raw, u = load_trace(name, datasets), trace_usage(name, datasets)
        assert np.allclose(u["gpu_hours"], raw["gpu_hours"] * m.gpus_per_unit)
        assert set(u["instance_type"]) == {m.instance_type} and set(u["workload_class"]) == {m.workload_class}
    philly = trace_usage("philly", datasets)
    assert 2000 < philly["gpu_hours"].mean() < 3000  # ~313 nodes x 8 GPUs
    assert 2900 < trace_usage("alibaba-dlrm", datasets)["gpu_hours"].mean() < 3500


def test_windows_and_settings(results):
    assert results["philly"].settings["windows"] == 8  # (1771 h - 14 d) // 7 d
    assert results["alibaba-dlrm"].settings["windows"] == 5  # (744 h - 14 d) // 3 d
    for name, r in results.items():
        hours = pd.Timedelta(TRACE_SETTINGS[name]["decision_every"]) / pd.Timedelta(hours=1)
        assert r.settings["trace"] == name and r.settings["decision_every"] == hours
    # spot only where the mapping allows it
    assert results["philly"].settings["spot_rate_usd_per_gpu_hour"][0] is not None
    assert results["alibaba-dlrm"].settings["spot_rate_usd_per_gpu_hour"][0] is None


def test_hindsight_never_beaten_on_real_traces(results):
    for name, r in results.items():
        w = r.windows
        hs = w[w["policy"] == "hindsight"].set_index("window")["cost_usd"]
        for row in w.itertuples():
            assert row.cost_usd >= hs[row.window] * (1 - 1e-7), (name, row.policy, row.window)


def test_commitments_pay_on_real_traces(results):
    for name, r in results.items():
        s = r.summary.set_index("policy")
        assert s.loc["hindsight", "cost_usd"] < s.loc["on_demand", "cost_usd"]
        assert s.loc["hindsight", "commitment_capture"] == pytest.approx(1.0)
        for p in ("forecast", "lookback"):
            assert s.loc[p, "commitment_capture"] > 0.8, (name, p)


def test_mean_forecast_capture_at_least_095(results):
    caps = [r.summary.set_index("policy").loc["forecast", "savings_capture"] for r in results.values()]
    assert np.mean(caps) >= 0.95, caps


def test_forecast_beats_lookback_on_dlrm(results):
    s = results["alibaba-dlrm"].summary.set_index("policy")["savings_capture"]
    assert s["forecast"] >= s["lookback"]


def test_forecast_at_least_lookback_on_philly(results):
    """The floor that failed before the decision-focused selection (forecast alone 0.941, lookback 0.972):
    the forecast never proved cheaper on Philly's scored windows, so the lookback rule decided every week."""
    s = results["philly"].summary.set_index("policy")["savings_capture"]
    assert s["forecast"] >= s["lookback"]


def test_selection_scores_only_completed_windows(results):
    """Every decision of the forecast policy was scored on the windows that ended by then (daily origins from
    one week of history to one term before the decision) and kept the default unless the test rejected."""
    for name, r in results.items():
        term, every = r.settings["term"], r.settings["select_every"]
        first = pd.Timestamp(r.settings["first_decision"])
        start = first - pd.Timedelta(hours=r.settings["warmup"])
        for rec in r.settings["forecast_selection"]:
            t = pd.Timestamp(rec["start"])
            hours = (t - start) / pd.Timedelta(hours=1)
            cap = r.settings["select_max_history"]
            low = max(r.settings["select_min_history"], int(hours) - cap) if cap else r.settings["select_min_history"]
            expect = len(range(int(hours) - term, low - 1, -every))
            assert rec["origins_scored"] == expect, (name, rec)
            if rec["chosen"] != r.settings["select_default"]:
                assert rec[f"p_value_{rec['chosen']}"] < r.settings["select_alpha"]
