"""Reusing an earlier model selection: the chosen model is refit, its interval scale kept, no backtest rerun."""
from __future__ import annotations

import numpy as np
import pytest

from finops_forecast.errors import ForecastError
from finops_forecast.forecast import forecast
from finops_forecast.forecast.core import SeriesSpec, forecast_series
from finops_forecast.forecast.models import ETS, FixedSelection


def test_reuse_refits_the_chosen_models_with_their_scales(make_usage):
    usage = make_usage(hours=24 * 70)
    first = forecast(usage[usage["ts"] < usage["ts"].max() - np.timedelta64(14, "D")], 24 * 7, n_paths=30,
                     components="total")
    later = forecast(usage, 24 * 7, n_paths=30, components="total", reuse_selection=first.selection)
    a = first.selection.set_index(["workload_class", "component"])
    b = later.selection.set_index(["workload_class", "component"])
    assert (b["model"] == a["model"]).all()
    np.testing.assert_allclose(b["interval_scale"], a["interval_scale"])
    assert b["note"].str.contains("earlier selection").all()
    assert not [c for c in b.columns if c.startswith("mase_")]  # no selection backtest ran
    assert (b["cv_windows"] == 0).all() and (b["cv_h"] == 0).all()
    # the first one ran it, with the default settings (7 days ahead, windows as many as the history allows)
    assert (a["cv_h"] == 7).all() and (a["cv_windows"] >= 1).all()
    assert a["note"].str.contains("windows of 7 steps").all()
    # the same result as asking for each chosen model by name, up to the interval scale
    for cls, row in a.xs("total", level="component").iterrows():
        alone = forecast(usage[usage["workload_class"] == cls], 24 * 7, n_paths=30, components="total",
                         models=row["model"])
        i = int(np.flatnonzero(later.keys["workload_class"] == cls)[0])
        np.testing.assert_allclose(later.mean[i], alone.mean[0], rtol=1e-9)


def test_fixed_selection_scales_the_spread_only():
    y = 100 + 10 * np.sin(np.arange(120) * 2 * np.pi / 7) + np.random.default_rng(0).normal(0, 3, 120)
    m0, s0 = ETS().fit(y, 7).predict(14)
    m1, s1 = FixedSelection(ETS(), 1.7).fit(y, 7).predict(14)
    np.testing.assert_allclose(m1, m0)
    np.testing.assert_allclose(s1, 1.7 * s0)


def test_a_model_unknown_to_the_registry_falls_back_to_selection():
    y = np.abs(np.random.default_rng(1).normal(50, 5, 24 * 60))
    spec = SeriesSpec(horizon=48, n_paths=10, components="total", fixed=(("total", "planned_runs", 1.0),))
    res = forecast_series(y, spec, 0)
    assert res.selection[0]["scores"]  # "auto" ran its backtest


def test_reuse_selection_must_be_a_selection_frame(usage):
    with pytest.raises(ForecastError, match="reuse_selection lacks"):
        forecast(usage, 24, n_paths=5, reuse_selection=usage)
