"""Beside: one function on a Dask worker process beside this one, or here; the same result either way."""
from __future__ import annotations

import os

import pandas as pd
import pytest

from finops_forecast.forecast.engines import Beside


def _pid_and_sum(frame: pd.DataFrame, column: str) -> tuple[int, float]:
    return os.getpid(), float(frame[column].sum())


def _fail(message: str):
    from finops_forecast.errors import ForecastError
    raise ForecastError(message)


@pytest.mark.slow
def test_runs_in_another_process_with_the_same_result():
    frame = pd.DataFrame({"gpu_hours": [1.5, 2.5, 4.0]})
    job = Beside(_pid_and_sum, frame, "gpu_hours", workers=2)
    assert job.note == ""  # pytest runs as `python -m pytest`: a worker can be spawned
    pid, total = job.result()
    assert pid != os.getpid() and total == 8.0
    here = Beside(_pid_and_sum, frame, "gpu_hours", workers=1)
    assert here.result() == (os.getpid(), 8.0) and "workers = 1" in here.note


@pytest.mark.slow
def test_the_worker_error_is_raised_by_result():
    from finops_forecast.errors import ForecastError

    job = Beside(_fail, "bad series", workers=2)
    with pytest.raises(ForecastError, match="bad series"):
        job.result()
