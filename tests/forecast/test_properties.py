"""Property tests (hypothesis) of the array helpers: decomposition and planned-run hours."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from finops_forecast.forecast import planned_run_hours
from finops_forecast.forecast.core import split_baseline
from finops_forecast.forecast.models import sample_paths

KEYS = dict(provider="aws", region="us-east-1", instance_type="p5.48xlarge", workload_class="training")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=400), st.integers(1, 200),
       st.floats(0, 0.99))
def test_split_baseline_parts_are_nonnegative_and_add_up(values, window, q):
    y = np.asarray(values)
    base, burst = split_baseline(y, window, q)
    assert (base >= 0).all() and (burst >= 0).all()
    np.testing.assert_allclose(base + burst, y)


@settings(max_examples=60, deadline=None)
@given(st.floats(-50, 300), st.floats(0, 200), st.floats(0, 1000), st.sampled_from(["h", "D"]))
def test_planned_runs_add_gpus_times_hours_inside_the_horizon(start_h, duration, gpus, freq):
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    ds = pd.date_range(t0, periods=240 if freq == "h" else 10, freq=freq)
    runs = pd.DataFrame([dict(start=t0 + pd.Timedelta(hours=start_h), duration_hours=duration, gpus=gpus,
                              **KEYS)])
    keys = pd.DataFrame([KEYS])
    _, extra = planned_run_hours(runs, keys, ds)
    inside = max(0.0, min(start_h + duration, 240) - max(start_h, 0))
    assert abs(extra.sum() - gpus * inside) <= 1e-6 * (1 + gpus * 240)
    assert (extra >= 0).all() and extra.max() <= gpus * (1 if freq == "h" else 24) + 1e-9


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_sample_paths_nonnegative_with_mean_shape(h, n, seed):
    rng = np.random.default_rng(seed)
    mean, sd = rng.uniform(0, 100, h), np.sort(rng.uniform(0, 50, h))
    p = sample_paths(mean, sd, n, np.random.default_rng(seed))
    assert p.shape == (n, h) and (p >= 0).all()
    q = sample_paths(mean, sd, n, np.random.default_rng(seed))
    np.testing.assert_array_equal(p, q)
