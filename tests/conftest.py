"""Shared fixtures: paths of the bundled test data and of the real datasets beside the repository."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"


def shared_datasets() -> Path:
    """``../shared/datasets`` beside the repository, or ``$FINOPS_SHARED_DATASETS``."""
    return Path(os.environ.get("FINOPS_SHARED_DATASETS", REPO.parent / "shared" / "datasets")).resolve()


@pytest.fixture(scope="session")
def datasets() -> Path:
    path = shared_datasets()
    if not path.is_dir():
        pytest.fail(f"the real datasets are missing: {path} does not exist. Clone the repository beside shared/ "
                    f"or set FINOPS_SHARED_DATASETS.")
    return path


@pytest.fixture(scope="session")
def focus_sample() -> Path:
    return TEST_DATA / "focus" / "focus_sample_1.0.csv"


@pytest.fixture(scope="session")
def sample_usage():
    from finops_forecast.usage.sample import load_sample
    return load_sample()
