"""Planned runs, bottom-up coherence, hourly shape, long horizons, baseline/burst consistency with usage."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.forecast import forecast
from finops_forecast.forecast.core import split_baseline
from finops_forecast.usage.decompose import decompose


def test_planned_run_adds_exact_gpu_hours(usage):
    start = usage.ts.max() + pd.Timedelta(hours=10)
    runs = pd.DataFrame({"start": [start], "duration_hours": [30], "gpus": [512], "provider": ["aws"],
                         "region": ["us-east-1"], "instance_type": ["p5.48xlarge"],
                         "workload_class": ["training"], "team": ["research"], "name": ["pretrain"]})
    base = forecast(usage, 72, models="ets", n_paths=40, seed=5)
    plan = forecast(usage, 72, models="ets", n_paths=40, seed=5, planned_runs=runs)
    i = int(np.flatnonzero(base.keys.workload_class == "training")[0])
    diff = plan.paths[i] - base.paths[i]
    expected = np.zeros(72)
    expected[9:39] = 512  # hours 10..39 after the last observed hour are ds[9]..ds[38]
    np.testing.assert_allclose(diff, np.broadcast_to(expected, diff.shape))
    np.testing.assert_allclose(plan.paths[1 - i], base.paths[1 - i])  # other class untouched
    col = plan.forecasts[plan.forecasts.workload_class == "training"]["ets-hi-95"].to_numpy()
    col0 = base.forecasts[base.forecasts.workload_class == "training"]["ets-hi-95"].to_numpy()
    np.testing.assert_allclose(col - col0, expected)


def test_planned_run_on_a_new_pool_adds_the_series(usage):
    runs = pd.DataFrame({"start": [usage.ts.max() + pd.Timedelta(hours=1)], "duration_hours": [5.5],
                         "gpus": [64], "provider": ["gcp"], "region": ["us-central1"],
                         "instance_type": ["a3-highgpu-8g"], "workload_class": ["training"]})
    r = forecast(usage, 24, models="seasonal_naive", n_paths=10, planned_runs=runs)
    assert len(r.keys) == 3 and r.keys.iloc[2]["provider"] == "gcp"
    np.testing.assert_allclose(r.paths[2, 0, :7], [64, 64, 64, 64, 64, 32, 0])  # half of the 6th hour
    assert (r.selection.iloc[-1]["model"]) == "planned_runs"


def test_pools_are_sums_of_classes_path_by_path(make_usage):
    u = make_usage(pools=(("aws", "us-east-1", "p5.48xlarge"), ("azure", "eastus", "ND96")))
    r = forecast(u, 96, models="auto", n_paths=50, seed=2)
    p = r.pools()
    assert len(p.keys) == 2
    for j, pool in p.keys.iterrows():
        members = (r.keys[["provider", "region", "instance_type"]] == pool.to_numpy()).all(axis=1).to_numpy()
        np.testing.assert_allclose(p.paths[j], r.paths[members].sum(axis=0))
        # no class quantile exceeds its pool's quantile
        for lv in ("lo-80", "hi-80", "lo-95", "hi-95"):
            pool_q = p.forecasts[(p.forecasts[["provider", "region", "instance_type"]] == pool.to_numpy())
                                 .all(axis=1)][f"auto-{lv}"].to_numpy()
            for k in np.flatnonzero(members):
                cls = r.keys.iloc[k]
                mask = (r.forecasts[list(r.keys.columns)] == cls.to_numpy()).all(axis=1)
                assert (r.forecasts.loc[mask, f"auto-{lv}"].to_numpy() <= pool_q + 1e-9).all()


def test_hourly_shape_follows_the_daily_cycle(make_usage):
    """The training series peaks at 6:00 (sin over 24 h): forecast hours keep that shape."""
    u = make_usage(hours=24 * 56)
    r = forecast(u, 24 * 7, models="ets", n_paths=100, seed=0)
    i = int(np.flatnonzero(r.keys.workload_class == "training")[0])
    by_hour = r.mean[i].reshape(7, 24).mean(axis=0)
    assert by_hour.argmax() in (5, 6, 7) and by_hour.argmin() in (17, 18, 19)
    assert by_hour.max() / by_hour.min() > 1.3
    # each path has the within-day variation too, not only the mean
    path_hours = r.paths[i].reshape(100, 7, 24)
    assert np.median(path_hours.max(axis=2) / path_hours.min(axis=2).clip(1e-9)) > 1.3


def test_36_month_fan_widens(make_usage):
    u = make_usage(hours=24 * 120, classes=(("inference", 200.0),))
    horizon = 24 * 365 * 3
    r = forecast(u, horizon, models="auto", n_paths=200, seed=0)
    assert r.paths.shape == (1, 200, horizon)
    f = r.forecasts
    width = (f["auto-hi-80"] - f["auto-lo-80"]).to_numpy().reshape(-1, 24).mean(axis=1)  # per day
    month = width[:-(len(width) % 30) or None].reshape(-1, 30).mean(axis=1)
    # the growth rate's error fans it out (2.0x; > 3x before the history's changes bounded it, SpreadBound)
    assert month[-1] > 1.5 * month[0]
    assert (np.diff(month[::6]) > 0).all()  # widening every half year


def test_baseline_split_matches_usage_decompose(make_usage):
    u = make_usage(hours=24 * 21, classes=(("training", 100.0),), teams=("a", "b"))
    d = decompose(u)
    base, burst = split_baseline(d["gpu_hours"].to_numpy(), 168, 0.05)
    np.testing.assert_allclose(base, d["baseline"].to_numpy())
    np.testing.assert_allclose(burst, d["burst"].to_numpy())


@pytest.mark.parametrize("components", ["hybrid", "split", "total"])
def test_components_give_similar_point_totals(usage, components):
    r = forecast(usage, 24 * 7, models="ets", components=components, n_paths=20)
    last_week = usage.groupby("workload_class")["gpu_hours"].sum() / 6  # 42 days = 6 weeks
    for k, row in r.keys.iterrows():
        assert r.mean[k].sum() == pytest.approx(last_week[row.workload_class], rel=0.15)
