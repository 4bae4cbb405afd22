"""The forecast fan chart says what it shows: the plan's whole horizon, not only the quarter planned."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from finops_forecast.report.charts import forecast_fan_chart


def test_the_fan_chart_title_names_the_end_of_the_plans_horizon():
    ts = pd.date_range("2026-12-01", periods=24 * 31, freq="h", tz="UTC")
    usage = pd.DataFrame({"ts": ts, "workload_class": "training", "gpu_hours": 8.0})
    days = pd.date_range("2027-01-01", "2029-12-24", freq="W-MON")
    fan = pd.DataFrame({"workload_class": "training", "day": days, "lo95": 6.0, "lo80": 7.0,
                        "median": np.full(len(days), 8.0), "hi80": 9.0, "hi95": 10.0, "kind": "forecast"})
    analysis = SimpleNamespace(usage=usage, forecast_fan=fan, start=pd.Timestamp("2027-01-01", tz="UTC"),
                               quarter="2027Q1", params=SimpleNamespace(quarters=12))
    title = forecast_fan_chart(analysis).to_dict()["title"]
    assert title.startswith("Forecast to 2029-12-31, the end of the plan's 12 quarters"), title
    assert "start of 2027Q1" in title
