"""Every forecasting model through the same checks (the conformance test of CONVENTIONS.md section 5)."""
from __future__ import annotations

import numpy as np
import pytest

from finops_forecast.errors import ForecastError, UnknownNameError
from finops_forecast.forecast.models import MODELS, _own_paths, make_model, model_forecast

ALL = sorted(MODELS) + ["auto"]


def series(n=120, seed=0):
    """Daily GPU-hours with a trend, a weekly cycle and noise [GPU-h/day]."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 1000 + 2 * t + 80 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 20, n)


@pytest.mark.parametrize("name", ALL)
def test_model_conformance(name):
    y = series()
    h, n_paths = 28, 64
    f = model_forecast(make_model(name), y, 7, h, level=(80, 90, 95), n_paths=n_paths, seed=11)
    # shapes
    assert f.mean.shape == (h,) and f.sd.shape == (h,)
    assert f.paths.shape == (n_paths, h)
    assert sorted(f.quantiles) == [0.025, 0.05, 0.1, 0.5, 0.9, 0.95, 0.975]
    # finite, non-negative GPU-hours
    for arr in [f.mean, f.sd, f.paths, *f.quantiles.values()]:
        assert np.all(np.isfinite(arr))
    assert (f.paths >= 0).all() and (f.mean >= 0).all()
    assert all((v >= 0).all() for v in f.quantiles.values())
    # quantiles ordered, median = point forecast for these symmetric intervals
    qs = np.stack([f.quantiles[q] for q in sorted(f.quantiles)])
    assert (np.diff(qs, axis=0) >= 0).all()
    # (a model with its own paths, level_bursts: the median of its 64 paths, close to its point forecast)
    own = _own_paths(make_model("auto").fit(y, 7) if name == "auto" else make_model(name))
    if own:
        assert (np.abs(f.quantiles[0.5] - f.mean) < 0.5 * f.sd).all()
    else:
        np.testing.assert_allclose(f.quantiles[0.5], f.mean, rtol=1e-7)
    # the error sd never shrinks with the horizon and is positive for a noisy series
    assert (np.diff(f.sd) >= 0).all() and f.sd[0] > 0
    # point forecast is in the range of the data's recent level (not a broken fit)
    assert abs(f.mean.mean() - y[-28:].mean()) < 0.2 * y[-28:].mean()
    # paths: their spread follows sd (loosely: 64 paths)
    assert np.std(f.paths[:, -1]) == pytest.approx(f.sd[-1], rel=0.5)
    # reproducible with a seed, different with another seed
    g = model_forecast(make_model(name), y, 7, h, n_paths=n_paths, seed=11)
    np.testing.assert_array_equal(f.paths, g.paths)
    k = model_forecast(make_model(name), y, 7, h, n_paths=n_paths, seed=12)
    assert not np.array_equal(f.paths, k.paths)


@pytest.mark.parametrize("name", ALL)
def test_model_fan_widens(name):
    """Long horizons: the interval at 1 year is wider than at 1 day (a fan, not a band); a model whose fan is
    bounded by design (``bounded_fan``: level_bursts, whose rest reverts and whose trend fades) still widens."""
    model = make_model(name)
    mean, sd = model.fit(series(200, seed=1), 7).predict(365)
    if getattr(model, "bounded_fan", False):  # its error stops growing at the history's own spread
        assert sd[0] < sd[-1] < 1.5 * np.sqrt(np.mean(model.rest_ ** 2)) + sd[0]
    else:
        assert sd[-1] > 1.5 * sd[0]
    assert np.all(np.diff(sd) >= 0)


@pytest.mark.parametrize("name", ALL)
def test_model_rejects_bad_horizon_and_short_series(name):
    model = make_model(name)
    need = model.min_length(7)
    with pytest.raises(ForecastError, match="at least"):
        model.fit(series()[: need - 1], 7)
    model.fit(series(), 7)
    for h in (0, -3):
        with pytest.raises(ForecastError, match=">= 1"):
            model.predict(h)


@pytest.mark.parametrize("name", ALL)
def test_model_rejects_nan_and_unfitted(name):
    y = series()
    y[5] = np.nan
    with pytest.raises(ForecastError, match="NaN"):
        make_model(name).fit(y, 7)
    with pytest.raises(ForecastError, match="not fitted"):
        make_model(name).predict(3)


def test_unknown_model_lists_valid_names():
    with pytest.raises(UnknownNameError, match="Did you mean 'ets'.*Provide one of: auto, ets, level_bursts, naive"):
        make_model("etss")


def test_prophet_is_quiet(capfd, caplog):
    """cmdstanpy's INFO lines ("Chain [1] start processing") are silenced; Prophet stays usable."""
    import logging

    caplog.set_level(logging.INFO)
    make_model("prophet").fit(series(40), 7).predict(5)
    make_model("prophet").fit(series(40, seed=3), 7).predict(5)
    out, err = capfd.readouterr()
    assert "start processing" not in out + err
    assert not [r for r in caplog.records if r.name.startswith("cmdstanpy") and r.levelno < logging.WARNING]
