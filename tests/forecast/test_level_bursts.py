"""The ``level_bursts`` model: a slow level plus bursts that fade, for the years a commitment runs (issue 16)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.forecast import PLAN_SELECTION, cross_validate, forecast
from finops_forecast.forecast.models import LevelBursts, Theta, draw_paths


def _bursty(n: int, seed: int, floor: float = 300.0) -> np.ndarray:
    """Daily GPU totals: a flat floor, week-long bursts of 2-3x its size every ~2 months, small noise."""
    rng = np.random.default_rng(seed)
    y = floor + rng.normal(0, 10, n)
    t = 0
    while t < n:
        t += int(rng.integers(40, 80))
        y[t:t + 7] += floor * rng.uniform(2, 3)
    return y


def test_known_answer_ar1_around_a_trend():
    """An AR(1) (phi 0.8, sd 10) around 100 + 0.5 t: the fitted phi, slope and the reverting mean."""
    rng = np.random.default_rng(3)
    n, phi = 2000, 0.8
    e = np.zeros(n)
    for t in range(1, n):
        e[t] = phi * e[t - 1] + rng.normal(0, 10)
    y = 100 + 0.5 * np.arange(n) + e
    m = LevelBursts().fit(y, 1)
    assert m.phi_ == pytest.approx(phi, abs=0.03)
    assert m.slope_ == pytest.approx(0.5, abs=0.01)
    mean, sd = m.predict(200)
    # step 1: the trend plus phi times today's deviation; step 200: the trend alone (the rest is symmetric here,
    # its median is its mean), faded with the history's length as time constant: n (1 - exp(-k / n)) steps
    assert mean[0] == pytest.approx(100 + 0.5 * n + phi * e[-1], abs=3)
    assert mean[-1] == pytest.approx(100 + 0.5 * (n - 1 + n * (1 - np.exp(-200 / n))), abs=3)
    assert 100 + 0.5 * (n + 199) - mean[-1] > 4  # not the straight line
    # the rest's sd, 10 / sqrt(1 - phi^2) = 16.7, is where the error sd stops growing (apart from the slope's)
    assert sd[0] == pytest.approx(10, rel=0.15)
    assert sd[60] == pytest.approx(10 / np.sqrt(1 - phi ** 2), rel=0.15)


def test_a_short_decline_is_not_drawn_through_the_years():
    """73 days falling 10 a day (Philly's shape): three years ahead the level has fallen by at most 73 x 10."""
    rng = np.random.default_rng(9)
    y = 2800 - 10 * np.arange(73) + rng.normal(0, 100, 73)
    m = LevelBursts().fit(y, 7)
    assert m.slope_ == pytest.approx(-10, abs=2.5)
    mean, _ = m.predict(1095)
    end = 2800 - 10 * 72
    assert mean.min() > end - 73 * 12.5 > 0
    assert mean[-1] == pytest.approx(end + m.slope_ * 73, abs=150)


def test_paths_match_the_predicted_spread_and_keep_the_floor():
    y = _bursty(540, seed=1)
    m = LevelBursts().fit(y, 7)
    mean, sd = m.predict(365)
    paths = draw_paths(m, mean, sd, 2000, np.random.default_rng(0))
    assert paths.shape == (2000, 365)
    # the bootstrap's spread is the one predict() states: root mean square around the point forecast, which is
    # the median (the bursts lie above it)
    assert np.sqrt(np.mean((paths[:, 180] - mean[180]) ** 2)) == pytest.approx(sd[180], rel=0.1)
    assert np.mean(paths[:, 180] > mean[180]) == pytest.approx(0.5, abs=0.05)  # the point is the median
    assert paths[:, 180].mean() > mean[180] + 0.2 * sd[180]  # and the bursts lift the mean above it
    # demand is skewed up from its floor: the bursts of the history, not a symmetric bell around the mean
    assert np.quantile(paths, 0.05) > 0.85 * 300
    assert np.quantile(paths, 0.99) > 2.5 * 300


def test_bursty_floor_years_ahead_against_a_random_walk():
    """Three years ahead of 18 months of a stable floor with bursts: the floor stays in every path (theta, fitted
    to one-step errors, reads the bursts as level shifts and spreads to zero)."""
    y = _bursty(540, seed=2)
    h = 1095
    lb = LevelBursts().fit(y, 7)
    p = draw_paths(lb, *lb.predict(h), 500, np.random.default_rng(0))
    yearly = p.reshape(500, 3, 365).mean(axis=2)
    assert np.quantile(yearly, 0.1, axis=0).min() > 300
    assert np.quantile(yearly, 0.9, axis=0).max() < 3 * 300
    th = Theta().fit(y, 7)
    q = draw_paths(th, *th.predict(h), 500, np.random.default_rng(0))
    assert np.quantile(q.reshape(500, 3, 365).mean(axis=2)[:, 2], 0.1) < 0.5 * 300


def test_a_burst_under_way_goes_on_as_past_ones_did():
    """Week-long bursts of +600 on a floor of 300; the history ends on the third day of one: the median path goes
    on at the burst's height for three more days and half the paths for the fourth, then all come back (the
    analogs are matched on the last days' shape, not on today's height alone: matched on the height, the median
    path fell to the floor on the second day; the blocks' geometric lengths end some bursts early)."""
    rng = np.random.default_rng(3)
    y = 300 + rng.normal(0, 10, 540)
    t = 0
    while t < 520:
        t += int(rng.integers(40, 80))
        y[t:t + 7] += 600
    y[-3:] = 900 + rng.normal(0, 10, 3)
    m = LevelBursts().fit(y, 7)
    paths = draw_paths(m, *m.predict(30), 2000, np.random.default_rng(0))
    mid = np.median(paths, axis=0)
    assert (mid[:3] > 800).all() and paths[:, 3].mean() > 300 + 0.3 * 600 and (np.abs(mid[5:] - 300) < 40).all()
    y[-3:] = 300 + rng.normal(0, 10, 3)  # the same history ending on the floor: no burst starts tomorrow
    m = LevelBursts().fit(y, 7)
    first = draw_paths(m, *m.predict(30), 2000, np.random.default_rng(0))[:, 0]
    assert np.mean(first > 500) < 0.03


def test_the_level_walk_is_seen_on_a_random_walk_and_not_on_a_reverting_rest():
    """Variogram estimate of the level's random-walk variance: on a random walk (step sd 3, q = 9) it is
    positive (median over 20 histories within a factor 3 below, the detrending takes part of the walk), on a
    trend plus an AR(1) rest it is about nothing."""
    walk, rest = [], []
    for s in range(20):
        rng = np.random.default_rng(s)
        walk.append(LevelBursts().fit(1000 + np.cumsum(rng.normal(0, 3, 540)), 7).level_var_)
        e = np.zeros(540)
        for t in range(1, 540):
            e[t] = 0.8 * e[t - 1] + rng.normal(0, 10)
        rest.append(LevelBursts().fit(100 + 0.5 * np.arange(540) + e, 7).level_var_)
    assert 9 / 3 < np.median(walk) < 9 * 2
    assert np.median(rest) < 0.1 * np.median(walk)


def test_settings_out_of_range_say_what_to_pass():
    from finops_forecast.errors import ForecastError

    for bad in ({"trend_alpha": 1.5}, {"seasons": 0}, {"max_phi": 1.0}, {"analogs": 0}):
        with pytest.raises(ForecastError, match=f"level_bursts: {next(iter(bad))}=.*pass"):
            LevelBursts(**bad)


def test_interval_scale_of_a_selection_scales_the_bootstrap():
    from finops_forecast.forecast.models import FixedSelection

    y = _bursty(300, seed=4)
    one = FixedSelection(LevelBursts(), 1.0).fit(y, 7)
    two = FixedSelection(LevelBursts(), 2.0).fit(y, 7)
    m1, s1 = one.predict(30)
    m2, s2 = two.predict(30)
    p1 = draw_paths(one, m1, s1, 400, np.random.default_rng(5))
    p2 = draw_paths(two, m2, s2, 400, np.random.default_rng(5))
    np.testing.assert_allclose(np.maximum(m1 + 2 * (p1 - m1), 0), p2, rtol=1e-9, atol=1e-6)


def test_a_quarter_ahead_selection_picks_it_on_a_bursty_pool():
    """forecast(cv_h=91) (the report's plan) selects level_bursts on a bursty pool, and its 3-year paths keep
    the floor; the mean of a path's year never falls to zero."""
    days = 540
    y = _bursty(days, seed=6)
    ts = pd.date_range("2025-01-01", periods=days * 24, freq="h", tz="UTC")
    usage = pd.DataFrame({"ts": ts, "provider": "aws", "region": "us-east-1", "instance_type": "p5.48xlarge",
                          "workload_class": "training", "team": "t", "gpu_hours": np.repeat(y, 24) / 24})
    fc = forecast(usage, 24 * 1095, n_paths=100, seed=0, components="total", progress=False, **PLAN_SELECTION)
    assert fc.selection["model"].iat[0] == "level_bursts"
    yearly = fc.paths[0].reshape(100, 3, -1).mean(axis=2) * 24  # GPU-h per day
    assert np.quantile(yearly, 0.1, axis=0).min() > 0.9 * 300


@pytest.mark.slow
def test_four_weeks_ahead_on_philly_beats_theta(philly):
    """Real trace: at 28 days the bursts of Philly revert; the random-walk models carry them forward (theta's
    pinball loss was 484 against 221 before its fan was bounded by the history's changes, 316 since)."""
    bt = cross_validate(philly, 28, freq="D", models=("theta", "level_bursts"), n_windows=8, step=2,
                        level=(80, 95), seed=0, progress=False)
    s = bt.scores.set_index("model")
    assert s.loc["level_bursts", "pinball"] < 0.8 * s.loc["theta", "pinball"]
    assert s.loc["level_bursts", "mase"] < s.loc["theta", "mase"]
