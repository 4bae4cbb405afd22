"""Fixtures of the pricing tests: the raw price sources beside the repository and the bundled catalog."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from finops_forecast.pricing import load_pricing

PRICING_DATA = Path(__file__).resolve().parents[1] / "data" / "pricing"

#: the pools the sample fleet uses (provider, region, instance_type)
SAMPLE_FLEET_POOLS = [
    ("aws", "us-east-1", "p5.48xlarge"),
    ("aws", "us-east-1", "p4d.24xlarge"),
    ("aws", "us-west-2", "g5.12xlarge"),
    ("aws", "us-east-1", "g6.12xlarge"),
    ("gcp", "us-central1", "a3-highgpu-8g"),
    ("gcp", "us-central1", "a2-highgpu-8g"),
    ("gcp", "us-central1", "g2-standard-48"),
    ("azure", "eastus", "Standard_ND96isr_H100_v5"),
    ("azure", "eastus", "Standard_NC24ads_A100_v4"),
]


@pytest.fixture(scope="session")
def raw(datasets) -> Path:
    """``../shared/datasets/pricing`` (the real sources the catalog is built from)."""
    return datasets / "pricing"


@pytest.fixture(scope="session")
def catalog() -> pd.DataFrame:
    """The bundled catalog, newest prices."""
    return load_pricing()


@pytest.fixture(scope="session")
def history() -> pd.DataFrame:
    """Every dated row of the bundled catalog."""
    return load_pricing(history=True)


@pytest.fixture()
def sample_dir() -> Path:
    return PRICING_DATA
