"""Accuracy floors on the real traces (Philly training cluster, Alibaba DLRM inference fleet).

Daily totals, 7-day horizon, rolling origin with one-day steps: the selected model ("auto", whose selection runs
inside each window's training data only) must beat seasonal naive and its 80% interval must cover 72-88% of
the actuals. The same numbers are written by bench/bench_forecast_accuracy.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from finops_forecast.forecast import cross_validate, forecast

pytestmark = pytest.mark.slow

WINDOWS = {"philly": 30, "alibaba-dlrm": 10}


@pytest.mark.parametrize("trace", ["philly", "dlrm"])
def test_auto_beats_seasonal_naive_with_calibrated_intervals(trace, request):
    usage = request.getfixturevalue(trace)
    name = "philly" if trace == "philly" else "alibaba-dlrm"
    bt = cross_validate(usage, 7, freq="D", models=("seasonal_naive", "auto"), n_windows=WINDOWS[name], step=1,
                        level=(80, 95), seed=0, progress=False)
    s = bt.scores.set_index("model")
    assert s.loc["auto", "mase"] < 1
    assert s.loc["auto", "mase"] < s.loc["seasonal_naive", "mase"]
    assert s.loc["auto", "rel_mae"] < 1
    assert 0.72 <= s.loc["auto", "coverage_80"] <= 0.88
    assert s.loc["auto", "coverage_95"] >= s.loc["auto", "coverage_80"]
    assert len(bt.cv) == 7 * WINDOWS[name]
    # no leakage: every window's forecast starts the day after its cutoff
    assert ((bt.cv["ds"] - bt.cv["cutoff"]).dt.days.between(1, 7)).all()


def test_hourly_forecast_on_philly_is_realistic(philly):
    r = forecast(philly, 24 * 14, models="auto", n_paths=100, seed=0)
    assert r.paths.shape == (1, 100, 336)
    hist = philly["gpu_hours"].to_numpy()
    # the forecast stays within the range the cluster has seen (active nodes, ~420 in the cluster)
    assert 0.5 * hist[-24 * 14:].mean() < r.mean.mean() < 1.5 * hist[-24 * 14:].mean()
    assert np.percentile(r.paths, 99) < 1.5 * hist.max()
    assert r.selection["component"].tolist() == ["total", "baseline"]
    assert (r.baseline_paths <= r.paths).all() and r.baseline_mean.mean() < r.mean.mean()
