"""Bad input: clear errors or documented fallbacks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import ForecastError, UnknownNameError
from finops_forecast.forecast import ForecastWarning, cross_validate, forecast


@pytest.mark.parametrize("h", [0, -24])
def test_horizon_not_positive(usage, h):
    with pytest.raises(ForecastError, match="horizon must be >= 1"):
        forecast(usage, h)


def test_horizon_not_integer(usage):
    with pytest.raises(ForecastError, match="whole number"):
        forecast(usage, 24.5)


def test_unknown_model_lists_valid(usage):
    with pytest.raises(UnknownNameError) as e:
        forecast(usage, 24, models="prophett")
    msg = str(e.value)
    assert "Did you mean 'prophet'" in msg
    for name in ["auto", "ets", "naive", "prophet", "sarimax", "seasonal_naive", "theta"]:
        assert name in msg


@pytest.mark.parametrize("kw", [dict(engine="spark"), dict(freq="W"), dict(components="both"),
                                dict(resolution="minute"), dict(gaps="drop")])
def test_unknown_options_list_valid(usage, kw):
    with pytest.raises(UnknownNameError, match="Provide one of"):
        forecast(usage, 24, **kw)


def test_missing_column(usage):
    with pytest.raises(ForecastError, match=r"lacks column\(s\) \['gpu_hours'\]"):
        forecast(usage.drop(columns="gpu_hours"), 24)


def test_negative_and_nan_gpu_hours(usage):
    bad = usage.copy()
    bad.loc[3, "gpu_hours"] = -1.0
    with pytest.raises(ForecastError, match="negative GPU-hours .*row 4"):
        forecast(bad, 24)
    bad.loc[3, "gpu_hours"] = np.nan
    with pytest.raises(ForecastError, match="missing or non-numeric.*row 4"):
        forecast(bad, 24)


def test_too_short_series_falls_back_and_says_so(make_usage):
    short = make_usage(hours=24 * 5)  # 5 days: too short for ETS (10 days) and for a weekly season (7)
    with pytest.warns(ForecastWarning, match="simpler model"):
        r = forecast(short, 48, models="ets", n_paths=20)
    sel = r.selection
    assert sel["fallback"].all()
    assert (sel["model"] == "naive").all()
    assert sel["note"].str.contains("ets needs >= 10 points, the series has 5").all()
    assert r.paths.shape == (2, 20, 48) and np.isfinite(r.paths).all()


def test_auto_on_short_series_skips_candidates(make_usage):
    short = make_usage(hours=24 * 12)  # 12 days: theta and ETS fit, backtest windows are few
    r = forecast(short, 24, models="auto", n_paths=20, components="total")
    assert set(r.selection["model"]) <= {"seasonal_naive", "ets", "theta", "naive"}
    assert (r.selection.filter(like="mase_").notna().sum(axis=1) >= 1).all()


def test_all_zero_and_constant_series(make_usage):
    u = make_usage(hours=24 * 21)
    u.loc[u.workload_class == "training", "gpu_hours"] = 0.0
    u.loc[u.workload_class == "inference", "gpu_hours"] = 4.0  # two teams x 4 = 8 GPU-h every hour
    r = forecast(u, 72, models="ets", n_paths=30, components="total")
    tr = int(np.flatnonzero(r.keys.workload_class == "training")[0])
    inf = 1 - tr
    assert (r.paths[tr] == 0).all()
    np.testing.assert_allclose(r.paths[inf], 8.0)
    assert set(r.selection["model"]) == {"constant"}
    assert r.selection["note"].str.contains("constant series").all()


def test_gaps_zero_interpolate_raise(make_usage):
    u = make_usage(hours=24 * 28, classes=(("training", 100.0),), teams=("a",))
    hole = (u.ts >= "2025-01-20") & (u.ts < "2025-01-21")
    gappy = u[~hole]
    with pytest.raises(ForecastError, match="misses 24 period"):
        forecast(gappy, 24, gaps="raise")
    z = forecast(gappy, 24, gaps="zero", models="seasonal_naive", n_paths=5)
    assert "24 missing period(s) filled with 0" in z.selection["note"].iloc[0]
    i = forecast(gappy, 24, gaps="interpolate", models="seasonal_naive", n_paths=5)
    assert "interpolated" in i.selection["note"].iloc[0]
    full = forecast(u, 24, models="seasonal_naive", n_paths=5)
    # interpolation keeps the level of the complete data better than zeros (the hole is 1 of 4 weeks)
    assert i.selection["note"].iloc[0] != z.selection["note"].iloc[0]
    assert abs(i.mean.sum() - full.mean.sum()) <= abs(z.mean.sum() - full.mean.sum())


def test_series_that_stopped_is_filled_to_the_end(make_usage):
    u = make_usage(hours=24 * 28)
    u = u[~((u.workload_class == "training") & (u.ts >= "2025-01-27"))]
    r = forecast(u, 24, models="seasonal_naive", n_paths=5, components="total")
    note = r.selection.set_index("workload_class").loc["training", "note"]
    assert "ends 168 period(s) before the table" in note
    # last week was zero: seasonal naive's point forecast is zero (its paths keep the history's spread)
    assert r.mean[int(np.flatnonzero(r.keys.workload_class == "training")[0])].max() == 0


def test_empty_and_not_a_frame():
    with pytest.raises(ForecastError, match="no rows"):
        forecast(pd.DataFrame(columns=["ts", "provider", "region", "instance_type", "workload_class", "team",
                                       "gpu_hours"]), 24)
    with pytest.raises(ForecastError, match="DataFrame"):
        forecast([1, 2, 3], 24)


def test_cross_validate_too_short(make_usage):
    u = make_usage(hours=24 * 10)
    with pytest.raises(ForecastError, match="too short for 8 windows"):
        cross_validate(u, 7, n_windows=8)


def test_auto_cannot_mix_with_names(usage):
    with pytest.raises(ForecastError, match="'auto' cannot be combined"):
        forecast(usage, 24, models=["auto", "ets"])


def test_bad_planned_runs(usage):
    runs = pd.DataFrame({"start": ["2025-02-20"], "gpus": [8]})
    with pytest.raises(ForecastError, match="planned_runs lacks column"):
        forecast(usage, 24, planned_runs=runs, models="seasonal_naive")
