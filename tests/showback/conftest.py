"""Fixtures of the showback tests: the example metric files, the bundled catalog, attributed metrics."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "showback"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def catalog():
    from finops_forecast.pricing import load_pricing
    return load_pricing()


@pytest.fixture(scope="session")
def inventory() -> pd.DataFrame:
    return pd.read_csv(DATA / "gpu_inventory.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def owners() -> pd.DataFrame:
    return pd.read_csv(DATA / "pod_owners.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def raw_metrics() -> pd.DataFrame:
    from finops_forecast.showback.metrics import read_dcgm, read_nvidia_smi
    return pd.concat([read_dcgm(DATA / "dcgm_metrics.prom"), read_dcgm(DATA / "dcgm_metrics.csv"),
                      read_nvidia_smi(DATA / "nvidia_smi_gpu-node-2.csv", hostname="gpu-node-2")],
                     ignore_index=True)


@pytest.fixture(scope="session")
def attributed(raw_metrics, inventory, owners) -> pd.DataFrame:
    from finops_forecast.showback.metrics import attribute_metrics
    return attribute_metrics(raw_metrics, inventory, owners)


def gpu_rate(catalog, provider, region, instance_type) -> float:
    """On-demand rate per GPU-hour straight from the pricing API (the reference the tests compare to)."""
    from finops_forecast.pricing import price
    return price(catalog, provider, region, instance_type, "on_demand", per="gpu")
