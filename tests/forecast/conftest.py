"""Fixtures of the forecasting tests: small usage tables and the real demand traces."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from finops_forecast.forecast.traces import load_trace

REPO = Path(__file__).resolve().parents[2]


def make_usage(hours=24 * 42, classes=(("training", 100.0), ("inference", 50.0)), teams=("a", "b"),
               start="2025-01-06", seed=0, pools=(("aws", "us-east-1", "p5.48xlarge"),)):
    """A usage table with daily and weekly cycles, split over teams [GPU-h]."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, periods=hours, freq="h", tz="UTC")
    t = np.arange(hours)
    frames = []
    for provider, region, itype in pools:
        for cls, base in classes:
            y = base * (1 + 0.2 * np.sin(2 * np.pi * t / 24) + 0.1 * (ts.day_of_week < 5)) + rng.normal(0, 3, hours)
            y = np.maximum(y, 0)
            for team in teams:
                frames.append(pd.DataFrame({"ts": ts, "provider": provider, "region": region,
                                            "instance_type": itype, "workload_class": cls, "team": team,
                                            "gpu_hours": y / len(teams)}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def usage():
    return make_usage()


@pytest.fixture(name="make_usage")
def _make_usage_fixture():
    """The :func:`make_usage` factory, for tests that need other shapes."""
    return make_usage


def _trace_or_skip(name):
    """The real trace, or a failure that says where it was looked for: the accuracy floors must not skip."""
    try:
        return load_trace(name)
    except FileNotFoundError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def philly():
    return _trace_or_skip("philly")


@pytest.fixture(scope="session")
def dlrm():
    return _trace_or_skip("alibaba-dlrm")
