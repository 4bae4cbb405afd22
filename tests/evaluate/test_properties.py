"""Properties of the backtest on arbitrary demand (hypothesis): hindsight is a lower bound on every window, the
metrics stay in range, and the all-on-demand cost does not depend on the policy."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finops_forecast.evaluate import backtest

DAYS = 6


@st.composite
def demand(draw):
    """Two series, hourly, DAYS days: a level per day (possibly 0) and a spike pattern [GPU-h per hour]."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    levels = [draw(st.lists(st.floats(0, 400), min_size=DAYS, max_size=DAYS)) for _ in range(2)]
    spike = draw(st.floats(0, 3))
    ts = pd.date_range("2026-03-02", periods=24 * DAYS, freq="h", tz="UTC")
    frames = []
    for (it, cls), lv in zip((("p4d.24xlarge", "training"), ("g6.xlarge", "inference")), levels):
        y = np.repeat(lv, 24) * (1 + spike * (rng.random(len(ts)) < 0.05)) + rng.exponential(5, len(ts))
        frames.append(pd.DataFrame({"ts": ts, "provider": "aws", "region": "us-east-1", "instance_type": it,
                                    "workload_class": cls, "team": "t", "gpu_hours": y}))
    return pd.concat(frames, ignore_index=True)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(u=demand(), term_days=st.sampled_from([1, 2]), spot_cap=st.sampled_from([0.0, 0.4]))
def test_hindsight_lower_bound_and_ranges(catalog, u, term_days, spot_cap):
    res = backtest(u, catalog, policies="lookback,stable,on_demand,hindsight", decision_every="1D",
                   term=f"{term_days}D", lookback="2D", warmup="2D", spot_cap=spot_cap)
    w = res.windows
    assert res.settings["windows"] == DAYS - 2
    od = w.groupby("window")["on_demand_cost_usd"].agg(np.ptp)
    assert (od < 1e-6).all()
    for col in ("coverage", "utilization"):
        v = w[col].dropna()
        assert ((v >= -1e-12) & (v <= 1 + 1e-9)).all()
    if term_days == 1:  # independent windows: hindsight is the exact optimum of each
        hs = w[w["policy"] == "hindsight"].set_index("window")["cost_usd"]
        for r in w.itertuples():
            assert r.cost_usd >= hs[r.window] * (1 - 1e-7) - 1e-6, (r.policy, r.window)
    # on_demand buys nothing: its cost is the no-commitment cost (spot where allowed)
    s = res.summary.set_index("policy")
    assert s.loc["on_demand", "committed_usd"] == 0
    assert s.loc["on_demand", "cost_usd"] <= s.loc["on_demand", "on_demand_cost_usd"] + 1e-6
