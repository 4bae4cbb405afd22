"""The realized demand array: series keys + hourly timestamps + values, summed over teams, gaps as zeros."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import FinopsError
from finops_forecast.usage.demand import hourly_demand


def _usage():
    ts = pd.to_datetime(["2026-01-01 00:00", "2026-01-01 00:00", "2026-01-01 03:00", "2026-01-01 01:00"], utc=True)
    return pd.DataFrame({"ts": ts, "provider": ["aws", "aws", "aws", "gcp"], "region": ["r1", "r1", "r1", "r2"],
                         "instance_type": ["p5", "p5", "p5", "a3"], "workload_class": ["training"] * 4,
                         "team": ["a", "b", "a", "a"], "gpu_hours": [8.0, 16.0, 4.0, 2.0]})


def test_summed_over_teams_with_every_hour():
    d = hourly_demand(_usage())
    assert list(d.keys["provider"]) == ["aws", "gcp"]
    assert len(d.ts) == 4 and d.ts[0] == pd.Timestamp("2026-01-01", tz="UTC")
    np.testing.assert_array_equal(d.values, [[24.0, 0.0, 0.0, 4.0], [0.0, 2.0, 0.0, 0.0]])
    assert d.values.sum() == _usage()["gpu_hours"].sum()  # nothing lost or counted twice
    np.testing.assert_array_equal(d.hours_major(), d.values.T)


def test_select_orders_and_fills_and_last_cuts():
    d = hourly_demand(_usage())
    keys = pd.DataFrame({"provider": ["gcp", "azure"], "region": ["r2", "x"], "instance_type": ["a3", "nd"],
                         "workload_class": ["training", "inference"]})
    s = d.select(keys)
    np.testing.assert_array_equal(s.values, [[0.0, 2.0, 0.0, 0.0], [0.0] * 4])
    assert s.last(2).values.shape == (2, 2) and s.last(0).values.shape == (2, 0)


def test_bad_tables_are_errors():
    with pytest.raises(FinopsError, match="no rows"):
        hourly_demand(_usage().iloc[:0])
    with pytest.raises(FinopsError, match="gpu_hours"):
        hourly_demand(_usage().drop(columns="gpu_hours"))
