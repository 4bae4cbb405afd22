"""Fixtures of the backtest tests: a small synthetic two-pool fleet (generated, seeded) and the bundled catalog."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

# training on an A100 pool (spot allowed) and inference on an L4 pool (no spot), both priced in the bundled catalog
POOLS = (("aws", "us-east-1", "p4d.24xlarge", "training", 160.0, 60.0),
         ("aws", "us-east-1", "g6.xlarge", "inference", 40.0, 10.0))


def make_usage(days: int = 24, seed: int = 3) -> pd.DataFrame:
    """Hourly usage of two series: a level, a daily cycle, a slow drift and noise [GPU-h per hour]."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2026-01-05", periods=24 * days, freq="h", tz="UTC")
    hours = np.arange(len(ts))
    frames = []
    for prov, reg, it, cls, level, amp in POOLS:
        y = level + amp * np.sin(2 * np.pi * hours / 24) + 0.2 * level * np.sin(2 * np.pi * hours / (24 * 9))
        y = np.maximum(y + rng.normal(0, 0.08 * level, len(ts)), 0.0)
        frames.append(pd.DataFrame({"ts": ts, "provider": prov, "region": reg, "instance_type": it,
                                    "workload_class": cls, "team": "unallocated", "gpu_hours": y}))
    return pd.concat(frames, ignore_index=True)


#: fast settings: 3-day windows after a week, a seasonal-naive forecast with few paths
FAST = dict(decision_every="3D", term="3D", lookback="3D", warmup="7D", n_paths=20, models="seasonal_naive",
            spot_cap=0.3)


@pytest.fixture(scope="session")
def usage() -> pd.DataFrame:
    return make_usage()


@pytest.fixture(scope="session")
def catalog() -> pd.DataFrame:
    from finops_forecast.pricing import load_pricing
    return load_pricing("aws")


@pytest.fixture(scope="session")
def result(usage, catalog):
    from finops_forecast.evaluate import backtest
    return backtest(usage, catalog, **FAST)
