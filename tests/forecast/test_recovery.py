"""The ``recovery`` cluster model: outages are missing, a dip is not extrapolated, a steady trend is (issue 20)."""
from __future__ import annotations

import numpy as np
import pytest

from finops_forecast.forecast.models import Recovery, robust_trend


def test_robust_trend_needs_evidence():
    rng = np.random.default_rng(0)
    x = np.arange(14)
    steady = 3000 + 6 * x + rng.normal(0, 5, 14)
    assert robust_trend(x, steady, 0.01) == pytest.approx(6, abs=1.5)
    # a dip and its recovery: the slope's interval straddles 0, no trend
    dip = np.r_[np.full(5, 2800.0), [2300, 2100, 2200], np.full(6, 2800.0)] + rng.normal(0, 30, 14)
    assert robust_trend(x, dip, 0.01) == 0.0
    assert robust_trend(x[:3], steady[:3], 0.01) == 0.0  # too few points
    assert robust_trend(x, np.full(14, 5.0), 0.01) == 0.0


def test_recovery_follows_a_steady_growth_and_not_a_dip():
    rng = np.random.default_rng(1)
    grow = 3000 + 10 * np.arange(35) + rng.normal(0, 8, 35)
    mean, _ = Recovery().fit(grow, 7).predict(7)
    truth = 3000 + 10 * np.arange(35, 42)
    assert np.abs(mean - truth).mean() < 30  # the level alone (median of 14 days) lags by ~ 10 x 7.5 = 75
    flat_mean, _ = Recovery(trend=False).fit(grow, 7).predict(7)
    assert np.abs(flat_mean - truth).mean() > 60
    # a decline, an outage, 5 more days of it: the trend is not drawn through the break (< 7 days since)
    k = np.r_[np.arange(20), 20, np.arange(21, 26)]
    y = np.where(k == 20, 600.0, 2800 - 20 * k) + rng.normal(0, 10, 26)
    m = Recovery().fit(y, 7)
    assert m.outages_ == 1 and m.slope_ == 0.0
    assert Recovery().fit(y[:20], 7).slope_ < -10  # the same decline with no outage in it is a trend
    assert m.predict(7)[0].min() > 2350  # the median level, not the decline extrapolated (~2,270 to 2,150)


def test_recovery_mask_outage_is_missing():
    y = np.r_[np.full(20, 100.0), [10.0, 12.0], np.full(5, 100.0)]
    m = Recovery().fit(y, 1)
    assert m.outages_ == 2
    mean, sd = m.predict(3)
    np.testing.assert_allclose(mean, 100.0)
    assert np.all(sd >= 0)


def test_a_long_low_run_is_a_new_level_not_an_outage():
    """A burst that ends (or a fleet that shrinks) is not an outage: after ``max_outage`` low steps the run is
    unmasked and the level follows it (the model held the burst's level for two weeks before)."""
    y = np.r_[np.full(20, 1300.0), np.full(6, 330.0)]
    m = Recovery().fit(y, 7)
    assert m.outages_ == 0
    assert m.predict(7)[0].max() < 1300 * 0.8
    held = Recovery(max_outage=100).fit(y, 7)
    assert held.outages_ == 6 and held.predict(7)[0].min() > 1200
    # a short outage is still masked
    short = Recovery().fit(np.r_[np.full(20, 1300.0), [100.0, 120.0], np.full(3, 1300.0)], 7)
    assert short.outages_ == 2 and short.predict(7)[0].min() > 1250
