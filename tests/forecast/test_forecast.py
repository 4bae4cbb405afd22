"""forecast(): shapes, alignment, seeds, team aggregation, planned runs, reconciliation, long horizons."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.forecast import SERIES_KEYS, forecast


def test_seasonal_naive_shapes_and_alignment(usage):
    r = forecast(usage, 24 * 7, models="seasonal_naive", n_paths=50, seed=1)
    assert r.paths.shape == (2, 50, 168)
    assert list(r.keys.columns) == SERIES_KEYS
    assert len(r.ds) == 168 and r.ds[0] == usage["ts"].max() + pd.Timedelta(hours=1)
    assert str(r.ds.tz) == "UTC"
    assert len(r.forecasts) == 2 * 168
    for c in ["seasonal_naive", "seasonal_naive-lo-80", "seasonal_naive-hi-80", "seasonal_naive-lo-95",
              "seasonal_naive-hi-95", "seasonal_naive-median"]:
        assert c in r.forecasts.columns
    # forecasts rows are aligned with keys x ds
    first = r.forecasts.iloc[:168]
    assert (first["workload_class"] == r.keys["workload_class"].iloc[0]).all()
    assert (first["ds"].to_numpy() == r.ds.to_numpy()).all()
    assert (r.paths >= 0).all()


def test_team_aggregation_sums_teams(usage):
    one_team = usage.groupby(["ts"] + SERIES_KEYS, as_index=False)["gpu_hours"].sum().assign(team="x")
    a = forecast(usage, 48, models="seasonal_naive", n_paths=20, seed=3)
    b = forecast(one_team, 48, models="seasonal_naive", n_paths=20, seed=3)
    np.testing.assert_allclose(a.paths, b.paths)


def test_seasonal_naive_repeats_last_week_totals(usage):
    r = forecast(usage, 24 * 7, models="seasonal_naive", components="total", n_paths=10)
    y = (usage[usage.workload_class == r.keys["workload_class"].iloc[0]]
         .groupby("ts")["gpu_hours"].sum().to_numpy())
    last_week_days = y[-168:].reshape(7, 24).sum(axis=1)
    got_days = r.mean[0].reshape(7, 24).sum(axis=1)
    np.testing.assert_allclose(got_days, last_week_days, rtol=1e-9)


def test_same_seed_same_paths_other_seed_differs(usage):
    a = forecast(usage, 72, models="ets", n_paths=30, seed=7)
    b = forecast(usage, 72, models="ets", n_paths=30, seed=7)
    c = forecast(usage, 72, models="ets", n_paths=30, seed=8)
    np.testing.assert_array_equal(a.paths, b.paths)
    assert not np.allclose(a.paths, c.paths)


def test_series_result_does_not_depend_on_other_series(usage):
    full = forecast(usage, 48, models="ets", n_paths=20, seed=0)
    only = forecast(usage[usage.workload_class == "training"], 48, models="ets", n_paths=20, seed=0)
    i = int(np.flatnonzero(full.keys["workload_class"] == "training")[0])
    np.testing.assert_array_equal(full.paths[i], only.paths[0])


def test_daily_freq(usage):
    r = forecast(usage, 14, freq="D", models="ets", n_paths=40)
    assert r.paths.shape == (2, 40, 14)
    assert (r.ds.to_series().diff().dropna() == pd.Timedelta(days=1)).all()
