"""Shared fixtures: paths of the bundled test data and of the real datasets beside the repository."""
from __future__ import annotations

import contextlib
import os
import resource
import signal
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


@contextlib.contextmanager
def file_size_limit(nbytes: int):
    """Files of this process cannot grow past ``nbytes`` [bytes] (writes fail with EFBIG, like a full disk)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)
