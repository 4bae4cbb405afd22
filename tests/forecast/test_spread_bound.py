"""The long-horizon bound on the Gaussian models' fans: the history's own changes over h steps (SpreadBound)."""
from __future__ import annotations

import numpy as np
import pytest

from finops_forecast.forecast import cross_validate
from finops_forecast.forecast.models import ETS, SpreadBound, Theta, make_model, model_forecast


def _ar1(n, phi, sd, level, seed):
    rng = np.random.default_rng(seed)
    e = rng.normal(0, sd * np.sqrt(1 - phi ** 2), n)
    x = np.empty(n)
    x[0] = rng.normal(0, sd)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return level + x


def test_a_straight_line_changes_by_its_slope_times_the_lag():
    """Known answer: on y = 3 t every change over l steps is 3 l, the residuals of the line are 0, so the bound
    within the lags seen is 3 h plus the walk's growth-rate error sqrt(q / n) h."""
    n = 200
    b = SpreadBound.of(3.0 * np.arange(n))
    np.testing.assert_allclose(b.v, 9.0 * b.lags ** 2)
    assert b.lags[-1] == n // 2
    # V = 9 l^2 over [H/2, H] = [50, 100]: least-squares slope 9 x 150 = 1,350 per step
    assert b.q == pytest.approx(1350.0, rel=0.01)
    assert b.g == pytest.approx(np.sqrt(b.q / n))
    h = np.arange(1, 101)
    np.testing.assert_allclose(b(100), np.sqrt(9.0 * h ** 2 + (b.g * h) ** 2))
    assert (np.diff(b(400)) > 0).all()


def test_a_level_that_stays_put_keeps_a_bounded_fan():
    """An AR(1) around 70 GPUs (sd 10, persistence 0.8) for 540 days: ETS reads its swings as level moves and,
    unbounded, puts the 10th percentile of the third year's mean at 0 GPUs; the history's changes bound it."""
    y = _ar1(540, 0.8, 10.0, 70.0, seed=3)
    b = SpreadBound.of(y)
    assert b.q < 1.0  # no walk beyond the lags seen (the variogram of an AR(1) is flat there)
    m = ETS().fit(y, 7)
    mean, sd = m.predict(1095)
    m.spread_bound_ = None
    _, free = m.predict(1095)
    assert sd[-1] <= b(1095, mean)[-1] + 1e-9
    assert sd[-1] < 0.5 * free[-1]
    # the bound: the variance of a change (2 x 100) plus the growth rate's error over 3 years, a few GPUs, plus
    # how far the point forecast is from the last value
    assert b(1095)[-1] == pytest.approx(np.sqrt(200.0 + (b.g * 1095) ** 2), rel=0.25)
    np.testing.assert_allclose(b(1095, mean) - b(1095), np.abs(mean - y[-1]))
    f = model_forecast(make_model("ets"), y, 7, 1095, n_paths=200, seed=0)
    third_year = f.paths[:, -365:].mean(axis=1)
    assert np.quantile(third_year, 0.1) > 30


def _bounded_over_free(y, horizons):
    m = Theta().fit(y, 7)
    _, sd = m.predict(1095)
    m.spread_bound_ = None
    _, free = m.predict(1095)
    return sd[horizons] / free[horizons]


def test_a_random_walk_keeps_most_of_its_fan():
    """On a random walk the changes grow with the lag as the model's own variance does, so the bound leaves
    most of the fan: the median over 12 walks of 540 days keeps over 80% of theta's sd at 91 days and over 60%
    at three years (the variogram of one walk flattens at its longest lags: the bound's known cost, in
    docs/forecast.md). On an AR(1) that stays put the same bound keeps under 15% at three years."""
    at = np.array([90, 1094])
    walks = [_bounded_over_free(500 + np.cumsum(np.random.default_rng(s).normal(0, 4, 540)), at) for s in range(12)]
    level = [_bounded_over_free(_ar1(540, 0.8, 10.0, 70.0, seed=s), at) for s in range(12)]
    walk, stays = np.median(walks, axis=0), np.median(level, axis=0)
    assert walk[0] > 0.8 and walk[1] > 0.6
    assert stays[1] < 0.15


@pytest.mark.slow
def test_the_bound_sharpens_theta_four_weeks_ahead_on_philly(philly, monkeypatch):
    """Real trace: Philly's bursts revert, so theta's unbounded random-walk fan is too wide at 28 days; with the
    bound its pinball loss falls by at least a fifth and its 80% interval still covers at least 70%."""
    def scores():
        bt = cross_validate(philly, 28, freq="D", models=("theta",), n_windows=8, step=2, level=(80, 95), seed=0,
                            progress=False)
        return bt.scores.set_index("model").loc["theta"]

    bounded = scores()
    monkeypatch.setattr(Theta, "spread_bounded", False)
    free = scores()
    assert bounded["pinball"] < 0.8 * free["pinball"]
    assert bounded["mase"] == pytest.approx(free["mase"])  # the point forecast is the same
    assert bounded["coverage_80"] >= 0.7
