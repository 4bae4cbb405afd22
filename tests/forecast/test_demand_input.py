"""forecast() builds its series through usage.demand.hourly_demand, and takes a Demand as well."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import ForecastError
from finops_forecast.forecast import SERIES_KEYS, cross_validate, forecast
from finops_forecast.forecast.api import _prepare
from finops_forecast.usage.demand import Demand, hourly_demand


def test_a_demand_forecasts_like_its_usage_table(usage):
    """With a row for every hour, the usage table and its Demand give the same series, so the same forecast."""
    a = forecast(usage, 48, models="seasonal_naive", n_paths=20, seed=3)
    b = forecast(hourly_demand(usage), 48, models="seasonal_naive", n_paths=20, seed=3)
    np.testing.assert_array_equal(a.paths, b.paths)
    np.testing.assert_array_equal(a.mean, b.mean)
    pd.testing.assert_frame_equal(a.keys, b.keys)
    assert a.ds.equals(b.ds)


def test_the_series_are_the_hourly_demand_sums(usage):
    """The prepared series are hourly_demand's values: one conversion of the usage table into demand."""
    prep = _prepare(usage, "h", SERIES_KEYS, "ts", "gpu_hours", "zero")
    d = hourly_demand(usage)
    pd.testing.assert_frame_equal(prep.keys, d.keys)
    np.testing.assert_array_equal(np.stack(prep.series), d.values)
    assert prep.end == d.ts[-1]


def test_a_demand_series_starts_at_its_first_demand_and_has_no_gaps(usage):
    """Before its first demand a series did not exist yet; an hour without demand inside it is 0, not a gap."""
    d = hourly_demand(usage)
    values = d.values.copy()
    values[1, :100] = 0.0  # the second series starts 100 h later
    values[0, 300:310] = 0.0  # and the first one idles for 10 h
    prep = _prepare(Demand(keys=d.keys, ts=d.ts, values=values), "h", SERIES_KEYS, "ts", "gpu_hours", "raise")
    assert len(prep.series[0]) == len(d.ts) and len(prep.series[1]) == len(d.ts) - 100
    np.testing.assert_array_equal(prep.series[1], values[1, 100:])
    assert prep.notes == ["", ""]


def test_a_demand_summed_to_days_drops_partial_days(usage):
    d = hourly_demand(usage[usage["ts"] >= usage["ts"].min() + pd.Timedelta(hours=5)])  # from 05:00 on day 1
    prep = _prepare(d, "D", SERIES_KEYS, "ts", "gpu_hours", "zero")
    assert prep.end == d.ts[-1].floor("D")
    assert len(prep.series[0]) == len(d.ts) // 24  # the first, partial day is dropped
    np.testing.assert_allclose(prep.series[0], d.values[0, 19:].reshape(-1, 24).sum(axis=1))


def test_a_demand_with_other_keys_is_refused(usage):
    d = hourly_demand(usage)
    with pytest.raises(ForecastError, match="id_cols"):
        forecast(d, 24, models="naive", id_cols=["provider", "region", "instance_type"])
    with pytest.raises(ForecastError, match="DataFrame .* or a Demand"):
        forecast(d.values, 24, models="naive")
    bad = d.values.copy()
    bad[0, 3] = np.nan
    with pytest.raises(ForecastError, match="finite and >= 0"):
        forecast(Demand(keys=d.keys, ts=d.ts, values=bad), 24, models="naive")


def test_cross_validate_takes_a_demand(usage):
    a = cross_validate(usage, 3, models=("naive",), n_windows=2, n_paths=20)
    b = cross_validate(hourly_demand(usage), 3, models=("naive",), n_windows=2, n_paths=20)
    pd.testing.assert_frame_equal(a.scores, b.scores)
