"""The report keeps only what it shows: the fan chart's quantiles instead of the forecast's paths, the quarter's
paths for the comparison, and bills in blocks of paths with the same result (docs/performance.md)."""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from finops_forecast.forecast import forecast
from finops_forecast.portfolio import PortfolioConfig, Scenarios
from finops_forecast.portfolio.api import make_plan, prepare, solve_plan
from finops_forecast.report.analysis import (
    _bill_segments,
    first_hours,
    plan_segments,
    scenarios_net_of_capacity,
)
from finops_forecast.report.charts import fan_frame
from finops_forecast.report.results import FAN_QUANTILES, forecast_fan
from finops_forecast.usage.sample import load_sample
from tests.portfolio.pf_helpers import P4, P5, catalog_rows, hourly_paths, keys, make_catalog


@pytest.fixture
def rng():
    return np.random.default_rng(7)


@pytest.fixture(scope="module")
def sample_forecast():
    usage = load_sample()
    usage = usage[usage["ts"] >= usage["ts"].max() - pd.Timedelta(days=70)]
    return usage, forecast(usage, 24 * 12, models="seasonal_naive", n_paths=20, seed=3, components="total")


def test_forecast_fan_is_the_quantiles_of_each_class_daily_mean(sample_forecast):
    """Computed another way (long table, per class and path the mean of each day's hours, then quantiles)."""
    _, fc = sample_forecast
    long = pd.DataFrame({"workload_class": np.repeat(fc.keys["workload_class"].to_numpy(), fc.paths[0].size),
                         "path": np.tile(np.repeat(np.arange(fc.paths.shape[1]), len(fc.ds)), len(fc.keys)),
                         "day": np.tile(fc.ds.tz_convert(None).floor("D"), fc.paths.shape[0] * fc.paths.shape[1]),
                         "hour": np.tile(np.arange(len(fc.ds)), fc.paths.shape[0] * fc.paths.shape[1]),
                         "gpu": fc.paths.reshape(-1).astype(float)})
    hourly = long.groupby(["workload_class", "path", "day", "hour"])["gpu"].sum()  # class total per hour
    daily = hourly.groupby(["workload_class", "day", "path"]).mean().unstack("path")
    fan = forecast_fan(fc).set_index(["workload_class", "day"])
    assert (fan["kind"] == "forecast").all() and len(fan) == len(daily)
    for col, q in FAN_QUANTILES.items():
        expected = pd.Series(np.quantile(daily.to_numpy(), q, axis=1), index=daily.index)
        np.testing.assert_allclose(fan[col].to_numpy(), expected.loc[fan.index].to_numpy(), rtol=1e-5)


def test_fan_frame_from_the_kept_quantiles_equals_the_one_from_the_paths(sample_forecast):
    usage, fc = sample_forecast
    with_paths = SimpleNamespace(usage=usage, forecast=fc)  # an analysis made before forecast_fan was kept
    without = SimpleNamespace(usage=usage, forecast=replace(fc, paths=None), forecast_fan=forecast_fan(fc))
    pd.testing.assert_frame_equal(fan_frame(without, 30), fan_frame(with_paths, 30))


def _scenarios(paths, ks):
    return Scenarios(keys=ks, ds=pd.date_range("2027-01-01", periods=paths.shape[2], freq="h", tz="UTC"),
                     paths=paths)


def test_first_hours_is_a_copy_of_the_first_hours(rng):
    ks = keys(P5 + ("inference",), P4 + ("training",))
    paths = hourly_paths(5, 300, [37.0, 21.0], [3.0, 2.0], rng).astype(np.float32)
    scen = _scenarios(paths, ks)
    q = first_hours(scen, 100)
    assert q.paths.dtype == np.float32 and not np.shares_memory(q.paths, paths)
    np.testing.assert_array_equal(q.slice(0, 100), scen.slice(0, 100))
    assert q.ds.equals(scen.ds[:100])
    # scenarios made on the fly (net of prepaid capacity) are cut the same way
    decisions = pd.DataFrame()  # nothing held: the scenarios themselves
    np.testing.assert_array_equal(first_hours(scenarios_net_of_capacity(scen, decisions), 100).paths, q.paths)
    gen = Scenarios(keys=ks, ds=scen.ds, generator=lambda a, b: paths[:, :, a:b] * 2, n_paths=5)
    np.testing.assert_array_equal(first_hours(gen, 100).paths, 2 * q.paths)


def test_comparison_billed_in_blocks_of_paths_equals_all_paths_at_once(rng):
    ks = keys(P5 + ("inference",), P4 + ("training",))
    cat = make_catalog(catalog_rows(P5, 8, 4.0, ri={12: 2.4}, sp={12: 2.8}), catalog_rows(P4, 8, 3.0, ri={12: 1.9}))
    scen = _scenarios(hourly_paths(12, 2160, [37.0, 21.0], [3.0, 2.0], rng), ks)
    prep = prepare(scen, cat, None, PortfolioConfig(quarters=1, terms_months=(12,), frontier_lambdas=(0.0,),
                                                    curve_factors=(1.0,)))
    plan = make_plan(prep, solve_plan(prep), frontier=False)
    start = plan.quarters.iloc[0]["start"]
    segments = plan_segments(plan.buy_now, prep.market, start, 2160)
    x = scen.slice(0, 2160)
    owned = np.zeros(prep.market.n_instruments)
    whole = _bill_segments(x, prep.market, owned, segments, None, start, rows=10**9)
    blocks = _bill_segments(x, prep.market, owned, segments, None, start, rows=3000)  # one path at a time
    assert whole["expected_cost_usd"] > 0
    for k, v in whole.items():
        assert blocks[k] == pytest.approx(v, rel=1e-12), k


def test_a_weekly_fan_leaves_out_a_last_week_of_a_few_days():
    """Past 200 days the fan is weekly; a horizon that ends on a Monday would show that one Monday as the last
    week (the sample's experimentation class jumped from ~62 to ~80 GPUs at 2029-12-31): it is left out."""
    ds = pd.date_range("2027-01-04", "2027-12-31 23:00", freq="h", tz="UTC")  # Monday .. Friday 2027-12-31
    weekday = ds.day_of_week.to_numpy() < 5
    paths = np.broadcast_to(np.where(weekday, 10.0, 2.0), (1, 4, len(ds))).copy()
    fc = SimpleNamespace(ds=ds, keys=pd.DataFrame({"workload_class": ["experimentation"]}), paths=paths)
    fan = forecast_fan(fc)
    assert fan["day"].max() == pd.Timestamp("2027-12-20")  # the week of Mon 12-27 .. Fri 12-31 has 5 days
    np.testing.assert_allclose(fan["median"], (5 * 10 + 2 * 2) / 7)  # every week shown is a whole week
